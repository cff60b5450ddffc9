"""`ruff check` is part of the tests, so `make test` (and CI) fails on a lint error; rules in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys

from rag.config import PROJECT_ROOT


def test_ruff_finds_nothing() -> None:
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"ruff check found problems (fix them, or `ruff check --fix .`):\n{done.stdout}{done.stderr}"
