"""The Twilio-facing activities: thin, idempotent calls through the official `twilio` client.

Every method is a sync `def` (run in the worker's thread pool) and is safe to retry after a timeout: each
one first looks for what an earlier attempt may already have done (conversation by UniqueName, task by
`waHandoff.sessionId`, message by `waHandoffId`, human task by session) before creating anything. Twilio
failures are classified by `twilio_errors`: 429/5xx retry (honouring Retry-After), other 4xx are final.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError
from twilio.base.exceptions import TwilioRestException

from activities.blocking import heartbeating_thread
from activities.clients import OrgClient, TwilioClients
from activities.media import (
    FLEX_ATTACHMENT_LIMIT,
    TooLarge,
    contact_media_verdict,
    download_media,
    fetch_mcs_media,
    is_mcs_url,
    rep_media_verdict,
    upload_to_mcs,
)
from activities.metrics import count_send_refusal
from activities.twilio_errors import CLIENT_ERROR_TYPE, twilio_errors
from contracts.activities import (
    ACCEPT_AI_RESERVATION,
    COPY_CONTACT_MEDIA_TO_FLEX,
    CREATE_INTERACTION,
    ENSURE_AI_WORKER_AVAILABLE,
    FETCH_MESSAGE_STATUSES,
    FETCH_TASK,
    IDEMPOTENCY_ATTR,
    OPEN_FLEX_CONVERSATION,
    POST_TO_FLEX,
    READ_QUEUE_POSITION,
    RELEASE_AI_TASK,
    SEND_WHATSAPP,
    AcceptAiReservationInput,
    AcceptAiReservationResult,
    CopyContactMediaInput,
    CopyContactMediaResult,
    CreateInteractionInput,
    CreateInteractionResult,
    EnsureAiWorkerAvailableInput,
    EnsureAiWorkerAvailableResult,
    FetchMessageStatusesInput,
    FetchMessageStatusesResult,
    FetchTaskInput,
    FetchTaskResult,
    HandToHumansInput,
    HandToHumansResult,
    MergeHandoffAttributesInput,
    MergeHandoffAttributesResult,
    MessageStatus,
    OpenFlexConversationInput,
    OpenFlexConversationResult,
    PostToFlexInput,
    PostToFlexResult,
    ReadQueuePositionInput,
    ReadQueuePositionResult,
    ReleaseAiTaskInput,
    ReleaseAiTaskResult,
    SendWhatsAppInput,
    SendWhatsAppResult,
)
from rules.handoff_attributes import HANDOFF_KEYS, merge_attributes

log = logging.getLogger(__name__)

# How many recent Flex messages a retried post looks through for its own idempotency id.
RECENT_FLEX_MESSAGES = 50
# The queue position counts this many pending tasks at the most (a longer queue: "more than this").
QUEUE_POSITION_LOOKAHEAD = 200
# The window of the queue's cumulative statistics the expected wait is estimated from.
QUEUE_STATISTICS_MINUTES = 60
# Reservation states in which TaskRouter has already taken the task back from the AI (it is routed again).
RESERVATION_GONE = frozenset({"rejected", "timeout", "canceled", "rescinded"})


def _bad_input(message: str) -> ApplicationError:
    return ApplicationError(message, type="InvalidActivityInput", non_retryable=True)


def _may_have_run_before() -> datetime | None:
    """Since when an earlier attempt of this activity may have acted (it was first scheduled then); None on a
    first attempt, which has nothing to find. Outside an activity (unit tests): a first attempt."""
    try:
        info = activity.info()
    except RuntimeError:
        return None
    return info.scheduled_time if info.attempt > 1 else None


def post_again(inp: PostToFlexInput) -> PostToFlexInput:
    """The input of a post repeated after a failure that may have come after Flex stored the message."""
    return inp if inp.may_exist else inp.model_copy(update={"may_exist": True})


def _json_attrs(raw: Any) -> dict[str, Any]:
    """Twilio returns attributes as a JSON string (or already decoded): always give a dict."""
    if isinstance(raw, dict):
        return dict(raw)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _count(value: Any, default: int) -> int:
    """TaskRouter statistics give counts as integers or as strings (its own examples disagree)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _wa(number: str) -> str:
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


def _header(headers: dict[str, str] | None, name: str) -> str | None:
    for k, v in (headers or {}).items():
        if k.lower() == name.lower():
            return v
    return None


def _quote(value: str) -> str:
    """A string literal for a TaskRouter expression; refuse what cannot be quoted safely."""
    if '"' in value or "\\" in value:
        raise _bad_input(f"value {value!r} cannot be used in a TaskRouter expression")
    return f'"{value}"'


class _SentMessages:
    """Bounded in-process map idempotency id -> (sid, status): the cheap first check before a resend."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._items: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[str, str] | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: str, value: tuple[str, str]) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class _KeyedLocks:
    """One lock per key while someone holds it: makes a step's look-then-create atomic within this process.

    Two runs of one step can overlap in a worker: a local activity's thread cannot be interrupted, so a workflow
    task retried after a failure runs the step again while the first run is still creating; likewise an
    activity cancelled on a missed heartbeat. Serialised, the second run finds what the first one created.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


