"""The CLI on a user's own file: train, evaluate --json with the same numbers, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _cli(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEPTON_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    env.pop("LEPTON_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", "recommender", *argv],
                          capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.slow
def test_train_then_evaluate_a_csv_gives_the_same_numbers(tmp_path: Path, interactions_csv: Path) -> None:
    home = tmp_path / "home"
    proc = _cli(home, "train", "--data", str(interactions_csv), "--epochs", "1", "--tiny", "--promote", "always")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "registered" in proc.stderr
    proc = _cli(home, "evaluate", "--data", str(interactions_csv), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads(proc.stdout)
    assert set(metrics["baselines"]) == {"popularity", "als", "bpr", "item_knn_bm25"}
    for key in ("precision_at_10", "map_at_10", "ndcg_at_10", "auc_at_10"):
        assert 0 <= metrics[key] <= 1
    # four taste groups of six items: an item-item model finds every held-out item
    assert metrics["ndcg_at_10"] > 0.9
    show = subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", "models", "show", "recommender"],
                          capture_output=True, text=True, env={**os.environ, "LEPTON_HOME": str(home)}, timeout=120)
    registered = json.loads(show.stdout)["metrics"]
    assert registered["ndcg_at_10"] == pytest.approx(metrics["ndcg_at_10"])


@pytest.mark.parametrize(("content", "needle"), [
    ("", "empty"),
    ("user_id,item_id,weight\na,b,-2\n", "negative"),
    ("name,thing\na,b\n", "user column"),
])
def test_bad_data_is_a_one_line_error(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    proc = _cli(tmp_path / "home", "train", "--data", str(path))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and needle in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
