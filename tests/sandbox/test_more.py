"""Conversations events, Flex channel close, read receipts, persistence, the standalone entry point, pure rules."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from twilio.rest import Client

from tests.sandbox.flow_helpers import start_interaction
from tests.sandbox.receiver import Receiver
from twilio_rest.client import build_client
from twilio_sandbox import whatsapp_rules as rules
from twilio_sandbox.testing import free_port, running_sandbox


def test_participant_and_state_events_and_channel_close(
    twilio_client: Client, seed: dict[str, Any], receiver: Receiver, ctl: httpx.Client
) -> None:
    flow = start_interaction(twilio_client, seed, receiver, {"name": "Ana"})
    conv = twilio_client.conversations.v1.services(seed["conversations_service_sid"]).conversations(
        flow.conversation_sid
    )
    conv.webhooks.create(
        target="webhook",
        configuration_url=receiver.url("/events"),
        configuration_filters=["onParticipantAdded", "onConversationStateUpdated"],
    )
    created = receiver.wait_for(lambda r: r.params.get("EventType") == "reservation.created")
    flow.ws.tasks(flow.task_sid).reservations(created.params["ReservationSid"]).update(reservation_status="accepted")
    joined = receiver.wait_for(lambda r: r.path == "/events" and r.params["EventType"] == "onParticipantAdded")
    assert joined.params["Identity"] == "AI Support Agent" and joined.signature_valid
    identities = {p.identity for p in conv.participants.list()}
    assert identities == {"whatsapp:+15551230001", "AI Support Agent"}
    # Closing the interaction channel wraps the task up and closes the conversation.
    twilio_client.flex_api.v1.interaction(flow.interaction_sid).channels(flow.channel_sid).update(status="closed")
    assert flow.ws.tasks(flow.task_sid).fetch().assignment_status == "wrapping"
    assert conv.fetch().state == "closed"
    closed = receiver.wait_for(lambda r: r.path == "/events" and r.params["EventType"] == "onConversationStateUpdated")
    assert (closed.params["StateFrom"], closed.params["StateTo"]) == ("active", "closed")


def test_service_post_webhook_and_read_receipts(
    twilio_client: Client, seed: dict[str, Any], receiver: Receiver, ctl: httpx.Client
) -> None:
    svc = twilio_client.conversations.v1.services(seed["conversations_service_sid"])
    svc.configuration.webhooks().update(
        post_webhook_url=receiver.url("/post"), filters=["onMessageAdded"], method="POST"
    )
    conv = svc.conversations.create(friendly_name="x")
    svc.conversations(conv.sid).messages.create(author="bot", body="b", x_twilio_webhook_enabled="true")
    assert receiver.wait_for(lambda r: r.path == "/post").params["Body"] == "b"

    contact = "+15557654321"
    ctl.post(f"/_sandbox/contacts/{contact}/messages", json={"to": seed["whatsapp_numbers"][0], "body": "hi"})
    msg = twilio_client.messages.create(
        to=f"whatsapp:{contact}",
        from_=f"whatsapp:{seed['whatsapp_numbers'][0]}",
        body="hello",
        status_callback=receiver.url("/st"),
    )
    receiver.wait_for(lambda r: r.params.get("MessageStatus") == "delivered")
    assert ctl.post(f"/_sandbox/contacts/{contact}/read", json={}).json()["read"] == [msg.sid]
    read = receiver.wait_for(lambda r: r.params.get("MessageStatus") == "read")
    assert read.params["EventType"] == "READ"


def test_sqlite_persistence_survives_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.db")
    with running_sandbox(db=db) as url:
        seed = httpx.get(f"{url}/_sandbox/seed").json()
        client = build_client(seed["account_sid"], seed["auth_token"], sandbox_base_url=url)
        conv = client.conversations.v1.conversations.create(friendly_name="kept")
        httpx.post(f"{url}/_sandbox/clock/advance", json={"seconds": 60})
    with running_sandbox(db=db) as url:
        client = build_client(seed["account_sid"], seed["auth_token"], sandbox_base_url=url)
        assert client.conversations.v1.conversations(conv.sid).fetch().friendly_name == "kept"
        assert httpx.get(f"{url}/_sandbox/clock").json()["offset_seconds"] >= 60
        assert client.conversations.v1.conversations.create(friendly_name="next").sid != conv.sid


def test_module_entry_point_prints_url_and_sids_but_no_secret() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "twilio_sandbox", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                seed = httpx.get(f"http://127.0.0.1:{port}/_sandbox/seed", timeout=1).json()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError("sandbox did not start")
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}" in out
    assert seed["account_sid"] in out and seed["api_key_sid"] in out and seed["workspace_sid"] in out
    assert f"GET http://127.0.0.1:{port}/_sandbox/seed" in out
    assert seed["auth_token"] and seed["auth_token"] not in out
    assert seed["api_key_secret"] and seed["api_key_secret"] not in out


def test_media_rules_unit() -> None:
    assert rules.check_media("image/jpeg", 5 * rules.MB).ok
    assert rules.check_media("image/jpeg", 5 * rules.MB + 1).error_code == rules.ERR_MEDIA_TOO_LARGE
    assert rules.check_media("audio/ogg; codecs=opus", 1000).ok
    assert rules.check_media("application/x-msdownload", 10).error_code == rules.ERR_CONTENT
    assert rules.check_media("image/png", 10, "https://x/y/photo.jpg").error_code == rules.ERR_MEDIA
    assert rules.check_media("image/png", 10, "https://x/y/photo.png?sig=1").ok
    assert rules.render_template("Hi {{1}}, order {{2}}", {"1": "Ana"}, {"2": "7"}) == "Hi Ana, order 7"
    assert len(rules.generate_media("image/png", 1234, "s")) == 1234
    assert json.dumps(rules.ERROR_MESSAGES)


def test_seed_files_and_bad_seed(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from twilio_sandbox.seed import SandboxSeed

    (tmp_path / "s.json").write_text(json.dumps({"salt": "other", "whatsapp_numbers": ["+15550001111"]}))
    (tmp_path / "s.toml").write_text('salt = "other"\nwhatsapp_numbers = ["+15550001111"]\n')
    a, b = SandboxSeed.load(tmp_path / "s.json"), SandboxSeed.load(tmp_path / "s.toml")
    assert a == b and a.account_sid != SandboxSeed().account_sid and [r.name for r in a.reps] == ["alice", "bob"]
    (tmp_path / "bad.json").write_text(json.dumps({"whatsapp_numbers": ["14155238886"]}))
    try:
        SandboxSeed.load(tmp_path / "bad.json")
    except ValidationError as exc:
        assert "E164" in str(exc)
    else:
        raise AssertionError("a bad seed must be refused")


def test_spec_params_table_is_current() -> None:
    from tests.sandbox.contract import OAI_DIR
    from twilio_sandbox._gen_spec_params import build_table
    from twilio_sandbox.forms import spec_params

    assert build_table(OAI_DIR) == spec_params()
