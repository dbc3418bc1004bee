"""The one error type the CLI shows to people: a sentence saying what is wrong, and the fix."""

from __future__ import annotations

from pydantic import ValidationError

from config.settings_errors import describe_settings_error


class CliError(Exception):
    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} Fix: {self.fix}" if self.fix else self.message


def settings_error(exc: ValidationError) -> CliError:
    """A pydantic-settings failure as one sentence naming the environment variable at fault."""
    problem = describe_settings_error(exc)
    return CliError(problem.message, problem.fix)
