"""Focused fault tests, each a full scripted conversation checked from the sandbox's record:
a missed `reservation.created` (the workflow reconciles by reading the task), TaskRouter events duplicated and
replayed out of order, and the worker SIGKILLed inside the handoff activities."""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from cli.connect import client_for
from cli.sandbox_setup import SANDBOX_ORG
from config.orgs import OrgRegistry
from contracts.ids import workflow_id
from contracts.signals import QUERY_STATE
from contracts.views import ConversationView
from loadgen.chaos import HANDOFF_CALLS, ChaosConfig
from loadgen.conversation import TEMPLATE_COMMAND, ConvLog, Driver
from loadgen.faultrun import FaultRunConfig, FaultRunResult, run_faults
from loadgen.record import RecordFollower
from loadgen.stack import Stack
from payload_encryption.converter import build_data_converter
from tests.polling import eventually

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

QUIET = dict(
    rest_5xx_rate=0.0,
    rest_429_rate=0.0,
    latency_max_ms=0,
    webhook_drop_rate=0.0,
    webhook_duplicate_rate=0.0,
    extra_copy_rate=0.0,
    webhook_reorder=False,
    chaos=None,
    settle_seconds=3.0,
    oversize_every=0,
    rep_break_seconds=0.0,
)
TASK_FETCH = re.compile(r"^/taskrouter/v1/Workspaces/WS\w+/Tasks/WT\w+$")


def _workspace(stack: Stack) -> Any:
    org = OrgRegistry.load(stack.info.orgs_file).get(SANDBOX_ORG)
    assert org is not None
    return client_for(org).taskrouter.v1.workspaces(stack.seed.workspace_sid)


def _assert_clean(result: FaultRunResult) -> None:
    print(result.render())
    assert not [c for c in result.violations if c.category == "stalled"], result.render()
    assert result.ok, result.render()


def test_missed_reservation_created_is_reconciled(stack: Stack) -> None:
    """No reservation.created ever arrives: the AI's offer and the rep's are found by fetching the task."""
    ws = _workspace(stack)
    original = ws.fetch().events_filter or ""
    kept = [e.strip() for e in original.split(",") if e.strip() and e.strip() != "reservation.created"]
    assert kept, "the workspace's EventsFilter should list the events `connect` registered"
    ws.update(events_filter=",".join(kept))
    try:
        result = run_faults(FaultRunConfig(conversations=2, seed=11, step_timeout=240, **QUIET), stack)
    finally:
        ws.update(events_filter=original)
    _assert_clean(result)
    created = [
        e
        for e in result.record
        if e["kind"] == "webhook.sent" and (e.get("params") or {}).get("EventType") == "reservation.created"
    ]
    assert created == [], "the EventsFilter should have kept reservation.created from the service"
    offers = [e for e in result.record if e["kind"] == "taskrouter.event" and e["event_type"] == "reservation.created"]
    assert offers, "reservations were offered (the service just never heard of it)"
    fetches = [e for e in result.record if e["kind"] == "rest" and e["method"] == "GET" and TASK_FETCH.match(e["path"])]
    assert fetches, "the workflow should have reconciled by fetching the task"


def test_taskrouter_events_duplicated_and_out_of_order(stack: Stack) -> None:
    """Every webhook twice from the sandbox, a third copy racing it or arriving late, random per-delivery
    delays (reordering), then every TaskRouter event of the run again, newest first, three copies at once."""
    cfg = FaultRunConfig(
        conversations=4,
        seed=12,
        **{
            **QUIET,
            "webhook_duplicate_rate": 1.0,
            "extra_copy_rate": 1.0,
            "webhook_reorder": True,
        },
        reverse_replay_taskrouter=True,
    )
    result = run_faults(cfg, stack)
    _assert_clean(result)
    faults = result.figures["injected faults"]
    assert faults.get("webhook reverse-order copy: taskrouter", 0) >= 3 * 4 * 3, faults
    assert faults.get("webhook duplicated by the sandbox", 0) > 0


@pytest.mark.parametrize("call", HANDOFF_CALLS, ids=["merge-attributes", "invite", "close-ai-participant"])
def test_worker_killed_inside_handoff(stack: Stack, call: str) -> None:
    """The worker is SIGKILLed the moment a handoff activity's Twilio call lands (and stays dead a while):
    the retried activity must find what the dead one did — one human task, one invite, the AI released once."""
    chaos = ChaosConfig(
        worker_kill_every=None,
        api_restart_every=None,
        temporal_restart_every=None,
        kill_on=[call],
        handoff_kill_rate=1.0,
        handoff_kill_cooldown=3600,
        worker_down=(1.0, 2.0),
    )
    # Latency on the handoff's Twilio calls only, so the kill lands while the call is still in flight.
    cfg = FaultRunConfig(
        conversations=1,
        seed=13,
        step_timeout=240,
        **{**QUIET, "chaos": chaos, "latency_max_ms": 3000, "fault_paths": ["/flex-api/", "/taskrouter/"]},
    )
    result = run_faults(cfg, stack)
    _assert_clean(result)
    assert result.figures["injected faults"].get("worker SIGKILL in handoff") == 1, result.figures
    pattern = re.compile(call)
    hits = [e for e in result.record if e["kind"] == "rest" and pattern.search(f"{e['method']} {e['path']}")]
    assert hits, "the handoff call the kill waited for was made"


