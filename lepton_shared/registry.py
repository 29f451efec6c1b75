"""Model registry: versioned artifacts on disk, their metadata in the database.

An artifact is written into a temporary folder and renamed into place only when
complete, inside the transaction that adds its database row, so a crash mid-save
never leaves a version that points at a partial artifact, and two processes
registering at once get distinct versions, each with its own files.
"""

from __future__ import annotations

import builtins
import getpass
import json
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lepton_shared.durable import durable_rename
from lepton_shared.errors import NotFoundError, NotReadyError, UserError
from lepton_shared.recovery import clean_incomplete, incomplete_prefix
from lepton_shared.settings import get_settings
from lepton_shared.storage import ModelVersion, Promotion, session_scope

#: Registrations of one app at the same moment each retry with the next number; more than this many is a bug.
REGISTER_ATTEMPTS = 20


def _distributed_rank() -> tuple[int, int]:
    """(rank, world size) of a ``torchrun`` job that joined its process group, else (0, 1)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0, 1  # not under torchrun: no need to import torch at all
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return 0, 1
    return dist.get_rank(), dist.get_world_size()


@dataclass(frozen=True)
class ModelInfo:
    app: str
    version: str
    path: Path
    stage: str
    metrics: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    data_fingerprint: str = ""
    code_version: str = ""
    created_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "version": self.version,
            "path": str(self.path),
            "stage": self.stage,
            "metrics": self.metrics,
            "params": self.params,
            "data_fingerprint": self.data_fingerprint,
            "code_version": self.code_version,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


@dataclass(frozen=True)
class PromotionRecord:
    """One row of an app's promotion history: ``version`` became production, replacing ``previous_version``."""

    app: str
    version: str
    action: str  #: promote | rollback
    created_at: datetime | None
    actor: str
    reason: str
    previous_version: str | None
    metric: str
    value: float | None
    previous_value: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "version": self.version,
            "action": self.action,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "actor": self.actor,
            "reason": self.reason,
            "previous_version": self.previous_version,
            "metric": self.metric,
            "value": self.value,
            "previous_value": self.previous_value,
        }


#: Decides, inside the transaction that registers a version, whether it becomes production:
#: ``gate(new version, current production or None) -> (promote?, reason)``.
Gate = Callable[[ModelInfo, ModelInfo | None], tuple[bool, str]]


def current_actor() -> str:
    """Who is acting, for the promotion history: the OS user running the command."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment and none in the password database
        return "unknown"


def key_metric_of(app: str) -> str:
    """The app's key metric from its manifest; "" for an app without one (tests register ad-hoc apps)."""
    from lepton_shared.manifest import discover

    manifest = discover().get(app)
    return manifest.key_metric if manifest else ""


def metric_value(metrics: dict[str, Any], name: str) -> float | None:
    """``metrics[name]`` as a finite float, or None when it is missing or not a finite number."""
    value = metrics.get(name) if name else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _info(row: ModelVersion) -> ModelInfo:
    return ModelInfo(
        app=row.app,
        version=row.version,
        path=Path(row.path),
        stage=row.stage,
        metrics=dict(row.metrics or {}),
        params=dict(row.params or {}),
        data_fingerprint=row.data_fingerprint,
        code_version=row.code_version,
        created_at=row.created_at,
    )


