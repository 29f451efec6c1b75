"""``AppManifest``: everything the rest of the suite needs to know about an app, declared once.

Each app keeps its manifest in ``apps/<app>/manifest.py`` (a module with no heavy
imports, so the CLI's help and the home page can read every manifest without
loading torch). The CLI, the home page, the services, the benchmarks, the
Makefile (through ``lepton apps --names``) and the k8s overlays derive from the
manifests found by :func:`discover`; no other file lists the apps.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Resources:
    """Kubernetes requests and limits of one service replica."""

    cpu_request: str = "250m"
    memory_request: str = "512Mi"
    cpu_limit: str = "1"
    memory_limit: str = "1Gi"


@dataclass(frozen=True)
class AppManifest:
    """An app's identity and its settings for quick runs."""

    name: str
    title: str
    summary: str
    key_metric: str
    higher_is_better: bool
    port: int
    icon: str
    #: Who the app works for, in a few words: the home page's first line about it.
    audience: str = ""
    #: The first thing to try on the app's page, so a newcomer's first minute there is not spent guessing.
    first_try: str = ""
    #: ``train`` options that finish in seconds on built-in data (tests, smoke runs).
    tiny_train_args: tuple[str, ...] = ()
    #: ``evaluate`` options that match a tiny model's built-in data.
    tiny_evaluate_args: tuple[str, ...] = ()
    #: ``train`` options for ``make demo``'s first run (minutes for the whole suite on a laptop).
    demo_train_args: tuple[str, ...] = ()
    #: ``make demo`` trains this app after the others, so theirs are usable first: for a recipe taking minutes.
    demo_train_last: bool = False
    #: ``train`` options of a quick model ``make demo`` serves first when the full recipe takes minutes; the full
    #: recipe then trains in the background and replaces it, and until then the home card says so.
    demo_quick_train_args: tuple[str, ...] = ()
    #: Micro-batching of ``/v1/predict``: on for apps whose model answers a batch in one forward pass.
    micro_batch: bool = False
    #: How much worse the key metric may get, in its units, before the promotion gate keeps a new version a
    #: candidate (``--tolerance`` overrides): one point of an accuracy-like metric or AUC by default.
    tolerance: float = 0.01
    resources: Resources = field(default_factory=Resources)
    extra: dict[str, Any] = field(default_factory=dict)

    def better(self, value: float, than: float) -> bool:
        """Whether ``value`` of the key metric is strictly better than ``than``."""
        return value > than if self.higher_is_better else value < than


def _apps_package() -> Any:
    return importlib.import_module("apps")


def discover() -> dict[str, AppManifest]:
    """Every app package under ``apps`` (on any ``sys.path`` entry) with a ``manifest`` module, by port.

    ``apps`` is extended over ``sys.path`` (``pkgutil.extend_path``), so a new app is
    a folder ``apps/<name>/`` with a ``manifest.py`` and an ``app.py``; nothing else
    needs editing.
    """
    package = _apps_package()
    found: dict[str, AppManifest] = {}
    for module in pkgutil.iter_modules(package.__path__):
        if not module.ispkg or module.name in found:
            continue
        try:
            manifest = importlib.import_module(f"apps.{module.name}.manifest").MANIFEST
        except ModuleNotFoundError as exc:
            if exc.name == f"apps.{module.name}.manifest":
                continue
            raise
        if manifest.name != module.name:
            raise RuntimeError(f"apps/{module.name}/manifest.py declares name {manifest.name!r}")
        found[manifest.name] = manifest
    return dict(sorted(found.items(), key=lambda item: (item[1].port, item[0])))


def app_names() -> tuple[str, ...]:
    return tuple(discover())


def get_manifest(name: str) -> AppManifest:
    from lepton_shared.errors import UserError

    manifests = discover()
    if name not in manifests:
        raise UserError(f"unknown app {name!r}; choose one of: {', '.join(manifests) or 'none installed'}")
    return manifests[name]
