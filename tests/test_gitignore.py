"""The files the README tells people to create hold secrets: git never offers to commit them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout")
@pytest.mark.parametrize("path", ["orgs.toml", ".env", ".data/secrets/admin_token"])
def test_secret_files_are_ignored(path: str) -> None:
    result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, timeout=30)
    assert result.returncode == 0, f"{path} is not ignored by .gitignore"


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_the_examples_are_not_ignored() -> None:
    result = subprocess.run(["git", "check-ignore", "-q", "orgs.example.toml"], cwd=ROOT, timeout=30)
    assert result.returncode == 1
