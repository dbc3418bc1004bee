"""Which orgs file a command uses, and loading one org from it.

The file comes from, in order: `--orgs-file`; WAFH_ORGS_FILE (environment or .env); the running stack's, as
`run` recorded it in `{data_dir}/run.json`; `./orgs.toml`. When none exists the command says "not found" with the
two ways out: start `run`, or create `orgs.toml`.

One org is loaded on its own, so another org's missing secret never stops `doctor --org this-one`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import MutableMapping
from pathlib import Path

from pydantic import BaseModel

from cli.errors import CliError
from cli.stack import RUN_FILE, running_stack
from config.orgs import ConfigError, Org, OrgRegistry
from contracts.ids import validate_org

DEFAULT_ORGS_FILE = Path("orgs.toml")
# Variables an org names for its secrets (orgs.example.toml: auth_token_env, api_key_secret_env).
SECRET_VARIABLE_KEYS = ("auth_token_env", "api_key_secret_env")


class OrgsFileChoice(BaseModel):
    path: Path
    source: str  # where the choice came from, said in messages


def find_orgs_file(explicit: Path | None, data_dir: Path) -> OrgsFileChoice:
    if explicit is not None:
        return OrgsFileChoice(path=explicit, source="--orgs-file")
    if os.environ.get("WAFH_ORGS_FILE"):
        return OrgsFileChoice(path=Path(os.environ["WAFH_ORGS_FILE"]), source="WAFH_ORGS_FILE")
    stack = running_stack(data_dir)
    if stack is not None:
        return OrgsFileChoice(path=Path(stack.orgs_file), source=f"the running stack ({data_dir / RUN_FILE})")
    if DEFAULT_ORGS_FILE.is_file():
        return OrgsFileChoice(path=DEFAULT_ORGS_FILE, source="./orgs.toml")
    raise CliError(
        f"No orgs file found: no --orgs-file, no WAFH_ORGS_FILE, no running `run` in {data_dir} and no ./orgs.toml.",
        "start the stack with `wa-flex-handoff run` (every command then finds its orgs file), "
        "or copy orgs.example.toml to orgs.toml for your Twilio account and fill it in.",
    )


def _raw_orgs(choice: OrgsFileChoice) -> dict[str, object]:
    path = choice.path
    if not path.is_file():
        raise CliError(
            f"The orgs file {path} (from {choice.source}) was not found.",
            "fix the path, or start the stack with `wa-flex-handoff run`, "
            "or copy orgs.example.toml to orgs.toml and fill it in.",
        )
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise CliError(f"The orgs file {path} is not valid TOML: {exc}.", f"correct {path}.") from None
    orgs = data.get("orgs")
    if not isinstance(orgs, dict) or not orgs:
        raise CliError(f"The orgs file {path} has no [orgs.<name>] table.", "see orgs.example.toml.")
    for name in orgs:
        try:
            validate_org(name)
        except ValueError as exc:
            raise CliError(
                f"The orgs file {path} is invalid: orgs.{name}: {exc}.", f"rename the org in {path}."
            ) from None
    return orgs


def load_org(name: str, choice: OrgsFileChoice) -> Org:
    """Org `name` of the chosen file, validated and with its secrets read; other orgs are not looked at."""
    orgs = _raw_orgs(choice)
    path = choice.path
    raw = orgs.get(name)
    if not isinstance(raw, dict):
        raise CliError(
            f"There is no org {name!r} in {path} (it has: {', '.join(sorted(orgs)) or 'none'}).",
            "pass --org with one of those names, or add the org to the file.",
        )
    _require_secret_variables(name, raw, path)
    try:
        registry = OrgRegistry.from_mapping({"orgs": {name: raw}})
    except ConfigError as exc:
        raise CliError(f"The orgs file {path} is invalid: {exc}.", f"correct {path} (see orgs.example.toml).") from None
    org = registry.get(name)
    assert org is not None
    return org


def load_orgs(choice: OrgsFileChoice) -> OrgRegistry:
    """Every org of the chosen file (the worker and the API serve them all)."""
    for name, raw in _raw_orgs(choice).items():
        if isinstance(raw, dict):
            _require_secret_variables(name, raw, choice.path)
    try:
        return OrgRegistry.load(choice.path)
    except ConfigError as exc:
        raise CliError(
            f"The orgs file {choice.path} is invalid: {exc}.", f"correct {choice.path} (see orgs.example.toml)."
        ) from None


def _require_secret_variables(name: str, raw: dict[str, object], path: Path) -> None:
    for key in SECRET_VARIABLE_KEYS:
        variable = raw.get(key)
        if isinstance(variable, str) and variable and not os.environ.get(variable):
            raise CliError(
                f"Org {name!r} reads its secret from {variable} ({key} in {path}), which is not set.",
                f"set {variable} (environment or .env).",
            )


def use_orgs_file(data_dir: Path, environ: MutableMapping[str, str] | None = None) -> OrgsFileChoice:
    """Point this process's settings at the orgs file a command finds (for `worker` and `api`); next to a running
    `run`, also at its Temporal and its key ring, so a second worker or API joins that stack. Variables already
    set win."""
    from config.settings import Settings

    env = os.environ if environ is None else environ
    Settings()  # a bad WAFH_* setting is named before the orgs file is looked for
    choice = find_orgs_file(None, data_dir)
    load_orgs(choice)  # every org valid and its secrets set, said in one sentence before anything starts
    env["WAFH_ORGS_FILE"] = str(choice.path)
    stack = running_stack(data_dir)
    if stack is not None and Path(stack.orgs_file) == choice.path:
        env.setdefault("TEMPORAL_ADDRESS", stack.temporal_address)
        env.setdefault("TEMPORAL_NAMESPACE", stack.namespace)
        keys = stack.codec_keys()
        if keys:
            env.setdefault("WAFH_CODEC_KEYS", keys)
    return choice
