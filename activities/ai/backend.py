"""The interface every AI backend implements, and the error a backend raises when it cannot produce a turn."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from contracts.ai import AiTurnInput, AiTurnResult


@runtime_checkable
class AiBackend(Protocol):
    async def turn(self, inp: AiTurnInput) -> AiTurnResult: ...


class AiBackendError(Exception):
    """The backend could not produce a usable turn (the workflow hands off with reason "AI unavailable").

    `retryable` tells the activity whether another attempt can help (a timeout or a 5xx may; a bad API key or
    a model that keeps answering garbage will not).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