class TwilioActivities:
    """All Twilio-facing activities; one instance per worker, shared by the activity threads."""

    def __init__(self, clients: TwilioClients, *, merge_max_attempts: int = 5) -> None:
        self.clients = clients
        self.merge_max_attempts = merge_max_attempts
        self._sent = _SentMessages()
        self._media_copies = _SentMessages()
        self._posted = _SentMessages()  # (conversation, idempotency id) -> (message sid, body)
        self._in_progress = _KeyedLocks()

    # ------------------------------------------------------------------ Conversations
    @activity.defn(name=OPEN_FLEX_CONVERSATION.name)
    def open_flex_conversation(self, inp: OpenFlexConversationInput) -> OpenFlexConversationResult:
        oc = self.clients.get(inp.org)
        service = oc.client.conversations.v1.services(inp.conversations_service_sid)
        with twilio_errors(oc, what=OPEN_FLEX_CONVERSATION.name):
            conversation = self._find_conversation(oc, inp)
            if conversation is None:
                try:
                    conversation = service.conversations.create(
                        x_twilio_webhook_enabled="false",
                        unique_name=inp.unique_name,
                        friendly_name=inp.contact_friendly_name,
                    )
                except TwilioRestException as exc:
                    # A concurrent attempt created it between our lookup and create (50353 / 409).
                    if exc.status not in (409, 400):
                        raise
                    conversation = self._find_conversation(oc, inp)
                    if conversation is None:
                        raise
            conv = service.conversations(conversation.sid)
            participant_sid = self._ensure_contact(conv, inp)
            self._ensure_webhook(conv, inp)
        return OpenFlexConversationResult(
            conversation_sid=str(conversation.sid), contact_participant_sid=participant_sid
        )

    @staticmethod
    def _find_conversation(oc: OrgClient, inp: OpenFlexConversationInput) -> Any:
        service = oc.client.conversations.v1.services(inp.conversations_service_sid)
        try:
            # The path Sid also accepts the UniqueName.
            return service.conversations(inp.unique_name).fetch()
        except TwilioRestException as exc:
            if exc.status == 404:
                return None
            raise

    @staticmethod
    def _ensure_contact(conv: Any, inp: OpenFlexConversationInput) -> str:
        for p in conv.participants.list(page_size=100):
            if p.identity == inp.contact_identity:
                return str(p.sid)
        attributes = json.dumps({"friendlyName": inp.contact_friendly_name}, ensure_ascii=False)
        try:
            created = conv.participants.create(
                x_twilio_webhook_enabled="false", identity=inp.contact_identity, attributes=attributes
            )
        except TwilioRestException as exc:
            if exc.status != 409:
                raise
            for p in conv.participants.list(page_size=100):
                if p.identity == inp.contact_identity:
                    return str(p.sid)
            raise
        return str(created.sid)

    @staticmethod
    def _ensure_webhook(conv: Any, inp: OpenFlexConversationInput) -> None:
        for hook in conv.webhooks.list(page_size=20):
            config = hook.configuration or {}
            if hook.target == "webhook" and config.get("url") == inp.webhook_url:
                return
        conv.webhooks.create(
            target="webhook",
            configuration_url=inp.webhook_url,
            configuration_method="POST",
            configuration_filters=list(inp.webhook_filters),
        )

    @activity.defn(name=POST_TO_FLEX.name)
    def post_to_flex(self, inp: PostToFlexInput) -> PostToFlexResult:
        if not inp.body and not inp.media_sid:
            raise _bad_input("post_to_flex needs a body or a media_sid")
        oc = self.clients.get(inp.org)
        conv = oc.client.conversations.v1.services(inp.conversations_service_sid).conversations(inp.conversation_sid)
        posted_key = f"{inp.conversation_sid}|{inp.idempotency_id}"
        with (
            self._in_progress.hold(f"post|{posted_key}"),
            twilio_errors(oc, what=POST_TO_FLEX.name),
        ):
            done = self._posted.get(posted_key)
            if done is not None:
                return PostToFlexResult(message_sid=done[0], body=done[1] or None)
            # Idempotency: where an earlier attempt may have posted, it is found among the last messages.
            if inp.may_exist or _may_have_run_before() is not None:
                for m in conv.messages.list(order="desc", limit=RECENT_FLEX_MESSAGES, page_size=RECENT_FLEX_MESSAGES):
                    if _json_attrs(m.attributes).get(IDEMPOTENCY_ATTR) == inp.idempotency_id:
                        return PostToFlexResult(message_sid=str(m.sid), body=m.body)
            attributes = {**inp.attributes, IDEMPOTENCY_ATTR: inp.idempotency_id}
            kwargs: dict[str, Any] = {}
            if inp.body:
                kwargs["body"] = inp.body
            if inp.media_sid:
                kwargs["media_sid"] = inp.media_sid
            # Webhooks disabled: our own relays must not come back as rep messages.
            message = conv.messages.create(
                x_twilio_webhook_enabled="false",
                author=inp.author,
                attributes=json.dumps(attributes, ensure_ascii=False),
                **kwargs,
            )
            self._posted.put(posted_key, (str(message.sid), message.body or ""))
        return PostToFlexResult(message_sid=str(message.sid), body=message.body)

    @activity.defn(name=COPY_CONTACT_MEDIA_TO_FLEX.name)
    def copy_contact_media_to_flex(self, inp: CopyContactMediaInput) -> CopyContactMediaResult:
        verdict = contact_media_verdict(inp.content_type, None)
        if not verdict.allowed:
            return CopyContactMediaResult(content_type=inp.content_type, refused_reason=verdict.reason)
        oc = self.clients.get(inp.org)
        cache_key = f"{inp.org}|{inp.conversations_service_sid}|{inp.media_url}"
        done = self._media_copies.get(cache_key)
        if done is not None:
            return CopyContactMediaResult(media_sid=done[0], size=int(done[1]), content_type=inp.content_type)
        with heartbeating_thread():
            return self._copy_media(oc, inp, cache_key)

    def _copy_media(self, oc: OrgClient, inp: CopyContactMediaInput, cache_key: str) -> CopyContactMediaResult:
        try:
            got = download_media(oc, inp.media_url, FLEX_ATTACHMENT_LIMIT)
        except TooLarge as exc:
            refused = contact_media_verdict(inp.content_type, exc.size)
            return CopyContactMediaResult(
                size=exc.size,
                content_type=inp.content_type,
                refused_reason=refused.reason or f"over the {FLEX_ATTACHMENT_LIMIT} bytes limit",
            )
        size = len(got.data)
        # The declared type is what the workflow checked; a different served type is checked again.
        served = got.content_type.split(";", 1)[0].strip() or inp.content_type
        final = contact_media_verdict(served, size)
        if not final.allowed:
            return CopyContactMediaResult(size=size, content_type=served, refused_reason=final.reason)
        media = upload_to_mcs(oc, inp.conversations_service_sid, got.data, served, inp.filename)
        self._media_copies.put(cache_key, (str(media["sid"]), str(size)))
        return CopyContactMediaResult(media_sid=str(media["sid"]), size=size, content_type=served)

    # ------------------------------------------------------------------ Messaging
    @activity.defn(name=SEND_WHATSAPP.name)
    def send_whatsapp(self, inp: SendWhatsAppInput) -> SendWhatsAppResult:
        if inp.content_sid and (inp.body or inp.media_url):
            raise _bad_input("send_whatsapp: a template send carries no body or media (they would be ignored)")
        if not (inp.body or inp.media_url or inp.content_sid):
            raise _bad_input("send_whatsapp needs a body, a media_url or a content_sid")
        with self._in_progress.hold(f"send|{inp.org}|{inp.to_number}|{inp.idempotency_id}"):
            try:
                return self._send_whatsapp_once(inp)
            except ApplicationError as exc:
                count_send_refusal(inp.org, exc)
                raise

    def _send_whatsapp_once(self, inp: SendWhatsAppInput) -> SendWhatsAppResult:
        known = self._sent.get(inp.idempotency_id)
        if known is not None:
            return SendWhatsAppResult(message_sid=known[0], status=known[1])
        oc = self.clients.get(inp.org)
        to, from_ = _wa(inp.to_number), _wa(inp.from_number)
        messages = oc.client.api.v2010.account.messages
        with twilio_errors(oc, what=SEND_WHATSAPP.name):
            # Only where an earlier attempt (of this activity, or of an earlier round) may have sent already.
            earlier = [t for t in (_may_have_run_before(), inp.may_have_sent_since) if t is not None]
            if earlier:
                found = self._find_sent(messages, inp, to, from_, min(earlier))
                if found is not None:
                    self._sent.put(inp.idempotency_id, found)
                    return SendWhatsAppResult(message_sid=found[0], status=found[1])
            kwargs: dict[str, Any] = {"to": to, "from_": from_, "status_callback": inp.status_callback_url}
            if inp.content_sid:
                kwargs["content_sid"] = inp.content_sid
                if inp.content_variables:
                    kwargs["content_variables"] = json.dumps(inp.content_variables, ensure_ascii=False)
            else:
                if inp.body:
                    kwargs["body"] = inp.body
                if inp.media_url:
                    kwargs["media_url"] = [self._public_media_url(oc, inp.media_url)]
            message = messages.create(**kwargs)
        result = (str(message.sid), str(message.status or "queued"))
        self._sent.put(inp.idempotency_id, result)
        return SendWhatsAppResult(message_sid=result[0], status=result[1])

    @staticmethod
    def _public_media_url(oc: OrgClient, media_url: str) -> str:
        """A URL WhatsApp can fetch: a rep's Conversations media (MCS) becomes its short-lived direct link.

        The size and type are checked again on the stored media: refused media is a final error, not a send
        that WhatsApp would fail later with 63019.
        """
        if not is_mcs_url(media_url):
            return media_url
        media = fetch_mcs_media(oc, media_url)
        verdict = rep_media_verdict(str(media.get("content_type") or ""), int(media.get("size") or 0))
        if not verdict.allowed:
            raise ApplicationError(
                f"media {media.get('sid')} refused: {verdict.reason}",
                {"reason": verdict.reason, "media_sid": media.get("sid")},
                type="MediaRefused",
                non_retryable=True,
            )
        links = media.get("links") or {}
        direct = links.get("content_direct_temporary") if isinstance(links, dict) else None
        if not direct:
            raise ApplicationError(f"media {media.get('sid')} has no direct link", type="TwilioBadResponse")
        # Pre-signed: WhatsApp (or the sandbox) downloads it without our credentials.
        return str(direct)

    @staticmethod
    def _find_sent(
        messages: Any, inp: SendWhatsAppInput, to: str, from_: str, since: datetime
    ) -> tuple[str, str] | None:
        """A message an earlier attempt of this activity sent (the map is empty after a worker restart).

        Api 2010 messages carry no custom field, so "ours" means: same From/To, sent since the activity was
        first scheduled, same body (text/media) or any outbound one (template: only the rendered body is
        visible). The workflow sends one message per conversation at a time, which keeps this unambiguous.
        """
        after = since - timedelta(seconds=5)
        for m in messages.list(to=to, from_=from_, date_sent_after=after - timedelta(days=1), limit=50):
            created = m.date_created or m.date_sent
            if created is not None and created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            if created is not None and created < after:
                continue
            if m.direction and not str(m.direction).startswith("outbound"):
                continue
            if str(m.sid) in inp.known_sids:
                continue  # an earlier message of this conversation (e.g. the reply sent a second before)
            if inp.content_sid or (m.body or "") == (inp.body or ""):
                return str(m.sid), str(m.status)
        return None

    # ------------------------------------------------------------------ Interactions / TaskRouter
    @activity.defn(name=CREATE_INTERACTION.name)
    def create_interaction(self, inp: CreateInteractionInput) -> CreateInteractionResult:
        attributes = dict(inp.task_attributes)
        wa = dict(attributes.get("waHandoff") or {})
        if wa.get("sessionId") not in (None, inp.session_id):
            raise _bad_input(f"task_attributes.waHandoff.sessionId {wa.get('sessionId')!r} != {inp.session_id!r}")
        wa["sessionId"] = inp.session_id
        attributes["waHandoff"] = wa
        oc = self.clients.get(inp.org)
        with twilio_errors(oc, what=CREATE_INTERACTION.name):
            existing = self._session_task(oc, inp.workspace_sid, inp.session_id)
            if existing is not None:
                return existing
            interaction = oc.client.flex_api.v1.interaction.create(
                channel={
                    "type": "whatsapp",
                    "initiated_by": "customer",
                    "properties": {"media_channel_sid": inp.conversation_sid},
                },
                routing={
                    "properties": {
                        "workspace_sid": inp.workspace_sid,
                        "workflow_sid": inp.workflow_sid,
                        "task_channel_unique_name": inp.task_channel,
                        "attributes": attributes,
                    }
                },
            )
            channel_sid = str((interaction.channel or {}).get("sid") or "")
            properties = (interaction.routing or {}).get("properties") or {}
            task_sid = str(properties.get("sid") or "") if isinstance(properties, dict) else ""
            if not task_sid:
                # The 200 only means "accepted"; the task shows up by its session id.
                found = self._session_task(oc, inp.workspace_sid, inp.session_id)
                if found is None:
                    raise ApplicationError(
                        f"interaction {interaction.sid} created but its task is not visible yet",
                        type="InteractionTaskPending",
                    )
                task_sid = found.task_sid
                channel_sid = channel_sid or found.channel_sid
        return CreateInteractionResult(interaction_sid=str(interaction.sid), channel_sid=channel_sid, task_sid=task_sid)

    @staticmethod
    def _session_task(oc: OrgClient, workspace_sid: str, session_id: str) -> CreateInteractionResult | None:
        tasks = oc.client.taskrouter.v1.workspaces(workspace_sid).tasks.list(
            evaluate_task_attributes=f"waHandoff.sessionId == {_quote(session_id)}", limit=20
        )
        # The AI task is the session's first one (a human task from an invite carries the same session id).
        for task in sorted(tasks, key=lambda t: t.date_created or datetime.min.replace(tzinfo=UTC)):
            attrs = _json_attrs(task.attributes)
            kd, uo = attrs.get("flexInteractionSid"), attrs.get("flexInteractionChannelSid")
            if kd and uo:
                return CreateInteractionResult(interaction_sid=str(kd), channel_sid=str(uo), task_sid=str(task.sid))
        return None

    @activity.defn(name=ACCEPT_AI_RESERVATION.name)
    def accept_ai_reservation(self, inp: AcceptAiReservationInput) -> AcceptAiReservationResult:
        oc = self.clients.get(inp.org)
        tr = oc.client.taskrouter.v1.workspaces(inp.workspace_sid)
        with twilio_errors(oc, what=ACCEPT_AI_RESERVATION.name):
            reservation = tr.tasks(inp.task_sid).reservations(inp.reservation_sid).fetch()
            status = str(reservation.reservation_status)
            if status == "pending":
                try:
                    reservation = (
                        tr.tasks(inp.task_sid).reservations(inp.reservation_sid).update(reservation_status="accepted")
                    )
                except TwilioRestException as exc:
                    if exc.status >= 500 or exc.status == 429:
                        raise
                    # Timed out or rescinded between fetch and update: report it.
                    reservation = tr.tasks(inp.task_sid).reservations(inp.reservation_sid).fetch()
                status = str(reservation.reservation_status)
            if status != "accepted":
                return AcceptAiReservationResult(accepted=False, reservation_status=status)
            channel = oc.client.flex_api.v1.interaction(inp.interaction_sid).channels(inp.channel_sid)
            participant_sid = self._agent_participant(channel, inp.task_sid, inp.worker_sid)
            if participant_sid is None:
                # Real Flex joins the accepting worker itself on most setups; this covers the ones where it
                # does not. No identity in MediaProperties: the AI posts by REST and needs no chat participant.
                created = channel.participants.create(
                    type="agent",
                    media_properties={},
                    routing_properties={
                        "task_sid": inp.task_sid,
                        "worker_sid": inp.worker_sid,
                        "reservation_sid": inp.reservation_sid,
                    },
                )
                participant_sid = str(created.sid)
        return AcceptAiReservationResult(accepted=True, reservation_status=status, participant_sid=participant_sid)

    @staticmethod
    def _agent_participant(channel: Any, task_sid: str, worker_sid: str | None) -> str | None:
        for p in channel.participants.list(page_size=50):
            if p.type != "agent":
                continue
            routing = p.routing_properties if isinstance(p.routing_properties, dict) else {}
            if routing.get("task_sid") == task_sid or (worker_sid and routing.get("worker_sid") == worker_sid):
                return str(p.sid)
        return None

    def merge_handoff_attributes(self, inp: MergeHandoffAttributesInput) -> MergeHandoffAttributesResult:
        extra = set(inp.handoff_attributes) - HANDOFF_KEYS
        if extra:
            raise _bad_input(f"merge_handoff_attributes: not handoff attributes: {sorted(extra)}")
        oc = self.clients.get(inp.org)
        task_ctx = oc.client.taskrouter.v1.workspaces(inp.workspace_sid).tasks(inp.task_sid)
        conflicts = 0
        with twilio_errors(oc, what="merge_handoff_attributes"):
            while True:
                fetched = task_ctx.fetch_with_http_info()
                etag = _header(fetched.headers, "ETag")
                if not etag:
                    # Twilio always sends one; without it the write cannot be conditional, so say so loudly.
                    log.warning("task %s came without an ETag: writing without If-Match", inp.task_sid)
                current = _json_attrs(fetched.data.attributes)
                merged = merge_attributes(current, inp.handoff_attributes)
                if merged == current:
                    return MergeHandoffAttributesResult(attributes=current, conflicts_retried=conflicts)
                try:
                    updated = task_ctx.update(if_match=etag or "", attributes=json.dumps(merged, ensure_ascii=False))
                except TwilioRestException as exc:
                    if exc.status != 412:
                        raise
                    conflicts += 1
                    log.info("task %s changed under us (412), re-reading (%d)", inp.task_sid, conflicts)
                    if conflicts >= self.merge_max_attempts:
                        # Retryable: the activity retry policy tries again later, with backoff.
                        raise ApplicationError(
                            f"task {inp.task_sid} attributes kept changing: {conflicts} If-Match conflicts",
                            type="TaskAttributesConflict",
                        ) from exc
                    continue
                return MergeHandoffAttributesResult(
                    attributes=_json_attrs(updated.attributes), conflicts_retried=conflicts
                )

    def hand_to_humans(self, inp: HandToHumansInput) -> HandToHumansResult:
        oc = self.clients.get(inp.org)
        tr = oc.client.taskrouter.v1.workspaces(inp.workspace_sid)
        channel = oc.client.flex_api.v1.interaction(inp.interaction_sid).channels(inp.channel_sid)
        session_id = (inp.task_attributes.get("waHandoff") or {}).get("sessionId")
        with twilio_errors(oc, what="hand_to_humans"):
            # Idempotency: an earlier attempt may have invited already; never a second human task.
            existing = self._human_task(oc, inp, session_id)
            if existing is not None:
                self._close_ai(oc, channel, inp, None)
                return HandToHumansResult(path="transferred", human_task_sid=existing[0], invite_sid=existing[1])
            reservation = self._ai_reservation(tr, inp)
            status = str(reservation.reservation_status) if reservation is not None else None
            if status == "pending":
                try:
                    tr.tasks(inp.task_sid).reservations(reservation.sid).update(reservation_status="rejected")
                    return HandToHumansResult(path="rejected")
                except TwilioRestException as exc:
                    if exc.status >= 500 or exc.status == 429:
                        raise
                    # Accepted (or gone) in the meantime: decide again on the fresh state.
                    reservation = tr.tasks(inp.task_sid).reservations(reservation.sid).fetch()
                    status = str(reservation.reservation_status)
            if status is None or status in RESERVATION_GONE:
                # No AI reservation holds the task: TaskRouter routes it again, now with handedOff == true.
                return HandToHumansResult(path="rejected")
            routing = {
                "properties": {
                    "workspace_sid": inp.workspace_sid,
                    "workflow_sid": inp.workflow_sid,
                    "task_channel_unique_name": inp.task_channel,
                    "attributes": inp.task_attributes,
                }
            }
            invite = channel.invites.create(routing=routing)
            properties = (invite.routing or {}).get("properties") or {}
            human_task_sid = properties.get("sid") if isinstance(properties, dict) else None
            if not human_task_sid:
                found = self._human_task(oc, inp, session_id)
                human_task_sid = found[0] if found else None
            self._close_ai(oc, channel, inp, reservation)
        return HandToHumansResult(
            path="transferred",
            human_task_sid=str(human_task_sid) if human_task_sid else None,
            invite_sid=invite.sid,
        )

    @staticmethod
    def _ai_reservation(tr: Any, inp: HandToHumansInput) -> Any:
        if inp.reservation_sid:
            return tr.tasks(inp.task_sid).reservations(inp.reservation_sid).fetch()
        live = [
            r
            for r in tr.tasks(inp.task_sid).reservations.list(limit=20)
            if r.reservation_status in ("pending", "accepted")
            and (inp.ai_worker_sid is None or r.worker_sid == inp.ai_worker_sid)
        ]
        return live[0] if live else None

    @staticmethod
    def _human_task(oc: OrgClient, inp: HandToHumansInput, session_id: Any) -> tuple[str, str | None] | None:
        """A task this session already created by invite: (task sid, invite sid)."""
        channel = oc.client.flex_api.v1.interaction(inp.interaction_sid).channels(inp.channel_sid)
        for invite in channel.invites.list(limit=20):
            props = (invite.routing or {}).get("properties") or {}
            sid = props.get("sid") if isinstance(props, dict) else None
            if sid and sid != inp.task_sid:
                return str(sid), invite.sid
        if isinstance(session_id, str) and session_id:
            expression = f"waHandoff.sessionId == {_quote(session_id)} AND handedOff == true"
            for task in oc.client.taskrouter.v1.workspaces(inp.workspace_sid).tasks.list(
                evaluate_task_attributes=expression, limit=20
            ):
                if task.sid != inp.task_sid and task.assignment_status not in ("canceled",):
                    attrs = _json_attrs(task.attributes)
                    return str(task.sid), attrs.get("flexChannelInviteSid")
        return None

    def _close_ai(self, oc: OrgClient, channel: Any, inp: HandToHumansInput, reservation: Any) -> None:
        """Close the AI's interaction participant: its task ends, the conversation stays open for the rep."""
        worker_sid = getattr(reservation, "worker_sid", None)
        participant_sid = inp.ai_participant_sid or self._agent_participant(channel, inp.task_sid, worker_sid)
        if participant_sid is None:
            log.warning("no AI participant on %s for task %s; nothing to close", inp.channel_sid, inp.task_sid)
            return
        try:
            channel.participants(participant_sid).update(status="closed")
        except TwilioRestException as exc:
            # Already closed by an earlier attempt (or gone): the goal holds.
            if exc.status not in (400, 404, 409):
                raise
            log.info("AI participant %s already closed (%s %s)", participant_sid, exc.status, exc.code)

    @activity.defn(name=READ_QUEUE_POSITION.name)
    def read_queue_position(self, inp: ReadQueuePositionInput) -> ReadQueuePositionResult:
        """The task's place among the queue's pending tasks (TaskRouter's order: higher priority first, then
        older first) and the queue's statistics (rules.queue_position estimates the wait from them)."""
        oc = self.clients.get(inp.org)
        ws = oc.client.taskrouter.v1.workspaces(inp.workspace_sid)
        with twilio_errors(oc, what=READ_QUEUE_POSITION.name):
            pending = ws.tasks.list(
                task_queue_sid=inp.queue_sid,
                assignment_status=["pending"],
                ordering="Priority:desc,DateCreated:asc",
                limit=QUEUE_POSITION_LOOKAHEAD,
                page_size=QUEUE_POSITION_LOOKAHEAD,
            )
            stats = (
                ws.task_queues(inp.queue_sid)
                .statistics()
                .fetch(task_channel=inp.task_channel, minutes=QUEUE_STATISTICS_MINUTES)
            )
        order = [str(t.sid) for t in pending]
        realtime = stats.realtime if isinstance(stats.realtime, dict) else {}
        cumulative = stats.cumulative if isinstance(stats.cumulative, dict) else {}
        avg = _number(cumulative.get("avg_task_acceptance_time"))
        return ReadQueuePositionResult(
            position=order.index(inp.task_sid) + 1 if inp.task_sid in order else None,
            pending=_count(realtime.get("tasks_by_status", {}).get("pending"), len(order)),
            available_workers=_count(realtime.get("total_available_workers"), 0),
            avg_acceptance_seconds=avg if avg else None,
        )

    def show_typing(self, org: str, message_sid: str) -> bool:
        """WhatsApp's typing indicator against the contact's message (it also marks it read). Cosmetic: a
        refusal is logged and the turn goes on; True when Twilio took it."""
        oc = self.clients.get(org)
        try:
            with twilio_errors(oc, what="show_typing"):
                done = oc.client.messaging.v2.typing_indicator.create(channel="whatsapp", message_id=message_sid)
        except ApplicationError as exc:
            log.info("typing indicator not shown (%s): the reply goes out all the same", exc.message)
            return False
        return bool(done.success)

    @activity.defn(name=FETCH_TASK.name)
    def fetch_task(self, inp: FetchTaskInput) -> FetchTaskResult:
        oc = self.clients.get(inp.org)
        tasks = oc.client.taskrouter.v1.workspaces(inp.workspace_sid).tasks
        with twilio_errors(oc, what=FETCH_TASK.name):
            task_sid = inp.task_sid
            if inp.human_task_of_session:
                expression = f"waHandoff.sessionId == {_quote(inp.human_task_of_session)} AND handedOff == true"
                found = [t for t in tasks.list(evaluate_task_attributes=expression, limit=20) if t.sid != inp.task_sid]
                if found:
                    epoch = datetime.min.replace(tzinfo=UTC)
                    task_sid = str(max(found, key=lambda t: t.date_created or epoch).sid)
            task_ctx = tasks(task_sid)
            task = task_ctx.fetch()
            reservations = task_ctx.reservations.list(limit=50)
        epoch = datetime.min.replace(tzinfo=UTC)
        # Dates have one-second resolution; on a tie the later-listed (Twilio lists oldest first) is newer.
        ordered = sorted(reversed(reservations), key=lambda r: r.date_created or epoch, reverse=True)
        return FetchTaskResult(
            task_sid=str(task.sid),
            assignment_status=str(task.assignment_status),
            attributes=_json_attrs(task.attributes),
            task_queue_sid=task.task_queue_sid,
            reservations=[(str(r.sid), str(r.worker_sid), str(r.reservation_status)) for r in ordered],
        )

    @activity.defn(name=RELEASE_AI_TASK.name)
    def release_ai_task(self, inp: ReleaseAiTaskInput) -> ReleaseAiTaskResult:
        """End an AI-held session: complete (assigned) or cancel (not yet accepted) the AI's task, then close
        the interaction channel (Flex closes the conversation with it). Refuses to touch a rep's task."""
        oc = self.clients.get(inp.org)
        tr = oc.client.taskrouter.v1.workspaces(inp.workspace_sid)
        with twilio_errors(oc, what=RELEASE_AI_TASK.name):
            task_sid, interaction_sid, channel_sid = inp.task_sid, inp.interaction_sid, inp.channel_sid
            if task_sid is None:
                found = self._session_task(oc, inp.workspace_sid, inp.session_id)
                if found is not None:
                    task_sid, interaction_sid, channel_sid = found.task_sid, found.interaction_sid, found.channel_sid
            status: str | None = None
            action: Any = "none"
            if task_sid is not None:
                task = tr.tasks(task_sid).fetch()
                status = str(task.assignment_status)
                attrs = _json_attrs(task.attributes)
                if attrs.get("handedOff") is True:
                    raise ApplicationError(
                        f"task {task_sid} is handed off to the reps: not released", type="NotAiTask", non_retryable=True
                    )
                if status in ("assigned", "wrapping"):
                    holder = self._holding_reservation(tr, task_sid)
                    worker = str(holder.worker_sid) if holder is not None else None
                    if inp.ai_worker_sid and worker and worker != inp.ai_worker_sid:
                        raise ApplicationError(
                            f"task {task_sid} is held by worker {worker}, not the AI: not released",
                            type="NotAiTask",
                            non_retryable=True,
                        )
                    action = "completed"
                    if not self._close_ai_participant(oc, interaction_sid, channel_sid, inp, task_sid, worker):
                        # No interaction participant (a setup where Flex did not join one): end it in TaskRouter.
                        self._set_task_status(tr, task_sid, "completed", inp.reason)
                elif status in ("pending", "reserved"):
                    action = "canceled"
                    self._set_task_status(tr, task_sid, "canceled", inp.reason)
            closed = False
            if interaction_sid and channel_sid:
                closed = self._close_channel(oc, interaction_sid, channel_sid)
            elif inp.conversation_sid:
                # No interaction (its creation never finished): close the bare conversation.
                conv = oc.client.conversations.v1.services(inp.conversations_service_sid).conversations(
                    inp.conversation_sid
                )
                try:
                    conv.update(x_twilio_webhook_enabled="false", state="closed")
                    closed = True
                except TwilioRestException as exc:
                    if exc.status not in (400, 404, 409):
                        raise
        return ReleaseAiTaskResult(task_status_before=status, action=action, channel_closed=closed)

    @staticmethod
    def _holding_reservation(tr: Any, task_sid: str) -> Any:
        for r in tr.tasks(task_sid).reservations.list(limit=50):
            if r.reservation_status in ("accepted", "wrapping"):
                return r
        return None

    @staticmethod
    def _close_ai_participant(
        oc: OrgClient,
        interaction_sid: str | None,
        channel_sid: str | None,
        inp: ReleaseAiTaskInput,
        task_sid: str,
        worker_sid: str | None,
    ) -> bool:
        """Close the AI's interaction participant (Flex completes its task); False when there is none."""
        if not (interaction_sid and channel_sid):
            return False
        channel = oc.client.flex_api.v1.interaction(interaction_sid).channels(channel_sid)
        participant_sid = inp.ai_participant_sid or TwilioActivities._agent_participant(channel, task_sid, worker_sid)
        if participant_sid is None:
            return False
        try:
            channel.participants(participant_sid).update(status="closed")
        except TwilioRestException as exc:
            if exc.status not in (400, 404, 409):
                raise
            # Already closed by an earlier attempt: the caller completes the task directly (a 400 if it is done).
            return False
        return True

    @staticmethod
    def _set_task_status(tr: Any, task_sid: str, status: str, reason: str) -> None:
        try:
            tr.tasks(task_sid).update(assignment_status=status, reason=reason)
        except TwilioRestException as exc:
            # Already ended (a concurrent end or an earlier attempt): the goal holds.
            if exc.status not in (400, 404, 409):
                raise
            log.info("task %s not set to %s (%s %s): already ended", task_sid, status, exc.status, exc.code)

    @staticmethod
    def _close_channel(oc: OrgClient, interaction_sid: str, channel_sid: str) -> bool:
        channel = oc.client.flex_api.v1.interaction(interaction_sid).channels(channel_sid)
        try:
            # Routing closed: any task still on the channel is closed rather than moved to wrapping.
            channel.update(status="closed", routing={"status": "closed"})
        except TwilioRestException as exc:
            if exc.status not in (400, 404, 409):
                raise
            log.info("channel %s already closed (%s %s)", channel_sid, exc.status, exc.code)
            return False
        return True

    @activity.defn(name=FETCH_MESSAGE_STATUSES.name)
    def fetch_message_statuses(self, inp: FetchMessageStatusesInput) -> FetchMessageStatusesResult:
        oc = self.clients.get(inp.org)
        messages = oc.client.api.v2010.account.messages
        out: list[MessageStatus] = []
        with twilio_errors(oc, what=FETCH_MESSAGE_STATUSES.name):
            for sid in inp.message_sids:
                try:
                    m = messages(sid).fetch()
                except TwilioRestException as exc:
                    if exc.status != 404:
                        raise
                    out.append(MessageStatus(message_sid=sid, status="unknown"))
                    continue
                code = m.error_code
                out.append(
                    MessageStatus(
                        message_sid=sid,
                        status=str(m.status),
                        error_code=int(code) if code not in (None, "") else None,
                        error_message=m.error_message,
                    )
                )
        return FetchMessageStatusesResult(statuses=out)

    @activity.defn(name=ENSURE_AI_WORKER_AVAILABLE.name)
    def ensure_ai_worker_available(self, inp: EnsureAiWorkerAvailableInput) -> EnsureAiWorkerAvailableResult:
        oc = self.clients.get(inp.org)
        ws = oc.client.taskrouter.v1.workspaces(inp.workspace_sid)
        with twilio_errors(oc, what=ENSURE_AI_WORKER_AVAILABLE.name):
            if inp.worker_sid is not None:
                worker = ws.workers(inp.worker_sid).fetch()
            else:
                named = ws.workers.list(friendly_name=inp.worker_name, limit=2)
                if not named:
                    raise ApplicationError(
                        f"no worker named {inp.worker_name!r} in workspace {inp.workspace_sid}: run `connect`",
                        type="AiWorkerMissing",
                        non_retryable=True,
                    )
                worker = named[0]
            if worker.available:
                return EnsureAiWorkerAvailableResult(changed=False, activity_name=str(worker.activity_name))
            candidates = [a for a in ws.activities.list(available="true", limit=50) if a.available]
            if not candidates:
                raise ApplicationError(
                    f"workspace {inp.workspace_sid} has no available activity",
                    type="NoAvailableActivity",
                    non_retryable=True,
                )
            # The one `connect` provisions the worker in, by name; else any available one.
            chosen = next((a for a in candidates if a.friendly_name == "Available"), candidates[0])
            log.warning(
                "AI worker %s was %s (a reservation timed out): setting it to %s",
                worker.sid,
                worker.activity_name,
                chosen.friendly_name,
            )
            ws.workers(worker.sid).update(activity_sid=chosen.sid)
        return EnsureAiWorkerAvailableResult(changed=True, activity_name=str(chosen.friendly_name))

    def all(self) -> list[Any]:
        """Every activity method, for the worker."""
        return [
            self.open_flex_conversation,
            self.create_interaction,
            self.accept_ai_reservation,
            self.post_to_flex,
            self.send_whatsapp,
            self.copy_contact_media_to_flex,
            self.fetch_task,
            self.release_ai_task,
            self.fetch_message_statuses,
            self.ensure_ai_worker_available,
            self.read_queue_position,
        ]


__all__ = ["CLIENT_ERROR_TYPE", "HANDOFF_KEYS", "TwilioActivities", "merge_attributes"]
