"""skae/_engine/_backend.py: the dispatch point refuses a backend that cannot train."""

import keras
import pytest

from skae._engine import _backend


def test_a_backend_that_cannot_train_is_refused_with_the_fix(monkeypatch):
    # Keras' NumPy and OpenVINO backends run inference only. Starting one needs
    # more than Keras (its NumPy backend imports jax), so the backend's name is
    # set here instead, and the dispatch asked for its implementation.
    monkeypatch.setattr(keras.backend, "backend", lambda: "numpy")
    with pytest.raises(ImportError) as error:
        _backend._implementation()
    message = str(error.value)
    assert "skae trains on Keras' TensorFlow, JAX or PyTorch backend" in message
    assert "but Keras runs on 'numpy'" in message
    assert "Set KERAS_BACKEND=tensorflow, jax or torch" in message
