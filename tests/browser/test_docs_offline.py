"""`/docs` (the API) and `/_sandbox/docs` (the sandbox) render their operations with every request answered by
the stack itself: the browser is refused anything that is not on this machine, as on an air-gapped host."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, Route

from cli.stack import RunInfo

pytestmark = pytest.mark.browser


def offline(page: Page) -> list[str]:
    """Abort every request that leaves 127.0.0.1; returns the list of what was refused."""
    refused: list[str] = []

    def route(route: Route) -> None:
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    return refused


@pytest.mark.parametrize(
    ("which", "path", "operation"),
    [
        ("api", "/docs", "/webhooks/{org}/whatsapp"),
        ("sandbox", "/_sandbox/docs", "/2010-04-01/Accounts/{AccountSid}/Messages.json"),
    ],
)
def test_docs_render_their_operations_offline(
    stack: RunInfo, page: Page, which: str, path: str, operation: str
) -> None:
    base = stack.api_url if which == "api" else stack.sandbox_url
    refused = offline(page)
    page.goto(f"{base}{path}")
    page.locator(".opblock-summary-path").first.wait_for(timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any(operation in p.replace("\u200b", "") for p in paths), paths[:20]
    assert len(paths) > 5
    assert refused == [], f"the docs page asked for outside resources: {refused}"
