"""The fault run: start the stack, inject faults, drive N conversations, stop the faults, let the system settle,
check from the sandbox's record and state, and count. `run_faults(FaultRunConfig(...))` → FaultRunResult."""

from __future__ import annotations

import asyncio
import random
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

import httpx
from pydantic import BaseModel, Field
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowExecutionStatus

from cli.connect import client_for
from cli.sandbox_setup import SANDBOX_ORG
from config.orgs import OrgRegistry
from contracts.ids import workflow_id
from contracts.signals import WORKFLOW_NAME
from loadgen.chaos import Chaos, ChaosConfig
from loadgen.checks import (
    AI_GAVE_WAY,
    ConvEvidence,
    FeatureSettings,
    Violation,
    check_conversation,
    status_callbacks_answered,
    status_changes,
    task_rows,
)
from loadgen.conversation import ConvLog, Driver
from loadgen.feature_checks import FeatureEvidence, first_assigned, sends_by_contact, update_pattern
from loadgen.record import RecordFollower
from loadgen.replay import WebhookReplayer
from loadgen.stack import Stack

T = TypeVar("T")


async def bounded_gather(coros: Iterable[Awaitable[T]], limit: int) -> list[T]:
    """`asyncio.gather`, with at most `limit` of them running at once; results in order."""
    sem = asyncio.Semaphore(limit)

    async def one(coro: Awaitable[T]) -> T:
        async with sem:
            return await coro

    return await asyncio.gather(*(one(c) for c in coros))


WINDOW_JUMP_SECONDS = 25 * 3600
# TaskRouter's largest worker-channel capacity: the two seeded reps hold 2,000 conversations at once, the AI worker
# 1,000 (the larger run ramps its conversations in, so fewer are with the AI at any moment).
REP_CAPACITY = 1000
BENIGN_TASK_FAILURES = {"WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND"}


class FaultRunConfig(BaseModel):
    conversations: int = Field(default=200, ge=1, le=20000)
    seed: int = 1
    data_dir: Path | None = None  # default: a fresh temporary directory
    # Sandbox faults (POST /_sandbox/faults).
    rest_5xx_rate: float = 0.10
    rest_429_rate: float = 0.05
    latency_max_ms: int = 2000
    fault_paths: list[str] = Field(default_factory=list)  # REST faults only on these path prefixes (empty: all)
    webhook_drop_rate: float = 0.05
    webhook_duplicate_rate: float = 1.0  # every webhook twice from the sandbox…
    extra_copy_rate: float = 0.5  # …and a third time from the replayer for this share
    webhook_reorder: bool = True
    chaos: ChaosConfig | None = Field(default_factory=ChaosConfig)  # None: no process faults
    ramp_seconds: float | None = None  # conversations start spread over this (default N/10 s)
    step_timeout: float = 300.0  # one script step (covers the 60 s reconciliation and restarts)
    # Every conversation continues as new after this many events (None: when Temporal suggests it): run
    # boundaries under faults.
    continue_as_new_after_events: int | None = Field(default=None, ge=1)
    settle_seconds: float = 20.0  # quiet time after the faults stop, before checking
    # Play an operator who puts the AI worker back to Available when TaskRouter sends it Offline after a
    # reservation timeout. Off: the service does that itself (`ensure_ai_worker_available`), and the run must
    # show it. On only to look past that repair when diagnosing something else; counted in the figures.
    repair_ai_worker: bool = False
    reverse_replay_taskrouter: bool = False  # after phase A: every TaskRouter event again, newest first, ×3
    # In phase A the reps take breaks (all Offline) of `rep_break_seconds` every `rep_break_every` seconds, the first
    # at once: handoffs meanwhile wait in the queue, pending, and their contacts hear their place in it.
    rep_break_every: float = Field(default=60.0, gt=0)
    rep_break_seconds: float = Field(default=0.0, ge=0)  # 0: none (`python -m bench.faults --rep-break-seconds`)
    oversize_every: int = 10  # every n-th conversation sends a 17 MiB video (memory: the sandbox keeps it)
    # Phase B, the wrap-up and the evidence run this many conversations' scripts at once. All 2,000 at once
    # queued 2,000 requests in the driver's HTTP pool, whose bookkeeping is quadratic in its queue: the driver
    # spent its CPU there and sent nothing for minutes (the first 2,000 run that got through phase A).
    max_concurrent_scripts: int = Field(default=200, ge=1)


