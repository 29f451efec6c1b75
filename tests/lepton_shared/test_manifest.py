"""One manifest per app: a toy app dropped into a folder shows up everywhere, and an app's
identity (title, port, key metric) is written nowhere but its manifest."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lepton_shared.manifest import discover, get_manifest

ROOT = Path(__file__).resolve().parents[2]

#: The whole recipe of docs/CONTRIBUTING.md: one folder with a manifest and an app.
TOY_MANIFEST = '''
from lepton_shared.manifest import AppManifest

MANIFEST = AppManifest(name="toy", title="Toy classifier", summary="a toy app that proves the recipe",
                       key_metric="accuracy", higher_is_better=True, port=8199, icon=":material/toys:")
'''

TOY_APP = '''
from lepton_shared.app import LeptonApp
from lepton_shared.registry import Registry
from lepton_shared.testing import example


class ToyApp(LeptonApp):
    name = "toy"

    def train(self, args):
        return example.register_example(epochs=2)

    def evaluate(self, args):
        return {"accuracy": Registry().get("example", args.model).metrics["accuracy"]}

    def load_predictor(self, version=None):
        return example.ExamplePredictor(Registry().get("example", version))

    def create_service(self):
        return example.example_service()


APP = ToyApp()
'''


@pytest.fixture()
def toy_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path holding ``apps/toy/`` only, as a plug-in or a new app would."""
    folder = tmp_path / "plugin" / "apps" / "toy"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text('"""A toy app."""\n')
    (folder / "manifest.py").write_text(TOY_MANIFEST)
    (folder / "app.py").write_text(TOY_APP)
    (folder / "ui.py").write_text("import streamlit as st\n\nst.title('Toy')\n")
    import apps

    monkeypatch.setattr(apps, "__path__", [*apps.__path__, str(folder.parent)])
    yield tmp_path / "plugin"
    for name in [m for m in sys.modules if m.startswith("apps.toy")]:
        del sys.modules[name]


def _env(toy_root: Path, home: Path) -> dict[str, str]:
    env = {**os.environ, "LEPTON_HOME": str(home)}
    env.pop("LEPTON_DATABASE_URL", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(toy_root), env.get("PYTHONPATH", "")])
    return env


def test_the_five_apps_are_found_in_port_order() -> None:
    manifests = discover()
    assert list(manifests)[:5] == ["chatbot", "imaging", "recommender", "fraud", "maintenance"]
    assert len({m.port for m in manifests.values()}) == len(manifests)
    assert get_manifest("maintenance").higher_is_better is False
    assert get_manifest("maintenance").better(10.0, than=12.0)


def test_toy_app_appears_in_the_cli(toy_root: Path, tmp_path: Path) -> None:
    env = _env(toy_root, tmp_path / "home")
    names = subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", "apps", "--names"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert names.returncode == 0, names.stderr
    assert names.stdout.split()[-1] == "toy"
    helped = subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", "--help"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert "a toy app that proves the recipe" in helped.stdout
    trained = subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", "toy", "train"], env=env,
                             capture_output=True, text=True, timeout=300)
    assert trained.returncode == 0, trained.stderr
    evaluated = subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", "toy", "evaluate", "--json"],
                               env=env, capture_output=True, text=True, timeout=300)
    assert evaluated.returncode == 0 and '"accuracy"' in evaluated.stdout, evaluated.stderr


def test_toy_app_appears_on_the_home_page(toy_root: Path, lepton_home: Path) -> None:
    from services.ui import home

    cards = {card.app: card for card in home.build_cards(check_service=False)}
    assert cards["toy"].title == "Toy classifier" and cards["toy"].summary == "a toy app that proves the recipe"
    assert cards["toy"].needs_training and "lepton toy train" in (cards["toy"].problem or "")
    assert cards["toy"].has_page and home.page_script("toy") == toy_root / "apps" / "toy" / "ui.py"
    assert home.titles()["toy"] == "Toy classifier" and home.icons()["toy"] == ":material/toys:"


def test_toy_app_is_served_by_the_shared_entry_point(toy_root: Path, tmp_path: Path) -> None:
    from lepton_shared.testing.server import free_port, wait_http

    env = {**_env(toy_root, tmp_path / "home"), "LEPTON_APP": "toy"}
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "services.asgi:app", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=120, proc=proc)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_k8s_files_are_rendered_from_the_manifests() -> None:
    render = importlib.import_module("services.k8s.render")
    for name, text in render.rendered().items():
        on_disk = (ROOT / "services" / "k8s" / name).read_text()
        assert on_disk == text, f"services/k8s/{name} differs from its manifest: run python -m services.k8s.render"


def _code_files() -> list[Path]:
    roots = [ROOT / "lepton_shared", ROOT / "services", ROOT / "apps", ROOT / "benchmarks"]
    files = [p for root in roots for p in root.rglob("*.py") if p.name != "manifest.py"]
    return [*files, ROOT / "Makefile"]


@pytest.mark.parametrize("app", list(discover()))
def test_identity_is_written_only_in_the_manifest(app: str) -> None:
    """Title and port appear in no code file but the manifest (the rendered k8s files say where they came from)."""
    manifest = get_manifest(app)
    patterns = [re.escape(repr(manifest.title)), re.escape(f'"{manifest.title}"'), rf"\b{manifest.port}\b",
                rf"key_metric\W+{re.escape(repr(manifest.key_metric))}", rf'key_metric\W+"{manifest.key_metric}"']
    offenders = [f"{path.relative_to(ROOT)}: {pattern}" for path in _code_files()
                 for pattern in patterns if re.search(pattern, path.read_text())]
    assert not offenders, offenders
