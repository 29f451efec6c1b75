"""Micro-batching: concurrent requests that arrive within a few milliseconds are
answered by one ``predict_batch`` call, which is what makes a GPU (or a
vectorised CPU model) pay off under load.

A batch closes when it holds ``max_batch`` items or ``max_wait_ms`` after its
first request was ready to go (a worker free and the request queued), whichever
comes first. The wait is only spent under concurrent load (the previous batch
held more than one request): a lone client's request goes out at once, so
batching costs it no latency. ``workers`` batches may run at the same time, each
in a thread of the service's pool; a batch collected while several workers are
idle is shared out among them (in parts of at least ``min_split`` requests), so
a CPU model whose batch runs on one thread keeps as many cores busy. When a
batch fails, its requests are answered one by one, so a bad request gets its own
error and the others their answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

_Entry = tuple[Any, "asyncio.Future[Any]"]


class MicroBatcher:
    def __init__(self, fn: Callable[[list[Any]], list[Any]], max_batch: int = 32, max_wait_ms: float = 2.0,
                 workers: int = 1, on_batch: Callable[[int], None] | None = None, min_split: int = 4) -> None:
        if max_batch < 1 or workers < 1 or max_wait_ms < 0 or min_split < 1:
            raise ValueError("max_batch, workers and min_split must be at least 1 and max_wait_ms not negative")
        self.fn = fn
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.workers = workers
        self.on_batch = on_batch  # called with each batch's size (the service's metrics)
        self.min_split = min_split  # a batch is shared out among idle workers in parts of at least this size
        self._queue: asyncio.Queue[_Entry] | None = None
        self._slots: asyncio.Semaphore | None = None
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._last_size = 0
        #: batches answered and the items in them (``items_run / batches_run`` is the mean batch size)
        self.batches_run = 0
        self.items_run = 0

    async def submit(self, item: Any) -> Any:
        """The answer to ``item``, computed in a batch with the items submitted around the same time."""
        loop = asyncio.get_running_loop()
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._slots = asyncio.Semaphore(self.workers)
            self._task = asyncio.create_task(self._loop())
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put_nowait((item, future))
        return await future

    async def _loop(self) -> None:
        assert self._queue is not None and self._slots is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._slots.acquire()  # a free worker first: meanwhile the queue fills the next batch
            item, future = await self._queue.get()
            batch = [(item, future)]
            # Under concurrent load (the last batch held several requests) the batch may wait ``max_wait`` for
            # more, counted from when both a worker and a request were ready: the clients just answered by the
            # previous batch are about to send again, and a batch that waits for them runs fuller. A lone
            # client's request (the last batch held one) goes at once.
            deadline = loop.time() + (self.max_wait if self._last_size > 1 else 0.0)
            while len(batch) < self.max_batch:
                try:
                    entry = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    timeout = deadline - loop.time()
                    if timeout <= 0:
                        break
                    try:
                        entry = await asyncio.wait_for(self._queue.get(), timeout)
                    except TimeoutError:
                        break
                batch.append(entry)
            batch = [(i, f) for i, f in batch if not f.done()]  # callers that went away need no answer
            if not batch:
                self._slots.release()
                continue
            self._last_size = len(batch)
            parts = 1  # share the batch out among the idle workers: each part runs on its own thread (core)
            while parts < len(batch) // self.min_split and not self._slots.locked():
                await self._slots.acquire()  # free: returns at once
                parts += 1
            for k in range(parts):
                self._dispatch(batch[k * len(batch) // parts:(k + 1) * len(batch) // parts])

    def _dispatch(self, batch: list[_Entry]) -> None:
        self.batches_run += 1
        self.items_run += len(batch)
        if self.on_batch is not None:
            self.on_batch(len(batch))
        task = asyncio.create_task(self._answer(batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _answer(self, batch: list[_Entry]) -> None:
        assert self._slots is not None
        try:
            try:
                results = await run_in_threadpool(self.fn, [item for item, _ in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"the batch function answered {len(results)} items for {len(batch)}")
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], error=exc)
                    return
                # One bad request (say, an undecodable image) must not fail the others: answer one at a time.
                for item, fut in batch:
                    try:
                        (result,) = await run_in_threadpool(self.fn, [item])
                    except Exception as single:
                        _settle(fut, error=single)
                    else:
                        _settle(fut, result)
                return
            for (_, fut), res in zip(batch, results, strict=True):
                _settle(fut, res)
        finally:
            self._slots.release()

    async def close(self) -> None:
        for task in [self._task, *self._running]:
            if task is not None:
                task.cancel()


def _settle(future: asyncio.Future[Any], result: Any = None, error: BaseException | None = None) -> None:
    if future.done():  # the caller went away
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
