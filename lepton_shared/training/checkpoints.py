"""Where ``lepton <app> train`` keeps its epochs, so that ``train --resume`` continues a killed training.

The CLI opens :func:`resumable` around an app's training; every :class:`~lepton_shared.training.Trainer`
created inside it saves its last epoch under ``<LEPTON_HOME>/checkpoints/<app>/<settings key>/trainer-<n>``
(``n`` counts the Trainers of the run in order: fraud's MLP is fitted twice, maintenance fits several nets),
so no app has to pass paths around. The key is a hash of the training's settings, so a resume with other
settings, which would continue a different training, is refused. A finished training removes its
checkpoints; a fresh (not resumed) training replaces an interrupted one's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lepton_shared.config import TrainConfig
from lepton_shared.errors import UserError

#: Options that do not change what is trained: where, whether to resume, and what happens to the result.
NOT_SETTINGS = frozenset({"resume", "device", "promote", "tolerance"})


@dataclass
class CheckpointScope:
    """The checkpoints of one ``train`` command."""

    folder: Path
    resume: bool
    trainers: int = 0

    def next_folder(self) -> Path:
        """The checkpoint folder of the next Trainer of this training."""
        self.trainers += 1
        return self.folder / f"trainer-{self.trainers}"


_scope: ContextVar[CheckpointScope | None] = ContextVar("lepton_checkpoint_scope", default=None)


def current_scope() -> CheckpointScope | None:
    """The checkpoints of the ``train`` command running in this context, if any."""
    return _scope.get()


def training_settings(config: TrainConfig) -> dict[str, Any]:
    """What a resumed training must share with the interrupted one."""
    return {f.name: json.loads(json.dumps(getattr(config, f.name), default=str))
            for f in dataclasses.fields(config) if f.name not in NOT_SETTINGS}


def _differences(now: dict[str, Any], before: dict[str, Any]) -> str:
    names = sorted(set(now) | set(before))
    return ", ".join(f"{name}={now.get(name)!r} (was {before.get(name)!r})" for name in names
                     if now.get(name) != before.get(name))


@contextmanager
def resumable(app: str, config: TrainConfig) -> Iterator[None]:
    """Checkpoint the Trainers run inside; with ``config.resume``, continue from an interrupted training's."""
    from lepton_shared.settings import get_settings

    root = get_settings().home_dir / "checkpoints" / app
    settings = training_settings(config)
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    folder = root / key
    writer = int(os.environ.get("RANK", "0")) == 0  # under torchrun, rank 0 keeps the files
    if config.resume:
        if not (folder / "settings.json").is_file():
            interrupted = sorted(root.glob("*/settings.json"))
            if interrupted:
                before = json.loads(interrupted[0].read_text())
                raise UserError(f"cannot resume: the interrupted {app} training had other settings: "
                                f"{_differences(settings, before)}; repeat its options, or train without --resume")
            raise UserError(f"nothing to resume: no interrupted {app} training was found")
    elif writer:
        shutil.rmtree(root, ignore_errors=True)  # one interrupted training per app: a fresh start replaces it
        folder.mkdir(parents=True)
        (folder / "settings.json").write_text(json.dumps(settings, indent=2, sort_keys=True))
    token = _scope.set(CheckpointScope(folder, config.resume))
    try:
        yield
    finally:
        _scope.reset(token)
    if writer:
        shutil.rmtree(root, ignore_errors=True)  # finished: there is nothing left to resume
