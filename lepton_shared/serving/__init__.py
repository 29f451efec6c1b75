"""The HTTP shell every app service shares: ``create_app`` around a ``Predictor``."""

from lepton_shared.serving.app import BatchOptions, batch_options, create_app, get_predictor, log_prediction
from lepton_shared.serving.batching import MicroBatcher
from lepton_shared.serving.predictor import Predictor

__all__ = ["BatchOptions", "MicroBatcher", "Predictor", "batch_options", "create_app", "get_predictor",
           "log_prediction"]
