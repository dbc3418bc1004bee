"""`connect` and `doctor`: check an org's Twilio/Flex set-up for the handoff, and (connect only) fix our part.

Our part: the AI worker (FriendlyName "AI Support Agent", attributes {"ai": true}, activity Available) and the
workspace event callback. The customer's routing (the TaskRouter workflow) is checked and reported, never
edited: it is theirs, and the fix is printed as the configuration to apply.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from pydantic import BaseModel, Field
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from cli.errors import CliError
from cli.routing_check import recommended_configuration, routing_problems
from config.orgs import Org
from rules.taskrouter_filter import SIGNALLED_EVENT_TYPES
from twilio_rest.client import build_client

# Events the service turns into workflow signals (task ends and reservations of the AI and of reps): exactly
# those the API forwards, so Twilio does not call us for events that would be answered and dropped.
REQUIRED_EVENTS: tuple[str, ...] = tuple(sorted(SIGNALLED_EVENT_TYPES))
AI_WORKER_ATTRIBUTES: dict[str, Any] = {"ai": True}
AVAILABLE_ACTIVITY = "Available"
# A new worker's chat channel takes one task at a time; the AI holds many conversations at once.
AI_CHANNEL_CAPACITY = 50  # default of OrgConfig.ai_chat_capacity


class Finding(BaseModel):
    check: str
    ok: bool
    detail: str
    changed: bool = False  # connect fixed it in this run


class ConnectReport(BaseModel):
    org: str
    applied: bool  # connect (True) or doctor (False)
    findings: list[Finding] = Field(default_factory=list)
    ai_worker_sid: str | None = None
    recommended_workflow_configuration: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    @property
    def changes(self) -> list[Finding]:
        return [f for f in self.findings if f.changed]

    def add(self, check: str, ok: bool, detail: str, changed: bool = False) -> None:
        self.findings.append(Finding(check=check, ok=ok, detail=detail, changed=changed))


def event_callback_url(org: Org) -> str:
    return f"{org.config.public_base_url}/webhooks/{org.name}/taskrouter"


def client_for(org: Org) -> Client:
    c = org.config
    return build_client(
        c.account_sid,
        org.auth_token.get_secret_value(),
        api_key_sid=c.api_key_sid,
        api_key_secret=org.api_key_secret.get_secret_value() if org.api_key_secret else None,
        sandbox_base_url=c.twilio_sandbox_url,
    )


def missing_events(events_filter: str | None) -> list[str]:
    """Required events the workspace's EventsFilter leaves out (no filter = every event is sent)."""
    if not events_filter or not events_filter.strip():
        return []
    have = {e.strip() for e in events_filter.split(",") if e.strip()}
    return [e for e in REQUIRED_EVENTS if e not in have]


def merged_events_filter(events_filter: str | None) -> str:
    """The existing filter plus what we need: events others subscribed to are kept."""
    have = [e.strip() for e in (events_filter or "").split(",") if e.strip()]
    return ",".join(have + [e for e in REQUIRED_EVENTS if e not in have])


def _where(org: Org) -> str:
    return f"the sandbox at {org.config.twilio_sandbox_url}" if org.config.twilio_sandbox_url else "Twilio"


def check_org(org: Org, *, apply: bool, client: Client | None = None) -> ConnectReport:
    """Run every check; with `apply`, provision the AI worker and event callback. Raises CliError when Twilio
    is
    unreachable; everything else is a finding."""
    client = client or client_for(org)
    try:
        return _check(org, client, apply)
    except requests.RequestException as exc:
        raise CliError(
            f"Cannot reach {_where(org)} for org {org.name!r} ({type(exc).__name__}).",
            "check the network, or twilio_sandbox_url in the orgs file (start the sandbox with "
            "`wa-flex-handoff sandbox`).",
        ) from None


