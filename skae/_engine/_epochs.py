"""The epoch loop that every backend's fast path shares: ``Model.fit``'s callbacks around epochs.

Each backend runs an epoch its own way (TensorFlow: one compiled call; JAX:
one jitted call; PyTorch: the model's eager steps); what happens around it
is ``Model.fit``'s and is written here once: the callbacks, called at the
points where ``Model.fit`` with ``steps_per_execution`` equal to the steps
of an epoch calls them (the batch hooks once per epoch), the metrics reset
before each epoch and each validation pass and logged after them,
``stop_training``, and the optimizer's weight averages copied in at the end.
"""

import math

import keras
import numpy as np

from .._nn import keras_array_warnings_ignored

__all__ = ["convert_once", "metric_logs", "run_epochs"]


def run_epochs(
    model,
    run_epoch,
    run_validation,
    *,
    n_rows,
    n_valid_rows,
    batch_size,
    epochs,
    initial_epoch,
    callbacks,
    verbose,
):
    """Train ``model`` from epoch ``initial_epoch`` to ``epochs - 1``, as ``Model.fit`` calls back.

    Parameters
    ----------
    model : keras.Model
        Compiled and built, its optimizer and metrics built.
    run_epoch : callable
        ``run_epoch()`` trains one epoch on the model's variables (the row
        order is the callable's to draw).
    run_validation : callable or None
        ``run_validation()`` accumulates the loss and metrics of the
        validation data in the model's metrics; None: no validation.
    n_rows, n_valid_rows : int
        Rows of the training and validation data (``n_valid_rows`` unused
        without validation): the steps that callbacks are told of.
    batch_size, epochs, initial_epoch, callbacks, verbose
        As in ``Model.fit``.

    Returns
    -------
    history : keras.callbacks.History
    """
    steps = math.ceil(n_rows / batch_size)
    callbacks = keras.callbacks.CallbackList(
        callbacks,
        add_history=True,
        add_progbar=verbose != 0,
        verbose=verbose,
        epochs=epochs,
        steps=steps,
        model=model,
    )
    model.stop_training = False
    callbacks.on_train_begin()
    logs = None
    for epoch in range(initial_epoch, epochs):
        callbacks.on_epoch_begin(epoch)
        model.reset_metrics()
        callbacks.on_train_batch_begin(0)
        run_epoch()
        logs = metric_logs(model)
        callbacks.on_train_batch_end(steps - 1, logs)
        if run_validation is not None:
            logs.update(_validate(model, run_validation, n_valid_rows, batch_size, callbacks))
        # Keras' EarlyStopping keeps the best weights by Variable.numpy(),
        # which warns on JAX and PyTorch under NumPy 2 (skae._nn._arrays).
        with keras_array_warnings_ignored():
            callbacks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    if epochs > 0:  # as Model.fit: optimizers with weight averaging (use_ema) copy them in
        model.optimizer.finalize_variable_values(model.trainable_weights)
    callbacks.on_train_end(logs=logs)
    return next(c for c in callbacks.callbacks if isinstance(c, keras.callbacks.History))


def _validate(model, run_validation, n_rows, batch_size, callbacks):
    """Loss and metrics of the validation data, as ``Model.evaluate`` logs them within fit."""
    callbacks.on_test_begin()
    model.reset_metrics()
    callbacks.on_test_batch_begin(0)
    run_validation()
    logs = metric_logs(model)
    callbacks.on_test_batch_end(math.ceil(n_rows / batch_size) - 1, logs)
    callbacks.on_test_end(logs)
    return {f"val_{name}": value for name, value in logs.items()}


def metric_logs(model):
    """The model's metrics, loss included, as Python floats (as ``Model.fit`` logs them)."""
    return {
        name: float(value) if np.ndim(value) == 0 else np.asarray(value)
        for name, value in model.get_metrics_result().items()
    }


def convert_once(parts, convert):
    """``convert`` of each of ``parts`` (arrays), made once for an array given twice.

    An autoencoder's target is its input: one device tensor serves both,
    where two would copy the data twice.
    """
    converted = {}
    for part in parts:
        if id(part) not in converted:
            converted[id(part)] = convert(part)
    return tuple(converted[id(part)] for part in parts)
