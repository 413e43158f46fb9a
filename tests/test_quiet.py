"""TensorFlow's start-up notes stay off stderr, wherever skae is first imported from.

A Dask worker or a joblib process that unpickles an estimator imports its
private module (``skae._transformer``, ``skae._detector``), not the public
name, and inherits the parent's environment: both paths are checked in a
fresh process.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
START_UP = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog", re.MULTILINE)

CHILD = "import os; print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"


def _run(code):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.parametrize("module", ["skae._transformer", "skae._detector"])
def test_importing_a_private_estimator_module_prints_no_start_up_notes(module):
    done = _run(f"import {module}")
    assert START_UP.findall(done.stderr) == [], done.stderr


def test_a_child_process_does_not_inherit_skae_s_log_level():
    # Inherited, the level would read as the user's own choice and turn the
    # child's filter off (Dask's workers printed the notes that way).
    code = (
        "import subprocess, sys, skae; skae.AutoencoderTransformer; "
        f"subprocess.run([sys.executable, '-c', {CHILD!r}], check=True)"
    )
    assert _run(code).stdout.strip() == "None"
