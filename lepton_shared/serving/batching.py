"""Micro-batching: concurrent requests that arrive within a few milliseconds are
answered by one ``predict_batch`` call, which is what makes a GPU (or a
vectorised CPU model) pay off under load."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool


class MicroBatcher:
    def __init__(self, fn: Callable[[list[Any]], list[Any]], max_batch: int = 32, max_wait_ms: float = 2.0) -> None:
        self.fn = fn
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self._queue: asyncio.Queue[tuple[Any, asyncio.Future[Any]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches_run = 0

    async def submit(self, item: Any) -> Any:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._loop())
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _loop(self) -> None:
        assert self._queue is not None
        while True:
            item, future = await self._queue.get()
            batch = [(item, future)]
            deadline = asyncio.get_running_loop().time() + self.max_wait
            while len(batch) < self.max_batch:
                timeout = deadline - asyncio.get_running_loop().time()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), timeout))
                except TimeoutError:
                    break
            self.batches_run += 1
            try:
                results = await run_in_threadpool(self.fn, [b[0] for b in batch])
                for (_, fut), res in zip(batch, results, strict=True):
                    if not fut.done():
                        fut.set_result(res)
            except Exception as exc:
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
