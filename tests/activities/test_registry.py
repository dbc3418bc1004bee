"""The worker registers exactly the activities `contracts.activities` defines, each under its name with the
contract's input and result types; the workflow tests' fakes cover the same set."""

from __future__ import annotations

import inspect
import typing

from temporalio.activity import _Definition

from activities.registry import build_activities
from config.settings import Settings
from contracts.activities import ALL_ACTIVITIES
from tests.activities.fakes import org_registry
from tests.workflow.fakes import FakeTwilio


def _definitions(functions: list[typing.Any]) -> dict[str, typing.Any]:
    found: dict[str, typing.Any] = {}
    for fn in functions:
        defn = _Definition.from_callable(fn)
        assert defn is not None and defn.name is not None, fn
        assert defn.name not in found, f"{defn.name} registered twice"
        found[defn.name] = fn
    return found


def test_the_worker_registers_each_contract_activity_once_with_its_types() -> None:
    registered = _definitions(build_activities(org_registry(), Settings()))
    assert sorted(registered) == sorted(d.name for d in ALL_ACTIVITIES)
    for defn in ALL_ACTIVITIES:
        hints = typing.get_type_hints(registered[defn.name])
        params = [p for p in inspect.signature(registered[defn.name]).parameters if p != "self"]
        assert hints[params[0]] is defn.input_type, defn.name
        assert hints["return"] is defn.result_type, defn.name


def test_the_workflow_tests_fake_the_same_activities() -> None:
    faked = _definitions(FakeTwilio().activities())
    assert sorted(faked) == sorted(d.name for d in ALL_ACTIVITIES)