async def _late_reply_whose_failure_callback_is_lost(stack: Stack) -> tuple[bool, bool]:
    """Returns (scenario reproduced, notice posted)."""
    async with httpx.AsyncClient() as http:
        follower = RecordFollower(http, stack.sandbox_url)
        await follower.start()
        # Sends to WhatsApp lag (up to 10 s) so the API is down before WhatsApp's failure callback comes.
        faults = {"latency_max_ms": 10000, "paths": ["/api/2010-04-01/Accounts/"], "seed": 5}
        driver = Driver(http, stack.sandbox_url, stack.seed, follower, step_timeout=180)
        contact = f"+3467{secrets.randbelow(10**7):07d}"
        conv = ConvLog(
            index=0,
            contact=contact,
            workflow_id=workflow_id(SANDBOX_ORG, stack.seed.whatsapp_numbers[0], contact),
            tag="[status-gap]",
        )
        try:
            await driver.phase_a(conv)
            assert conv.phase_a_done and not conv.stalled, conv.stalled
            await driver._call("POST", "/_sandbox/clock/advance", {"seconds": 25 * 3600})
            await driver._call("POST", "/_sandbox/faults", faults)
            late = await driver.rep_says(conv, f"Still there? {conv.tag}", "late")
            answered = await follower.wait(
                lambda: any(
                    e.get("status") == 204 or e.get("status") == 200
                    for e in follower.of_kind("webhook.sent")
                    if (e.get("params") or {}).get("MessageSid") == late.sid
                ),
                20,
            )
            assert answered, "the rep's late reply should reach the service"
            stack.terminate("api")
            failed = await follower.wait(
                lambda: [e for e in follower.of_kind("contact.failed") if e["contact"] == contact], 60
            )
            stack.spawn("api")
            await stack.wait_ready("api")
            await driver._call("DELETE", "/_sandbox/faults")
            assert failed, "WhatsApp should have refused the free-form send (63016)"
            sid = failed[0]["message_sid"]
            got_through = [
                e
                for e in follower.of_kind("webhook.sent")
                if (e.get("params") or {}).get("MessageSid") == sid
                and (e.get("params") or {}).get("MessageStatus") == "failed"
                and e.get("status") in (200, 204)
            ]
            notice = await follower.wait(
                lambda: [
                    e
                    for e in follower.conv_messages.get(conv.conversation_sid or "", [])
                    if e["seq"] > late.seq and e["author"] == "system"
                ],
                150,
            )
            return not got_through, bool(notice)
        finally:
            if stack.proc("api").proc is None or stack.proc("api").proc.poll() is not None:  # type: ignore[union-attr]
                stack.spawn("api")
                await stack.wait_ready("api")
            await http.delete(f"{stack.sandbox_url}/_sandbox/faults")
            await follower.stop()


def test_lost_failure_callback_still_gives_the_rep_a_notice(stack: Stack) -> None:
    reproduced, notice = asyncio.run(_late_reply_whose_failure_callback_is_lost(stack))
    if not reproduced:
        pytest.skip("the failure callback reached the service after all; the scenario did not happen")
    assert notice, "no notice in Flex for a free-form reply WhatsApp refused (its failure callback was lost)"


async def _template_retried_right_after_a_reply(stack: Stack) -> tuple[bool, int]:
    """Returns (the template send was retried, templates delivered)."""
    async with httpx.AsyncClient() as http:
        follower = RecordFollower(http, stack.sandbox_url)
        await follower.start()
        driver = Driver(http, stack.sandbox_url, stack.seed, follower, step_timeout=180)
        contact = f"+3466{secrets.randbelow(10**7):07d}"
        conv = ConvLog(
            index=0,
            contact=contact,
            workflow_id=workflow_id(SANDBOX_ORG, stack.seed.whatsapp_numbers[0], contact),
            tag="[find-sent]",
        )
        messages_path = f"/api/2010-04-01/Accounts/{stack.seed.account_sid}/Messages.json"
        try:
            await driver.phase_a(conv)
            assert conv.phase_a_done and not conv.stalled, conv.stalled
            # Inside the window: a reply, then at once a template whose first send attempt fails (503).
            reply = await driver.rep_says(conv, f"One more thing {conv.tag}", "inside")
            sent = await follower.wait(
                lambda: [e for e in follower.of_kind("messaging.created") if e.get("body") == reply.body], 60
            )
            assert sent, "the reply should have been sent"
            await driver._call("POST", "/_sandbox/faults", {"rest_5xx_rate": 1.0, "paths": [messages_path]})
            mark = follower.max_seq
            await driver.rep_says(conv, TEMPLATE_COMMAND, "template")
            failed_once = await follower.wait(
                lambda: [
                    e
                    for e in follower.of_kind("rest")
                    if e["seq"] > mark and e.get("injected") == "5xx" and e.get("method") == "POST"
                ],
                60,
            )
            await driver._call("DELETE", "/_sandbox/faults")
            assert failed_once, "the template's first send attempt should have hit the injected 503"
            await follower.wait(
                lambda: [e for e in follower.of_kind("rest") if e["seq"] > mark and e.get("status") == 200], 30
            )
            template_sid = stack.seed.templates["order_update"]

            def templates_delivered() -> list[dict[str, Any]]:
                return [d for d in driver.delivered(contact) if d.get("content_sid") == template_sid]

            # Delivered, and the workflow idle: no send attempt is left that could deliver it again.
            assert await follower.wait(templates_delivered, 60), "the retried template never reached the contact"
            await eventually("the workflow idle after the template", lambda: _idle(stack, conv.workflow_id))
            await follower.poll()
            got = templates_delivered()
            retried = any(
                e["seq"] > mark and e.get("method") == "GET" and e["path"] == messages_path
                for e in follower.of_kind("rest")
            )
            return retried, len(got)
        finally:
            await http.delete(f"{stack.sandbox_url}/_sandbox/faults")
            await follower.stop()


