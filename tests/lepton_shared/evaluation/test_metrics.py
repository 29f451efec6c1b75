from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from lepton_shared.evaluation import (
    classification_metrics,
    expected_calibration_error,
    regression_metrics,
    write_report,
)


def test_binary_metrics_match_hand_computation() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.9])
    m = classification_metrics(y, p)
    assert m["accuracy"] == 0.5
    assert m["roc_auc"] == pytest.approx(0.75)
    assert m["confusion_matrix"] == [[1, 1], [1, 1]]
    assert classification_metrics(y, p, threshold=0.35)["accuracy"] == 0.75


def test_multiclass_metrics() -> None:
    y = np.array([0, 1, 2, 2])
    p = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.5, 0.1, 0.4]])
    m = classification_metrics(y, p, labels=["a", "b", "c"])
    assert m["accuracy"] == 0.75 and m["labels"] == ["a", "b", "c"]
    assert 0 < m["f1_macro"] < 1 and m["roc_auc"] > 0.8


def test_ece_is_zero_when_calibrated_and_large_when_overconfident() -> None:
    y = np.array([1] * 8 + [0] * 2)
    assert expected_calibration_error(y, np.full(10, 0.8)) == pytest.approx(0.0, abs=1e-9)
    assert expected_calibration_error(np.array([0] * 10), np.full(10, 0.99)) == pytest.approx(0.99)


def test_regression_metrics() -> None:
    m = regression_metrics([1, 2, 3], [1, 2, 5])
    assert m["rmse"] == pytest.approx(np.sqrt(4 / 3)) and m["mae"] == pytest.approx(2 / 3)


def test_report_is_self_contained_html(tmp_path: Path) -> None:
    fig = Figure()
    fig.add_subplot().plot([1, 2], [3, 4])
    path = write_report(tmp_path / "r" / "report.html", "Test <report>", {"accuracy": 0.9, "cm": [[1, 0]]},
                        {"curve": fig})
    text = path.read_text()
    assert "Test &lt;report&gt;" in text and "0.9000" in text and "data:image/png;base64," in text
