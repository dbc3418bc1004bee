"""Which operator commands a conversation refuses outright (the update's validator: no history event)."""

from __future__ import annotations

from contracts.signals import (
    REFUSED_ALREADY_HANDED_OFF,
    REFUSED_BAD_TEMPLATE_VARIABLES,
    REFUSED_NOTHING_TO_HAND_OFF,
    REFUSED_UNKNOWN_TEMPLATE,
)
from contracts.views import StateName
from rules.templates import MAX_VARIABLES, TemplateCommandError, resolve


class Refusal(Exception):
    """A command the conversation cannot carry out; `kind` is one of the `REFUSED_*` names."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def check_handoff(*, state: StateName, has_session: bool, handed_off: bool) -> None:
    """Raises `Refusal` when there is nothing to hand off: no open session (the contact has not written since
    the last one ended, or the conversation is closed), or the session is already with the humans."""
    if state == "closed" or not has_session:
        raise Refusal(
            REFUSED_NOTHING_TO_HAND_OFF,
            "nothing to hand off: no open session (the contact has not written since the last session ended)",
        )
    if handed_off:
        where = "a rep holds it" if state == "with_rep" else "it is waiting in the human queue"
        raise Refusal(REFUSED_ALREADY_HANDED_OFF, f"already handed off: {where}")


def check_template(name: str, variables: list[str], templates: dict[str, str]) -> None:
    """Raises `Refusal` for a template name the org does not configure or variables WhatsApp would refuse."""
    try:
        resolve(name, templates)
    except TemplateCommandError as exc:
        raise Refusal(REFUSED_UNKNOWN_TEMPLATE, str(exc)) from None
    if len(variables) > MAX_VARIABLES:
        raise Refusal(REFUSED_BAD_TEMPLATE_VARIABLES, f"too many variables ({len(variables)}, at most {MAX_VARIABLES})")