class FaultRunResult(BaseModel):
    figures: dict[str, Any]
    violations: list[Violation]
    workflow_problems: list[str]
    duration_seconds: float
    record: list[dict[str, Any]] = Field(default_factory=list, exclude=True)  # the sandbox record of the run

    @property
    def ok(self) -> bool:
        return not self.violations and not self.workflow_problems

    def unexplained(self) -> list[Violation]:
        """Violations no known defect (see loadgen.checks) explains."""
        return [v for v in self.violations if v.known_gap is None and v.category != "slow"]

    def known_gaps(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for v in self.violations:
            if v.known_gap:
                out[v.known_gap] = out.get(v.known_gap, 0) + 1
        return out

    def lost(self) -> int:
        return sum(1 for v in self.violations if v.category in ("lost", "stalled"))

    def duplicated(self) -> int:
        return sum(1 for v in self.violations if v.category == "duplicated")

    def render(self) -> str:
        lines = [f"fault run: {self.duration_seconds:.0f} s"]
        for key, value in self.figures.items():
            if isinstance(value, dict):
                lines.append(f"  {key}:")
                lines += [f"    {k}: {v}" for k, v in sorted(value.items())]
            else:
                lines.append(f"  {key}: {value}")
        lines.append(f"  lost: {self.lost()}")
        lines.append(f"  duplicated: {self.duplicated()}")
        slow = sum(1 for v in self.violations if v.category == "slow")
        lines.append(f"  slow (there in the end, after the driver's wait): {slow}")
        lines.append(f"  other violations: {len(self.violations) - self.lost() - self.duplicated() - slow}")
        lines.append(f"  workflow problems: {len(self.workflow_problems)}")
        for gap, count in self.known_gaps().items():
            lines.append(f"  of which explained by a known defect ({count}): {gap}")
        for v in self.violations[:40]:
            lines.append(
                f"  ✗ [{v.category}] {v.conversation}: {v.detail}" + (" (known defect)" if v.known_gap else "")
            )
        for p in self.workflow_problems[:20]:
            lines.append(f"  ✗ [workflow] {p}")
        return "\n".join(lines)


def run_faults(
    cfg: FaultRunConfig, stack: Stack | None = None, progress: Callable[[str], None] | None = None
) -> FaultRunResult:
    """Runs against `stack` if given (started, owned by the caller), else starts and stops its own.

    Synchronous on purpose: the stack's processes must be started from a long-lived thread outside any event
    loop (see loadgen.stack)."""
    own = stack is None
    tmp: tempfile.TemporaryDirectory[str] | None = None
    if stack is None:
        if cfg.data_dir is None:
            tmp = tempfile.TemporaryDirectory(prefix="wafh-faults-")
            data_dir = Path(tmp.name)
        else:
            data_dir = cfg.data_dir
        stack = Stack(data_dir, continue_as_new_after_events=cfg.continue_as_new_after_events)
        stack.start()
    try:
        return asyncio.run(FaultRun(cfg, stack, progress).run())
    finally:
        if own:
            stack.stop()
        if tmp is not None:
            tmp.cleanup()


class FaultRun:
    def __init__(self, cfg: FaultRunConfig, stack: Stack, progress: Callable[[str], None] | None = None) -> None:
        self.progress = progress
        self.ai_repairs = 0
        self.rep_breaks = 0
        self.phase = "starting"
        self.clock_jumped_at: datetime | None = None  # wall time
        self.cfg = cfg
        self.stack = stack
        self.rng = random.Random(cfg.seed)
        self.org = OrgRegistry.load(stack.info.orgs_file).get(SANDBOX_ORG)
        assert self.org is not None

    async def run(self) -> FaultRunResult:
        started = time.monotonic()
        cfg, stack = self.cfg, self.stack
        seed = stack.seed
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with httpx.AsyncClient(limits=limits) as http:
            await asyncio.to_thread(self._raise_rep_capacity)
            follower = RecordFollower(http, stack.sandbox_url)
            await follower.start()
            first_seq = follower.max_seq
            replayer = WebhookReplayer(http, seed.auth_token, extra_rate=cfg.extra_copy_rate, rng=self.rng)
            follower.listeners.append(replayer.on_entry)
            chaos = Chaos(stack, cfg.chaos, self.rng) if cfg.chaos else None
            if chaos:
                follower.on_seen.append(chaos.on_entry)  # in flight: the call may still be waiting on latency
            csat = self.org.config.csat if self.org is not None else None
            rating = csat.quick_reply_content_sid if csat is not None and csat.enabled else None
            driver = Driver(
                http, stack.sandbox_url, seed, follower, step_timeout=cfg.step_timeout, rating_content_sid=rating
            )
            repairs: list[asyncio.Task[None]] = []
            if cfg.repair_ai_worker:
                follower.listeners.append(lambda e: self._maybe_repair_ai(e, repairs))
            run_tag = secrets.token_hex(2)
            block = stack.next_contact_block()
            convs = [self._conv(i, run_tag, block, seed.whatsapp_numbers[0]) for i in range(cfg.conversations)]

            await self._set_faults(http)
            if chaos:
                chaos.start()
            reporter = asyncio.create_task(self._report(convs, follower, chaos))
            ramp = cfg.ramp_seconds if cfg.ramp_seconds is not None else cfg.conversations / 10

            async def phase_a(c: ConvLog) -> None:
                await asyncio.sleep(self.rng.uniform(0, ramp))
                await self._guard(c, driver.phase_a(c))

            self.phase = "A (AI, handoff, rep inside the window, media)"
            breaks = asyncio.create_task(self._rep_breaks(driver))
            try:
                await asyncio.gather(*(phase_a(c) for c in convs))
            finally:
                breaks.cancel()
                await asyncio.gather(breaks, return_exceptions=True)
                await self._reps_to(driver, "Available")
            await asyncio.gather(*(self._guard(c, driver.late_handoff(c, cfg.step_timeout)) for c in convs))
            if cfg.reverse_replay_taskrouter:
                await self._reverse_replay(http, follower, replayer)
            # The sandbox clock is global: the window closes for everyone at once.
            self.clock_jumped_at = datetime.now(UTC)
            await driver._call("POST", "/_sandbox/clock/advance", {"seconds": WINDOW_JUMP_SECONDS})
            self.phase = "B (after the 24 h window: free-form refused, template)"
            await bounded_gather((self._guard(c, driver.phase_b(c)) for c in convs), cfg.max_concurrent_scripts)
            # The reps end their tasks and the contacts rate the conversation. Every fault but dropped webhooks: a
            # lost task.completed would leave a session open until its hourly read-back, past the run's end.
            self.phase = "C (reps end their tasks, contacts rate)"
            await self._set_faults(http, drops=False)

            async def phase_c(c: ConvLog) -> None:
                await driver.wrap_up(c)
                await self._guard(c, driver.rate(c))

            await bounded_gather((phase_c(c) for c in convs), cfg.max_concurrent_scripts)
            self.phase = "settling"
            if chaos:
                await chaos.stop()
            await http.delete(f"{stack.sandbox_url}/_sandbox/faults")
            # Settle: retries and late copies land, reconciliations run.
            await replayer.drain(within=120)
            await asyncio.sleep(cfg.settle_seconds)
            replayer.enabled = False
            await replayer.cancel()
            await follower.stop()
            reporter.cancel()
            self.phase = "checking"

            self._settle_drops(convs, follower)
            violations, evidence_figures = await self._check(http, convs, follower, seed.templates["order_update"])
            problems, wf_figures = await self._check_workflows(convs)
            figures = self._figures(convs, follower, first_seq, replayer, chaos)
            figures.update(evidence_figures)
            figures["AI worker set back to Available by the operator"] = self.ai_repairs
            figures.update(wf_figures)
            if chaos and chaos.errors:
                problems += [f"restart: {e}" for e in chaos.errors]
        return FaultRunResult(
            figures=figures,
            violations=violations,
            workflow_problems=problems,
            duration_seconds=time.monotonic() - started,
            record=[e for s, e in sorted(follower.entries.items()) if s > first_seq],
        )

    def _maybe_repair_ai(self, e: dict[str, Any], tasks: list[asyncio.Task[None]]) -> None:
        if e["kind"] != "taskrouter.event" or e["event_type"] != "worker.activity.update":
            return
        if e.get("worker_sid") in {r.worker_sid for r in self.stack.seed.reps}:
            return
        tasks.append(asyncio.get_running_loop().create_task(asyncio.to_thread(self._make_available, e["worker_sid"])))

    def _feature_settings(self) -> FeatureSettings:
        assert self.org is not None
        csat = self.org.config.csat
        sids = [sid for sid in (csat.quick_reply_content_sid, csat.template_content_sid) if sid] if csat.enabled else []
        return FeatureSettings(
            queue_updates=self.org.config.queue_updates,
            csat_content_sids=sorted(set(sids)),
            csat_thanks=csat.thanks.get("en") if sids else None,
        )

    def _make_available(self, worker_sid: str) -> None:
        assert self.org is not None
        ws = client_for(self.org).taskrouter.v1.workspaces(self.stack.seed.workspace_sid)
        for attempt in range(10):  # the sandbox's REST faults apply to us too
            try:
                if ws.workers(worker_sid).fetch().available:
                    return
                available = next(a.sid for a in ws.activities.list() if a.friendly_name == "Available")
                ws.workers(worker_sid).update(activity_sid=available)
                self.ai_repairs += 1
                return
            except Exception:
                time.sleep(0.5 * (attempt + 1))

    @staticmethod
    def _settle_drops(convs: list[ConvLog], follower: RecordFollower) -> None:
        """A message taken for dropped whose webhook went out after all was only late: it counts as sent."""
        for c in convs:
            for m in [*c.contact_msgs, *c.rep_msgs]:
                if m.dropped and follower.webhook_sent_by_message.get(m.sid):
                    m.dropped = False

    async def _reverse_replay(
        self, http: httpx.AsyncClient, follower: RecordFollower, replayer: WebhookReplayer
    ) -> None:
        """Out of order on purpose: every TaskRouter event delivered so far, newest first (a reservation.accepted
        before the reservation.created it follows), three copies of each at once."""
        sent = [e for e in follower.of_kind("webhook.sent") if e.get("webhook") == "taskrouter"]
        seen: set[str] = set()
        events = []
        for e in reversed(sent):
            sid = (e.get("params") or {}).get("Sid", "")
            if sid and sid not in seen:
                seen.add(sid)
                events.append(e)
        for e in events:
            statuses = await asyncio.gather(*(replayer.deliver(e) for _ in range(3)))
            replayer.counts["reverse-order copy: taskrouter"] += len(statuses)

    async def _report(self, convs: list[ConvLog], follower: RecordFollower, chaos: Chaos | None) -> None:
        if self.progress is None:
            return
        started = time.monotonic()
        while True:
            await asyncio.sleep(15)
            done_a = sum(1 for c in convs if c.phase_a_done)
            stalled = sum(1 for c in convs if c.stalled)
            kills = dict(chaos.counts) if chaos else {}
            last = chaos.journal[-1] if chaos and chaos.journal else None
            latest = f"; last: {last[1]} at {last[0]:.0f} s, ready after {last[2]:.1f} s" if last else ""
            self.progress(
                f"[{time.monotonic() - started:5.0f} s] phase {self.phase}: {done_a}/{len(convs)} through phase A, "
                f"{stalled} with a stalled step, record seq {follower.max_seq}, process faults {kills}{latest}"
            )

    def _conv(self, i: int, run_tag: str, block: int, business: str) -> ConvLog:
        if block > 999 or i > 99_999:
            raise ValueError(f"contact numbers exhausted (block {block}, conversation {i}): use a fresh data directory")
        contact = f"+3469{block:03d}{i:05d}"
        return ConvLog(
            index=i,
            contact=contact,
            workflow_id=workflow_id(SANDBOX_ORG, business, contact),
            tag=f"[c{run_tag}-{i:05d}]",
            oversize=self.cfg.oversize_every > 0 and i % self.cfg.oversize_every == 0,
        )

    async def _guard(self, conv: ConvLog, coro: Any) -> None:
        try:
            await coro
        except Exception as exc:  # one broken script must not end the run; it is a finding
            conv.stalled.append(f"script error: {type(exc).__name__}: {exc}")

    def _raise_rep_capacity(self) -> None:
        """Reps hold their tasks until after the window jump, so they must take every conversation at once; the
        AI worker (`connect` gives it 50) takes every conversation too: this run measures faults, not capacity."""
        assert self.org is not None
        ws = client_for(self.org).taskrouter.v1.workspaces(self.stack.seed.workspace_sid)
        workers = [r.worker_sid for r in self.stack.seed.reps]
        workers += [w.sid for w in ws.workers.list() if w.sid not in workers]  # the AI worker
        for sid in workers:
            for ch in ws.workers(sid).worker_channels.list():
                if ch.task_channel_unique_name == self.stack.seed.task_channel:
                    ws.workers(sid).worker_channels(ch.sid).update(capacity=REP_CAPACITY, available=True)

    async def _rep_breaks(self, driver: Driver) -> None:
        if self.cfg.rep_break_seconds <= 0:
            return
        while True:
            await self._reps_to(driver, "Offline")
            self.rep_breaks += 1
            await asyncio.sleep(self.cfg.rep_break_seconds)
            await self._reps_to(driver, "Available")
            await asyncio.sleep(max(self.cfg.rep_break_every - self.cfg.rep_break_seconds, 0))

    async def _reps_to(self, driver: Driver, activity: str) -> None:
        for rep in self.stack.seed.reps:
            await driver._call("POST", f"/_sandbox/reps/{rep.name}/activity", {"activity": activity})

    async def _set_faults(self, http: httpx.AsyncClient, *, drops: bool = True) -> None:
        cfg = self.cfg
        body = {
            "rest_5xx_rate": cfg.rest_5xx_rate,
            "rest_429_rate": cfg.rest_429_rate,
            "retry_after_seconds": 1,
            "latency_max_ms": cfg.latency_max_ms,
            "webhook_drop_rate": cfg.webhook_drop_rate if drops else 0.0,
            "webhook_duplicate_rate": cfg.webhook_duplicate_rate,
            "webhook_reorder": cfg.webhook_reorder,
            "seed": cfg.seed,
            "paths": cfg.fault_paths,
        }
        resp = await http.post(f"{self.stack.sandbox_url}/_sandbox/faults", json=body)
        resp.raise_for_status()

    async def _check(
        self, http: httpx.AsyncClient, convs: list[ConvLog], follower: RecordFollower, template_sid: str
    ) -> tuple[list[Violation], dict[str, Any]]:
        assert self.org is not None
        seed = self.stack.seed
        ws = client_for(self.org).taskrouter.v1.workspaces(seed.workspace_sid)
        tasks = task_rows(await asyncio.to_thread(lambda: list(ws.tasks.stream(page_size=1000))))
        by_wf: dict[str, list[dict[str, Any]]] = {}
        for t in tasks:
            wf = (t["attributes"].get("waHandoff") or {}).get("workflowId")
            if wf:
                by_wf.setdefault(wf, []).append(t)
        entries = [e for _, e in sorted(follower.entries.items())]
        changes = status_changes(entries)
        invites: Counter[str] = Counter(e["task_sid"] for e in entries if e["kind"] == "flex.invite")
        outbound: dict[str, list[str]] = {}
        outbound_sids: dict[str, dict[str, list[str]]] = {}
        for e in entries:
            if e["kind"] == "messaging.created" and e.get("body"):
                outbound.setdefault(e["to"], []).append(e["body"])
                outbound_sids.setdefault(e["to"], {}).setdefault(e["body"], []).append(e["message_sid"])
        answered = status_callbacks_answered(entries)
        # A retried send looks for its earlier attempt's message first (GET Messages.json?To=…): the trace of
        # TwilioActivities._find_sent in the record.
        lookups = [
            unquote(str(e.get("query", "")))
            for e in entries
            if e["kind"] == "rest" and e.get("method") == "GET" and str(e.get("path", "")).endswith("/Messages.json")
        ]
        template_faulted = {c.contact for c in convs if any(f"whatsapp:{c.contact}" in q for q in lookups)}
        sends = sends_by_contact(entries)
        accepted = first_assigned(entries)

        async def evidence(c: ConvLog) -> ConvEvidence:
            inbox = (await http.get(f"{self.stack.sandbox_url}/_sandbox/contacts/{c.contact}/inbox")).json()
            ev = ConvEvidence(
                inbox=inbox["messages"],
                tasks=by_wf.get(c.workflow_id, []),
                outbound_bodies=outbound.get(c.contact, []),
                outbound_sids_by_body=outbound_sids.get(c.contact, {}),
                template_send_faulted=c.contact in template_faulted,
                features=FeatureEvidence(
                    sends=sends.get(c.contact, []),
                    rep_accepted_at=accepted.get(c.human_task_sid) if c.human_task_sid else None,
                    clock_jumped_at=self.clock_jumped_at,
                ),
            )
            ev.status_callbacks_answered = {
                sid: answered.get(sid, []) for sids in ev.outbound_sids_by_body.values() for sid in sids
            }
            csid = c.conversation_sid or next(
                (t["attributes"].get("conversationSid") for t in ev.tasks if t["attributes"].get("conversationSid")),
                None,
            )
            if csid:
                resp = await http.get(f"{self.stack.sandbox_url}/_sandbox/conversations/{csid}/messages")
                if resp.status_code == 200:
                    ev.flex = resp.json()["messages"]
            return ev

        evs = await bounded_gather((evidence(c) for c in convs), 20)
        reps = {r.worker_sid for r in seed.reps}
        ai_offline = any(
            e["kind"] == "taskrouter.event"
            and e["event_type"] == "reservation.timeout"
            and e.get("worker_sid") not in reps
            for e in entries
        )
        busy = self.org.config.busy_message
        features = self._feature_settings()
        violations: list[Violation] = []
        for c, ev in zip(convs, evs, strict=True):
            violations += check_conversation(
                c,
                ev,
                template_sid=template_sid,
                human_queue_sid=seed.human_queue_sid,
                busy_message=busy,
                task_status_changes=changes,
                invites_by_task=invites,
                ai_offline=ai_offline,
                features=features,
            )
        delivered = sum(1 for ev in evs for m in ev.inbox if m.get("status") in ("delivered", "sent", "read"))
        queue_update = update_pattern(features.queue_updates)
        all_sends = [s for ev in evs for s in ev.features.sends]
        typing = Counter(e["message_sid"] for e in entries if e["kind"] == "whatsapp.typing")
        updates_sent = sum(1 for x in all_sends if x.body and queue_update.match(x.body))
        failed = sum(1 for ev in evs for m in ev.inbox if m.get("status") in ("failed", "undelivered"))
        return violations, {
            "messages reaching contacts": delivered,
            "sends refused by WhatsApp (window closed)": failed,
            "Flex messages": sum(len(ev.flex) for ev in evs),
            "human tasks": sum(1 for t in tasks if t["queue"] == seed.human_queue_sid),
            # Their unanswered messages are part of that handoff (the judge's rule); shown so it stays visible.
            "handoffs because the AI could not take the conversation": sum(
                1
                for t in tasks
                if t["queue"] == seed.human_queue_sid
                and (t.get("attributes") or {}).get("handoffReason") in AI_GAVE_WAY
            ),
            "queue updates sent (reps' breaks taken)": f"{updates_sent} ({self.rep_breaks})",
            "rating questions sent / ratings noted in Flex": (
                f"{sum(1 for x in all_sends if x.content_sid in features.csat_content_sids)} / "
                f"{sum(1 for ev in evs for m in ev.flex if 'rated this conversation' in str(m.get('body') or ''))}"
            ),
            "typing indicators shown (for the same message again, after a retried turn)": (
                f"{sum(typing.values())} ({sum(n - 1 for n in typing.values())})"
            ),
            "AI reservations timed out (AI worker sent Offline)": sum(
                1
                for e in entries
                if e["kind"] == "taskrouter.event"
                and e["event_type"] == "reservation.timeout"
                and e.get("worker_sid") not in reps
            ),
        }

    async def _check_workflows(self, convs: list[ConvLog]) -> tuple[list[str], dict[str, Any]]:
        client = await Client.connect(self.stack.info.temporal_address, namespace=self.stack.info.namespace)
        problems: list[str] = []
        statuses: Counter[str] = Counter()
        states: Counter[str] = Counter()
        task_failures: Counter[str] = Counter()
        wanted = {c.workflow_id for c in convs}
        ids: list[tuple[str, str]] = []
        async for wf in client.list_workflows(f'WorkflowType="{WORKFLOW_NAME}"'):
            if wf.id not in wanted:
                continue
            ids.append((wf.id, wf.run_id))
            statuses[wf.status.name if wf.status else "?"] += 1
            state = wf.search_attributes.get("ConversationState")
            states[str(state[0]) if isinstance(state, list) and state else "?"] += 1
            if wf.status not in (
                WorkflowExecutionStatus.RUNNING,
                WorkflowExecutionStatus.COMPLETED,
                WorkflowExecutionStatus.CONTINUED_AS_NEW,
            ):
                problems.append(f"{wf.id} run {wf.run_id} is {wf.status}")
        missing = wanted - {i for i, _ in ids}
        for wf_id in sorted(missing)[:20]:
            problems.append(f"{wf_id}: no workflow")

        async def scan(wf_id: str, run_id: str) -> None:
            handle = client.get_workflow_handle(wf_id, run_id=run_id)
            async for event in handle.fetch_history_events():
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                    attrs = event.workflow_task_failed_event_attributes
                    cause = WorkflowTaskFailedCause.Name(attrs.cause)
                    task_failures[cause] += 1
                    message = attrs.failure.message[:200] if attrs.failure else ""
                    # A signal racing a completion (continue-as-new) is the server asking for a retry, not
                    # a failing workflow: counted, not a problem.
                    if cause not in BENIGN_TASK_FAILURES:
                        problems.append(f"{wf_id}: WorkflowTaskFailed ({cause}): {message}")
            desc = await handle.describe()
            pending = desc.raw_description.pending_workflow_task
            if pending and pending.attempt > 1:
                problems.append(f"{wf_id}: workflow task attempt {pending.attempt} pending")

        await bounded_gather((scan(i, r) for i, r in ids), 10)
        return problems, {
            "workflow runs by status": dict(statuses),
            "conversation state at the end": dict(states),
            "WorkflowTaskFailed by cause": dict(task_failures),
        }

    def _figures(
        self,
        convs: list[ConvLog],
        follower: RecordFollower,
        first_seq: int,
        replayer: WebhookReplayer,
        chaos: Chaos | None,
    ) -> dict[str, Any]:
        entries = [e for s, e in follower.entries.items() if s > first_seq]
        faults: Counter[str] = Counter()
        webhooks: Counter[str] = Counter()
        for e in entries:
            kind = e["kind"]
            if kind == "rest":
                if e.get("injected"):
                    faults[f"REST {e['injected']}"] += 1
                if e.get("injected_latency_ms"):
                    faults["REST added latency"] += 1
            elif kind == "webhook.dropped":
                faults[f"webhook dropped: {e.get('webhook')}"] += 1
            elif kind == "webhook.duplicated":
                faults["webhook duplicated by the sandbox"] += 1
            elif kind == "webhook.sent":
                webhooks[str(e.get("webhook"))] += 1
        for k, v in replayer.counts.items():
            faults[f"webhook {k}"] += v
        if chaos:
            faults.update(chaos.counts)
        return {
            "conversations": len(convs),
            "conversations completing the script": sum(1 for c in convs if c.phase_a_done and not c.stalled),
            "contact messages": sum(len(c.contact_msgs) for c in convs),
            "contact messages dropped before the service (sent again)": sum(
                1 for c in convs for m in c.contact_msgs if m.dropped
            ),
            "rep messages": sum(len(c.rep_msgs) for c in convs),
            "rep messages dropped before the service (retyped)": sum(1 for c in convs for m in c.rep_msgs if m.dropped),
            "REST calls to the sandbox": sum(1 for e in entries if e["kind"] == "rest"),
            "webhook deliveries by the sandbox": dict(webhooks),
            "replayed webhook answers": dict(replayer.statuses),
            "injected faults": dict(faults),
            "record entries missed (sandbox trimmed them)": follower.gaps,
            "process faults: seconds until ready again": chaos.downtime() if chaos else {},
        }
