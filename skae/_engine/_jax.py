"""Training and inference on Keras' JAX backend: jitted stateless epochs.

A Keras model on JAX is a pure function of its variables
(``Model.train_step(state, data)`` returns the new state). One epoch here is
one jitted call: ``jax.lax.scan`` over the full batches of a per-epoch
permutation of device-resident arrays, then one step for the rest of the
rows, each step the model's own ``train_step`` (loss, ``add_loss`` terms,
sample weights, metrics, the optimizer's update, the seed generators' state
for dropout and noise). Callbacks run between epochs on the model's
variables, written back after each epoch, as ``Model.fit`` does with
``steps_per_execution`` equal to the steps of an epoch.

The jitted functions are traced once per architecture
(:func:`skae._engine._keys.architecture_key`) and shared by the models
of that architecture: the weights are arguments, so the function made for
the first model (the *template*, kept alive by the cache) runs any model
with the same variables' shapes. A model that cannot share gets functions of
its own. JAX retraces for a new number of rows; inference pads rows to a
power of four so that a few traces serve every batch size.
"""

import functools
import threading
import weakref
from collections import OrderedDict

import jax
import jax.numpy as jnp
import keras
import numpy as np

from . import _generic
from ._epochs import convert_once, run_epochs
from ._keys import architecture_key

__all__ = [
    "clear_traces",
    "fit_arrays",
    "fit_model",
    "integrated_gradients",
    "predict_arrays",
    "trace_stats",
]

MAX_ARCHITECTURES = 8

_LOCK = threading.Lock()
# (architecture key, kind, extra) -> _Programs; least recently used first.
_SHARED = OrderedDict()
# model -> {(kind, extra): _Programs} for models that cannot share.
_OWN = weakref.WeakKeyDictionary()
_STATS = {"traced": 0, "shared": 0, "unshareable": 0}


def clear_traces():
    """Forget every shared function (tests; freeing memory)."""
    with _LOCK:
        _SHARED.clear()
        for name in _STATS:
            _STATS[name] = 0


def trace_stats():
    """How many function sets were made, reused, or made for one model alone."""
    with _LOCK:
        return dict(_STATS, architectures=len(_SHARED))


# ----------------------------------------------------------------------
# training


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
    """Train a compiled Keras model on in-memory arrays, one jitted call per epoch.

    The arguments are those of ``model.fit(x, y, ...)`` for arrays (see
    ``skae._engine._tf_loops.fit_arrays``); ``seed`` seeds the row orders.

    Returns
    -------
    history : keras.callbacks.History
    """
    batch_size = batch_size or 32
    train = _device_arrays(x, y, sample_weight)
    valid = None if validation_data is None else _device_arrays(*validation_data)
    _build(model, train, batch_size)
    programs = _programs(model, "train", _loss_values(model), batch_size)
    orders = _row_orders(len(x), shuffle, seed)

    def run_epoch():
        state = _read(model, training=True)
        state = programs.train_epoch(state, train, next(orders))
        _write(model, state, training=True)

    def run_validation():
        metrics = programs.test_epoch(_read(model, training=False), valid)
        for variable, value in zip(model.metrics_variables, metrics, strict=True):
            variable.assign(value)

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


def _train_epoch(template_ref, batch_size, state, data, order):
    """One epoch of ``train_step`` over ``data`` in ``order``: pure, jitted."""
    template = template_ref()
    n_full = order.shape[0] // batch_size

    def step(state, rows):
        _, state = template.train_step(state, tuple(part[rows] for part in data))
        return state, None

    if n_full:
        full = order[: n_full * batch_size].reshape(n_full, batch_size)
        state, _ = jax.lax.scan(step, state, full)
    if order.shape[0] > n_full * batch_size:
        state, _ = step(state, order[n_full * batch_size :])
    return state


def _test_epoch(template_ref, batch_size, state, data):
    """Loss and metrics over ``data`` in batches: the metrics' variables after it."""
    template = template_ref()
    n_rows = data[0].shape[0]
    n_full = n_rows // batch_size

    def step(state, start):
        batch = tuple(jax.lax.dynamic_slice_in_dim(part, start, batch_size) for part in data)
        _, state = template.test_step(state, batch)
        return state, None

    if n_full:
        state, _ = jax.lax.scan(step, state, jnp.arange(n_full) * batch_size)
    if n_rows > n_full * batch_size:
        _, state = template.test_step(state, tuple(part[n_full * batch_size :] for part in data))
    return state[2]


# ----------------------------------------------------------------------
# inference


def predict_arrays(model, x, chunk_size, outputs="model"):
    """A jitted forward pass of ``model`` as NumPy arrays (see :mod:`skae._engine`).

    Rows are padded up to a power of four (at least 64, at most
    ``chunk_size``), so that a handful of traces serve every number of rows.
    """
    x = np.asarray(x, dtype=model.inputs[0].dtype)
    forward = _programs(model, outputs, (), None).forward
    values = [v.value for v in model.variables]
    parts = []
    for start in range(0, max(len(x), 1), chunk_size):
        chunk = x[start : start + chunk_size]
        padded = _padded(chunk, chunk_size)
        result = forward(values, padded)
        result = result if isinstance(result, tuple) else (result,)
        parts.append(tuple(np.asarray(r)[: len(chunk)] for r in result))
    joined = tuple(p[0] if len(parts) == 1 else np.concatenate(p) for p in zip(*parts, strict=True))
    return joined if outputs != "model" else joined[0]


