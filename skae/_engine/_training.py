"""Training an autoencoder: validation split, stopping, schedule, history, rollback.

Pure Keras and NumPy: nothing here knows about scikit-learn. The estimator
turns its parameters into :class:`TrainingOptions` and calls :func:`train`;
the epochs themselves run in the backend's loop (:mod:`skae._engine._backend`).
"""

from dataclasses import dataclass, field

import keras
import numpy as np
import scipy.stats

from .._nn import to_numpy
from ._backend import fit_model, predict_arrays

__all__ = [
    "EpochTasks",
    "TrainingOptions",
    "extend_history",
    "restore",
    "row_losses",
    "significantly_lower",
    "snapshot",
    "train",
]


@dataclass(frozen=True)
class TrainingOptions:
    """How to train, from the estimator's parameters (see ``AutoencoderTransformer``)."""

    epochs: int
    batch_size: int
    shuffle: bool = True
    early_stopping: bool = False
    validation_fraction: float = 0.1
    n_iter_no_change: int | None = 10
    tol: float = 1e-4
    lr_schedule: str | None = "plateau"
    verbose: int = 0
    callbacks: list = field(default_factory=list)
    fit_args: dict = field(default_factory=dict)  # routed fit__* arguments


def train(
    model,
    x,
    y,
    sample_weight,
    options,
    *,
    seed,
    initial_epoch=0,
    single_epoch=False,
    keep_start_unless_beaten=False,
):
    """Train ``model`` on scaled arrays.

    ``single_epoch`` marks a ``partial_fit`` step: one epoch, no validation
    split, no stopping rule or schedule. ``seed`` seeds the validation split
    and the row orders; None draws fresh ones.

    With ``keep_start_unless_beaten``, the weights the model starts from are
    put back at the end unless training lowered the loss on the held-out
    rows (on the training rows without ``early_stopping``) by more than
    chance: a one-sided paired t-test of the rows' losses, start against end,
    at the 5% level. A model that starts as PCA therefore ends no worse than
    PCA on those rows, and keeps a gain only where the rows show one.

    Returns
    -------
    logs : dict of str to list of float
        The new epochs' logs.
    kept_start : bool or None
        Whether the start was put back (None without ``keep_start_unless_beaten``).
    """
    epochs = 1 if single_epoch else options.epochs
    validate = options.early_stopping and not single_epoch
    validation_data = None
    if validate:
        x, y, sample_weight, validation_data = _split_validation(
            x, y, sample_weight, options.validation_fraction, seed
        )
    callbacks = list(options.callbacks) + _rule_callbacks(
        options, validate, single_epoch, initial_epoch
    )
    judge = validation_data or (x, y, sample_weight)
    # Weights of mean 1 make a full batch's loss the weighted mean
    # sum(w * loss) / sum(w): a weight of 2 counts exactly as a repeated row.
    loss_weights = None if sample_weight is None else sample_weight / sample_weight.mean()
    if validation_data is not None and len(validation_data) == 3:
        x_val, y_val, w_val = validation_data
        validation_data = (x_val, y_val, w_val / w_val.mean())
    if keep_start_unless_beaten:
        start, start_losses = snapshot(model), row_losses(model, *judge)
    history = fit_model(
        model,
        x,
        y,
        seed=seed,
        sample_weight=loss_weights,
        batch_size=options.batch_size,
        epochs=initial_epoch + epochs,
        initial_epoch=initial_epoch,
        shuffle=options.shuffle,
        validation_data=validation_data,
        callbacks=callbacks,
        verbose=options.verbose,
        **options.fit_args,
    )
    if not keep_start_unless_beaten:
        return history.history, None
    kept = not significantly_lower(row_losses(model, *judge), start_losses, judge[2:])
    if kept:
        restore(model, start)
    return history.history, kept


