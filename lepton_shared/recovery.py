"""What a killed process leaves behind, found and cleared at the next start.

A ``kill -9`` or a power cut runs no ``finally``: a training run stays "running" in the database and
a registration leaves its temporary folder. Each records its owner (process id and host name), so a
later process on the same host knows for sure whether the owner is gone; for another host's leftovers
(a database or models volume shared by several machines) only silence can tell, after :data:`STALE_AFTER`.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

#: How long another host's unfinished work may stay silent before it counts as abandoned.
STALE_AFTER = timedelta(hours=24)

INCOMPLETE_PREFIX = ".incomplete-"


def owner() -> dict[str, Any]:
    """This process, as recorded in what it may leave unfinished."""
    return {"pid": os.getpid(), "host": socket.gethostname()}


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def owner_gone(pid: Any, host: Any, last_seen: datetime | None) -> bool:
    """Whether the work of process ``pid`` on ``host``, last heard of at ``last_seen``, was abandoned.

    Silence past :data:`STALE_AFTER` counts on this host too: the process id may have been reused.
    """
    if host == socket.gethostname() and isinstance(pid, int) and pid != os.getpid() and not pid_alive(pid):
        return True
    if last_seen is None:
        return False
    from lepton_shared.storage.models import as_utc

    return datetime.now(UTC) - as_utc(last_seen) > STALE_AFTER


def incomplete_prefix() -> str:
    """Prefix of a temporary folder that names its owner: ``.incomplete-<pid>@<host>.``."""
    info = owner()
    return f"{INCOMPLETE_PREFIX}{info['pid']}@{info['host']}."


def clean_incomplete(folder: Path) -> list[Path]:
    """Remove the temporary folders under ``folder`` whose owner is gone; the removed ones."""
    removed = []
    for path in folder.glob(f"{INCOMPLETE_PREFIX}*"):
        pid_text, _, rest = path.name[len(INCOMPLETE_PREFIX):].partition("@")
        host = rest.rpartition(".")[0]
        try:
            mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except FileNotFoundError:  # its owner finished meanwhile
            continue
        pid = int(pid_text) if pid_text.isdigit() else None
        if owner_gone(pid, host if pid is not None else None, mtime):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def fail_interrupted_runs(app: str | None = None) -> int:
    """Mark "failed" the training runs left "running" by a process that is gone; how many."""
    from sqlalchemy import select

    from lepton_shared.storage import TrainingRun, session_scope
    from lepton_shared.storage.models import utcnow

    count = 0
    with session_scope() as session:
        query = select(TrainingRun).where(TrainingRun.status == "running")
        if app is not None:
            query = query.where(TrainingRun.app == app)
        for run in session.scalars(query):
            owner_info = (run.timings or {}).get("owner") or {}
            heartbeat = owner_info.get("heartbeat")
            last_seen = datetime.fromtimestamp(heartbeat, UTC) if isinstance(heartbeat, (int, float)) \
                else run.started_at
            if owner_gone(owner_info.get("pid"), owner_info.get("host"), last_seen):
                run.status = "failed"
                run.finished_at = utcnow()
                count += 1
    return count


def heartbeat() -> dict[str, Any]:
    """The owner record of a running training, stamped with the time it was last heard of."""
    return {**owner(), "heartbeat": time.time()}
