"""TensorFlow: the compiled epoch loop for models whose data fit in memory.

Pure Keras, TensorFlow and NumPy: nothing here knows about scikit-learn.

``Model.fit`` on NumPy arrays pays a fixed price per epoch (a new ``tf.data``
iterator) and per step (a Python round trip through the iterator, the step
function and every callback); on a small autoencoder that is most of the
time. :func:`fit_arrays` holds the data as tensors and runs each epoch as one
compiled function that loops over the batches and calls the model's own
``train_step``, so the loss, ``add_loss`` terms, dropout, metrics and the
optimizer behave exactly as in ``Model.fit``. Callbacks run once per epoch,
as ``Model.fit`` runs them with ``steps_per_execution`` equal to the steps of
an epoch.

Compiled functions are traced once per architecture and shared by the models
of that architecture (:mod:`skae._engine._tf_compiled`), so that the many small fits of
a grid search or a cross-validation pay for tracing once; a model that
cannot share traces functions of its own. Either way each model's functions
are found in a weak-keyed table: they are never pickled with it, and die with
it.
"""

from contextlib import contextmanager

import keras
import numpy as np
import tensorflow as tf

from ._epochs import convert_once, run_epochs
from ._tf_functions import forget_stale_bindings, function

__all__ = ["fit_arrays", "fit_model"]

