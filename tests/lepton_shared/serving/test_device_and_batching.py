"""LEPTON_DEVICE for serving and training; the micro-batcher; batching settings; a batched service's answers
equal the unbatched ones and are logged one row per request."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from pathlib import Path

import httpx
import pytest
import torch
from sqlalchemy import select

from lepton_shared.errors import UserError
from lepton_shared.serving import MicroBatcher, batch_options
from lepton_shared.serving.device import serving_device
from lepton_shared.storage import PredictionLog, session_scope
from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.example import example_service, register_example
from lepton_shared.testing.server import eventually, serve_app
from lepton_shared.training import Trainer, TrainerConfig, resolve_device

CUDA = torch.cuda.is_available()


# -- device ---------------------------------------------------------------------------------------------------
def test_lepton_device_cpu_is_honoured(tmp_path: Path) -> None:
    with lepton_env(tmp_path / "h", device="cpu"):
        assert serving_device() == torch.device("cpu")
        assert resolve_device(None) == torch.device("cpu")
        trainer = Trainer(torch.nn.Linear(2, 2), TrainerConfig(show_progress=False, log_to_db=False),
                          lambda m, b: m(b).sum())
        assert trainer.device == torch.device("cpu")
        assert serving_device("cpu") == torch.device("cpu")  # an explicit device wins over the setting


@pytest.mark.parametrize("value", ["tpu", "gpu", "CUDA:0"])
def test_an_invalid_device_setting_is_a_clear_error(tmp_path: Path, value: str) -> None:
    with lepton_env(tmp_path / "h", device=value), pytest.raises(UserError) as err:
        serving_device()
    assert f"LEPTON_DEVICE={value!r}" in str(err.value) and "auto, cpu or cuda" in str(err.value)


@pytest.mark.skipif(CUDA, reason="checks the error on a machine without a GPU")
def test_cuda_asked_for_without_a_gpu(tmp_path: Path) -> None:
    with lepton_env(tmp_path / "h", device="cuda"), pytest.raises(UserError, match="LEPTON_DEVICE=cuda"):
        serving_device()
    with lepton_env(tmp_path / "h", device="auto"):
        assert serving_device() == torch.device("cpu")


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_auto_serves_on_the_gpu(tmp_path: Path) -> None:
    with lepton_env(tmp_path / "h", device="auto"):
        assert serving_device().type == "cuda"
    with lepton_env(tmp_path / "h", device="cpu"):
        assert serving_device().type == "cpu"


# -- settings -------------------------------------------------------------------------------------------------
def test_batch_options_follow_the_app_default_unless_the_setting_says_otherwise(tmp_path: Path) -> None:
    with lepton_env(tmp_path / "h"):
        assert batch_options(True).enabled and not batch_options(False).enabled
        assert batch_options(True).max_batch == 32 and batch_options(True).workers == 1
        assert (batch_options(True, max_batch=4, workers=2).max_batch, batch_options(True, workers=2).workers) == (4, 2)
    with lepton_env(tmp_path / "h", micro_batch="false", max_batch="8", max_wait_ms="5", batch_workers="3"):
        opts = batch_options(True)
        assert not opts.enabled and (opts.max_batch, opts.max_wait_ms, opts.workers) == (8, 5.0, 3)
        assert batch_options(True, max_batch=4).max_batch == 8  # the setting wins over the app's value
    with lepton_env(tmp_path / "h", micro_batch="true"):
        assert batch_options(False).enabled


# -- the batcher ------------------------------------------------------------------------------------------------
def test_batcher_groups_concurrent_items_and_answers_each_in_order() -> None:
    sizes: list[int] = []

    def double(items: list[int]) -> list[int]:
        time.sleep(0.02)
        return [2 * i for i in items]

    async def main() -> list[int]:
        batcher = MicroBatcher(double, max_batch=8, max_wait_ms=5, on_batch=sizes.append)
        out = await asyncio.gather(*(batcher.submit(i) for i in range(20)))
        await batcher.close()
        assert batcher.batches_run == len(sizes) < 20 and batcher.items_run == 20
        return list(out)

    assert asyncio.run(main()) == [2 * i for i in range(20)]
    assert max(sizes) <= 8 and sum(sizes) == 20


def test_a_lone_request_does_not_wait_for_company() -> None:
    async def main() -> float:
        batcher = MicroBatcher(lambda items: items, max_batch=32, max_wait_ms=500)
        await batcher.submit(0)  # the first batch
        start = time.perf_counter()
        await batcher.submit(1)
        elapsed = time.perf_counter() - start
        await batcher.close()
        return elapsed

    assert asyncio.run(main()) < 0.25  # far below the 500 ms wait


def test_a_bad_item_fails_alone_and_workers_run_in_parallel() -> None:
    running, peak, lock = 0, 0, threading.Lock()

    def slow(items: list[int]) -> list[int]:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        if 13 in items:
            raise ValueError("bad item")
        return items

    async def main() -> list[object]:
        batcher = MicroBatcher(slow, max_batch=2, max_wait_ms=0, workers=2)
        out = await asyncio.gather(*(batcher.submit(i) for i in range(10, 16)), return_exceptions=True)
        await batcher.close()
        return list(out)

    out = asyncio.run(main())
    assert out[:3] == [10, 11, 12] and isinstance(out[3], ValueError) and out[4:] == [14, 15]  # only 13 fails
    assert peak == 2


def test_a_batch_is_shared_out_among_idle_workers() -> None:
    sizes: list[int] = []

    def slow(items: list[int]) -> list[int]:
        time.sleep(0.05)
        return [i + 1 for i in items]

    async def main() -> list[int]:
        batcher = MicroBatcher(slow, max_batch=32, max_wait_ms=0, workers=2, min_split=2, on_batch=sizes.append)
        out = await asyncio.gather(*(batcher.submit(i) for i in range(8)))
        await batcher.close()
        return list(out)

    assert asyncio.run(main()) == list(range(1, 9))
    assert sizes == [4, 4]


# -- a batched service ---------------------------------------------------------------------------------------------
def test_batched_service_answers_equal_unbatched_ones_and_logs_each(tmp_path: Path) -> None:
    n = 32
    with lepton_env(tmp_path / "h", micro_batch="true"):
        register_example(epochs=2)
        app = example_service()  # the example's own default is off: the setting turns it on
        assert app.state.lepton.batching.enabled
        with serve_app(app) as base, httpx.Client(timeout=60) as client:
            def call(i: int) -> dict:
                resp = client.post(f"{base}/v1/predict", json={"x0": i / 4, "x1": -i / 8},
                                   headers={"X-Request-ID": f"r{i}"})
                assert resp.status_code == 200, resp.text
                return resp.json()

            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                batched = list(pool.map(call, range(n)))
            metrics = client.get(f"{base}/metrics").text
        predictor = app.state.lepton.predictor
        unbatched = [predictor.predict(predictor.InputModel(x0=i / 4, x1=-i / 8)) for i in range(n)]
        for got, want in zip(batched, unbatched, strict=True):
            assert got["label"] == want["label"]
            assert got["probability"] == pytest.approx(want["probability"], abs=1e-5)
        assert app.state.lepton.batcher.batches_run < n
        assert 'lepton_batch_size_count{app="example",route="/v1/predict"}' in metrics

        def logged() -> list[str]:
            with session_scope() as session:
                return sorted(session.scalars(select(PredictionLog.request_id)
                                              .where(PredictionLog.endpoint == "/v1/predict")))

        assert eventually(logged, lambda ids: len(ids) >= n) == sorted(f"r{i}" for i in range(n))
    with lepton_env(tmp_path / "h2", micro_batch="false"):
        assert not example_service(micro_batch=True).state.lepton.batching.enabled
