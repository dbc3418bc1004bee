"""The AI's part of a turn (`AiActivities.turn`, called by `answer_contact`), by the backend the workflow names.

Backend failures surface as `ApplicationError(type="AiUnavailable")` (retryable only when another attempt can
help, e.g. a timeout or a 5xx); the workflow hands off with reason "AI unavailable" when the attempts are spent.
An unknown backend name is a configuration error: non-retryable, type "UnknownAiBackend".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.ai.backend import AiBackend, AiBackendError
from activities.ai.openai_backend import OpenAiBackend
from activities.ai.rules_backend import RulesBackend
from config.settings import Settings
from contracts.ai import AiTurnInput, AiTurnResult

AI_UNAVAILABLE = "AiUnavailable"
UNKNOWN_BACKEND = "UnknownAiBackend"


class AiActivities:
    def __init__(
        self,
        settings: Settings,
        *,
        backends: Mapping[str, AiBackend] | None = None,
        org_rules: Mapping[str, Path | str] | None = None,
        preload_rules: bool = True,
    ) -> None:
        """`org_rules`: org name → its own rules/FAQ file (others use the packaged one); `backends` overrides
        (tests, custom backends)."""
        self._settings = settings
        self._factories: dict[str, Callable[[], AiBackend]] = {
            "rules": lambda: RulesBackend(org_rules=org_rules),
            "openai": lambda: OpenAiBackend.from_settings(settings),
        }
        self._backends: dict[str, AiBackend] = dict(backends or {})
        if preload_rules and "rules" not in self._backends:
            # Built at worker start (lingua models ≈1.3 s) so the first customer's turn is as fast as
            # the rest.
            self._backends["rules"] = self._factories["rules"]()

    @property
    def known_backends(self) -> list[str]:
        return sorted({*self._factories, *self._backends})

    def backend(self, name: str) -> AiBackend:
        found = self._backends.get(name)
        if found is None:
            factory = self._factories.get(name)
            if factory is None:
                raise ApplicationError(
                    f"unknown AI backend {name!r}; known backends: {', '.join(self.known_backends)}",
                    type=UNKNOWN_BACKEND,
                    non_retryable=True,
                )
            try:
                found = self._backends[name] = factory()
            except ValueError as exc:  # bad configuration, e.g. a malformed base URL
                raise ApplicationError(
                    f"AI backend {name!r} is misconfigured: {exc}", type=AI_UNAVAILABLE, non_retryable=True
                ) from exc
        return found

    async def aclose(self) -> None:
        """Close pooled HTTP connections (call at worker shutdown)."""
        for backend in self._backends.values():
            close = getattr(backend, "aclose", None)
            if close is not None:
                await close()

    async def turn(self, inp: AiTurnInput) -> AiTurnResult:
        backend = self.backend(inp.backend)
        try:
            return await backend.turn(inp)
        except AiBackendError as exc:
            activity.logger.warning("AI backend %s failed: %s", inp.backend, exc)
            raise ApplicationError(
                f"AI backend {inp.backend!r} failed: {exc}",
                type=AI_UNAVAILABLE,
                non_retryable=not exc.retryable,
            ) from exc
