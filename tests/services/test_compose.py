"""services/compose.yaml (one host) against what the services need and the app manifests."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from lepton_shared.cli.main import build_parser
from lepton_shared.manifest import discover
from lepton_shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "services" / "compose.yaml"
ENV_EXAMPLE = ROOT / "services" / ".env.example"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _env_example() -> dict[str, str]:
    pairs = [line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if line and not line.startswith("#")]
    return {k: v for k, v in pairs}


def _container_port() -> int:
    dockerfile = (ROOT / "services" / "Dockerfile").read_text()
    found = re.search(r"^\s+PORT=(\d+)", dockerfile, re.M)
    assert found
    return int(found.group(1))


def test_postgres_with_a_volume_and_a_one_shot_migration(compose: dict[str, Any]) -> None:
    services = compose["services"]
    postgres = services["postgres"]
    assert any(v.split(":")[0] in compose["volumes"] for v in postgres["volumes"])
    assert "pg_isready" in postgres["healthcheck"]["test"]
    migrate = services["migrate"]
    args = build_parser().parse_args(migrate["command"][1:])
    assert migrate["command"][0] == "lepton" and (args.group, args.command) == ("db", "upgrade")
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy" and migrate["restart"] == "no"
    assert migrate["environment"]["LEPTON_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in migrate["environment"]["LEPTON_DATABASE_URL"]


def test_every_app_is_a_healthy_service_after_the_migration(compose: dict[str, Any]) -> None:
    services, port = compose["services"], _container_port()
    manifests = discover()
    assert set(manifests) | {"postgres", "migrate", "ui"} == set(services)
    for name, manifest in manifests.items():
        service = services[name]
        assert service["environment"]["LEPTON_APP"] == name
        published = [p.rsplit(":", 2) for p in service["ports"]]
        assert [(int(host), int(inner)) for _, host, inner in published] == [(manifest.port, port)]
        assert all(bind == "${LEPTON_PUBLISH:-127.0.0.1}" for bind, _, _ in published)  # loopback by default
        assert f"127.0.0.1:{port}/healthz" in " ".join(service["healthcheck"]["test"])
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["env_file"] == [".env"] and "lepton-home:/var/lepton" in service["volumes"]
        assert service["cap_drop"] == ["ALL"]
        assert service["image"] == f"lepton-{name}:0.1.0"  # its own image, holding only its app
        assert (service["build"]["target"], service["build"]["args"]) == ("service", {"APP": name})
    for name in ("migrate", "ui"):  # every app's migrations and pages
        assert services[name]["image"] == "lepton-suite:0.1.0" and services[name]["build"]["target"] == "suite"


def test_the_ui_calls_every_service_by_name(compose: dict[str, Any]) -> None:
    ui, port = compose["services"]["ui"], _container_port()
    assert "services/ui/suite.py" in ui["command"] and "_stcore/health" in " ".join(ui["healthcheck"]["test"])
    for name in discover():
        assert ui["environment"][f"LEPTON_{name.upper()}_URL"] == f"http://{name}:{port}"
    assert ui["env_file"] == [".env"]


def test_env_example_holds_the_secrets_and_only_real_settings(compose: dict[str, Any]) -> None:
    example = _env_example()
    for key in ("LEPTON_API_TOKEN", "LEPTON_ID_SALT", "POSTGRES_PASSWORD", "LEPTON_METRICS_TOKEN"):
        assert example[key] == "CHANGE-ME", key
    assert example["LEPTON_ENV"] == "production"
    fields = {f"LEPTON_{name.upper()}" for name in Settings.model_fields}
    unknown = {k for k in example if k.startswith("LEPTON_")} - fields - {"LEPTON_PUBLISH"}
    assert not unknown, f"not a setting: {unknown}"
    text = COMPOSE.read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert required <= set(example), "every required ${VAR} has a line in .env.example"
    assert "CHANGE-ME" not in text
    dockerfile = (ROOT / "services" / "Dockerfile").read_text().splitlines()
    cmd = next(line for line in dockerfile if line.startswith("CMD exec lepton"))
    assert "WORKERS" in example and "${WORKERS}" in shlex.split(cmd)  # the image reads it at start


@pytest.mark.skipif(shutil.which("docker") is None, reason="docker is not installed")
def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    env = tmp_path / ".env"
    env.write_text(ENV_EXAMPLE.read_text())
    proc = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "--env-file", str(env), "config", "--quiet"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_prometheus_example_scrapes_every_compose_service(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((ROOT / "services" / "prometheus.example.yml").read_text())
    (job,) = config["scrape_configs"]
    targets = {t for group in job["static_configs"] for t in group["targets"]}
    assert targets == {f"{name}:{_container_port()}" for name in discover()}
    assert job["metrics_path"] == "/metrics" and job["authorization"]["type"] == "Bearer"