def _check(org: Org, client: Client, apply: bool) -> ConnectReport:
    c = org.config
    report = ConnectReport(org=org.name, applied=apply)
    ws = client.taskrouter.v1.workspaces(c.workspace_sid)

    # 1. Credentials: everything else depends on them.
    try:
        workspace = ws.fetch()
    except TwilioRestException as exc:
        if exc.status in (401, 403):
            report.add(
                "credentials",
                False,
                f"Twilio rejected the credentials of account {c.account_sid} (error {exc.code}); "
                "check auth_token_env / api_key_sid and their secrets",
            )
        elif exc.status == 404:
            report.add("credentials", False, f"workspace {c.workspace_sid} does not exist in account {c.account_sid}")
        else:
            report.add(
                "credentials",
                False,
                f"fetching workspace {c.workspace_sid} failed: HTTP {exc.status} {exc.msg}",
            )
        return report
    report.add("credentials", True, f"account {c.account_sid} can read workspace {workspace.friendly_name!r}")

    # 2. Queues and the Conversations service named in the orgs file exist.
    for label, sid in (("AI queue", c.ai_queue_sid), ("human queue", c.human_queue_sid)):
        try:
            queue = ws.task_queues(sid).fetch()
            report.add(label, True, f"{sid} ({queue.friendly_name})")
        except TwilioRestException as exc:
            report.add(label, False, f"{sid} not found in workspace {c.workspace_sid} (HTTP {exc.status})")
    try:
        # Its webhook configuration is readable exactly when the service exists and we may use it.
        client.conversations.v1.services(c.conversations_service_sid).configuration.webhooks.get().fetch()
        report.add("conversations service", True, c.conversations_service_sid)
    except TwilioRestException as exc:
        report.add("conversations service", False, f"{c.conversations_service_sid} not found (HTTP {exc.status})")

    # 3. The AI worker, and that the queues' TargetWorkers put it in the AI queue only.
    _check_ai_worker(org, ws, report, apply)
    if report.ai_worker_sid:
        _check_queue_membership(org, ws, report.ai_worker_sid, report)

    # 4. Event callback + events filter.
    want_url = event_callback_url(org)
    wrong_url = workspace.event_callback_url != want_url
    lacking = missing_events(workspace.events_filter)
    if not wrong_url and not lacking:
        report.add("event callback", True, f"{want_url} receives the task and reservation events")
    elif apply:
        ws.update(event_callback_url=want_url, events_filter=merged_events_filter(workspace.events_filter))
        report.add("event callback", True, f"set to {want_url} with the task and reservation events", changed=True)
    else:
        parts = []
        if wrong_url:
            parts.append(f"EventCallbackUrl is {workspace.event_callback_url or 'unset'}, should be {want_url}")
        if lacking:
            parts.append(f"EventsFilter lacks {', '.join(lacking)}")
        report.add("event callback", False, "; ".join(parts) + " (`connect` sets it)")

    # 5. The customer's routing: checked, never changed.
    try:
        wf = ws.workflows(c.workflow_sid).fetch()
    except TwilioRestException as exc:
        report.add("routing", False, f"workflow {c.workflow_sid} not found (HTTP {exc.status})")
        return report
    problems = routing_problems(wf.configuration or "", c.ai_queue_sid, c.human_queue_sid)
    if problems:
        report.add("routing", False, f"workflow {c.workflow_sid}: " + "; ".join(problems))
        report.recommended_workflow_configuration = recommended_configuration(c.ai_queue_sid, c.human_queue_sid)
    else:
        report.add(
            "routing",
            True,
            "handedOff == true goes to the human queue before the AI filter, which excludes it",
        )

    # 6. Templates named in the orgs file exist in the Content API.
    for name, sid in sorted(c.templates.items()):
        try:
            client.content.v1.contents(sid).fetch()
            report.add(f"template {name}", True, sid)
        except TwilioRestException as exc:
            report.add(f"template {name}", False, f"{sid} not found in the Content API (HTTP {exc.status})")
    return report


def _check_queue_membership(org: Org, ws: Any, worker_sid: str, report: ConnectReport) -> None:
    """TaskRouter lists the queues a worker is eligible for: the AI's must include the AI queue and must not
    include the human queue (else a handed-off task could be offered back to the AI)."""
    c = org.config
    eligible = {q.sid for q in ws.task_queues.list(worker_sid=worker_sid)}
    problems = []
    if c.ai_queue_sid not in eligible:
        problems.append(f"is not in the AI queue {c.ai_queue_sid} (its TargetWorkers should be `ai == true`)")
    if c.human_queue_sid in eligible:
        problems.append(
            f"is also in the human queue {c.human_queue_sid} (add `ai != true` to that queue's TargetWorkers)"
        )
    if problems:
        report.add("AI queue membership", False, "the AI worker " + " and ".join(problems))
    else:
        report.add("AI queue membership", True, "the AI worker is in the AI queue and not in the human queue")


