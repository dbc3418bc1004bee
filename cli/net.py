"""Ports and readiness polling for the processes the CLI starts."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx

from cli.errors import CliError


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def http_ok(url: str, timeout: float = 2.0, headers: dict[str, str] | None = None) -> bool:
    try:
        return httpx.get(url, timeout=timeout, headers=headers).status_code < 400
    except httpx.HTTPError:
        return False


def wait_until(
    what: str,
    check: Callable[[], bool],
    timeout: float,
    *,
    alive: Callable[[], str | None] | None = None,
    fix: str,
) -> None:
    """Poll `check` until true; `alive` returns a reason when what we wait for died (fail at once)."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if alive is not None:
            reason = alive()
            if reason:
                raise CliError(f"{what} did not start: {reason}.", fix)
        if time.monotonic() > deadline:
            raise CliError(f"{what} was not ready within {timeout:.0f} s.", fix)
        time.sleep(0.2)
