"""`openai`: any OpenAI-compatible chat-completions endpoint, asked for a structured reply.

The model must answer with JSON matching `MODEL_REPLY_SCHEMA` ({reply, escalate, reason, summary, sentiment,
language}); `response_format` asks for exactly that (strict JSON schema). A malformed answer (not JSON, wrong
shape, a refusal, no reply while not escalating) is asked for again once, then raised as `AiBackendError`,
like any HTTP or transport failure — the workflow then hands off with reason "AI unavailable". No retries on
HTTP errors here: the activity's retry policy owns those (`retryable` says whether one can help).
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator

from activities.ai.backend import AiBackendError
from activities.ai.intents import RulesData, default_rules
from config.settings import Settings
from contracts.ai import AiTurnInput, AiTurnResult, HumanPart, TranscriptLine
from rules.handback import describe

DEFAULT_TIMEOUT_S = 20.0
MALFORMED_ATTEMPTS = 2  # the first answer plus one retry
_BCP47 = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

MODEL_REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["reply", "escalate", "reason", "summary", "sentiment", "language"],
    "properties": {
        "reply": {
            "type": ["string", "null"],
            "description": "Message for the customer; null when escalating.",
        },
        "escalate": {"type": "boolean", "description": "True to hand the conversation to a human agent."},
        "reason": {"type": ["string", "null"], "description": "Short phrase why escalating; null otherwise."},
        "summary": {
            "type": "string",
            "description": "One paragraph summary of the conversation for an agent.",
        },
        "sentiment": {"type": "string", "enum": ["positive", "neutral", "negative"]},
        "language": {"type": "string", "description": "BCP-47 code of the customer's language, e.g. en, es."},
    },
}

SYSTEM_PROMPT = """You are the customer-support assistant of a business, answering customers on WhatsApp.
Reply briefly and politely in the customer's language. Never invent facts (order states, dates, prices,
policies)
that are not in the conversation or the context below; if you cannot answer, say so.
Set escalate=true (a human agent takes over) when the customer asks for a human, wants to cancel, asks for a
refund, complains, is clearly upset, or when you cannot help. When escalating, reply may be a one-sentence
message telling the customer a person will take over, or null.
Always fill: reason (short phrase, e.g. "customer wants to cancel subscription"; null if not escalating),
summary (one paragraph for the human agent: who, what was asked, what was answered, why escalating),
sentiment of the customer (positive|neutral|negative), language (BCP-47 code, e.g. "en", "es", "pt-BR").
Answer with the JSON object only."""


class ModelReply(BaseModel):
    """What the model must return (validated; anything else is a malformed answer)."""

    model_config = ConfigDict(extra="ignore")

    reply: str | None
    escalate: bool
    reason: str | None
    summary: str
    sentiment: Literal["positive", "neutral", "negative"]
    language: str

    @field_validator("language")
    @classmethod
    def _bcp47(cls, value: str) -> str:
        value = value.strip().replace("_", "-")
        if not _BCP47.match(value):
            raise ValueError(f"not a BCP-47 language code: {value!r}")
        primary, *rest = value.split("-")
        return "-".join([primary.lower(), *(part.upper() if len(part) == 2 else part for part in rest)])

    def to_result(self) -> AiTurnResult:
        reply = self.reply.strip() if self.reply and self.reply.strip() else None
        if not self.escalate and reply is None:
            raise ValueError("the model neither replied nor escalated")
        reason = self.reason.strip() if self.reason and self.reason.strip() else None
        if self.escalate and reason is None:
            reason = "AI decided to hand off"  # the model escalated without saying why; keep its decision
        return AiTurnResult(
            reply=reply,
            escalate=self.escalate,
            reason=reason if self.escalate else None,
            summary=" ".join(self.summary.split()),
            sentiment=self.sentiment,
            language=self.language,
            answered=not self.escalate,
        )


def faq_knowledge(rules: RulesData, language: str = "en") -> str:
    """The business facts the model may use: each FAQ topic's general answer (no flex_* placeholders)."""
    lines = []
    for entry in rules.faq:
        if entry.smalltalk:
            continue
        general = next((v for v in entry.variants if not v.requires), None)
        if general is not None:
            lines.append(f"- {entry.topic}: {general.render(language, language, {})}")
    return "\n".join(lines)


