"""What the suite's home page shows for each app, computed without Streamlit.

Kept apart from ``suite.py`` so the card logic (model version, key metric
against the best baseline, service status) is unit-tested without a browser,
and so that importing it never imports an app: apps are loaded lazily, one at
a time, and a broken or missing app only greys out its own card.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lepton_shared.app import app_installed
from lepton_shared.errors import NotReadyError, UserError
from lepton_shared.manifest import AppManifest, discover

ROOT = Path(__file__).resolve().parents[2]



def titles() -> dict[str, str]:
    return {name: m.title for name, m in discover().items()}


def icons() -> dict[str, str]:
    return {name: m.icon for name, m in discover().items()}


@dataclass(frozen=True)
class Card:
    """One app on the home page."""

    app: str
    title: str
    summary: str
    installed: bool
    has_page: bool
    model_version: str | None = None
    key_metric: str | None = None
    higher_is_better: bool = True
    value: float | None = None
    baseline_name: str | None = None
    baseline_value: float | None = None
    service: str = "in-process"  # "up", "down" or "in-process" (no service URL configured)
    problem: str | None = None
    needs_training: bool = False  # the problem is simply that no production model exists yet
    audience: str = ""
    first_try: str = ""
    alerts: list[str] | None = None  #: ``lepton monitor``'s alerts of the last 24 hours (None: unknown)
    training: str | None = None  #: what ``make demo``'s background training is doing for this app, if anything
    quick: str | None = None  #: set when production is ``make demo``'s quick model: what that means and its progress

    @property
    def beats_baseline(self) -> bool | None:
        """Whether the model is better than its best baseline (None when either is unknown)."""
        if self.value is None or self.baseline_value is None or self.key_metric is None:
            return None
        if not self.higher_is_better:
            return self.value < self.baseline_value
        return self.value > self.baseline_value

    @property
    def metric_line(self) -> str:
        """``roc_auc 0.912 vs 0.731 (amount_rule)``: what a business user reads on the card."""
        if self.value is None or self.key_metric is None:
            return "no metrics yet"
        line = f"{self.key_metric} {self.value:.3f}"
        if self.baseline_value is not None:
            line += f" vs {self.baseline_value:.3f} ({self.baseline_name})"
        return line


def page_script(app: str) -> Path:
    """The app's Streamlit page, found beside its manifest so the app itself is not imported."""
    import importlib.util

    spec = importlib.util.find_spec(f"apps.{app}.manifest")
    if spec is None or spec.origin is None:
        return ROOT / "apps" / app / "ui.py"
    return Path(spec.origin).parent / "ui.py"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def best_baseline(metrics: dict[str, Any], key: str, higher_is_better: bool = True) \
        -> tuple[str | None, float | None]:
    """The strongest baseline on ``key`` from ``metrics["baselines"]`` (the one the model must beat)."""
    baselines = metrics.get("baselines")
    if not isinstance(baselines, dict):
        return None, None
    scored = [(name, _number(values.get(key))) for name, values in baselines.items() if isinstance(values, dict)]
    scored_known = [(name, v) for name, v in scored if v is not None]
    if not scored_known:
        return None, None
    pick = max if higher_is_better else min
    name, value = pick(scored_known, key=lambda pair: pair[1])
    return name, value


def service_state(app: str) -> str:
    """``up``/``down`` when ``LEPTON_<APP>_URL`` is set, ``in-process`` otherwise."""
    from lepton_shared.ui import service_is_up, service_url

    if service_url(app) is None:
        return "in-process"
    return "up" if service_is_up(app) else "down"


def monitoring_alerts(app: str) -> list[str] | None:
    """The app's monitoring alerts of the last 24 hours; None when they cannot be computed (never raises)."""
    try:
        from lepton_shared.monitoring.report import monitor_report

        return list(monitor_report(app, "24h")["alerts"])
    except Exception:
        return None


def build_card(app: str, check_service: bool = True) -> Card:
    """Everything the home page says about one app; never raises."""
    manifest = discover()[app]
    card = replace(_model_card(app, manifest, check_service), audience=manifest.audience,
                   first_try=manifest.first_try)
    if card.model_version:
        return replace(card, quick=demo_quick_model(app, card.model_version))
    return replace(card, training=demo_training(app))


def demo_training(app: str) -> str | None:
    """``training in progress (started 40 s ago)`` while ``make demo`` trains the app; None otherwise."""
    from lepton_shared.settings import get_settings
    from services.demo_status import pending_training

    entry = pending_training(get_settings().home_dir).get(app)
    return entry.describe() if entry else None


def demo_quick_model(app: str, version: str) -> str | None:
    """``quick demo model, full training in progress: ...`` when ``version`` is ``make demo``'s quick model."""
    from lepton_shared.settings import get_settings
    from services.demo_status import quick_note

    return quick_note(get_settings().home_dir, app, version)


def _model_card(app: str, manifest: AppManifest, check_service: bool) -> Card:
    """The card's model, metric and service part, from the registry and the service probe."""
    installed = app_installed(app)
    title, summary = manifest.title, manifest.summary
    has_page = installed and page_script(app).is_file()
    service = service_state(app) if check_service else "in-process"
    try:
        from lepton_shared.registry import Registry

        info = Registry().get(app)
    except UserError as exc:  # no model yet, or its files are missing: say so on the card
        return Card(app, title, summary, installed, has_page, service=service, problem=str(exc).split("\n")[0],
                    needs_training=isinstance(exc, NotReadyError))
    except Exception as exc:  # a broken registry must grey out one card, not break the page
        problem = f"could not read the model registry ({type(exc).__name__}: {exc})"
        return Card(app, title, summary, installed, has_page, service=service, problem=problem[:300])
    key = manifest.key_metric
    value = _number(info.metrics.get(key))
    baseline_name, baseline_value = best_baseline(info.metrics, key, manifest.higher_is_better)
    return Card(app, title, summary, installed, has_page, model_version=info.version, key_metric=key,
                higher_is_better=manifest.higher_is_better, value=value, baseline_name=baseline_name,
                baseline_value=baseline_value, service=service, alerts=monitoring_alerts(app))


def build_cards(check_service: bool = True) -> list[Card]:
    """One card per app; services are probed concurrently so a down service costs one timeout, not five."""
    from concurrent.futures import ThreadPoolExecutor

    from lepton_shared.storage import init_db

    init_db()  # migrate once here: Alembic is not thread-safe, and the threads below would each try
    names = list(discover())
    with ThreadPoolExecutor(max(1, len(names))) as pool:
        return list(pool.map(lambda app: build_card(app, check_service), names))
