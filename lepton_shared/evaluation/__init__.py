"""Metrics from scikit-learn and ``implicit``, and an HTML report per model version."""

from lepton_shared.evaluation.metrics import (
    classification_metrics,
    ece_interval,
    expected_calibration_error,
    ranking_metrics,
    regression_metrics,
)
from lepton_shared.evaluation.report import write_report

__all__ = [
    "classification_metrics",
    "ece_interval",
    "expected_calibration_error",
    "ranking_metrics",
    "regression_metrics",
    "write_report",
]
