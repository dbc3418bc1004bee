"""docker-compose.yml and the Dockerfile: valid per the Compose specification, pinned, and wired to the code.

No Docker engine runs here, so this is what keeps the production shape honest.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from config.settings import Settings
from contracts.search_attributes import ALL_KEYS, CLI_TYPES

ROOT = Path(__file__).resolve().parent.parent
EXPECTED_SERVICES = {
    "postgresql",
    "temporal",
    "temporal-admin-tools",
    "temporal-ui",
    "config",
    "api",
    "worker",
    "prometheus",
    "grafana",
    "sandbox",
    "sandbox-setup",
    "demo",
}
SANDBOX_PROFILE = {"sandbox", "sandbox-setup", "demo"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def compose_schema() -> dict[str, Any]:
    # The Compose specification schema, as vendored by check-jsonschema (a dev dependency).
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    text = vendor.joinpath("compose-spec.json").read_text()
    return dict(json.loads(text))


def test_compose_file_is_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = compose_schema()
    validator_cls = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_cls(schema).iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_schema_check_catches_a_broken_file(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["api"]["depends_on"] = {"temporal": {"condition": "whenever"}}
    schema = compose_schema()
    assert list(jsonschema.validators.validator_for(schema)(schema).iter_errors(broken))


def test_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == EXPECTED_SERVICES
    for name, svc in compose["services"].items():
        assert svc.get("profiles") == (["sandbox"] if name in SANDBOX_PROFILE else None), name


def _images(compose: dict[str, Any]) -> dict[str, str]:
    return {name: svc["image"] for name, svc in compose["services"].items() if "image" in svc}


def test_every_image_tag_is_pinned(compose: dict[str, Any]) -> None:
    images = _images(compose)
    assert set(images) == EXPECTED_SERVICES
    for name, image in images.items():
        repo, _, tag = image.rpartition(":")
        assert repo and tag, f"{name}: {image} has no tag"
        assert tag != "latest" and "$" not in tag, f"{name}: {image} is not pinned"
        assert re.match(r"^v?\d+\.\d+(\.\d+)?", tag), f"{name}: {image} tag is not a version"


def test_registered_search_attributes_equal_the_code(compose: dict[str, Any]) -> None:
    admin = compose["services"]["temporal-admin-tools"]
    pairs = dict(p.split("=", 1) for p in admin["environment"]["SEARCH_ATTRIBUTES"].split())
    assert pairs == CLI_TYPES
    assert set(pairs) == {k.name for k in ALL_KEYS}
    script = admin["command"][0]
    assert "search-attribute create" in script and "$$SEARCH_ATTRIBUTES" in script


def test_api_and_worker_reach_temporal_and_share_config(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "7233:7233" in services["temporal"]["ports"]
    for name in ("api", "worker"):
        svc = services[name]
        env = svc["environment"]
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
        orgs_file = env["WAFH_ORGS_FILE"]
        assert f"config:{Path(orgs_file).parent}:ro" in svc["volumes"], f"{name}: {orgs_file} is not mounted"
        for job in ("temporal-admin-tools", "config"):
            assert svc["depends_on"][job]["condition"] == "service_completed_successfully"
        assert svc["image"] == services["api"]["image"]
    assert services["api"]["build"] == "."
    # --scale needs the worker to publish no fixed host port.
    assert "ports" not in services["worker"]
    assert services["worker"]["environment"]["WAFH_METRICS_PORT"] in services["worker"]["expose"]


def test_every_wafh_variable_is_a_setting(compose: dict[str, Any]) -> None:
    fields = {f"WAFH_{name.upper()}" for name in Settings.model_fields}
    used = {
        key
        for svc in compose["services"].values()
        for key in (svc.get("environment") or {})
        if isinstance(svc.get("environment"), dict) and key.startswith("WAFH_")
    }
    assert used, "no WAFH_ variables wired"
    assert used <= fields, f"unknown settings: {sorted(used - fields)}"
    env_example = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if re.match(r"^#?\s*WAFH_[A-Z_]+=", line)
    }
    assert env_example <= fields, f".env.example names unknown settings: {sorted(env_example - fields)}"


def test_commands_exist_in_the_cli(compose: dict[str, Any]) -> None:
    from cli.main import app

    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    for svc in compose["services"].values():
        command = svc.get("command")
        if isinstance(command, list) and command[0] == "wa-flex-handoff":
            assert command[1] in names


def test_dockerfile_is_pinned_and_the_image_gets_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^FROM\s+(\S+)", dockerfile, re.MULTILINE)
    assert base and re.search(r":\d+\.\d+\.\d+", base.group(1)), "pin the base image to a patch version"
    assert re.search(r"^COPY \. \.$", dockerfile, re.MULTILINE)
    ignored = [
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needed = [p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]]
    needed += [f"{m}.py" for m in pyproject["tool"]["setuptools"]["py-modules"]] + ["pyproject.toml", "README.md"]
    for path in needed:
        assert not any(fnmatch.fnmatch(path, pattern) for pattern in ignored), f".dockerignore drops {path}"
    for secret in ("orgs.toml", ".env", ".data", ".venv"):
        assert secret in ignored, f".dockerignore must leave out {secret}"


def env_example() -> dict[str, str]:
    """The variables .env.example sets (uncommented lines), as compose and the CLI read them from .env."""
    values: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            name, value = line.split("=", 1)
            values[name] = value
    return values


def test_env_example_agrees_with_compose() -> None:
    """After `cp .env.example .env`, nothing in .env overrides compose's own defaults with another value."""
    text = (ROOT / "docker-compose.yml").read_text()
    example = env_example()
    for name, default in re.findall(r"\$\{([A-Z_]+):-([^}]*)\}", text):
        if name in example:
            assert example[name] == default, f".env.example sets {name}={example[name]}, compose defaults to {default}"
    for name in re.findall(r"\$\{([A-Z_]+):\?", text):
        assert not example.get(name), f".env.example must leave {name} empty: compose then refuses to start without it"
    assert "WAFH_ORGS_FILE" not in example  # compose and `run` choose it; a copied .env must not redirect them


