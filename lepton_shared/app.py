"""``LeptonApp``: the base class each app implements once, in ``apps/<app>/app.py``.

The CLI, the services, the Streamlit suite and the contract tests all talk to
an app only through this class. An app's identity (title, port, key metric…)
is its ``apps/<app>/manifest.py``; the class reads it from there.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from fastapi import FastAPI

    from lepton_shared.registry import ModelInfo
    from lepton_shared.serving import Predictor

from lepton_shared.config import EvaluateConfig, TrainConfig
from lepton_shared.manifest import AppManifest, app_names, get_manifest


class LeptonApp(ABC):
    """One vertical app. Keep module-level imports light: heavy ones go inside methods."""

    name: ClassVar[str]
    default_epochs: ClassVar[int] = 5
    #: The typed configurations ``train`` and ``evaluate`` take (subclasses of ``lepton_shared.config``'s);
    #: the CLI builds them from the options of the same names.
    train_config: ClassVar[type[TrainConfig]] = TrainConfig
    evaluate_config: ClassVar[type[EvaluateConfig]] = EvaluateConfig

    @property
    def manifest(self) -> AppManifest:
        return get_manifest(self.name)

    @property
    def key_metric(self) -> str:
        return self.manifest.key_metric

    @property
    def higher_is_better(self) -> bool:
        return self.manifest.higher_is_better

    @property
    def tolerance(self) -> float:
        return self.manifest.tolerance

    def add_arguments(self, command: str, parser: argparse.ArgumentParser) -> None:
        """Add app-specific options to ``train`` / ``evaluate`` (the common ones exist already)."""
        return None

    @abstractmethod
    def train(self, config: Any) -> ModelInfo:
        """Train on ``config.data`` (built-in data when None), evaluate on held-out data, register.

        ``config`` is an instance of :attr:`train_config`.
        """

    @abstractmethod
    def evaluate(self, config: Any) -> dict[str, Any]:
        """Metrics of model ``config.model`` (production when None) on ``config.data``; JSON-able."""

    @abstractmethod
    def load_predictor(self, version: str | None = None) -> Predictor:
        """The production (or named) model version, ready to answer."""

    @abstractmethod
    def create_service(self) -> FastAPI:
        """The app's HTTP service, built with ``lepton_shared.serving.create_app``."""

    @property
    def ui_script(self) -> Path:
        """The Streamlit page of this app."""
        return Path(importlib.import_module(f"apps.{self.name}").__file__ or "").parent / "ui.py"

    @property
    def service_module(self) -> str:
        """Import string uvicorn uses to start the service with several workers (``LEPTON_APP`` names the app)."""
        return "services.asgi:app"


def get_app(name: str) -> LeptonApp:
    get_manifest(name)  # a clear error for an unknown name
    module = importlib.import_module(f"apps.{name}.app")
    app: LeptonApp = module.APP
    return app


def app_part(app_name: str, module: str, attribute: str, missing: str) -> Any:
    """``apps.<app_name>.<module>.<attribute>``: an optional part of an app (its optimizer, its tuner), or a
    UserError saying ``missing`` when the app has no such module or attribute. An import error inside an
    existing module is raised as it is: it is a bug, not a missing part."""
    from lepton_shared.errors import UserError

    try:
        found = importlib.import_module(f"apps.{app_name}.{module}")
    except ModuleNotFoundError as exc:
        if exc.name in (f"apps.{app_name}.{module}", f"apps.{app_name}"):
            raise UserError(missing) from None
        raise
    part = getattr(found, attribute, None)
    if part is None:
        raise UserError(missing)
    return part


def available_apps() -> list[str]:
    """Apps whose package is present (lets the suite run while an app is still being built)."""
    return [n for n in app_names() if app_installed(n)]


def app_installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(f"apps.{name}.app") is not None
    except ModuleNotFoundError:
        return False
