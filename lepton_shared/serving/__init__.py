"""The HTTP shell every app service shares: ``create_app`` around a ``Predictor``."""

from lepton_shared.serving.app import BatchOptions, batch_options, create_app, get_predictor, log_prediction
from lepton_shared.serving.batching import MicroBatcher
from lepton_shared.serving.inputs import MAX_DB_ID, DbId, RequestModel
from lepton_shared.serving.predictor import Predictor

__all__ = ["MAX_DB_ID", "BatchOptions", "DbId", "MicroBatcher", "Predictor", "RequestModel", "batch_options",
           "create_app", "get_predictor", "log_prediction"]