def row_losses(model, x, y, sample_weight=None):
    """The compiled loss of ``model`` on each row (before any reduction over rows)."""
    loss = model.loss
    per_row = loss.call if isinstance(loss, keras.losses.Loss) else keras.losses.get(loss)
    # The loss gets the backend's tensors, as in training: given NumPy arrays,
    # PyTorch's tensor minus an array goes through NumPy's deprecated
    # __array_wrap__ (a DeprecationWarning per call under NumPy 2).
    y, predictions = (keras.ops.convert_to_tensor(v) for v in (y, predict_arrays(model, x, 8192)))
    return np.asarray(to_numpy(per_row(y, predictions)), dtype=np.float64)


def significantly_lower(losses, baseline, sample_weight=(), level=0.05):
    """Whether ``losses`` are lower than ``baseline``, row for row, beyond chance.

    A one-sided paired t-test on the differences, a row of weight ``w``
    counting as ``w`` repeated rows; with fewer than 2 rows, any decrease
    counts.
    """
    gains = baseline - losses
    weights = sample_weight[0] if sample_weight and sample_weight[0] is not None else None
    weights = np.ones_like(gains) if weights is None else np.asarray(weights, np.float64)
    mean = np.average(gains, weights=weights)
    n = weights.sum()
    if n < 2 or not mean > 0:
        return bool(mean > 0)
    spread = np.sqrt(np.average((gains - mean) ** 2, weights=weights) * n / max(n - 1, 1))
    if spread == 0:
        return True
    t = mean / (spread / np.sqrt(n))
    return bool(t > scipy.stats.t.ppf(1 - level, df=max(n - 1, 1)))


def extend_history(history, new_logs, largest_input):
    """``history`` (a dict of lists, or None) extended by ``new_logs``; raises if the loss diverged.

    ``largest_input`` is the largest scaled training value in magnitude: when
    it is large, the data's scale, not the learning rate, is the likely cause
    of a diverged loss.
    """
    history = {} if history is None else {key: list(values) for key, values in history.items()}
    for key, values in new_logs.items():
        history.setdefault(key, []).extend(float(v) for v in values)
    losses = history.get("loss", [])
    if losses and np.isfinite(losses[-1]):
        return history
    cause = (
        f"The scaled inputs reach {largest_input:.3g} in magnitude: choose a "
        "`scaling` that brings every column near unit range, or transform the "
        "data (e.g. take logarithms)."
        if largest_input > 100
        else "Lower learning_rate, or check the data for extreme values."
    )
    raise ValueError(
        f"Training diverged: the loss became {losses[-1] if losses else 'undefined'} "
        f"at epoch {len(losses)}. {cause}"
    )


def snapshot(model):
    """The weights and optimizer state of ``model``, to :func:`restore` after a failed fit."""
    if model is None or not model.built:
        return None
    optimizer = getattr(model, "optimizer", None)
    slots = [to_numpy(v) for v in optimizer.variables] if optimizer is not None else []
    return [to_numpy(v) for v in model.weights], slots


def restore(model, saved):
    """Put back what :func:`snapshot` saved."""
    if saved is None:
        return
    weights, slots = saved
    model.set_weights(weights)
    variables = model.optimizer.variables
    if len(variables) == len(slots):  # the optimizer may have been built since
        for variable, value in zip(variables, slots, strict=True):
            variable.assign(value)


# ----------------------------------------------------------------------


def _split_validation(x, y, sample_weight, fraction, seed):
    """Hold out a random ``fraction`` of the rows (at least one) for early stopping."""
    if len(x) < 2:
        raise ValueError(
            f"early_stopping=True holds out validation_fraction={fraction} of the "
            f"rows, which needs at least 2 samples; got {len(x)} sample"
            f"{'' if len(x) == 1 else 's'}."
        )
    n_valid = min(len(x) - 1, max(1, round(fraction * len(x))))
    order = np.random.default_rng(seed).permutation(len(x))
    valid, fit = order[:n_valid], order[n_valid:]
    x_fit, x_valid = x[fit], x[valid]
    # An autoencoder's target is its input: kept one array (one copy, one tensor).
    y_fit, y_valid = (x_fit, x_valid) if y is x else (y[fit], y[valid])
    if sample_weight is None:
        return x_fit, y_fit, None, (x_valid, y_valid)
    return x_fit, y_fit, sample_weight[fit], (x_valid, y_valid, sample_weight[valid])


