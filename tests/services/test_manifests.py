"""What ops deploy (services/Dockerfile, services/k8s) must point at code and routes that exist."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
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
    assert kinds.count("Deployment") == len(app_names()) + 1  # and the UI
    assert kinds.count("Service") == len(app_names()) + 2  # and the UI and PostgreSQL


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
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]
              if "persistentVolumeClaim" in v}
    assert "ReadWriteMany" in _find("PersistentVolumeClaim", claims["lepton-home"])["spec"]["accessModes"]

    # cluster safety: no privileges, a read-only image with writable /tmp, kept up through drains, autoscaled
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["capabilities"]["drop"] == ["ALL"]
    assert security["allowPrivilegeEscalation"] is False
    assert "emptyDir" in {v["name"]: v for v in pod["spec"]["volumes"]}[
        next(m["name"] for m in container["volumeMounts"] if m["mountPath"] == "/tmp")]
    labels = pod["metadata"]["labels"]
    pdb = _find("PodDisruptionBudget", f"lepton-{app}")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items() and pdb["spec"]["minAvailable"] >= 1
    hpa = _find("HorizontalPodAutoscaler", f"lepton-{app}")
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= pdb["spec"]["minAvailable"] + 1  # a drain never blocks
    policy = _find("NetworkPolicy", "lepton-services")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()

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


def _stages() -> dict[str, str]:
    """The Dockerfile's stages by name: each one's text from its FROM line to the next."""
    text = (ROOT / "services" / "Dockerfile").read_text()
    parts = re.split(r"^(?=FROM )", text, flags=re.M)[1:]
    return {re.match(r"FROM \S+ AS (\w+)", part).group(1): part for part in parts}  # type: ignore[union-attr]


def test_dockerfile_builds_wheels_and_installs_them_into_slim_per_app_images() -> None:
    stages = _stages()
    assert list(stages) == ["builder", "runtime", "suite", "service"]  # service last: the default target
    for name in ("builder", "runtime"):
        assert stages[name].startswith("FROM python:3.11-slim AS "), name
    assert stages["suite"].startswith("FROM runtime AS ") and stages["service"].startswith("FROM runtime AS ")
    for folder in ("lepton_shared", "apps", "services"):
        assert re.search(rf"^COPY {folder} ", stages["builder"], re.M), f"the wheel must contain {folder}/"
    assert "pip wheel" in stages["builder"]
    text = "".join(stages.values())
    assert not re.search(r"pip install[^\n]*(-e|--editable)\b", text), "runtime images install the wheel"
    assert "COPY lepton_shared" not in "".join(stages[s] for s in ("runtime", "suite", "service"))
    for name in ("suite", "service"):  # installed from the builder's wheels, run as the non-root user, watched
        stage = stages[name]
        assert re.search(r"RUN --mount=type=bind,from=builder,source=/wheels.*\n\s+pip install --no-index", stage)
        assert re.search(r"^USER 10001$", stage, re.M) and re.search(r"^HEALTHCHECK .*\n\s+CMD ", stage, re.M)
    assert "useradd --uid 10001" in stages["runtime"]


def test_service_image_serves_and_keeps_only_the_app_chosen_by_its_build_arg() -> None:
    stage = _stages()["service"]
    default = re.search(r"^ARG APP=(\w+)$", stage, re.M)
    assert default and default.group(1) in app_names()
    assert re.search(r"^ENV LEPTON_APP=\$\{APP\}$", stage, re.M)
    assert '! -name "${APP}" -exec rm -rf' in stage  # the other apps' packages, in the layer that installed them
    cmd_line = next(line for line in stage.splitlines() if line.startswith("CMD "))
    words = shlex.split(cmd_line[len("CMD "):])
    assert words[:3] == ["exec", "lepton", "${LEPTON_APP}"]
    from lepton_shared.cli.main import build_parser

    args = build_parser().parse_args(["fraud", *(w.replace("${PORT}", "8000").replace("${WORKERS}", "1")
                                                 for w in words[3:])])
    assert (args.command, args.host, args.port) == ("serve", "0.0.0.0", 8000)


def test_every_workload_runs_its_own_image() -> None:
    from services.k8s.render import rendered

    images = {}
    for text in rendered().values():
        for doc in yaml.safe_load_all(text):
            pod = (doc or {}).get("spec", {}).get("template", {}).get("spec")
            if pod:
                images[doc["metadata"]["name"]] = {c["image"] for c in pod["containers"]}
    for app in app_names():
        assert images[f"lepton-{app}"] == {f"lepton-{app}:0.1.0"}, app
    assert images["lepton-ui"] == {"lepton-suite:0.1.0"}  # every app's page
    (job,) = _find("Job", "lepton-db-migrate")["spec"]["template"]["spec"]["containers"]
    assert job["image"] == "lepton-suite:0.1.0"  # every app's migrations
    listed = {i["name"] for i in _docs(K8S / "kustomization.yaml")[0]["images"]}
    assert listed == {"lepton-suite", *(f"lepton-{app}" for app in app_names())}


def test_ui_deployment_service_and_ingress() -> None:
    ui = _find("Deployment", "lepton-ui")
    pod = ui["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert "services/ui/suite.py" in container["command"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    for app in app_names():  # each page calls its service by the Service's name
        service = _find("Service", env[f"LEPTON_{app.upper()}_URL"].removeprefix("http://"))
        assert service["metadata"]["name"] == f"lepton-{app}"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    service = _find("Service", "lepton-ui")
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    ingress = _find("Ingress", "lepton-ui")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "lepton-ui"
    network = _find("NetworkPolicy", "lepton-services")
    sources = network["spec"]["ingress"][0]["from"]
    assert {"app.kubernetes.io/name": "lepton-ui"} in [s.get("podSelector", {}).get("matchLabels") for s in sources]


def test_postgres_statefulset_matches_the_secret() -> None:
    database = _find("StatefulSet", "postgres")
    (container,) = database["spec"]["template"]["spec"]["containers"]
    secret_name, keys = _secret_keys()
    ref = {e["name"]: e for e in container["env"]}["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == secret_name and ref["key"] in keys
    secret = next(d for d in _all_docs() if d["kind"] == "Secret")
    url = secret["stringData"]["database-url"]
    service = _find("Service", "postgres")
    assert f"@{service['metadata']['name']}.lepton.svc:{service['spec']['ports'][0]['port']}/" in url
    assert database["spec"]["volumeClaimTemplates"]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_renders_the_suite() -> None:
    proc = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    secret_name, keys = _secret_keys()
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "lepton", doc["metadata"]["name"]
        spec = doc.get("spec", {})
        pod = spec.get("template", {}).get("spec")
        if not pod:
            continue
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
            assert {"cpu", "memory"} <= set(container["resources"]["limits"])
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                assert ref is None or (ref["name"] == secret_name and ref["key"] in keys), env
            if container["image"].startswith("lepton-"):  # from the kustomization's images:
                assert re.fullmatch(r"lepton-[a-z]+:0\.1\.0", container["image"]), container["image"]
    kinds = [d["kind"] for d in docs]
    assert kinds.count("PodDisruptionBudget") == kinds.count("HorizontalPodAutoscaler") == len(app_names())
