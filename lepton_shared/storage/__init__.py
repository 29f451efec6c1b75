"""Database access: SQLAlchemy 2 models on one ``Base`` and Alembic migrations."""

from lepton_shared.storage.db import get_engine, init_db, reset_engine, session_scope
from lepton_shared.storage.models import Base, ModelVersion, PredictionLog, Promotion, TrainingRun

__all__ = [
    "Base",
    "ModelVersion",
    "PredictionLog",
    "Promotion",
    "TrainingRun",
    "get_engine",
    "init_db",
    "reset_engine",
    "session_scope",
]
