"""Training and inference any Keras backend can run: ``Model.fit`` and ``predict_on_batch``.

The fallback of the per-backend engines: a model, or ``Model.fit``
arguments, that a fast path cannot honour train here exactly as Keras
trains them. ``seed`` seeds Keras' global generators (Python, NumPy and the
backend's) for the call, and the NumPy and Python generators are put back
afterwards.
"""

import random
from contextlib import contextmanager

import keras
import numpy as np

__all__ = ["fit_model", "gradient", "predict_arrays"]


def fit_model(model, x, y, seed=None, **fit_args):
    """``model.fit(x, y, **fit_args)`` with its shuffling seeded by ``seed``."""
    with _seeded(seed):
        return model.fit(x, y, **fit_args)


@contextmanager
def _seeded(seed):
    if seed is None:
        yield
        return
    python_state, numpy_state = random.getstate(), np.random.get_state()
    keras.utils.set_random_seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def predict_arrays(model, x, chunk_size, outputs="model"):
    """``predict_on_batch`` over chunks of ``chunk_size`` rows, as NumPy arrays."""
    x = np.asarray(x, dtype=model.inputs[0].dtype)
    if outputs == "model":
        step = model.predict_on_batch
    else:
        step = _code_and_reconstruction(model)
    parts = []
    for start in range(0, max(len(x), 1), chunk_size):
        result = step(x[start : start + chunk_size])
        parts.append(
            tuple(
                np.asarray(r) for r in (result if isinstance(result, (list, tuple)) else [result])
            )
        )
    joined = tuple(p[0] if len(parts) == 1 else np.concatenate(p) for p in zip(*parts, strict=True))
    return joined if outputs != "model" else joined[0]


def _code_and_reconstruction(model):
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")

    def step(x):
        code = encoder.predict_on_batch(x)
        return code, decoder.predict_on_batch(code)

    return step


def gradient(function, point):
    """The gradient of ``sum(function(point))`` at ``point``, on the configured backend."""
    backend = keras.backend.backend()
    if backend == "jax":
        from . import _engine_jax_draft

        return _engine_jax_draft.gradient(function, point)
    if backend == "torch":
        from . import _engine_torch_draft

        return _engine_torch_draft.gradient(function, point)
    if backend == "tensorflow":
        import tensorflow as tf

        point = tf.constant(np.asarray(point, np.float32))
        with tf.GradientTape() as tape:
            tape.watch(point)
            values = function(point)
        return tape.gradient(values, point).numpy()
    raise ValueError(f"No gradient for Keras' {backend!r} backend.")


def integrated_gradients(function, x, baseline, steps=16):
    """Each cell's share of ``function(x) - function(baseline)``, by integrated gradients.

    As ``skae._loops.integrated_gradients``, the gradients taken by the
    backend Keras runs on.
    """
    x = np.asarray(x, np.float32)
    baseline = np.broadcast_to(np.asarray(baseline, np.float32), x.shape)
    total = np.zeros(x.shape, np.float64)
    for alpha in (np.arange(steps) + 0.5) / steps:
        total += gradient(function, baseline + alpha * (x - baseline))
    return (x - baseline) * total / steps
