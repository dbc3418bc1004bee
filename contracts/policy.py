"""Per-org behaviour the conversation workflow needs, free of secrets (it is stored in workflow history).

`config.orgs.OrgConfig` extends this model with credentials and connection settings, so every setting and its
default is written once, here; the workflow gets `OrgConfig.policy()`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, field_validator

DEFAULT_BUSY_MESSAGE = "All our agents are busy right now. We will reply as soon as someone is free."

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$")


TYPING_INDICATOR_AFTER_SECONDS = 1.0


class QueueUpdates(BaseModel):
    """The contact's place in the queue and the expected wait, sent while no rep has accepted: once when the
    conversation reaches the humans' queue, then at most every `every_seconds`, `max_updates` in all, only inside
    the WhatsApp window. Texts per language (`{position}`, `{wait}`); `no_estimate` when no wait can be estimated."""

    enabled: bool = True
    every_seconds: int = Field(default=300, gt=0)
    max_updates: int = Field(default=3, ge=1)
    texts: dict[str, str] = Field(
        default_factory=lambda: {
            "en": "You are number {position} in line. Expected wait: about {wait}.",
            "es": "Eres el número {position} en la cola. Espera estimada: unos {wait}.",
            "pt": "Você é o número {position} na fila. Espera estimada: cerca de {wait}.",
            "fr": "Vous êtes numéro {position} dans la file. Attente estimée : environ {wait}.",
            "de": "Sie sind Nummer {position} in der Warteschlange. Geschätzte Wartezeit: etwa {wait}.",
        }
    )
    no_estimate_texts: dict[str, str] = Field(
        default_factory=lambda: {
            "en": "You are number {position} in line. A person will be with you as soon as possible.",
            "es": "Eres el número {position} en la cola. Una persona te atenderá lo antes posible.",
            "pt": "Você é o número {position} na fila. Uma pessoa vai atendê-lo assim que possível.",
            "fr": "Vous êtes numéro {position} dans la file. Une personne vous répondra dès que possible.",
            "de": "Sie sind Nummer {position} in der Warteschlange. Wir melden uns so bald wie möglich.",
        }
    )


class OpeningHours(BaseModel):
    """When reps answer, in `timezone`: spans per weekday ("09:00-18:00"); a weekday left out is closed, no
    spans at all means always open; `holidays` are closed all day."""

    timezone: str = "UTC"
    weekly: dict[str, list[str]] = Field(default_factory=dict)
    holidays: list[date] = Field(default_factory=list)

    @field_validator("weekly")
    @classmethod
    def _spans(cls, weekly: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, spans in weekly.items():
            if day not in WEEKDAYS:
                raise ValueError(f"{day!r} is not a weekday ({', '.join(WEEKDAYS)})")
            for span in spans:
                if not _SPAN.match(span) or span[:5] >= span[6:]:
                    raise ValueError(f"{day}: {span!r} is not a span like 09:00-18:00")
        return weekly


class BusinessHours(OpeningHours):
    """A handoff outside opening hours: the contact is told when a person will answer (in their language);
    the task goes to the humans at once (`route`, routable when reps come online) or waits for the opening
    (`hold`), the AI answering meanwhile if `ai_answers_while_closed`. `queues` gives a human queue (WQ…) its own
    hours."""

    when_closed: Literal["route", "hold"] = "route"
    ai_answers_while_closed: bool = True
    queues: dict[str, OpeningHours] = Field(default_factory=dict)
    texts: dict[str, str] = Field(
        default_factory=lambda: {
            "en": "Our team is away right now. A person will answer from {opening}.",
            "es": "Nuestro equipo no está disponible ahora. Una persona te responderá a partir del {opening}.",
            "pt": "Nossa equipe não está disponível agora. Uma pessoa vai responder a partir de {opening}.",
            "fr": "Notre équipe est absente pour le moment. Une personne vous répondra à partir du {opening}.",
            "de": "Unser Team ist gerade nicht erreichbar. Eine Person antwortet ab {opening}.",
        }
    )
    # Added when the contact's 24-hour window closes before the opening: WhatsApp then lets the business write
    # only with an approved template.
    window_texts: dict[str, str] = Field(
        default_factory=lambda: {
            "en": "If you do not write again before then, we will follow up here with a message.",
            "es": "Si no vuelves a escribir antes, te contactaremos por aquí con un mensaje.",
            "pt": "Se não escrever de novo antes disso, entraremos em contato por aqui com uma mensagem.",
            "fr": "Si vous ne nous écrivez pas d'ici là, nous reviendrons vers vous ici par un message.",
            "de": "Wenn Sie bis dahin nicht erneut schreiben, melden wir uns hier mit einer Nachricht.",
        }
    )


class Csat(BaseModel):
    """A rating asked for when a rep's task ends: quick-reply buttons (a Content template of type
    `twilio/quick-reply` whose button ids are `csat_1` … `csat_5`) inside the window, an approved template
    outside it. A digit typed instead counts too; anything else goes to the AI as a normal message."""

    enabled: bool = False
    quick_reply_content_sid: str | None = None
    template_content_sid: str | None = None
    # How long after asking an answer still counts as the rating.
    answer_within_seconds: int = Field(default=24 * 3600, gt=0)
    thanks: dict[str, str] = Field(
        default_factory=lambda: {
            "en": "Thank you for your rating!",
            "es": "¡Gracias por tu valoración!",
            "pt": "Obrigado pela sua avaliação!",
            "fr": "Merci pour votre note !",
            "de": "Danke für Ihre Bewertung!",
        }
    )

    @field_validator("quick_reply_content_sid", "template_content_sid")
    @classmethod
    def _content_sid(cls, sid: str | None) -> str | None:
        if sid is not None and not (sid.startswith("HX") and len(sid) == 34):
            raise ValueError(f"{sid!r} is not a Content SID (HX…)")
        return sid


class ConversationPolicy(BaseModel):
    """Non-secret org settings handed to the workflow at start, carried through continue-as-new and refreshed
    from the orgs file at each continue-as-new (or at once, by the `apply_policy` update)."""

    # SIDs the workflow names in activity inputs (not secrets).
    workspace_sid: str
    workflow_sid: str
    conversations_service_sid: str
    ai_queue_sid: str
    human_queue_sid: str
    task_channel: str = "chat"
    ai_worker_name: str = "AI Support Agent"
    # Base of the conversation-scoped webhook and per-message StatusCallback URLs.
    public_base_url: str
    # Template name → Content SID (HX…), for `/template <name> …` typed by a rep and the admin API.
    templates: dict[str, str] = Field(default_factory=dict)
    # A handoff not accepted by a rep within this long raises the stuck flag (and sends `busy_message`).
    queue_sla_seconds: int = Field(default=300, gt=0)
    busy_message: str | None = DEFAULT_BUSY_MESSAGE
    # The workflow completes after this quiet period with no session and the window closed.
    idle_close_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    ai_backend: str = Field(default="rules", pattern=r"^(rules|openai)$")
    # An AI-held session ends (the AI's task is released, freeing its chat capacity) after this quiet period,
    # and at the latest when the 24-hour window closes; the next contact message opens a new session.
    ai_session_idle_seconds: int = Field(default=3600, gt=0)
    # How much of the conversation the AI reads each turn: the newest lines within this many characters (always
    # the messages it answers). Every turn's input is stored in the workflow's history, so more context costs
    # history bytes per turn; an `openai` backend is worth more than the default.
    ai_context_chars: int = Field(default=600, ge=0, le=20_000)
    # One AI attempt's limit; after `ai_attempts` the conversation goes to a rep ("AI unavailable").
    ai_turn_timeout_seconds: int = Field(default=60, gt=0)
    # A sent message without a final status callback after this long is read back from Twilio (Messages fetch).
    delivery_check_seconds: int = Field(default=600, gt=0)
    queue_updates: QueueUpdates = Field(default_factory=QueueUpdates)
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    # While a rep holds the conversation: a notice in Flex this long before the 24-hour window closes (0: none).
    window_warning_minutes: int = Field(default=60, ge=0)
    csat: Csat = Field(default_factory=Csat)
    # The AI composing shows the contact WhatsApp's typing indicator (and marks their message read).
    typing_indicator: bool = True
    # ... once the AI has been composing this long: a quicker reply is its own sign, and the indicator costs the
    # turn a REST call the contact never sees. 0 shows it before every AI reply.
    typing_indicator_after_seconds: float = Field(default=TYPING_INDICATOR_AFTER_SECONDS, ge=0, le=25)
    # Diagnostics: continue-as-new after this many events in one run instead of when Temporal suggests it (tests
    # and fault runs put many run boundaries under load with it). Unset in production.
    continue_as_new_after_events: int | None = Field(default=None, ge=1)

    @field_validator("templates")
    @classmethod
    def _templates_are_content_sids(cls, templates: dict[str, str]) -> dict[str, str]:
        for name, sid in templates.items():
            if not (sid.startswith("HX") and len(sid) == 34):
                raise ValueError(f"template {name!r}: {sid!r} is not a Content SID (HX…)")
        return templates

    @field_validator("public_base_url")
    @classmethod
    def _url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url.rstrip("/")