def test_placeholder_admin_tokens_are_refused() -> None:
    from pydantic import SecretStr, ValidationError

    for placeholder in ("change-me", "changeme", "CHANGE_ME", "replace-me", "..."):
        with pytest.raises(ValidationError, match="placeholder"):
            Settings(_env_file=None, admin_token=SecretStr(placeholder))
    assert Settings(_env_file=None, admin_token=SecretStr("s3cr3t-from-token_urlsafe")).admin_token is not None


def test_sandbox_profile_is_wired_end_to_end(compose: dict[str, Any]) -> None:
    """`--profile sandbox up` is a demo by itself: the sandbox, its setup writing the orgs file the API and the
    worker read, senders and public URL pointing at the API service, then the demo job."""
    services = compose["services"]
    setup = services["sandbox-setup"]
    command = setup["command"]
    orgs_file = command[command.index("--orgs-file") + 1]
    assert orgs_file == services["api"]["environment"]["WAFH_ORGS_FILE"]
    assert f"config:{Path(orgs_file).parent}" in setup["volumes"]
    assert command[command.index("--public-base-url") + 1] == "http://api:8000"
    assert "8000:8000" in services["api"]["ports"]
    assert command[command.index("--sandbox-url") + 1] == "http://sandbox:8400"
    assert setup["depends_on"]["sandbox"]["condition"] == "service_healthy" and "healthcheck" in services["sandbox"]
    for name in ("api", "worker"):
        dependency = services[name]["depends_on"]["sandbox-setup"]
        assert dependency == {"condition": "service_completed_successfully", "required": False}
    demo = services["demo"]
    assert demo["command"][:2] == ["wa-flex-handoff", "demo"]
    assert demo["depends_on"]["api"]["condition"] == "service_healthy"
    assert "--api-url" in demo["command"] and "http://api:8000" in demo["command"]
    config = services["config"]
    assert ".:/project:ro" in config["volumes"] and "config:/config" in config["volumes"]
    assert "/project/orgs.toml" in config["command"][0]
    assert "mkdir /config && chown wafh /config" in (ROOT / "Dockerfile").read_text()


def test_the_ui_origin_is_the_ui_port(compose: dict[str, Any]) -> None:
    ui_ports = compose["services"]["temporal-ui"]["ports"]
    origin = compose["services"]["api"]["environment"]["WAFH_TEMPORAL_UI_ORIGIN"]
    assert origin.endswith(":-http://localhost:8080}") and "8080:8080" in ui_ports


def test_prometheus_scrapes_the_api_and_every_worker_and_loads_the_rules(compose: dict[str, Any]) -> None:
    from contracts.metrics import API_JOB, WORKER_JOB

    services = compose["services"]
    mounts = dict(v.split(":")[:2] for v in services["prometheus"]["volumes"] if v.startswith("./"))
    config = yaml.safe_load((ROOT / "observability/prometheus/prometheus.yml").read_text())
    assert mounts["./observability/prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert mounts["./observability/prometheus/alerts.yml"] in config["rule_files"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {API_JOB, WORKER_JOB}
    assert jobs[API_JOB]["static_configs"][0]["targets"] == ["api:8000"]
    assert "8000:8000" in services["api"]["ports"]
    [worker_sd] = jobs[WORKER_JOB]["dns_sd_configs"]
    assert worker_sd["names"] == ["worker"]
    assert str(worker_sd["port"]) == services["worker"]["environment"]["WAFH_METRICS_PORT"]


def test_grafana_is_provisioned_with_the_dashboard(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    mounts = dict(v.split(":")[:2] for v in grafana["volumes"] if v.startswith("./"))
    provisioning = ROOT / "observability/grafana/provisioning"
    assert mounts["./observability/grafana/provisioning"] == "/etc/grafana/provisioning"
    providers = yaml.safe_load((provisioning / "dashboards/wa-flex-handoff.yml").read_text())["providers"]
    dashboards_dir = mounts["./observability/grafana/dashboards"]
    assert [p["options"]["path"] for p in providers] == [dashboards_dir]
    assert (ROOT / "observability/grafana/dashboards/wa-flex-handoff.json").is_file()
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{dashboards_dir}/wa-flex-handoff.json"
    [source] = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())["datasources"]
    assert source["url"] == "http://prometheus:9090"
