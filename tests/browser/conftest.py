"""Headless Chromium (Debian's `chromium`, never a downloaded browser) driven by Playwright, against a running
dev stack. `.ci/run` installs Chromium when it is missing; on a developer machine without it these tests skip."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from rich.console import Console

from cli.stack import RunInfo, RunOptions, RunSession
from tests.polling import wait_for

# No first-run work and no background connections: the machine reaches no host but its own.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Chromium is not installed (apt-get install -y chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser profile per test (its own localStorage, so no codec setting carries over)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunInfo]:
    """`run` as a person starts it: encrypted payloads by default, the sandbox, one conversation in it."""
    data_dir = tmp_path_factory.mktemp("browser") / "data"
    session = RunSession(RunOptions(data_dir=data_dir, free_ports=True), Console(quiet=True))
    try:
        yield session.start()
    finally:
        session.stop(quiet=True)


def contact_says(info: RunInfo, contact: str, body: str) -> str:
    """The simulated contact writes to the seed's first business number (returned)."""
    assert info.sandbox_url is not None
    business = str(httpx.get(f"{info.sandbox_url}/_sandbox/seed", timeout=10).json()["whatsapp_numbers"][0])
    response = httpx.post(
        f"{info.sandbox_url}/_sandbox/contacts/{contact}/messages",
        json={"to": business, "body": body, "profile_name": "Ana"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return business


def inbox(info: RunInfo, contact: str) -> list[dict[str, object]]:
    response = httpx.get(f"{info.sandbox_url}/_sandbox/contacts/{contact}/inbox", timeout=10)
    response.raise_for_status()
    return list(response.json().get("messages", []))


def wait_for_answer(info: RunInfo, contact: str, answers_before: int) -> None:
    wait_for(
        f"an answer to {contact}",
        lambda: len([m for m in inbox(info, contact) if m.get("body")]) > answers_before,
        timeout=90,
    )


def read_secret(path: str | None) -> str:
    assert path is not None
    file = Path(path)
    assert file.stat().st_mode & 0o777 == 0o600, f"{file} must be readable by its owner only"
    return file.read_text().strip()