def code_version() -> str:
    """The git commit of the code that trained a model, when known."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        )
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


class Registry:
    """Save, list, load, promote and roll back model versions of one suite."""

    def __init__(self, root: Path | None = None, database_url: str | None = None) -> None:
        self.root = root or get_settings().models_dir
        self.database_url = database_url

    def register(
        self,
        app: str,
        write: Callable[[Path], None],
        metrics: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        data_fingerprint: str = "",
        promote: bool | Gate = True,
    ) -> ModelInfo:
        """Write an artifact with ``write(folder)`` and record it as the next version.

        ``promote`` is True (make it production), False (leave it a candidate) or a :data:`Gate` that
        decides in the same transaction, so that no other promotion can slip in between the comparison
        and the change of production.

        Under ``torchrun`` every rank reaches this call with the same model; only rank 0
        writes it, and the other ranks get the version rank 0 registered.
        """
        rank, world = _distributed_rank()
        if world == 1:
            return self._register(app, write, metrics, params, data_fingerprint, promote)
        import torch.distributed as dist

        box: list[Any] = [None]
        if rank == 0:
            info = self._register(app, write, metrics, params, data_fingerprint, promote)
            box = [info.version]
        dist.broadcast_object_list(box, src=0)
        return info if rank == 0 else self.get(app, box[0])

    def _register(self, app: str, write: Callable[[Path], None], metrics: dict[str, Any] | None,
                  params: dict[str, Any] | None, data_fingerprint: str, promote: bool | Gate) -> ModelInfo:
        app_dir = self.root / app
        app_dir.mkdir(parents=True, exist_ok=True)
        clean_incomplete(app_dir)
        tmp = Path(tempfile.mkdtemp(prefix=incomplete_prefix(), dir=app_dir))
        try:
            write(tmp)
            meta = {"app": app, "metrics": metrics or {}, "params": params or {},
                    "data_fingerprint": data_fingerprint}
            (tmp / "lepton_meta.json").write_text(json.dumps(meta, indent=2, default=str))
            for attempt in range(REGISTER_ATTEMPTS):
                try:
                    return self._record(app, tmp, metrics, params, data_fingerprint, promote)
                except IntegrityError:  # another process took this number first: take the next one
                    if attempt + 1 == REGISTER_ATTEMPTS:
                        raise
            raise AssertionError("unreachable")
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def _record(self, app: str, tmp: Path, metrics: dict[str, Any] | None, params: dict[str, Any] | None,
                data_fingerprint: str, promote: bool | Gate) -> ModelInfo:
        """Add the next version's row, then move the folder in, in one transaction.

        The row goes first: the unique (app, version) key makes a concurrent registration of the same
        number wait or fail (IntegrityError) before either touches the other's folder. A folder already
        named like the new version has no row, so a crash left it between its rename and the commit.
        """
        final: Path | None = None
        try:
            with session_scope(self.database_url) as session:
                number = (session.scalar(select(func.max(ModelVersion.number)).where(ModelVersion.app == app))
                          or 0) + 1
                version = f"v{number}"
                row = ModelVersion(
                    app=app, version=version, number=number, path=str(tmp.parent / version), stage="candidate",
                    metrics=metrics or {}, params=params or {}, data_fingerprint=data_fingerprint,
                    code_version=code_version(),
                )
                session.add(row)
                session.flush()
                if (tmp.parent / version).exists():
                    shutil.rmtree(tmp.parent / version)
                durable_rename(tmp, tmp.parent / version)
                final = tmp.parent / version
                if callable(promote):
                    production = self._production(session, app)
                    promote, reason = promote(_info(row), _info(production) if production else None)
                else:
                    reason = "registered with promotion on"
                if promote:
                    self._promote(session, app, version, "promote", reason, current_actor())
                session.flush()
                info = _info(row)
        except BaseException:
            if final is not None:  # the row was rolled back: its folder must not stay behind under its name
                os.rename(final, tmp)
            raise
        return info

    def list(self, app: str | None = None) -> list[ModelInfo]:
        with session_scope(self.database_url) as session:
            query = select(ModelVersion).order_by(ModelVersion.app, ModelVersion.number)
            if app:
                query = query.where(ModelVersion.app == app)
            return [_info(row) for row in session.scalars(query)]

    def get(self, app: str, version: str | None = None) -> ModelInfo:
        """The named version, or the production one; a clear error when there is none."""
        with session_scope(self.database_url) as session:
            if version:
                row = session.scalar(select(ModelVersion).where(ModelVersion.app == app,
                                                                ModelVersion.version == version))
                if row is None:
                    known = ", ".join(r.version for r in session.scalars(
                        select(ModelVersion).where(ModelVersion.app == app).order_by(ModelVersion.number)))
                    raise NotFoundError(f"unknown {app} model version {version!r} (known: {known or 'none'})")
            else:
                row = session.scalar(select(ModelVersion).where(ModelVersion.app == app,
                                                                ModelVersion.stage == "production"))
                if row is None:
                    raise NotReadyError(f"no {app} model has been trained yet: run `lepton {app} train`")
            info = _info(row)
        if not info.path.is_dir():
            raise NotFoundError(f"{app} model {info.version} is registered but its files are missing: {info.path}")
        return info

    def production_version(self, app: str) -> str | None:
        """The name of ``app``'s production version, or None: one indexed single-column query, cheap enough
        for every replica to ask every few seconds (the files are not checked, unlike :meth:`get`)."""
        with session_scope(self.database_url) as session:
            return session.scalar(select(ModelVersion.version).where(ModelVersion.app == app,
                                                                     ModelVersion.stage == "production"))

    def promote(self, app: str, version: str, reason: str = "", actor: str | None = None) -> ModelInfo:
        """Make ``version`` production, unconditionally (the gate is :mod:`lepton_shared.promotion`'s)."""
        self.get(app, version)
        with session_scope(self.database_url) as session:
            self._promote(session, app, version, "promote", reason, actor or current_actor())
        return self.get(app, version)

    def rollback(self, app: str, reason: str = "", actor: str | None = None) -> ModelInfo:
        """Return production to the version that was production before the current one."""
        with session_scope(self.database_url) as session:
            current = self._production(session, app)
            if current is None:
                raise UserError(f"{app} has no production model to roll back")
            history = session.scalars(select(Promotion).where(Promotion.app == app)
                                      .order_by(Promotion.id)).all()
            stack: list[str] = []  # production versions, newest last; a rollback pops one
            for event in history:
                if event.action == "rollback":
                    while stack and stack[-1] != event.version:
                        stack.pop()
                else:
                    stack.append(event.version)
            while stack and stack[-1] == current.version:
                stack.pop()
            previous = stack[-1] if stack else None
            if previous is None:
                raise UserError(f"{app} has no earlier production model to roll back to")
            self._promote(session, app, previous, "rollback", reason or f"rolled back from {current.version}",
                          actor or current_actor())
            current.stage = "archived"
        return self.get(app, previous)

    def history(self, app: str) -> builtins.list[PromotionRecord]:
        """Every promotion and rollback of ``app``, oldest first."""
        with session_scope(self.database_url) as session:
            rows = session.scalars(select(Promotion).where(Promotion.app == app).order_by(Promotion.id))
            return [PromotionRecord(app=r.app, version=r.version, action=r.action, created_at=r.created_at,
                                    actor=r.actor or "", reason=r.reason or "", previous_version=r.previous_version,
                                    metric=r.metric or "", value=r.value, previous_value=r.previous_value)
                    for r in rows]

    @staticmethod
    def _production(session: Any, app: str) -> ModelVersion | None:
        return session.scalar(select(ModelVersion).where(ModelVersion.app == app, ModelVersion.stage == "production"))

    @staticmethod
    def _promote(session: Any, app: str, version: str, action: str, reason: str, actor: str) -> None:
        """Make ``version`` production and append the history row (with both versions' key metric)."""
        previous = Registry._production(session, app)
        target = session.scalar(select(ModelVersion).where(ModelVersion.app == app, ModelVersion.version == version))
        metric = key_metric_of(app)
        replaced = previous if previous is not None and previous.version != version else None
        session.add(Promotion(app=app, version=version, action=action, actor=actor, reason=reason,
                              previous_version=replaced.version if replaced else None, metric=metric,
                              value=metric_value(target.metrics or {}, metric),
                              previous_value=metric_value(replaced.metrics or {}, metric) if replaced else None))
        for row in session.scalars(select(ModelVersion).where(ModelVersion.app == app,
                                                              ModelVersion.stage == "production")):
            if row.version != version:
                row.stage = "candidate" if action == "promote" else row.stage
        target.stage = "production"
