"""A one-page HTML report per study, for the patient record or a second reader; and the model's reliability
diagram, drawn the same way in the version's report and on the page."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def reliability_figure(curves: dict[str, dict[str, list[float]]]) -> Figure:
    """Observed frequency against mean predicted probability per bin, one line per ``curves`` entry
    (label -> ``{"predicted": [...], "observed": [...]}``), with the diagonal of perfect calibration."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.5, 4))
    ax = fig.subplots()
    for label, points in curves.items():
        ax.plot(points["predicted"], points["observed"], marker="o", label=label)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="perfectly calibrated")
    ax.set_xlabel("predicted probability of the positive class")
    ax.set_ylabel("observed frequency")
    ax.legend(fontsize=8)
    return fig


def study_report_html(study: dict[str, Any], heatmap_png_base64: str | None = None) -> str:
    """Self-contained HTML (the heat map inlined when given); identifiers only as stored (hashed)."""
    rows = [
        ("Study id", study.get("id", "not stored")),
        ("Decision", study.get("label")),
        ("Positive-class probability (calibrated)", f"{float(study.get('positive_probability', 0)):.3f}"),
        ("Operating threshold", f"{float(study.get('threshold', 0)):.3f}"),
        ("Probabilities", ", ".join(f"{k}: {float(v):.3f}" for k, v in (study.get("probabilities") or {}).items())),
        ("Model version", study.get("model_version")),
        ("File format", study.get("format")),
        ("DICOM study UID", study.get("study_uid") or "-"),
        ("DICOM series UID", study.get("series_uid") or "-"),
        ("Patient (salted hash)", study.get("patient_hash") or "-"),
        ("Input SHA-256", study.get("input_sha256")),
        ("Review status", study.get("review_status", "pending")),
        ("Reviewer", study.get("reviewer") or "-"),
        ("Reviewed label", study.get("reviewed_label") or "-"),
        ("Review note", study.get("review_note") or "-"),
    ]
    table = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    image = (f"<figure><img alt='Grad-CAM overlay' src='data:image/png;base64,{heatmap_png_base64}'/>"
             "<figcaption>Grad-CAM: red marks the regions that raised the positive-class score</figcaption>"
             "</figure>") if heatmap_png_base64 else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Imaging study report</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:800px}}table{{border-collapse:collapse}}
th,td{{border:1px solid #ccc;padding:4px 10px;text-align:left}}img{{width:320px}}</style></head><body>
<h1>Imaging study report</h1><p>Generated {datetime.now(UTC):%Y-%m-%d %H:%M UTC}. Decision support only:
a clinician reviews every study.</p><table>{table}</table>{image}</body></html>"""