def _padded(chunk, chunk_size):
    """``chunk`` padded with zero rows to the next of 64, 256, 1024, ... (at most ``chunk_size``).

    Each padded size is one more compilation; powers of 4 keep them few
    (about six for any number of rows) at no more than four times the
    arithmetic of a short last chunk.
    """
    size = 64
    while size < len(chunk):
        size *= 4
    size = min(size, max(chunk_size, len(chunk)))
    if size == len(chunk):
        return chunk
    pad = np.zeros((size - len(chunk),) + chunk.shape[1:], chunk.dtype)
    return np.concatenate([chunk, pad])


def _forward(template_ref, outputs, values, x):
    template = template_ref()
    mapping = list(zip(template.variables, values, strict=True))
    with keras.StatelessScope(state_mapping=mapping):
        if outputs == "model":
            return template(x, training=False)
        code = template.get_layer("encoder")(x, training=False)
        return code, template.get_layer("decoder")(code, training=False)


def _gradient(function, point):
    """The gradient of ``sum(function(point))`` at ``point`` (a float32 array)."""
    grad = jax.grad(lambda p: jnp.sum(function(p)))
    return np.asarray(grad(jnp.asarray(point)))


# ----------------------------------------------------------------------
# the functions of an architecture, shared


class _Programs:
    """The jitted functions of one architecture (or one model), made for a template model."""

    def __init__(self, template, kind, batch_size, strong):
        self.template = template if strong else None  # a shared template lives with the cache
        ref = (lambda: template) if strong else weakref.ref(template)
        self.specs = _specs(template, kind in {"train", "test"})
        if kind == "train":
            self.train_epoch = jax.jit(functools.partial(_train_epoch, ref, batch_size))
            self.test_epoch = jax.jit(functools.partial(_test_epoch, ref, batch_size))
        else:
            self.forward = jax.jit(functools.partial(_forward, ref, kind))


def _programs(model, kind, extra, batch_size):
    """The functions ``kind`` of ``model``: its architecture's, else its own."""
    training = kind == "train"
    key = architecture_key(model, "train" if training else kind)
    if key is not None:
        slot = (key, kind, extra, batch_size)
        with _LOCK:
            programs = _SHARED.get(slot)
            if programs is not None and programs.specs == _specs(model, training):
                _SHARED.move_to_end(slot)
                _STATS["shared"] += 1
                return programs
        programs = _Programs(model, kind, batch_size, strong=True)
        with _LOCK:
            _SHARED[slot] = programs
            _STATS["traced"] += 1
            while len(_SHARED) > MAX_ARCHITECTURES * 4:
                _SHARED.popitem(last=False)
        return programs
    own = _OWN.setdefault(model, {})
    slot = (kind, extra, batch_size)
    if slot not in own:
        own[slot] = _Programs(model, kind, batch_size, strong=False)
        with _LOCK:
            _STATS["unshareable"] += 1
    return own[slot]


def _specs(model, training):
    groups = [model.trainable_variables, model.non_trainable_variables]
    if training:
        groups += [model.optimizer.variables, model.metrics_variables]
    return tuple(tuple((tuple(v.shape), v.dtype) for v in group) for group in groups)


def _loss_values(model):
    """Values of variables held by loss objects: a jitted step reads them as constants."""
    loss = getattr(model, "loss", None)
    found = []
    for item in loss if isinstance(loss, (list, tuple)) else [loss]:
        if isinstance(item, keras.losses.Loss):
            found += [
                float(np.asarray(value.value))
                for _, value in sorted(vars(item).items())
                if isinstance(value, keras.Variable)
            ]
    return tuple(found)


# ----------------------------------------------------------------------
# state and data


def _read(model, training):
    state = [
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
    ]
    if training:
        state.append([v.value for v in model.optimizer.variables])
    state.append([v.value for v in model.metrics_variables])
    return tuple(state)


def _write(model, state, training):
    groups = [model.trainable_variables, model.non_trainable_variables]
    if training:
        groups.append(model.optimizer.variables)
    groups.append(model.metrics_variables)
    for variables, values in zip(groups, state, strict=True):
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)


def _device_arrays(x, y, sample_weight=None):
    parts = [x, y]
    if sample_weight is not None:
        parts.append(np.asarray(sample_weight, dtype=keras.backend.floatx()))
    return convert_once(parts, jnp.asarray)


def _row_orders(n_rows, shuffle, seed=None):
    """One row order per epoch, from a NumPy generator (as the TensorFlow loop draws them)."""
    if not shuffle:
        order = jnp.arange(n_rows, dtype=jnp.int32)
        while True:
            yield order
    rng = np.random.default_rng(seed)
    while True:
        yield jnp.asarray(rng.permutation(n_rows).astype(np.int32))


def _build(model, data, batch_size):
    """Create the model's, metrics' and optimizer's variables before tracing."""
    if (
        model.optimizer is not None
        and model.optimizer.built
        and getattr(model, "_compile_loss", None) is not None
        and model._compile_loss.built
    ):
        return
    model._symbolic_build(data_batch=tuple(np.asarray(part[:batch_size]) for part in data))
