"""Run the sandbox in-process for tests: `with running_sandbox() as base_url: ...` (uvicorn in a thread)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from starlette.types import ASGIApp

from twilio_sandbox.app import create_app
from twilio_sandbox.seed import SandboxSeed


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve_app(app: ASGIApp, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 15.0) -> Iterator[str]:
    """Serve any ASGI app on a thread; yields its base URL and stops it on exit."""
    port = port or free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server on {host}:{port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def running_sandbox(
    port: int = 0, seed: SandboxSeed | None = None, host: str = "127.0.0.1", db: str | None = None
) -> Iterator[str]:
    """A fresh sandbox on `host:port` (0 = a free port); yields its base URL, e.g. `http://127.0.0.1:40123`."""
    port = port or free_port(host)
    base_url = f"http://{host}:{port}"
    app = create_app(seed, base_url=base_url, db=db)
    with serve_app(app, host, port) as url:
        httpx.get(f"{url}/_sandbox/seed", timeout=5).raise_for_status()
        yield url
