"""Training and inference on Keras' PyTorch backend: the model's own step, no data pipeline.

PyTorch runs eagerly: a step is the model's ``train_step`` (forward,
``backward``, the optimizer's update, metrics). ``Model.fit`` on PyTorch
refuses ``steps_per_execution > 1`` and pays per step for its data adapter
(a ``torch.utils.data`` loader over NumPy arrays) and per-batch callbacks.
Here the rows live in one tensor for the whole fit, each step takes its
batch by indexing a per-epoch permutation, and callbacks run once per epoch
(``benchmarks/bench_backends_draft.py`` measured this against ``Model.fit``
and against ``torch.compile``'d steps).
"""

import keras
import numpy as np
import torch

from . import _generic
from ._epochs import convert_once, run_epochs

__all__ = [
    "clear_traces",
    "fit_arrays",
    "fit_model",
    "integrated_gradients",
    "predict_arrays",
    "trace_stats",
]


def fit_model(model, x, y, seed=None, **fit_args):
    """Train with :func:`fit_arrays` when it honours ``fit_args``, else ``Model.fit``."""
    if _generic.in_fast_loop(model, fit_args):
        return fit_arrays(model, x, y, seed=seed, **fit_args)
    return _generic.fit_model(model, x, y, seed=seed, **fit_args)


def integrated_gradients(function, x, baseline, steps=16):
    """Integrated gradients (see :mod:`skae._engine`), the gradients by this backend."""
    return _generic.integrated_gradients(function, x, baseline, steps, gradient=_gradient)


def fit_arrays(
    model,
    x,
    y,
    *,
    sample_weight=None,
    batch_size=None,
    epochs=1,
    initial_epoch=0,
    shuffle=True,
    validation_data=None,
    callbacks=None,
    verbose=0,
    seed=None,
):
    """Train a compiled Keras model on in-memory arrays, callbacks once per epoch.

    The arguments are those of ``model.fit(x, y, ...)`` for arrays (see
    ``skae._engine._tf_loops.fit_arrays``); ``seed`` seeds the row orders.

    Returns
    -------
    history : keras.callbacks.History
    """
    batch_size = batch_size or 32
    train = _tensors(x, y, sample_weight)
    valid = None if validation_data is None else _tensors(*validation_data)
    model._symbolic_build(data_batch=tuple(part[:batch_size] for part in train))
    rng = np.random.default_rng(seed)

    def run_epoch():
        order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
        order = torch.from_numpy(order).to(train[0].device)
        for start in range(0, len(x), batch_size):
            rows = order[start : start + batch_size]
            model.train_step(tuple(part[rows] for part in train))

    def run_validation():
        with torch.no_grad():
            for start in range(0, len(valid[0]), batch_size):
                model.test_step(tuple(part[start : start + batch_size] for part in valid))

    return run_epochs(
        model,
        run_epoch,
        None if valid is None else run_validation,
        n_rows=len(x),
        n_valid_rows=0 if valid is None else len(valid[0]),
        batch_size=batch_size,
        epochs=epochs,
        initial_epoch=initial_epoch,
        callbacks=callbacks,
        verbose=verbose,
    )


def predict_arrays(model, x, chunk_size, outputs="model"):
    """The forward pass of ``model`` as NumPy arrays, without autograd's bookkeeping."""
    x = np.asarray(x, dtype=model.inputs[0].dtype)
    parts = []
    with torch.no_grad():
        for start in range(0, max(len(x), 1), chunk_size):
            chunk = keras.ops.convert_to_tensor(x[start : start + chunk_size])
            if outputs == "model":
                result = (model(chunk, training=False),)
            else:
                code = model.get_layer("encoder")(chunk, training=False)
                result = (code, model.get_layer("decoder")(code, training=False))
            parts.append(tuple(r.detach().cpu().numpy() for r in result))
    joined = tuple(p[0] if len(parts) == 1 else np.concatenate(p) for p in zip(*parts, strict=True))
    return joined if outputs != "model" else joined[0]


def _gradient(function, point):
    """The gradient of ``sum(function(point))`` at ``point`` (a float32 array), by autograd."""
    point = keras.ops.convert_to_tensor(np.asarray(point, np.float32)).requires_grad_(True)
    with torch.enable_grad():
        torch.sum(function(point)).backward()
    return point.grad.detach().cpu().numpy()


def _tensors(x, y, sample_weight=None):
    parts = [x, y]
    if sample_weight is not None:
        parts.append(np.asarray(sample_weight, dtype=keras.backend.floatx()))
    # keras.ops puts them on Keras' device (the GPU when there is one), once per fit.
    return convert_once(parts, lambda part: keras.ops.convert_to_tensor(np.ascontiguousarray(part)))


def clear_traces():
    """Nothing to forget: PyTorch runs eagerly, nothing is traced."""


def trace_stats():
    """No traces on PyTorch."""
    return {"traced": 0, "shared": 0, "unshareable": 0}