def _check_ai_worker(org: Org, ws: Any, report: ConnectReport, apply: bool) -> None:
    name = org.config.ai_worker_name
    available = [
        a for a in ws.activities.list(friendly_name=AVAILABLE_ACTIVITY) if a.friendly_name == AVAILABLE_ACTIVITY
    ]
    if not available:
        report.add(
            "AI worker",
            False,
            f"the workspace has no {AVAILABLE_ACTIVITY!r} activity to put the AI worker in",
        )
        return
    available_sid = available[0].sid
    workers = [w for w in ws.workers.list(friendly_name=name) if w.friendly_name == name]
    if not workers:
        if apply:
            created = ws.workers.create(
                friendly_name=name, attributes=json.dumps(AI_WORKER_ATTRIBUTES), activity_sid=available_sid
            )
            report.ai_worker_sid = created.sid
            report.add("AI worker", True, f"created {name!r} ({created.sid}), available", changed=True)
            _check_ai_capacity(org, ws, created.sid, report, apply)
        else:
            report.add("AI worker", False, f"no worker named {name!r} (`connect` creates it)")
        return
    if len(workers) > 1:
        report.add("AI worker", False, f"{len(workers)} workers are named {name!r}; delete all but one")
        return
    worker = workers[0]
    report.ai_worker_sid = worker.sid
    try:
        attrs = json.loads(worker.attributes or "{}")
    except json.JSONDecodeError:
        attrs = {}
    wrong: list[str] = []
    if not isinstance(attrs, dict) or attrs.get("ai") is not True:
        wrong.append('attributes lack "ai": true')
    if worker.activity_sid != available_sid:
        wrong.append(f"activity is {worker.activity_name!r}, not {AVAILABLE_ACTIVITY!r}")
    if not wrong:
        report.add("AI worker", True, f"{name!r} ({worker.sid}) is available with ai: true")
    elif apply:
        new_attrs = {**(attrs if isinstance(attrs, dict) else {}), **AI_WORKER_ATTRIBUTES}
        ws.workers(worker.sid).update(attributes=json.dumps(new_attrs), activity_sid=available_sid)
        report.add("AI worker", True, f"{name!r} ({worker.sid}) fixed: " + "; ".join(wrong), changed=True)
    else:
        report.add("AI worker", False, f"{name!r} ({worker.sid}): " + "; ".join(wrong) + " (`connect` fixes it)")
    _check_ai_capacity(org, ws, worker.sid, report, apply)


def _check_ai_capacity(org: Org, ws: Any, worker_sid: str, report: ConnectReport, apply: bool) -> None:
    """The AI worker's channel for our task channel takes the org's `ai_chat_capacity` tasks and is available.

    Each AI-held session holds one unit until it is handed off or goes quiet (`ai_session_idle_seconds`).
    """
    wanted = org.config.ai_chat_capacity
    channel_name = org.config.task_channel
    check = f"AI {channel_name} capacity"
    channels = [c for c in ws.workers(worker_sid).worker_channels.list() if c.task_channel_unique_name == channel_name]
    if not channels:
        report.add(check, False, f"the AI worker has no {channel_name!r} channel; create that task channel")
        return
    channel = channels[0]
    if (channel.configured_capacity or 0) >= wanted and channel.available:
        report.add(check, True, f"{channel.configured_capacity} concurrent conversations")
    elif apply:
        ws.workers(worker_sid).worker_channels(channel.sid).update(capacity=wanted, available=True)
        report.add(check, True, f"raised to {wanted} concurrent conversations", changed=True)
    else:
        report.add(
            check,
            False,
            f"{channel.configured_capacity} concurrent conversation(s), needs {wanted} (`connect` raises it)",
        )
