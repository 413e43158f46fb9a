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

__all__ = [
    "FAST_LOOP_ARGS",
    "clear_traces",
    "fit_model",
    "in_fast_loop",
    "integrated_gradients",
    "predict_arrays",
    "trace_stats",
]

# The Model.fit arguments that the per-backend epoch loops honour. Any other
# one (validation_split, validation_freq, class_weight, steps_per_epoch, ...)
# sends training to Model.fit, which knows them all.
FAST_LOOP_ARGS = frozenset(
    {
        "batch_size",
        "epochs",
        "initial_epoch",
        "shuffle",
        "sample_weight",
        "validation_data",
        "callbacks",
        "verbose",
    }
)


def in_fast_loop(model, fit_args):
    """Whether a backend's own epoch loop trains ``model`` with ``fit_args`` as ``Model.fit`` would.

    Not for ``shuffle="batch"``, a non-int ``verbose`` (``"auto"``), a model
    compiled with ``run_eagerly=True``, or a distribution.
    """
    plain_values = isinstance(fit_args.get("shuffle", True), bool) and isinstance(
        fit_args.get("verbose", 0), int
    )
    return (
        set(fit_args) <= FAST_LOOP_ARGS
        and plain_values
        and not model.run_eagerly
        and getattr(model, "_distribute_strategy", None) is None
        and keras.distribution.distribution() is None
    )


def clear_traces():
    """Nothing to forget: ``Model.fit`` keeps its functions on the model."""


def trace_stats():
    """No shared traces on this path."""
    return {"traced": 0, "shared": 0, "unshareable": 0}


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


def integrated_gradients(function, x, baseline, steps=16, *, gradient):
    """Each cell's share of ``function(x) - function(baseline)``, by integrated gradients.

    ``gradient(function, point)`` is the backend's gradient of
    ``sum(function(point))`` at ``point`` (a float32 array), as a NumPy
    array; rows do not mix, so that is each row's own gradient. The gradient
    is averaged along the straight path from ``baseline`` to each row
    (midpoint rule, ``steps`` points) and multiplied by ``x - baseline``.
    """
    x = np.asarray(x, np.float32)
    baseline = np.broadcast_to(np.asarray(baseline, np.float32), x.shape)
    total = np.zeros(x.shape, np.float64)
    for alpha in (np.arange(steps) + 0.5) / steps:
        total += gradient(function, baseline + alpha * (x - baseline))
    return (x - baseline) * total / steps
