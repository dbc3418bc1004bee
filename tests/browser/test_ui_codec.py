"""Payloads are encrypted by default in `run`; the Temporal UI shows a workflow's input encrypted until a person
takes the one documented step (paste the URL from `.data/secrets/ui_codec_endpoint` into the UI's Codec Server
settings), and decoded through the API's codec endpoint after it."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Page

from cli.stack import RunInfo
from contracts.ids import workflow_id
from tests.browser.conftest import contact_says, read_secret, wait_for_answer
from tests.polling import wait_for

pytestmark = pytest.mark.browser

# The Input panel holding one long base64 string: the encrypted payload as the UI shows it without a codec.
CIPHERTEXT = re.compile(r'Input\s*"[A-Za-z0-9+/=]{200,}"')


def page_shows(page: Page, what: str, found: re.Pattern[str] | str) -> None:
    def seen() -> bool:
        text = page.inner_text("body")
        return bool(found.search(text)) if isinstance(found, re.Pattern) else found in text

    wait_for(what, seen, timeout=30)


def open_conversation(stack: RunInfo, page: Page, first_words: str) -> str:
    contact = f"+346{secrets.randbelow(10**8):08d}"
    business = contact_says(stack, contact, first_words)
    wait_for_answer(stack, contact, 0)
    page.goto(stack.workflow_url(workflow_id("demo", business, contact)))
    page_shows(page, "the input shown as ciphertext", CIPHERTEXT)
    return contact


def use_codec_endpoint(page: Page, endpoint: str) -> None:
    """The documented step: Codec Server → "Use my browser setting…" → paste the URL → Apply."""
    page.get_by_test_id("data-encoder-status").click()
    page.get_by_test_id("use-local-endpoint-input").check(force=True)
    page.get_by_test_id("data-encoder-endpoint-input").fill(endpoint)
    page.get_by_role("button", name="Apply").click()


def test_the_workflow_input_is_encrypted_without_the_codec_and_decoded_with_it(stack: RunInfo, page: Page) -> None:
    assert stack.codec_keys_file is not None
    read_secret(stack.codec_keys_file)  # the key ring exists, owner-only
    endpoint = read_secret(stack.ui_codec_endpoint_file)
    assert endpoint.startswith(f"{stack.api_url}/codec/ui/")

    contact = open_conversation(stack, page, "Hi! What are your opening hours?")
    assert contact not in page.inner_text("body")  # the UI shows ciphertext only

    use_codec_endpoint(page, endpoint)
    with page.expect_response(lambda r: r.url.startswith(f"{endpoint}/decode"), timeout=30_000) as answer:
        page.reload()
    assert answer.value.status == 200
    page_shows(page, "the input shown decoded", contact)
    # The timeline can decode an event's payload before the Input panel renders: wait for the input's own field.
    page_shows(page, "the input's fields shown decoded", '"contact_address"')


def test_a_wrong_codec_url_decodes_nothing(stack: RunInfo, page: Page) -> None:
    contact = open_conversation(stack, page, "Hello there")
    wrong = f"{stack.api_url}/codec/ui/not-the-key"
    use_codec_endpoint(page, wrong)
    with page.expect_response(lambda r: r.url.startswith(f"{wrong}/decode"), timeout=30_000) as answer:
        page.reload()
    assert answer.value.status == 401
    page_shows(page, "the input still shown as ciphertext", CIPHERTEXT)
    assert contact not in page.inner_text("body")