async def _idle(stack: Stack, workflow: str) -> bool:
    """The conversation's main loop waits for a signal or a timer: nothing it started is still running."""
    client = await Client.connect(
        stack.info.temporal_address, data_converter=build_data_converter(stack.info.codec_keys())
    )
    view = await client.get_workflow_handle(workflow).query(QUERY_STATE, result_type=ConversationView)
    return view.idle


def test_template_retried_after_a_5xx_still_reaches_the_contact(stack: Stack) -> None:
    retried, delivered = asyncio.run(_template_retried_right_after_a_reply(stack))
    if not retried:
        pytest.skip("the send was not retried; the scenario did not happen")
    assert delivered == 1, f"the template reached the contact {delivered} times"


async def _ai_after_a_reservation_timeout(stack: Stack, ws: Any) -> tuple[bool, bool]:
    """Returns (the AI worker went offline, a new contact got an AI answer)."""
    async with httpx.AsyncClient() as http:
        follower = RecordFollower(http, stack.sandbox_url)
        await follower.start()
        driver = Driver(http, stack.sandbox_url, stack.seed, follower, step_timeout=180)
        convs = []
        for tag in ("[ai-timeout-1]", "[ai-timeout-2]"):
            contact = f"+3465{secrets.randbelow(10**7):07d}"
            convs.append(
                ConvLog(
                    index=0,
                    contact=contact,
                    workflow_id=workflow_id(SANDBOX_ORG, stack.seed.whatsapp_numbers[0], contact),
                    tag=tag,
                )
            )
        try:
            first, second = convs
            mark = follower.max_seq
            await driver.contact_says(first, f"Hi! What are your opening hours? {first.tag}", "ai")
            offered = await follower.wait(
                lambda: [
                    e
                    for e in follower.of_kind("taskrouter.event")
                    if e["seq"] > mark and e["event_type"] == "reservation.created"
                ],
                60,
            )
            assert offered, "the AI's task should have been offered"
            # The service has not heard of the offer (reservation.created is filtered out) and TaskRouter's
            # reservation timeout (120 s) passes: the AI worker goes to the workspace's TimeoutActivity.
            await driver._call("POST", "/_sandbox/clock/advance", {"seconds": 130})
            went_offline = await follower.wait(
                lambda: [
                    e
                    for e in follower.of_kind("taskrouter.event")
                    if e["seq"] > mark and e["event_type"] == "reservation.timeout"
                ],
                30,
            )
            before = len(driver.delivered(second.contact))
            await driver.contact_says(second, f"Hi! What are your opening hours? {second.tag}", "ai")
            answered = await follower.wait(lambda: len(driver.delivered(second.contact)) > before, 180)
            return bool(went_offline), bool(answered)
        finally:
            await follower.stop()


def test_ai_stays_available_after_a_reservation_timeout(stack: Stack) -> None:
    ws = _workspace(stack)
    original = ws.fetch().events_filter or ""
    kept = [e.strip() for e in original.split(",") if e.strip() and e.strip() != "reservation.created"]
    ws.update(events_filter=",".join(kept))
    activities = {a.friendly_name: a.sid for a in ws.activities.list()}
    try:
        went_offline, answered = asyncio.run(_ai_after_a_reservation_timeout(stack, ws))
    finally:
        ws.update(events_filter=original)
        for w in ws.workers.list():  # leave the AI worker usable for the other tests
            if w.friendly_name not in {r.name for r in stack.seed.reps} and not w.available:
                ws.workers(w.sid).update(activity_sid=activities["Available"])
    assert went_offline, "the AI reservation should have timed out"
    assert answered, "a new contact got no AI answer: the AI worker stayed offline after a reservation timeout"
