"""``LeptonApp``: the base class each app implements once, in ``apps/<app>/app.py``.

The CLI, the services, the Streamlit suite and the contract tests all talk to
an app only through this class, so a new app is added by copying the shape of
an existing one and listing its name in :data:`APP_NAMES`.
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

APP_NAMES: tuple[str, ...] = ("chatbot", "imaging", "recommender", "fraud", "maintenance")


class LeptonApp(ABC):
    """One vertical app. Keep module-level imports light: heavy ones go inside methods."""

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]
    key_metric: ClassVar[str]
    default_epochs: ClassVar[int] = 5
    #: Extra ``train`` options for ``make demo``'s first run. The demo must train all five apps in
    #: minutes on a laptop; an app whose full default is heavier names a lighter setting here.
    demo_train_args: ClassVar[tuple[str, ...]] = ()

    def add_arguments(self, command: str, parser: argparse.ArgumentParser) -> None:
        """Add app-specific options to ``train`` / ``evaluate`` (the common ones exist already)."""
        return None

    @abstractmethod
    def train(self, args: argparse.Namespace) -> ModelInfo:
        """Train on ``args.data`` (built-in data when None), evaluate on held-out data, register."""

    @abstractmethod
    def evaluate(self, args: argparse.Namespace) -> dict[str, Any]:
        """Metrics of model ``args.model`` (production when None) on ``args.data``; JSON-able."""

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
        """Import string uvicorn uses to start the service with several workers."""
        return f"services.{self.name}:app"


def get_app(name: str) -> LeptonApp:
    from lepton_shared.errors import UserError

    if name not in APP_NAMES:
        raise UserError(f"unknown app {name!r}; choose one of: {', '.join(APP_NAMES)}")
    module = importlib.import_module(f"apps.{name}.app")
    app: LeptonApp = module.APP
    return app


def available_apps() -> list[str]:
    """Apps whose package is present (lets the suite run while an app is still being built)."""
    return [n for n in APP_NAMES if app_installed(n)]


def app_installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(f"apps.{name}.app") is not None
    except ModuleNotFoundError:
        return False