def build_messages(inp: AiTurnInput, knowledge: str = "") -> list[dict[str, str]]:
    context = {
        "flex_context": inp.flex_context,
        "contact_name": inp.contact_name,
        "new_message_count": inp.new_message_count,
        "unanswered_turns": inp.unanswered_turns,
    }
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    if knowledge:
        messages.append({"role": "system", "content": "Business facts you may use:\n" + knowledge})
    messages.append({"role": "system", "content": "Context (JSON): " + json.dumps(context, ensure_ascii=False)})
    if inp.handback is not None:
        messages.append({"role": "system", "content": handback_prompt(inp.handback)})
    messages.extend(_message(line) for line in inp.transcript)
    if inp.new_message_count > 1:
        messages.append(
            {
                "role": "system",
                "content": f"Answer the last {inp.new_message_count} customer messages together.",
            }
        )
    return messages


HANDBACK_PROMPT = (
    "A human agent held this conversation and has now handed it back to you. What the agent's part was: "
    "{part} Build on it: do not ask again for anything the agent asked for and the customer gave (such as an "
    "order number), do not contradict what the agent told the customer, and keep the agent's promises."
)


def handback_prompt(part: HumanPart) -> str:
    """The reps' part of the previous session, for the model (the transcript has their lines too; this says
    what they settled)."""
    return HANDBACK_PROMPT.format(part=describe(part))


def _message(line: TranscriptLine) -> dict[str, str]:
    if line.speaker == "contact":
        return {"role": "user", "content": line.text}
    if line.speaker == "ai":
        return {"role": "assistant", "content": line.text}
    if line.speaker == "rep":
        return {"role": "assistant", "content": f"(human agent) {line.text}"}
    return {"role": "system", "content": line.text}


def parse_completion(body: Any) -> AiTurnResult:
    """Chat-completions response JSON → result; raises ValueError with what was wrong."""
    try:
        message = body["choices"][0]["message"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError("response has no choices[0].message") from exc
    if not isinstance(message, dict):
        raise ValueError("choices[0].message is not an object")
    if message.get("refusal"):
        raise ValueError(f"the model refused: {str(message['refusal'])[:200]}")
    content = message.get("content")
    if not isinstance(content, str) or not content.strip():
        raise ValueError("the model returned no content")
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the model's answer is not JSON ({exc.msg} at char {exc.pos}): {content[:120]!r}") from exc
    try:
        return ModelReply.model_validate(data).to_result()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"the model's answer does not match the schema: {problems}") from exc


class OpenAiBackend:
    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: SecretStr | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
        knowledge: str = "",
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"openai_base_url must be an http(s) URL, got {base_url!r}")
        self.model = model
        self.knowledge = knowledge
        headers = {"Content-Type": "application/json"}
        if api_key is not None and api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {api_key.get_secret_value()}"
        # One pooled client per backend: a turn must not pay a TLS handshake.
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/", headers=headers, timeout=timeout_s, transport=transport
        )

    @classmethod
    def from_settings(cls, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> OpenAiBackend:
        return cls(
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            api_key=settings.openai_api_key,
            transport=transport,
            knowledge=faq_knowledge(default_rules()),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    @property
    def closed(self) -> bool:
        return self._client.is_closed

    def request_body(self, inp: AiTurnInput) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": build_messages(inp, self.knowledge),
            "temperature": 0,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "ai_turn", "strict": True, "schema": MODEL_REPLY_SCHEMA},
            },
        }

    async def turn(self, inp: AiTurnInput) -> AiTurnResult:
        body = self.request_body(inp)
        problem = ""
        for _ in range(MALFORMED_ATTEMPTS):
            payload = await self._post(body)
            try:
                return parse_completion(payload)
            except ValueError as exc:
                problem = str(exc)
        raise AiBackendError(f"malformed answer from model {self.model} after {MALFORMED_ATTEMPTS} attempts: {problem}")

    async def _post(self, body: dict[str, Any]) -> Any:
        try:
            response = await self._client.post("chat/completions", json=body)
        except httpx.TimeoutException as exc:
            raise AiBackendError(f"AI endpoint timed out: {type(exc).__name__}", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise AiBackendError(f"AI endpoint unreachable: {type(exc).__name__}: {exc}", retryable=True) from exc
        if response.status_code >= 400:
            detail = response.text[:200].replace("\n", " ")
            retryable = response.status_code == 429 or response.status_code >= 500
            raise AiBackendError(f"AI endpoint answered HTTP {response.status_code}: {detail}", retryable=retryable)
        try:
            return response.json()
        except ValueError:
            # The endpoint itself (not the model) sent garbage: count it as a malformed answer.
            return {"_not_json": response.text[:120]}