# The Model.fit arguments that fit_arrays honours. Any other one
# (validation_split, validation_freq, validation_batch_size,
# validation_steps, steps_per_epoch, class_weight) sends training to
# Model.fit, which knows them all.
_FIT_ARRAYS_ARGS = frozenset(
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


def fit_model(model, x, y, seed=None, **fit_args):
    """Train with :func:`fit_arrays` when it can honour ``fit_args``, else ``Model.fit``.

    ``Model.fit`` takes over for any argument outside those of
    :func:`fit_arrays`, for ``shuffle="batch"``, a non-int ``verbose``
    (``"auto"``), a model compiled with ``run_eagerly=True``, and a
    distribution strategy.

    Parameters
    ----------
    model : keras.Model
        A compiled single-input, single-output model.
    x, y : ndarray of shape (n_samples, ...)
        Inputs and targets.
    seed : int or None, default=None
        Seeds the order of the rows: :func:`fit_arrays` draws it from a
        NumPy generator; ``Model.fit`` runs after ``tf.random.set_seed(seed)``
        (restored afterwards).
    **fit_args
        Keyword arguments of ``Model.fit``.

    Returns
    -------
    history : keras.callbacks.History
    """
    if _fits_in_loop(model, fit_args):
        return fit_arrays(model, x, y, seed=seed, **fit_args)
    with _global_seed(seed):
        return model.fit(x, y, **fit_args)


@contextmanager
def _global_seed(seed):
    """TensorFlow's global seed set to ``seed`` for a block, then restored."""
    if seed is None:
        yield
        return
    previous, _ = tf.compat.v1.random.get_seed(None)
    tf.random.set_seed(seed)
    try:
        yield
    finally:
        tf.random.set_seed(previous)


def _fits_in_loop(model, fit_args):
    """Whether :func:`fit_arrays` trains ``model`` with ``fit_args`` as ``Model.fit`` would."""
    plain_values = isinstance(fit_args.get("shuffle", True), bool) and isinstance(
        fit_args.get("verbose", 0), int
    )
    default_strategy = not tf.distribute.has_strategy() and (
        getattr(model, "_distribute_strategy", None) is None
    )
    return (
        set(fit_args) <= _FIT_ARRAYS_ARGS
        and plain_values
        and default_strategy
        and not model.run_eagerly
    )


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
    """Train a compiled Keras model on in-memory arrays, one compiled call per epoch.

    Takes the arguments of ``model.fit(x, y, ...)`` that matter for arrays
    and runs the model's own ``train_step``, so it trains as ``Model.fit``
    does (tests/test_loops.py compares their final losses).

    Parameters
    ----------
    model : keras.Model
        A compiled single-input, single-output model (see :func:`fit_model`
        for what is left to ``Model.fit``).
    x, y : ndarray of shape (n_samples, ...)
        Inputs and targets.
    sample_weight : ndarray of shape (n_samples,), default=None
        Weight of each row in the loss.
    batch_size : int, default=None
        Rows per gradient step (32 when None, as in ``Model.fit``); the last
        step of an epoch takes the rest.
    epochs : int, default=1
        Index of the epoch to stop before, as in ``Model.fit``.
    initial_epoch : int, default=0
        Index of the first epoch.
    shuffle : bool, default=True
        Whether to visit the rows in a new random order each epoch.
    validation_data : tuple (x_val, y_val) or (x_val, y_val, sample_weight_val), default=None
        Data on which the loss and metrics are measured after each epoch,
        logged with a ``val_`` prefix.
    callbacks : list of keras.callbacks.Callback, default=None
        Called at the start and end of training and of each epoch; the batch
        hooks run once per epoch, since an epoch is one execution.
    verbose : int, default=0
        0 silent, 1 progress bar, 2 one line per epoch.
    seed : int or None, default=None
        Seeds the row orders (see ``shuffle``); None draws fresh ones.

    Returns
    -------
    history : keras.callbacks.History
        Per-epoch logs, as returned by ``Model.fit``.
    """
    batch_size = batch_size or 32
    train = _as_tensors(x, y, sample_weight)
    valid = None if validation_data is None else _as_tensors(*validation_data)
    _build(model, train, batch_size)
    forget_stale_bindings(model)
    orders = _row_orders(len(x), shuffle, seed)

    def run_validation():
        batch = tf.constant(batch_size, tf.int32)
        function(model, "test", (valid, batch))(valid, batch)

    return run_epochs(
        model,
        lambda: _train_epoch(model, train, next(orders), batch_size),
        None if valid is None else run_validation,
        n_rows=len(x),
        n_valid_rows=0 if valid is None else len(valid[0]),
        batch_size=batch_size,
        epochs=epochs,
        initial_epoch=initial_epoch,
        callbacks=callbacks,
        verbose=verbose,
    )


def _train_epoch(model, data, order, batch_size):
    """One epoch, visiting the rows in ``order``, as one compiled call."""
    batch = tf.constant(batch_size, tf.int32)
    function(model, "train", (data, order, batch))(data, order, batch)


# ----------------------------------------------------------------------
# row orders


def _row_orders(n_rows, shuffle, seed=None):
    """Yield the order in which to visit the rows, a new one each epoch.

    The permutations come from a NumPy generator seeded with ``seed`` (fresh
    entropy when None), so an int seed gives the same sequence of epochs
    every time, and ``MLPRegressor``'s habit of reshuffling before each
    epoch holds.
    """
    if not shuffle:
        order = tf.range(n_rows, dtype=tf.int64)
        while True:
            yield order
    rng = np.random.default_rng(seed)
    while True:
        yield tf.constant(rng.permutation(n_rows), tf.int64)


# ----------------------------------------------------------------------
# data and state


def _as_tensors(x, y, sample_weight=None):
    """Arrays as tensors on the default device, moved once per fit, not per epoch."""
    parts = [x, y]
    if sample_weight is not None:
        parts.append(np.asarray(sample_weight, dtype=keras.backend.floatx()))
    # NumPy data become host tensors; an eager identity places them on the
    # default device (the GPU when there is one) and shares the buffer on CPU.
    return convert_once(parts, lambda part: tf.identity(tf.convert_to_tensor(part)))


def _build(model, data, batch_size):
    """Create the model's, metrics' and optimizer's variables before tracing.

    A compiled loop cannot create variables in its body. ``Model.fit`` builds
    them from a symbolic batch (a private Keras method, used here when
    metrics need building); a built single-output model without metrics
    needs only its compiled loss built and its optimizer's slots, which
    :func:`_build_without_tracing` makes without running the model
    symbolically twice (half the cost of a small fit's set-up).
    """
    if not _build_without_tracing(model, data):
        model._symbolic_build(data_batch=tuple(part[:batch_size] for part in data))


def _build_without_tracing(model, data):
    """What ``Model._symbolic_build`` creates, for a model that needs no symbolic pass.

    Returns False, building nothing, unless the model is built, has one
    output and no compiled metrics (metrics may create variables on their
    first update, which only a symbolic pass makes).
    """
    compile_loss = getattr(model, "_compile_loss", None)
    outputs = getattr(model, "outputs", None)
    if (
        compile_loss is None
        or getattr(model, "_compile_metrics", None) is not None
        or not isinstance(outputs, list)
        or len(outputs) != 1
        or len(data) < 2
        or not all(layer.built for layer in model._flatten_layers())
    ):
        return False
    if not compile_loss.built:
        target = data[1]
        y_true = keras.KerasTensor(
            (None, *target.shape[1:]), keras.backend.standardize_dtype(target.dtype)
        )
        y_pred = keras.KerasTensor(outputs[0].shape, outputs[0].dtype)
        compile_loss.build(y_true, y_pred)
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    return True
