"""`.env`: read into the process environment at start, so that every variable `.env.example` documents works from
there — the service's WAFH_* settings and the secrets the orgs file names (e.g. ACME_TWILIO_AUTH_TOKEN) alike.

A variable already set in the environment wins over `.env`, as with docker compose.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

from dotenv import dotenv_values

ENV_FILE = Path(".env")


def load_env_file(path: Path = ENV_FILE, environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Copy the variables of `path` (if it exists) that are not set yet into `environ`; returns their names."""
    target = os.environ if environ is None else environ
    if not path.is_file():
        return []
    added: list[str] = []
    for name, value in dotenv_values(path).items():
        if value is not None and name not in target:
            target[name] = value
            added.append(name)
    return added
