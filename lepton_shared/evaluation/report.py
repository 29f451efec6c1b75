"""An HTML report with metrics and plots, saved beside each model version."""

from __future__ import annotations

import base64
import html
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure


def figure_to_base64(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, (dict, list)):
        return f"<pre>{html.escape(json.dumps(value, indent=1, default=str))}</pre>"
    return html.escape(str(value))


def write_report(path: Path, title: str, metrics: dict[str, Any], figures: dict[str, Figure] | None = None,
                 notes: str = "") -> Path:
    """Write a self-contained HTML file (plots inlined as PNG)."""
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in metrics.items())
    imgs = "".join(
        f"<figure><img alt='{html.escape(name)}' src='data:image/png;base64,{figure_to_base64(fig)}'/>"
        f"<figcaption>{html.escape(name)}</figcaption></figure>"
        for name, fig in (figures or {}).items()
    )
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1000px}}table{{border-collapse:collapse}}
th,td{{border:1px solid #ccc;padding:4px 10px;text-align:left}}figure{{display:inline-block;margin:1em}}
img{{max-width:460px}}</style></head><body><h1>{html.escape(title)}</h1>
<p>Generated {datetime.now(UTC):%Y-%m-%d %H:%M UTC}</p><p>{html.escape(notes)}</p>
<h2>Metrics</h2><table>{rows}</table><h2>Plots</h2>{imgs}</body></html>"""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(doc, encoding="utf-8")
    tmp.replace(path)
    return path
