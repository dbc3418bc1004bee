"""The one error type the CLI shows to people: a sentence saying what is wrong, and the fix."""

from __future__ import annotations

from pydantic import ValidationError


class CliError(Exception):
    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} Fix: {self.fix}" if self.fix else self.message


def settings_error(exc: ValidationError) -> CliError:
    """A pydantic-settings failure as one sentence naming the environment variable at fault."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"])
    return CliError(
        f"Setting WAFH_{field.upper()} is invalid: {first['msg']}.",
        f"correct WAFH_{field.upper()} in the environment or .env (see .env.example).",
    )
