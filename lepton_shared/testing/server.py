"""Run an ASGI app, or a shell command, as a real server on a free loopback port."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import uvicorn

from lepton_shared.spawn import stop


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


T = TypeVar("T")


def eventually(read: Callable[[], T], done: Callable[[T], bool], timeout: float = 15.0) -> T:
    """``read()`` again until ``done`` accepts it or ``timeout`` passes; the last value either way.

    A service writes an answer's ``prediction_log`` row just after sending the answer, so a test that reads
    the log right after a response may be a few milliseconds early."""
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = read()
    return value


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server process exited with {proc.returncode} before answering {url}")
        try:
            httpx.get(url, timeout=2.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


@contextmanager
def serve_app(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread; yields the base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/healthz", timeout=120)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve_process(cmd: Sequence[str], health_url: str, env: dict[str, str] | None = None,
                  timeout: float = 120.0) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process, wait until ``health_url`` answers, stop it afterwards.

    Its stderr goes to a temporary file, not a pipe: a service logs a line per request there, and a pipe
    nobody reads fills after 64 KiB and then blocks every request (a load test's replicas hung that way).
    The file's tail is in the error when the process dies before answering."""
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(list(cmd), env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            try:
                wait_http(health_url, timeout=timeout, proc=proc)
            except RuntimeError as exc:
                stderr.seek(0)
                raise RuntimeError(f"{exc}: {stderr.read().decode(errors='replace')[-3000:]}") from None
            yield proc
        finally:
            stop(proc, timeout=15)
