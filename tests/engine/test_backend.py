"""skae/_engine/_backend.py: the dispatch point refuses a backend it has no implementation for."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_another_keras_backend_is_refused_with_the_fix():
    # Keras' NumPy backend ships with Keras itself: no other framework needed.
    env = {**os.environ, "KERAS_BACKEND": "numpy", "PYTHONPATH": str(ROOT)}
    code = "import skae; skae.AutoencoderTransformer"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0
    assert "ImportError: skae needs Keras' TensorFlow backend, but Keras runs on 'numpy'" in (
        result.stderr
    )
    assert "Set KERAS_BACKEND=tensorflow" in result.stderr
