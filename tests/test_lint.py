"""The code passes ruff, with the configuration in pyproject.toml ([tool.ruff])."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["skae", "tests", "benchmarks", "examples"]


def test_ruff_finds_nothing():
    pytest.importorskip("ruff", reason="linting needs ruff: pip install -e '.[tests]'")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
         *PATHS],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
