"""The suite home page's cards, computed without a browser."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ui import home
from services.ui.home import Card, best_baseline, build_card, build_cards


def _register(app: str, metrics: dict[str, object]) -> str:
    from lepton_shared.registry import Registry

    def write(folder: Path) -> None:
        (folder / "weights.bin").write_bytes(b"\0")

    return Registry().register(app, write, metrics=metrics).version


def _card(**kw: object) -> Card:
    base: dict[str, object] = {"app": "fraud", "title": "Fraud", "summary": "", "installed": True, "has_page": True}
    return Card(**{**base, **kw})  # type: ignore[arg-type]


def test_best_baseline_picks_the_strongest_in_the_right_direction() -> None:
    metrics = {"roc_auc": 0.9, "rmse": 10.0,
               "baselines": {"rule": {"roc_auc": 0.7, "rmse": 30.0}, "prior": {"roc_auc": 0.5, "rmse": 20.0},
                             "broken": {"roc_auc": float("nan")}, "other": "not a dict"}}
    assert best_baseline(metrics, "roc_auc") == ("rule", 0.7)
    assert best_baseline(metrics, "rmse", higher_is_better=False) == ("prior", 20.0)
    assert best_baseline(metrics, "ndcg_at_10") == (None, None)
    assert best_baseline({"roc_auc": 0.9}, "roc_auc") == (None, None)


def test_card_compares_with_baseline_in_the_metric_direction() -> None:
    assert _card(key_metric="roc_auc", value=0.9, baseline_name="rule", baseline_value=0.7).beats_baseline is True
    assert _card(key_metric="roc_auc", value=0.6, baseline_name="rule", baseline_value=0.7).beats_baseline is False
    assert _card(key_metric="rmse", higher_is_better=False, value=12.0, baseline_name="mean",
                 baseline_value=20.0).beats_baseline is True
    assert _card(key_metric="rmse", higher_is_better=False, value=25.0, baseline_name="mean",
                 baseline_value=20.0).beats_baseline is False
    assert _card(key_metric="rmse", value=25.0).beats_baseline is None
    line = _card(key_metric="roc_auc", value=0.91234, baseline_name="rule", baseline_value=0.7).metric_line
    assert line == "roc_auc 0.912 vs 0.700 (rule)"
    assert _card().metric_line == "no metrics yet"


def test_card_without_model_says_how_to_get_one(lepton_home: Path) -> None:
    card = build_card("fraud", check_service=False)
    assert card.model_version is None and card.value is None
    assert card.problem and "lepton fraud train" in card.problem and card.needs_training
    assert card.service == "in-process"


def test_card_shows_production_model_and_baseline(lepton_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _register("fraud", {"average_precision": 0.5})
    version = _register("fraud", {"average_precision": 0.81, "roc_auc": 0.97,
                                  "baselines": {"amount_rule": {"average_precision": 0.32}}})
    card = build_card("fraud", check_service=False)
    assert card.model_version == version == "v2"
    assert (card.key_metric, card.value) == ("average_precision", 0.81)
    assert (card.baseline_name, card.baseline_value) == ("amount_rule", 0.32)
    assert card.problem is None and not card.needs_training


def test_card_with_missing_model_files_says_so(lepton_home: Path) -> None:
    import shutil

    from lepton_shared.registry import Registry

    _register("fraud", {"accuracy": 0.9})
    shutil.rmtree(Registry().get("fraud").path)
    card = build_card("fraud", check_service=False)
    assert card.model_version is None and not card.needs_training
    assert card.problem and "files are missing" in card.problem


def test_cards_read_the_registry_from_many_threads(lepton_home: Path) -> None:
    from lepton_shared.manifest import app_names
    from lepton_shared.storage import reset_engine

    for app in app_names():
        _register(app, {"accuracy": 0.5})
    reset_engine()  # as in a fresh Streamlit process: the schema check has not run yet
    cards = build_cards(check_service=False)
    assert all(c.model_version == "v1" and c.problem is None for c in cards), [c.problem for c in cards]


def test_cards_cover_every_app_and_mark_missing_ones(lepton_home: Path) -> None:
    from lepton_shared.app import app_installed
    from lepton_shared.manifest import app_names

    cards = build_cards(check_service=False)
    assert [c.app for c in cards] == list(app_names())
    for card in cards:
        assert card.installed == app_installed(card.app)
        assert card.title and card.summary
        assert card.audience and card.first_try, f"{card.app}'s manifest says whom it serves and what to try first"
        assert card.has_page == (card.installed and (home.ROOT / "apps" / card.app / "ui.py").is_file())


def test_service_state_follows_the_configured_url(lepton_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lepton_shared.testing.example import example_service
    from lepton_shared.testing.server import free_port, serve_app

    monkeypatch.delenv("LEPTON_FRAUD_URL", raising=False)
    assert home.service_state("fraud") == "in-process"
    monkeypatch.setenv("LEPTON_FRAUD_URL", f"http://127.0.0.1:{free_port()}")
    assert home.service_state("fraud") == "down"
    with serve_app(example_service()) as base:
        monkeypatch.setenv("LEPTON_FRAUD_URL", base)
        assert home.service_state("fraud") == "up"
        assert build_card("fraud").service == "up"


def test_card_carries_the_monitoring_alerts(lepton_home: Path) -> None:
    """A production model without traffic has no alerts; amounts x3 in the log raise one on the card."""
    from lepton_shared.testing.monitoring import log_fraud_requests, register_fraud_reference

    register_fraud_reference([float(a) for a in range(1, 201)])
    assert build_card("fraud", check_service=False).alerts == []
    log_fraud_requests([{"amount": 3.0 * a, "latency": 2.0} for a in range(1, 101)])
    alerts = build_card("fraud", check_service=False).alerts
    assert alerts is not None and len(alerts) == 1 and alerts[0].startswith("tx_amount drifted")
    assert build_card("chatbot", check_service=False).alerts is None  # no model: nothing to monitor


def test_card_says_the_demo_is_training_it_while_the_demo_runs(lepton_home: Path) -> None:
    import json
    import subprocess

    from services.demo_status import StatusFile

    status = StatusFile(lepton_home)
    status.set("fraud", "training")
    status.set("chatbot", "queued")
    status.set("imaging", "ready")
    _register("chatbot", {"accuracy": 0.9})
    fraud = build_card("fraud", check_service=False)
    assert fraud.training and fraud.training.startswith("training in progress (started ")
    assert build_card("chatbot", check_service=False).training is None  # a model is there: nothing to wait for
    assert build_card("imaging", check_service=False).training is None
    assert build_card("recommender", check_service=False).training is None

    dead = subprocess.Popen(["true"])
    dead.wait()
    payload = json.loads(status.path.read_text())
    status.path.write_text(json.dumps({**payload, "pid": dead.pid}))  # a demo killed without clean-up
    assert build_card("fraud", check_service=False).training is None
    status.remove()
    assert build_card("fraud", check_service=False).training is None


def test_home_page_shows_training_instead_of_service_down(lepton_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the demo trains fraud its service is not started yet: the card says training, not 'service down'."""
    from streamlit.testing.v1 import AppTest

    from services.demo_status import StatusFile

    monkeypatch.setenv("LEPTON_FRAUD_URL", "http://127.0.0.1:9")  # what make demo sets before fraud's service runs
    StatusFile(lepton_home).set("fraud", "training")
    at = AppTest.from_file(str(home.ROOT / "services" / "ui" / "suite.py"), default_timeout=120).run()
    assert not at.exception
    badges = [m.value for m in at.markdown]
    assert sum("training…" in b for b in badges) == 1
    assert not any("service down" in b for b in badges)
    assert any(i.value.startswith("training in progress (started ") for i in at.info)
