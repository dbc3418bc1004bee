"""The sandbox object shared by every router: seed, clock, SIDs, state, recorder, faults and webhook
dispatcher."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request

from twilio_sandbox.clock import SandboxClock
from twilio_sandbox.engine import TaskRouterEngine
from twilio_sandbox.faults import Faults
from twilio_sandbox.ratelimit import RateLimit
from twilio_sandbox.record import Recorder
from twilio_sandbox.seed import SandboxSeed
from twilio_sandbox.sids import SidFactory
from twilio_sandbox.state import (
    Activity,
    ChatService,
    ContentTemplate,
    SandboxState,
    Sender,
    TaskChannel,
    TaskQueue,
    WhatsAppApproval,
    Worker,
    Workflow,
    Workspace,
)
from twilio_sandbox.webhooks import Delivery, WebhookDispatcher, order_key


class Sandbox:
    def __init__(self, seed: SandboxSeed, base_url: str = "http://127.0.0.1:8400") -> None:
        self.seed = seed
        self.base_url = base_url
        self.clock = SandboxClock()
        self.sids = SidFactory(seed.salt)
        self.recorder = Recorder(self.clock)
        self.faults = Faults()
        # What runs on every tick of the sandbox clock besides TaskRouter's timeouts (wired in app.py).
        self.tick_listeners: list[Callable[[], None]] = []
        # Per-operation request limits Twilio documents, by operation name.
        self.rate_limits: dict[str, RateLimit] = {}
        self.dispatcher = WebhookDispatcher(self.recorder, self.faults, seed.webhook_timeout_seconds)
        self.state = self._build_state()
        # The engine keeps no state of its own (it reads `self.state`), so it outlives a reset.
        self.engine = TaskRouterEngine(self)

    # --- seed -----------------------------------------------------------------------------------------------
    def _build_state(self) -> SandboxState:
        s, now = self.seed, self.clock.now()
        available = Activity(s.sid("WA", "Available"), "Available", True, now, now)
        offline = Activity(s.sid("WA", "Offline"), "Offline", False, now, now)
        unavailable = Activity(s.sid("WA", "Unavailable"), "Unavailable", False, now, now)
        ws = Workspace(
            sid=s.sid("WS", "workspace"),
            friendly_name=s.workspace_name,
            default_activity_sid=offline.sid,
            timeout_activity_sid=offline.sid,
            date_created=now,
            date_updated=now,
        )
        st = SandboxState(account_sid=s.account_sid, workspace=ws)
        for a in (available, unavailable, offline):
            st.activities[a.sid] = a
        for name in ("default", "voice", "chat", "sms", "video"):
            ch = TaskChannel(s.sid("TC", name), name, name.capitalize(), now, now)
            st.task_channels[ch.sid] = ch
        ai_q = TaskQueue(s.sid("WQ", "ai"), "AI Agent", "ai == true", now, now)
        human_q = TaskQueue(s.sid("WQ", "human"), "Everyone", "ai != true", now, now)
        st.queues[ai_q.sid] = ai_q
        st.queues[human_q.sid] = human_q
        config = {
            "task_routing": {
                "filters": [
                    {
                        "filter_friendly_name": "Handed off to humans",
                        "expression": "handedOff == true",
                        "targets": [{"queue": human_q.sid}],
                    },
                    {
                        "filter_friendly_name": "AI first",
                        "expression": "handedOff != true",
                        "targets": [{"queue": ai_q.sid}],
                    },
                ],
                "default_filter": {"queue": ai_q.sid},
            }
        }
        wf = Workflow(
            s.sid("WW", "workflow"), s.workflow_name, json.dumps(config), now, now, s.task_reservation_timeout
        )
        st.workflows[wf.sid] = wf
        for rep in s.reps:
            attrs = {
                "contact_uri": f"client:{rep.identity}",
                "full_name": rep.full_name,
                "email": f"{rep.name}@example.com",
                "routing": {"skills": [], "levels": {}},
                **rep.extra_attributes,
            }
            worker = Worker(
                sid=s.sid("WK", f"rep:{rep.name}"),
                friendly_name=rep.name,
                attributes=json.dumps(attrs),
                activity_sid=available.sid if rep.available else offline.sid,
                date_created=now,
                date_updated=now,
                date_status_changed=now,
            )
            self._init_worker_channels(st, worker, {"chat": rep.chat_capacity})
            st.workers[worker.sid] = worker
        service = ChatService(s.sid("IS", "conversations"), "Flex Chat Service")
        st.chat_services[service.sid] = service
        st.default_chat_service_sid = service.sid
        for number in s.whatsapp_numbers:
            st.senders[number] = Sender(number=number)
        for t in s.templates:
            types: dict[str, dict[str, Any]] = {"twilio/text": {"body": t.body}}
            if t.quick_replies:
                actions = [{"type": "QUICK_REPLY", "title": q.title, "id": q.id} for q in t.quick_replies]
                types["twilio/quick-reply"] = {"body": t.body, "actions": actions}
            kind = "twilio/quick-reply" if t.quick_replies else "twilio/text"
            approval = WhatsAppApproval(t.name, t.category, kind, "approved" if t.approved else "rejected")
            if not t.approved:
                approval.rejection_reason = "seeded as rejected"
            tpl = ContentTemplate(
                s.sid("HX", f"template:{t.name}"),
                t.name,
                t.language,
                t.body,
                dict(t.variables),
                t.approved,
                now,
                now,
                types=types,
                approval=approval,
            )
            st.templates[tpl.sid] = tpl
        return st

    def _init_worker_channels(self, st: SandboxState, worker: Worker, capacities: dict[str, int]) -> None:
        for ch in st.task_channels.values():
            worker.capacity[ch.unique_name] = capacities.get(ch.unique_name, 1)
            worker.channel_available[ch.unique_name] = True
            worker.channel_sids[ch.unique_name] = self.seed.sid("WC", f"{worker.sid}:{ch.unique_name}")

    def init_worker_channels(self, worker: Worker) -> None:
        self._init_worker_channels(self.state, worker, {"chat": self.seed.new_worker_chat_capacity})

    def reset(self) -> None:
        self.clock.reset()
        self.sids.reset()
        self.recorder.reset()
        self.faults.clear()
        self.rate_limits.clear()
        self.state = self._build_state()

    def tick(self) -> None:
        """Apply everything that is due by the sandbox clock: reservation timeouts, task TTLs, typing indicators."""
        self.engine.tick()
        for listener in self.tick_listeners:
            listener()

    # --- helpers --------------------------------------------------------------------------------------------
    @property
    def st(self) -> SandboxState:
        return self.state

    def now(self) -> datetime:
        return self.clock.now()

    def send_webhook(
        self,
        kind: str,
        url: str,
        params: list[tuple[str, str]],
        *,
        method: str = "POST",
        retry_param: str | None = None,
    ) -> Any:
        # Conversations gives webhooks 5 s; Messaging and TaskRouter 15 s.
        timeout = min(5.0, self.seed.webhook_timeout_seconds) if kind.startswith("conversations") else None
        return self.dispatcher.send(
            Delivery(
                kind=kind,
                url=url,
                params=params,
                token=self.seed.auth_token,
                method=method,
                retry_param=retry_param,
                timeout=timeout,
                order_key=order_key(kind, params),
            )
        )

    def seed_info(self) -> dict[str, Any]:
        st, s = self.state, self.seed
        by_name = {a.friendly_name: a.sid for a in st.activities.values()}
        wf = next(iter(st.workflows.values()))
        return {
            "base_url": self.base_url,
            "account_sid": s.account_sid,
            "auth_token": s.auth_token,
            "api_key_sid": s.api_key_sid,
            "api_key_secret": s.api_key_secret,
            "workspace_sid": st.workspace.sid,
            "workflow_sid": wf.sid,
            "ai_queue_sid": s.sid("WQ", "ai"),
            "human_queue_sid": s.sid("WQ", "human"),
            "task_channel": "chat",
            "activities": {"Available": by_name["Available"], "Offline": by_name["Offline"]},
            "conversations_service_sid": st.default_chat_service_sid,
            "whatsapp_numbers": list(s.whatsapp_numbers),
            "templates": {t.friendly_name: t.sid for t in st.templates.values()},
            "reps": [
                {"worker_sid": s.sid("WK", f"rep:{r.name}"), "name": r.name, "identity": r.identity} for r in s.reps
            ],
        }


def get_sb(request: Request) -> Sandbox:
    sb: Sandbox = request.app.state.sandbox
    return sb
