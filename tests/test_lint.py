"""The code passes ``ruff check`` and is as ``ruff format`` writes it (pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["skae", "tests", "benchmarks", "examples"]


def test_ruff_finds_nothing():
    pytest.importorskip("ruff", reason="linting needs ruff: pip install -e '.[tests]'")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *PATHS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_changes_nothing():
    pytest.importorskip("ruff", reason="formatting needs ruff: pip install -e '.[tests]'")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--no-cache", *PATHS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
