"""What ops deploy (services/Dockerfile, services/k8s) must point at code and routes that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from lepton_shared.manifest import app_names

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "services" / "k8s"


def _docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _all_docs() -> list[dict[str, Any]]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in _docs(path)]


def _find(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in _all_docs() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def _secret_keys() -> tuple[str, set[str]]:
    secret = next(d for d in _all_docs() if d["kind"] == "Secret")
    return secret["metadata"]["name"], set(secret["stringData"])


def test_every_manifest_parses_and_kustomization_lists_them() -> None:
    kustomization = _docs(K8S / "kustomization.yaml")[0]
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert listed == on_disk
    kinds = [d["kind"] for d in _all_docs()]
    assert kinds.count("Deployment") == len(app_names()) and kinds.count("Service") == len(app_names())


def test_shell_exposes_the_probe_paths() -> None:
    from fastapi.testclient import TestClient

    from lepton_shared.testing.example import example_service

    app = example_service()
    paths = {getattr(route, "path", None) for route in app.routes}
    assert {"/healthz", "/readyz"} <= paths
    with TestClient(app) as client:  # no model trained: alive, but not ready, and both without a token
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503


@pytest.mark.parametrize("app", app_names())
def test_deployment_and_service(app: str) -> None:
    deployment = _find("Deployment", f"lepton-{app}")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]
    assert spec["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    (container,) = pod["spec"]["containers"]

    # the command is `lepton <app> serve` on the declared port (JSON logs, binding rules)
    from lepton_shared.cli.main import build_parser

    command = container["command"]
    assert command[0] == "lepton"
    args = build_parser().parse_args(command[1:])
    assert (args.group, args.command, args.host) == (app, "serve", "0.0.0.0")
    port = args.port
    named_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert named_ports["http"] == port

    # probes on the shell's routes, on that port
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert named_ports[container[probe]["httpGet"]["port"]] == port

    # resources and secrets
    for part in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][part])
    secret_name, keys = _secret_keys()
    env = {e["name"]: e for e in container["env"]}
    for var in ("LEPTON_DATABASE_URL", "LEPTON_API_TOKEN", "LEPTON_METRICS_TOKEN", "LEPTON_ID_SALT"):
        ref = env[var]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret_name and ref["key"] in keys
    assert env["LEPTON_APP"]["value"] == app and env["LEPTON_ENV"]["value"] == "production"
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and int(annotations["prometheus.io/port"]) == port

    # the model store every replica shares
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["lepton-home"] == env["LEPTON_HOME"]["value"]
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]}
    assert "ReadWriteMany" in _find("PersistentVolumeClaim", claims["lepton-home"])["spec"]["accessModes"]

    service = _find("Service", f"lepton-{app}")
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] in named_ports


def test_one_entry_point_serves_every_app() -> None:
    source = (ROOT / "services" / "asgi.py").read_text()
    assert re.search(r"^\s*app = get_app\(APP_NAME\)\.create_service\(\)$", source, re.M)
    assert not [app for app in app_names() if (ROOT / "services" / f"{app}.py").exists()]


def test_migrate_job_runs_a_real_cli_command() -> None:
    from lepton_shared.cli.main import build_parser

    job = _find("Job", "lepton-db-migrate")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"][0] == "lepton"
    args = build_parser().parse_args(container["command"][1:])
    assert (args.group, args.command) == ("db", "upgrade")


def test_dockerfile_runs_the_service_chosen_by_lepton_app() -> None:
    text = (ROOT / "services" / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    cmd_line = next(line for line in text.splitlines() if line.startswith("CMD "))
    words = shlex.split(cmd_line[len("CMD "):])
    assert words[:3] == ["exec", "lepton", "${LEPTON_APP}"]
    from lepton_shared.cli.main import build_parser

    args = build_parser().parse_args(["fraud", *(w.replace("${PORT}", "8000").replace("${WORKERS}", "1")
                                                 for w in words[3:])])
    assert (args.command, args.host, args.port) == ("serve", "0.0.0.0", 8000)
    assert re.search(r"^ENV .*LEPTON_APP=(\w+)", text, re.M | re.S)
    default = re.search(r"LEPTON_APP=(\w+)", text)
    assert default and default.group(1) in app_names()
    for folder in ("lepton_shared", "apps", "services"):
        assert re.search(rf"^COPY {folder} ", text, re.M), f"the image must contain {folder}/"
