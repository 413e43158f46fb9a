"""The one dispatch point from the engine's functions to a backend's implementation.

The implementation is chosen once, on import, by ``keras.backend.backend()``:
TensorFlow (:mod:`._tensorflow`: one compiled call per epoch, graphs shared
by an architecture), JAX (:mod:`._jax`: jitted stateless epochs, shared by an
architecture) and PyTorch (:mod:`._torch`: the model's own steps without a
data pipeline). Each falls back on :mod:`._generic` (``Model.fit``) for what
its own loop cannot honour. Keras' other backends (NumPy, OpenVINO) cannot
train and are refused here with the error that names the fix.
"""

import importlib

import keras

__all__ = [
    "clear_traces",
    "fit_model",
    "integrated_gradients",
    "name",
    "predict_arrays",
    "trace_stats",
]

# keras.backend.backend() -> the module (in this package) that implements the contract.
_IMPLEMENTATIONS = {"tensorflow": "._tensorflow", "jax": "._jax", "torch": "._torch"}


def name():
    """The Keras backend that skae runs on."""
    return keras.backend.backend()


def _implementation():
    backend = name()
    if backend not in _IMPLEMENTATIONS:
        # Keras' NumPy and OpenVINO backends run inference only: no training.
        raise ImportError(
            f"skae trains on Keras' TensorFlow, JAX or PyTorch backend, but Keras runs on "
            f"{backend!r} (KERAS_BACKEND or ~/.keras/keras.json). "
            "Set KERAS_BACKEND=tensorflow, jax or torch before importing skae or Keras."
        )
    return importlib.import_module(_IMPLEMENTATIONS[backend], __package__)


_IMPL = _implementation()


def fit_model(model, x, y, seed=None, **fit_args):
    """Train a compiled model on arrays, as ``Model.fit(x, y, **fit_args)`` would."""
    return _IMPL.fit_model(model, x, y, seed=seed, **fit_args)


def predict_arrays(model, x, chunk_size, outputs="model"):
    """The forward pass of ``model`` on ``x`` as NumPy arrays, ``chunk_size`` rows at a time."""
    return _IMPL.predict_arrays(model, x, chunk_size, outputs)


def integrated_gradients(function, x, baseline, steps=16):
    """Each cell's share of ``function(x) - function(baseline)``, by integrated gradients."""
    return _IMPL.integrated_gradients(function, x, baseline, steps)


def clear_traces():
    """Forget the traces shared between models of one architecture."""
    _IMPL.clear_traces()


def trace_stats():
    """Counts of traces made and shared (a dict), for tests and benchmarks."""
    return _IMPL.trace_stats()
