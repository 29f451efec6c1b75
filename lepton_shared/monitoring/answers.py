"""The answers a service logged, read back for monitoring: what ``lepton models shadow`` replays and what an
app's live quality joins with the labels that came back later."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

LIVE_QUALITY_ANSWERS = 10_000
"""The newest answers an app's live quality joins with the labels that came back: a bound on ``lepton monitor``'s
work."""


def logged_answers(app_name: str, endpoints: Sequence[str], since: datetime, limit: int,
                   database_url: str | None = None) -> list[Any]:
    """The newest ``limit`` answered requests (status below 400) to ``endpoints`` (path prefixes) since
    ``since``, newest first: rows with ``model_version``, ``output``, ``model_input`` and ``created_at``."""
    from sqlalchemy import or_, select

    from lepton_shared.storage import PredictionLog, session_scope

    log = PredictionLog
    query = (select(log.model_version, log.output, log.model_input, log.created_at)
             .where(log.app == app_name, log.created_at >= since, log.status < 400,
                    or_(*(log.endpoint.startswith(prefix) for prefix in endpoints)))
             .order_by(log.created_at.desc(), log.id.desc()).limit(limit))
    with session_scope(database_url) as session:
        return list(session.execute(query))
