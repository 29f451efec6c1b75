"""``lepton <app> serve --workers 2`` as ops run it: counts summed over workers, JSON-only logs, /metrics access."""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from lepton_shared.testing.server import free_port, wait_http

TOKEN, METRICS_TOKEN = "api-t0ken", "scrape-t0ken"


@pytest.mark.timeout(240)
def test_two_workers_count_once_log_json_and_guard_metrics(tmp_path: Path) -> None:
    port, multiproc = free_port(), tmp_path / "prom"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LEPTON_")}, "LEPTON_HOME": str(tmp_path),
           "LEPTON_API_TOKEN": TOKEN, "LEPTON_METRICS_TOKEN": METRICS_TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
    multiproc.mkdir()
    (multiproc / "counter_1.db").write_bytes(b"stale")  # from an earlier run: must not be summed in
    log = tmp_path / "stderr.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "lepton_shared.cli.main", "fraud", "serve", "--port",
                                 str(port), "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/healthz", timeout=180, proc=proc)
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def miss(i: int) -> int:  # a fresh connection each: the kernel hands them to either worker
            return httpx.get(f"{base}/wp-admin/{i}", headers=auth).status_code

        sent = 0
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            while sent < 400 and len({p.name.rsplit("_", 1)[-1] for p in multiproc.glob("counter_*.db")}) < 2:
                assert set(pool.map(miss, range(sent, sent + 40))) == {404}
                sent += 40
        pids = {p.name.rsplit("_", 1)[-1] for p in multiproc.glob("counter_*.db")}
        assert len(pids) >= 2, "both workers should have answered"

        assert httpx.get(f"{base}/metrics").status_code == 401
        assert httpx.get(f"{base}/v1/model", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 401
        for _ in range(4):  # whichever worker answers the scrape, the sum is the same
            text = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
            found = re.search(r'^lepton_requests_total\{app="fraud",path="<unmatched>",status="404"\} (\S+)$',
                              text, re.M)
            assert found and float(found.group(1)) == sent
        assert "wp-admin" not in text
        memory_pids = set(re.findall(r'^process_resident_memory_bytes\{pid="(\d+)"\}', text, re.M))
        assert len(memory_pids) >= 2
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is JSON: the CLI's, uvicorn's and the app's
    loggers = {r["logger"] for r in records}
    assert {"lepton.serve", "uvicorn.error", "lepton.fraud"} <= loggers, loggers
    assert any(r["logger"] == "lepton.fraud" and r.get("path") == "<unmatched>" and r.get("status") == 404
               for r in records)


def test_one_process_metrics_public_when_asked(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from lepton_shared.testing.env import lepton_env
    from lepton_shared.testing.example import example_service, register_example

    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with lepton_env(tmp_path, api_token=TOKEN, metrics_public="1"):
        register_example(epochs=1)
        with TestClient(example_service()) as client:
            assert client.get("/v1/predict").status_code == 401  # the API still needs its token
            text = client.get("/metrics").text
            assert "process_resident_memory_bytes" in text and "process_cpu_seconds_total" in text
            assert 'lepton_model_info{app="example",version="v1"} 1.0' in text
            register_example(epochs=1)
            client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
            text = client.get("/metrics").text
            assert 'lepton_model_info{app="example",version="v1"} 0.0' in text
            assert 'lepton_model_info{app="example",version="v2"} 1.0' in text
    with lepton_env(tmp_path, api_token=TOKEN), TestClient(example_service()) as client:
        assert client.get("/metrics").status_code == 401
