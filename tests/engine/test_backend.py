"""skae/_engine/_backend.py: the dispatch point refuses a backend that cannot train."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_backend_that_cannot_train_is_refused_with_the_fix():
    # Keras' NumPy backend ships with Keras itself: no other framework needed.
    env = {**os.environ, "KERAS_BACKEND": "numpy", "PYTHONPATH": str(ROOT)}
    code = "import skae; skae.AutoencoderTransformer"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0
    assert (
        "ImportError: skae trains on Keras' TensorFlow, JAX or PyTorch backend, "
        "but Keras runs on 'numpy'"
    ) in result.stderr
    assert "Set KERAS_BACKEND=tensorflow, jax or torch" in result.stderr
