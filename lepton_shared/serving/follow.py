"""Every replica follows the registry: a promote or rollback reaches each one by itself.

A Kubernetes Service sends ``POST /v1/admin/reload`` to one pod only, so each
replica asks the registry for its app's production version every
``LEPTON_RELOAD_POLL_S`` seconds (one small query, off the request path) and
loads a changed one in a worker thread while the old model keeps answering.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from lepton_shared.serving.app import ServiceState


class RegistryFollower:
    """Loads the production version of ``state``'s app whenever it differs from the one served."""

    def __init__(self, state: ServiceState, logger: logging.Logger) -> None:
        self.state = state
        self.logger = logger
        #: the version whose load failed last, so a broken version logs one line, not one per poll
        self.failed: str | None = None

    def check(self) -> str | None:
        """Load and swap in a new production version; the version now served after a change, else None.

        Blocking (a query, perhaps a model load): call it off the event loop. A failure keeps the model served."""
        from lepton_shared.registry import Registry

        state = self.state
        try:
            wanted = Registry().production_version(state.app_name)
        except Exception as exc:  # the database is away: the served model stays, the next poll asks again
            self._warn(f"registry poll failed: {exc}", key=f"poll:{exc}")
            return None
        served = state.predictor.version if state.predictor is not None else None
        if wanted is None or wanted == served or state.loader is None:
            return None
        try:
            predictor = state.loader()
        except Exception as exc:  # a broken artifact must not take the service down
            self._warn(f"could not load {state.app_name} {wanted}, still serving {served or 'nothing'}: {exc}",
                       key=wanted)
            return None
        state.swap(predictor)
        self.failed = None
        self.logger.info(f"now serving {state.app_name} {predictor.version} (was {served or 'nothing'})",
                         extra={"app": state.app_name})
        return predictor.version

    def _warn(self, message: str, key: str) -> None:
        if key != self.failed:
            self.logger.warning(message, extra={"app": self.state.app_name})
        self.failed = key

    async def run(self, interval_s: float) -> None:
        """Check every ``interval_s`` seconds until cancelled (the service's shutdown)."""
        while True:
            await asyncio.sleep(interval_s)
            await run_in_threadpool(self.check)
