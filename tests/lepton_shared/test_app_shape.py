"""Every app folder has the same shape, and only the CLI handles parsed command-line options.

These checks keep the tree navigable: an engineer finds an app's training in ``training.py``, its
tables in ``storage.py`` and its options in ``config.py``, whichever app it is.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from lepton_shared.app import get_app
from lepton_shared.config import EvaluateConfig, TrainConfig
from lepton_shared.manifest import app_names

ROOT = Path(__file__).resolve().parents[2]
#: The file of each role, the same in every app (see docs/CONTRIBUTING.md).
ROLE_FILES = ("manifest.py", "app.py", "config.py", "data.py", "model.py", "training.py", "predictor.py",
              "service.py", "schemas.py", "storage.py", "ui.py")
#: Where a parsed ``argparse.Namespace`` may be built: the command-line entry points.
CLI_FILES = {"lepton_shared/cli/main.py", "lepton_shared/cli/perf.py", "lepton_shared/cli/optimize.py",
             "services/demo.py"}


@pytest.mark.parametrize("app", app_names())
def test_every_app_has_the_role_files(app: str) -> None:
    folder = ROOT / "apps" / app
    missing = [name for name in ROLE_FILES if not (folder / name).is_file()]
    assert not missing, f"apps/{app} lacks {missing}"
    assert (folder / "migrations").is_dir(), f"apps/{app} keeps its tables' migrations in migrations/"


@pytest.mark.parametrize("app", app_names())
def test_train_and_evaluate_take_the_apps_typed_config(app: str) -> None:
    lepton_app = get_app(app)
    assert issubclass(lepton_app.train_config, TrainConfig)
    assert issubclass(lepton_app.evaluate_config, EvaluateConfig)
    assert lepton_app.train_config is not TrainConfig, f"{app} declares its own train config in config.py"
    assert lepton_app.train_config.__module__ == f"apps.{app}.config"
    assert lepton_app.evaluate_config.__module__ == f"apps.{app}.config"
    defaults = lepton_app.train_config()  # every field has a default: pages and tests build it with keywords
    assert dataclasses.is_dataclass(defaults)


def test_no_namespace_is_built_outside_the_cli() -> None:
    offenders = []
    for folder in ("apps", "lepton_shared", "services", "benchmarks", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in CLI_FILES or rel == "tests/lepton_shared/test_app_shape.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"\bNamespace\(", line):
                    offenders.append(f"{rel}:{number}: {line.strip()}")
    assert not offenders, "build the app's config instead of an argparse.Namespace:\n" + "\n".join(offenders)


def test_no_app_module_takes_a_namespace() -> None:
    offenders = [f"{p.relative_to(ROOT)}" for p in sorted((ROOT / "apps").rglob("*.py"))
                 if "argparse.Namespace" in p.read_text() or "args: Namespace" in p.read_text()]
    assert not offenders, f"app code takes typed configs, not parsed options: {offenders}"
