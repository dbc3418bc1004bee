"""`/template <name> [vars…]` typed by a rep in Flex, and template name → Content SID resolution.

Variables are separated by spaces; double or single quotes keep spaces inside one variable
(`/template order_update "Ana Maria" 42`). They become Content API variables `{"1": …, "2": …}`.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from pydantic import BaseModel, Field

COMMAND = "/template"
MAX_VARIABLES = 20


class TemplateCommandError(ValueError):
    """The text is a /template command but cannot be used; the message is shown to the rep."""


class TemplateCommand(BaseModel):
    name: str
    variables: list[str] = Field(default_factory=list)


def is_template_command(text: str | None) -> bool:
    if not text:
        return False
    first = text.strip().split(maxsplit=1)[0] if text.strip() else ""
    return first.lower() == COMMAND


def parse_template_command(text: str | None) -> TemplateCommand | None:
    """None when `text` is not a /template command; raises TemplateCommandError when it is but is
    malformed."""
    if not is_template_command(text):
        return None
    assert text is not None
    try:
        parts = shlex.split(text.strip())
    except ValueError as exc:
        raise TemplateCommandError(f"could not read the template command ({exc}); usage: {usage()}") from None
    if len(parts) < 2:
        raise TemplateCommandError(f"missing template name; usage: {usage()}")
    variables = parts[2:]
    if len(variables) > MAX_VARIABLES:
        raise TemplateCommandError(f"too many variables ({len(variables)}, at most {MAX_VARIABLES})")
    return TemplateCommand(name=parts[1], variables=variables)


def usage() -> str:
    return f'{COMMAND} <name> [variables…] (quote a variable with spaces: "Ana Maria")'


def resolve(name: str, templates: Mapping[str, str]) -> str:
    """Content SID of a configured template name (case-insensitive); unknown → error listing known ones."""
    if name in templates:
        return templates[name]
    lowered = {k.lower(): v for k, v in templates.items()}
    if name.lower() in lowered:
        return lowered[name.lower()]
    known = ", ".join(sorted(templates)) or "none are configured"
    raise TemplateCommandError(f"unknown template {name!r}; known templates: {known}")


def content_variables(variables: list[str]) -> dict[str, str]:
    """Positional variables → Content API `{"1": v1, "2": v2, …}`."""
    return {str(i): v for i, v in enumerate(variables, start=1)}