def _rule_callbacks(options, validate, single_epoch, initial_epoch=0):
    """Divergence check, and unless ``single_epoch``, the stopping rule and schedule."""
    callbacks = [keras.callbacks.TerminateOnNaN()]
    if single_epoch:
        return callbacks
    if options.lr_schedule == "cosine":
        callbacks.append(CosineAnnealing(options.epochs, initial_epoch))
    if options.n_iter_no_change is None:
        return callbacks
    monitor = "val_loss" if validate else "loss"
    callbacks.append(
        keras.callbacks.EarlyStopping(
            monitor=monitor,
            patience=options.n_iter_no_change,
            min_delta=options.tol,
            restore_best_weights=validate,
        )
    )
    if options.lr_schedule == "plateau":
        callbacks.append(
            HalveOnPlateau(
                monitor=monitor,
                patience=max(1, options.n_iter_no_change // 2),
                min_delta=options.tol,
                verbose=options.verbose,
            )
        )
    return callbacks


class CosineAnnealing(keras.callbacks.Callback):
    """Lower the learning rate along half a cosine, from its start to near zero.

    Epoch ``i`` of ``epochs`` (counted from ``initial_epoch``) runs at
    ``rate * (1 + cos(pi * i / epochs)) / 2``, the schedule of Loshchilov &
    Hutter (SGDR, ICLR 2017) without restarts, set once per epoch. The
    starting rate is put back when training ends, so a warm-started fit
    anneals again from it.
    """

    def __init__(self, epochs, initial_epoch=0):
        super().__init__()
        self.epochs, self.initial_epoch = epochs, initial_epoch
        self.start = None

    def on_train_begin(self, logs=None):
        self.start = float(to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_begin(self, epoch, logs=None):
        done = (epoch - self.initial_epoch) / self.epochs
        self.model.optimizer.learning_rate.assign(self.start * (1 + np.cos(np.pi * done)) / 2)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(to_numpy(self.model.optimizer.learning_rate))

    def on_train_end(self, logs=None):
        self.model.optimizer.learning_rate.assign(self.start)


class HalveOnPlateau(keras.callbacks.Callback):
    """Halve the learning rate when ``monitor`` stalls for ``patience`` epochs.

    Stalling means no improvement by at least ``min_delta``.

    ``keras.callbacks.ReduceLROnPlateau`` with ``factor=0.5``, which logs the
    rate as ``learning_rate`` too, without its NumPy conversion of the rate
    variable (a ``DeprecationWarning`` per epoch under NumPy >= 2.4).
    """

    def __init__(self, monitor="loss", patience=5, min_delta=1e-4, verbose=0):
        super().__init__()
        self.monitor, self.patience = monitor, patience
        self.min_delta, self.verbose = min_delta, verbose
        self.best, self.wait = np.inf, 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        rate = self.model.optimizer.learning_rate
        logs["learning_rate"] = float(to_numpy(rate))
        current = logs.get(self.monitor)
        if current is None:
            return
        if current < self.best - self.min_delta:
            self.best, self.wait = current, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            rate.assign(rate * 0.5)
            self.wait = 0
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: learning rate halved to {float(to_numpy(rate)):.3g}.")


class EpochTasks(keras.callbacks.Callback):
    """Each epoch as a sub-task of a scikit-learn callback context (scikit-learn >= 1.9).

    ``sklearn.callback`` hooks (a ``ProgressBar``, a ``ScoringMonitor``, one
    set on a ``GridSearchCV`` around the estimator) see one task per epoch;
    a hook that asks to stop ends training after that epoch.
    """

    def __init__(self, context, estimator, X):
        super().__init__()
        self.context, self.estimator, self.X = context, estimator, X
        self.task = None

    def on_epoch_begin(self, epoch, logs=None):
        self.task = self.context.subcontext(task_name="epoch")
        self.task.call_on_fit_task_begin(estimator=self.estimator, X=self.X)

    def on_epoch_end(self, epoch, logs=None):
        if self.task.call_on_fit_task_end(estimator=self.estimator, X=self.X):
            self.model.stop_training = True
