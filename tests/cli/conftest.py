"""Helpers for CLI tests: run `cli.main.main()` in-process and capture what a person would see."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    def invoke(*args: str) -> CliResult:
        import cli.main

        monkeypatch.setattr(sys, "argv", ["wa-flex-handoff", *args])
        monkeypatch.setattr(cli.main, "_debug", False)
        code = 0
        try:
            cli.main.main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke
