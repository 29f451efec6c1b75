"""``lepton <app> train --params best [--study NAME]``: train with the best trial's parameters.

The parameters of a trial are names of fields of the app's train config (see ``AppTuner``), so the best
trial overrides those fields and the app trains as usual; the version it registers then records
``tuned_from: {study, trial, value}`` and the parameters in its params, so the registry says where a
model's hyperparameters came from.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, TypeVar

from lepton_shared.errors import UserError

C = TypeVar("C")


def best_trial(app_name: str, config: Any, study_name: str | None = None,
               database_url: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(parameters, ``tuned_from``) of the best complete trial of ``study_name`` (default: the study
    ``tune`` would use for ``config``'s data)."""
    from lepton_shared.tuning.runner import default_study_name, open_study, tuner_class

    tuner = tuner_class(app_name)(config)
    name = study_name or default_study_name(app_name, tuner)
    study = open_study(app_name, name, None, database_url, create=False)
    try:
        best = study.best_trial
    except ValueError:
        raise UserError(f"study {name!r} has no complete trial yet; run `lepton {app_name} tune`") from None
    return dict(best.params), {"study": name, "trial": best.number, "value": best.value}


def apply_params(config: C, params: dict[str, Any]) -> C:
    """``config`` with ``params`` as field values; a UserError names a parameter the config lacks (a study
    made by another version of the app)."""
    assert dataclasses.is_dataclass(config) and not isinstance(config, type)
    fields = {f.name for f in dataclasses.fields(config)}
    unknown = sorted(set(params) - fields)
    if unknown:
        raise UserError(f"the study's parameters {', '.join(unknown)} are not options of this app's training")
    return dataclasses.replace(config, **params)  # type: ignore[return-value]


def record_tuned_from(app_name: str, version: str, params: dict[str, Any], tuned_from: dict[str, Any]) -> None:
    """Add ``tuned_from`` and ``tuned_params`` to a registered version's params (database row and its
    ``lepton_meta.json``)."""
    from sqlalchemy import select

    from lepton_shared.registry import Registry
    from lepton_shared.storage import ModelVersion, session_scope

    registry = Registry()
    extra = {"tuned_from": tuned_from, "tuned_params": params}
    with session_scope(registry.database_url) as session:
        row = session.scalar(select(ModelVersion).where(ModelVersion.app == app_name,
                                                        ModelVersion.version == version))
        if row is not None:
            row.params = {**(row.params or {}), **extra}
    meta_path = registry.get(app_name, version).path / "lepton_meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        meta["params"] = {**meta.get("params", {}), **extra}
        meta_path.write_text(json.dumps(meta, indent=2, default=str))
