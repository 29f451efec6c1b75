"""Scale-out: two processes of one service behind one PostgreSQL database.

Each replica is a real ``uvicorn`` process on loopback (as two pods would be).
Several client threads interleave writes across both; afterwards every
request's prediction_log row must exist exactly once, and both replicas must
answer the same inputs identically.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.server import eventually, free_port, wait_http

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

HERE = Path(__file__).resolve().parent
TOKEN = "replica-test-token"
THREADS = 6
PER_THREAD = 10


@contextmanager
def replicas(count: int, module: str = "example_entry:app", app: str = "") -> Iterator[list[str]]:
    """``count`` uvicorn processes of the example service, started at the same moment (as pods of one
    Deployment are), sharing this test's environment and so its database."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parents[1]), env.get("PYTHONPATH", "")])
    if app:
        env["LEPTON_APP"] = app
    ports = [free_port() for _ in range(count)]
    procs = [subprocess.Popen([sys.executable, "-m", "uvicorn", module, "--app-dir", str(HERE),
                               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                               "--no-access-log"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for port in ports]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base, proc in zip(bases, procs, strict=True):
            try:
                wait_http(f"{base}/healthz", timeout=120, proc=proc)
            except RuntimeError:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise AssertionError(f"replica {base} died: {err[-3000:]}") from None
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _auth(request_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", "X-Request-ID": request_id}


def test_replicas_lose_no_writes_and_agree(postgres_url: str, tmp_path: Path) -> None:
    from lepton_shared.storage import PredictionLog, session_scope
    from lepton_shared.testing.example import register_example

    with lepton_env(tmp_path / "home", database_url=postgres_url, api_token=TOKEN):
        info = register_example(epochs=2)
        with replicas(2) as bases:
            assert all(httpx.get(f"{b}/readyz").json()["model_version"] == info.version for b in bases)
            run = uuid.uuid4().hex[:8]

            def worker(thread: int) -> list[tuple[str, int, dict[str, Any]]]:
                sent = []
                with httpx.Client(timeout=30) as client:
                    for i in range(PER_THREAD):
                        replica = (thread + i) % 2  # interleave: neighbouring requests hit different replicas
                        request_id = f"{run}-{thread}-{i}"
                        body = {"x0": (i % 5) - 2.0, "x1": (thread % 3) - 1.0}
                        resp = client.post(f"{bases[replica]}/v1/predict", json=body, headers=_auth(request_id))
                        assert resp.status_code == 200, resp.text
                        assert resp.headers["x-request-id"] == request_id
                        sent.append((request_id, replica, {"input": body, "output": resp.json()}))
                return sent

            with ThreadPoolExecutor(THREADS) as pool:
                results = [row for rows in pool.map(worker, range(THREADS)) for row in rows]

            # the same input asked of each replica directly gets the same answer
            probes = [{"x0": 0.3, "x1": -1.2}, {"x0": -2.0, "x1": 0.1}, {"x0": 1.5, "x1": 1.5}]
            answers = [[httpx.post(f"{b}/v1/predict", json=p, headers=_auth(f"{run}-probe-{n}-{i}")).json()
                        for i, p in enumerate(probes)] for n, b in enumerate(bases)]

        assert Counter(replica for _, replica, _ in results) == {0: THREADS * PER_THREAD // 2,
                                                                  1: THREADS * PER_THREAD // 2}
        assert answers[0] == answers[1]
        by_input: dict[str, set[str]] = {}
        for _, _, pair in results:
            by_input.setdefault(str(sorted(pair["input"].items())), set()).add(str(sorted(pair["output"].items())))
        assert all(len(outputs) == 1 for outputs in by_input.values()), "replicas disagreed on an input"

        sent = THREADS * PER_THREAD + 2 * len(probes)

        def logged() -> dict[str, int]:
            with session_scope() as session:
                return dict(session.execute(
                    select(PredictionLog.request_id, func.count()).where(PredictionLog.request_id.like(f"{run}-%"))
                    .group_by(PredictionLog.request_id)).all())

        counts = eventually(logged, lambda c: sum(c.values()) >= sent)
        with session_scope() as session:
            versions = set(session.scalars(select(PredictionLog.model_version)
                                           .where(PredictionLog.request_id.like(f"{run}-%"))))
        sent_ids = {request_id for request_id, _, _ in results}
        assert len(sent_ids) == THREADS * PER_THREAD
        assert set(counts) - {k for k in counts if "-probe-" in k} == sent_ids, "a write was lost"
        assert all(n == 1 for n in counts.values()), {k: n for k, n in counts.items() if n != 1}
        assert versions == {info.version}


def test_replicas_follow_promotion_and_rollback_by_themselves(postgres_url: str, tmp_path: Path) -> None:
    """A Service reaches one pod with POST /v1/admin/reload; each replica must find a new production version
    (and a rollback) in the registry itself, within LEPTON_RELOAD_POLL_S."""
    from lepton_shared.registry import Registry
    from lepton_shared.testing.example import APP, register_example

    def served(bases: list[str]) -> list[str]:
        return [httpx.get(f"{b}/readyz").json().get("model_version", "") for b in bases]

    with lepton_env(tmp_path / "home", database_url=postgres_url, api_token=TOKEN, reload_poll_s="0.2"):
        first = register_example(epochs=1)
        with replicas(2) as bases:
            assert served(bases) == [first.version] * 2
            second = register_example(epochs=2)  # registered and promoted, as `lepton <app> train` does
            assert eventually(lambda: served(bases), lambda v: v == [second.version] * 2) == [second.version] * 2
            answers = [httpx.post(f"{b}/v1/predict", json={"x0": 1.0, "x1": 0.5}, headers=_auth(f"follow-{i}"))
                       .json()["model_version"] for i, b in enumerate(bases)]
            assert answers == [second.version] * 2
            Registry().rollback(APP, reason="replica test")  # what `lepton models rollback <app>` runs
            assert eventually(lambda: served(bases), lambda v: v == [first.version] * 2) == [first.version] * 2


def test_replicas_start_together_after_the_migration_job(postgres_url: str, tmp_path: Path) -> None:
    """The deployment order in services/k8s: the migrate Job runs `lepton db upgrade`, then the pods of a
    Deployment start at once; both must come up and report why they are not ready (no model yet)."""
    from lepton_shared.storage import init_db

    with lepton_env(tmp_path / "home", database_url=postgres_url, api_token=TOKEN):
        init_db()
        with replicas(2) as bases:
            for base in bases:
                assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
                body = httpx.get(f"{base}/readyz").json()
                assert body["status"] == "unavailable" and "no example model" in body["reason"]


def test_replicas_starting_together_on_an_empty_database(postgres_url: str, tmp_path: Path) -> None:
    with lepton_env(tmp_path / "home", database_url=postgres_url, api_token=TOKEN), replicas(2) as bases:
        for base in bases:
            assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}


def test_replicas_of_a_real_app_store_every_event_once(postgres_url: str, tmp_path: Path) -> None:
    """The recommender's write endpoint (POST /v1/events) through two replicas of the shared entry point."""
    from apps.recommender.storage import RecommenderEvent
    from lepton_shared.storage import init_db, session_scope

    with lepton_env(tmp_path / "home", database_url=postgres_url, api_token=TOKEN):
        init_db()
        run = uuid.uuid4().hex[:8]
        with replicas(2, "services.asgi:app", app="recommender") as bases:

            def worker(thread: int) -> int:
                with httpx.Client(timeout=30) as client:
                    for i in range(PER_THREAD):
                        events = [{"user_id": f"{run}-u{thread}", "item_id": f"i{i}-{j}", "weight": 1.0 + j}
                                  for j in range(3)]
                        resp = client.post(f"{bases[(thread + i) % 2]}/v1/events", json={"events": events},
                                           headers=_auth(f"{run}-{thread}-{i}"))
                        assert resp.status_code == 201 and resp.json() == {"stored": 3}, resp.text
                    # a bad batch is refused whole by either replica: nothing of it is stored
                    bad = [{"user_id": f"{run}-u{thread}", "item_id": "ok"}, {"user_id": "", "item_id": "x"}]
                    resp = client.post(f"{bases[thread % 2]}/v1/events", json={"events": bad},
                                       headers=_auth(f"{run}-{thread}-bad"))
                    assert resp.status_code == 422 and isinstance(resp.json()["detail"], str)
                return PER_THREAD * 3

            with ThreadPoolExecutor(THREADS) as pool:
                sent = sum(pool.map(worker, range(THREADS)))

        with session_scope() as session:
            rows = session.execute(select(RecommenderEvent.user_id, RecommenderEvent.item_id, RecommenderEvent.weight)
                                   .where(RecommenderEvent.user_id.like(f"{run}-%"))).all()
        keys = Counter((user, item) for user, item, _ in rows)
        assert len(rows) == sent == THREADS * PER_THREAD * 3
        assert all(n == 1 for n in keys.values())
        assert all(item != "ok" for _, item, _ in rows)
        assert {(user, item): weight for user, item, weight in rows}[(f"{run}-u0", "i0-2")] == 3.0
