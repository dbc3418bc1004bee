"""A pydantic-settings failure as one sentence naming the environment variable at fault, and its fix."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError


class SettingsProblem(BaseModel):
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.message} Fix: {self.fix}"


def describe_settings_error(exc: ValidationError) -> SettingsProblem:
    first = exc.errors()[0]
    variable = "WAFH_" + ".".join(str(p) for p in first["loc"]).upper()
    return SettingsProblem(
        message=f"Setting {variable} is invalid: {first['msg']}.",
        fix=f"correct {variable} in the environment or .env (see .env.example).",
    )
