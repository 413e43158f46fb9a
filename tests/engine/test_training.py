"""skae/_engine/_training.py: options, validation split, stopping, schedules, history, rollback."""

import dataclasses
import math
import warnings

import keras
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import skae._engine
from skae import AutoencoderTransformer, DenoisingAutoencoder
from skae._engine import _training
from skae._engine._training import HalveOnPlateau, TrainingOptions

N_ROWS, N_FEATURES = 120, 6


@pytest.fixture
def x():
    """Scaled training rows: a 2-D structure in 6 columns, with a little noise."""
    rng = np.random.RandomState(0)
    rows = rng.normal(size=(N_ROWS, 2)) @ rng.normal(size=(2, N_FEATURES))
    return (rows + 0.05 * rng.normal(size=rows.shape)).astype("float32")


def _options(**changes):
    """Plain options: no stopping rule, no schedule, unless asked."""
    return TrainingOptions(
        **{"epochs": 3, "batch_size": 16, "n_iter_no_change": None, "lr_schedule": None, **changes}
    )


class Scramble(keras.callbacks.Callback):
    """Record the weights after each epoch; scramble them as epoch ``at`` begins.

    The epochs from ``at`` on start far from where training was, so their
    validation losses are worse than the one before: the best epoch is
    ``at - 1``, not the last.
    """

    def __init__(self, at):
        super().__init__()
        self.at, self.weights = at, []

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            rng = np.random.RandomState(0)
            self.model.set_weights(
                [w + 3.0 * rng.normal(size=w.shape) for w in self.model.get_weights()]
            )

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


# ---------------------------------------------------------------------------
# Options


def test_training_options_defaults_and_immutability():
    options = TrainingOptions(epochs=5, batch_size=8)
    assert (options.shuffle, options.early_stopping, options.validation_fraction) == (
        True,
        False,
        0.1,
    )
    assert (options.n_iter_no_change, options.tol, options.lr_schedule) == (10, 1e-4, "plateau")
    assert options.callbacks == [] and options.fit_args == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.epochs = 6


def test_train_runs_epochs_of_batch_size_steps(x, make_keras_autoencoder):
    model = make_keras_autoencoder(N_FEATURES, seed=0)
    logs, kept = _training.train(model, x, x, None, _options(epochs=4, batch_size=50), seed=0)
    assert kept is None
    assert len(logs["loss"]) == 4
    assert int(model.optimizer.iterations.numpy()) == 4 * math.ceil(N_ROWS / 50)


def test_train_continues_from_initial_epoch(x, make_keras_autoencoder):
    model = make_keras_autoencoder(N_FEATURES, seed=0)
    epochs = []
    callback = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs.append(e))
    options = _options(epochs=2, callbacks=[callback])
    logs, _ = _training.train(model, x, x, None, options, seed=0, initial_epoch=5)
    assert epochs == [5, 6] and len(logs["loss"]) == 2


def test_a_single_epoch_has_no_validation_stopping_or_schedule(x, make_keras_autoencoder):
    model = make_keras_autoencoder(N_FEATURES, seed=0)
    options = _options(
        epochs=50, early_stopping=True, n_iter_no_change=1, tol=100.0, lr_schedule="plateau"
    )
    logs, _ = _training.train(model, x, x, None, options, seed=0, single_epoch=True)
    assert sorted(logs) == ["loss"]  # no val_loss, no learning_rate
    assert int(model.optimizer.iterations.numpy()) == math.ceil(N_ROWS / 16)


# ---------------------------------------------------------------------------
# Validation split


@pytest.mark.parametrize(
    "n_rows, fraction, n_valid", [(100, 0.1, 10), (2, 0.1, 1), (3, 0.99, 2), (15, 0.5, 8)]
)
def test_validation_split_holds_out_a_seeded_fraction(n_rows, fraction, n_valid):
    rows = np.arange(n_rows, dtype="float32")[:, None]
    weights = np.arange(n_rows, dtype=float)
    fit_x, fit_y, fit_w, (valid_x, valid_y, valid_w) = _training._split_validation(
        rows, rows + 0.5, weights, fraction, seed=3
    )
    assert len(valid_x) == n_valid and len(fit_x) == n_rows - n_valid
    # Disjoint, complete, and rows keep their targets and weights.
    assert sorted(np.r_[fit_x[:, 0], valid_x[:, 0]]) == list(range(n_rows))
    np.testing.assert_array_equal(fit_y, fit_x + 0.5)
    np.testing.assert_array_equal(valid_w, valid_x[:, 0])
    np.testing.assert_array_equal(fit_w, fit_x[:, 0])
    again = _training._split_validation(rows, rows, None, fraction, seed=3)
    np.testing.assert_array_equal(again[3][0], valid_x)
    if n_rows > 10:
        other = _training._split_validation(rows, rows, None, fraction, seed=4)
        assert not np.array_equal(other[3][0], valid_x)


def test_validation_split_needs_two_rows():
    with pytest.raises(ValueError, match="early_stopping=True.*at least 2 samples; got 1"):
        _training._split_validation(np.ones((1, 3)), np.ones((1, 3)), None, 0.1, seed=0)


def test_early_stopping_validates_on_held_out_rows(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(early_stopping=True, metrics=["mae"], n_iter_no_change=None).fit(X)
    assert sorted(ae.history_) == [
        "loss",
        "mean_absolute_error",
        "val_loss",
        "val_mean_absolute_error",
    ]
    assert len(ae.history_["val_loss"]) == ae.n_iter_ == 3


# ---------------------------------------------------------------------------
# Stopping


def test_early_stopping_restores_the_best_epoch(x, make_keras_autoencoder):
    model = make_keras_autoencoder(N_FEATURES, seed=0, learning_rate=1e-3)
    recorder = Scramble(at=4)
    options = _options(
        epochs=30, early_stopping=True, n_iter_no_change=3, tol=0.0, callbacks=[recorder]
    )
    logs, _ = _training.train(model, x, x, None, options, seed=7)
    val = logs["val_loss"]
    best = int(np.argmin(val))
    assert best == 3 < len(val) - 1 == 3 + 3  # stopped 3 epochs after the best
    # The model holds the best epoch's weights, and its validation loss is that epoch's.
    for ours, best_weights in zip(model.get_weights(), recorder.weights[best], strict=True):
        np.testing.assert_array_equal(ours, best_weights)
    _, _, _, (x_valid, y_valid) = _training._split_validation(x, x, None, 0.1, seed=7)
    assert model.evaluate(x_valid, y_valid, verbose=0) == pytest.approx(val[best], rel=1e-5)


def test_estimator_with_early_stopping_ends_on_its_best_epoch(make_estimator, digits):
    X, _ = digits
    recorder = Scramble(at=3)
    ae = make_estimator(
        init="random",
        early_stopping=True,
        n_iter_no_change=2,
        tol=0.0,
        epochs=30,
        learning_rate=1e-3,
        callbacks=[recorder],
    ).fit(X)
    val = ae.history_["val_loss"]
    best = int(np.argmin(val))
    assert best == 2 and ae.n_iter_ == 5 < 30
    for ours, best_weights in zip(ae.model_.get_weights(), recorder.weights[best], strict=True):
        np.testing.assert_array_equal(ours, best_weights)


class ForgedValidation(keras.callbacks.Callback):
    """Overwrite the logged validation loss of each epoch, before the rules read it."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


def test_early_stopping_and_the_schedule_follow_the_validation_loss(make_estimator, digits):
    # The training loss keeps falling; the (forged) validation loss is best
    # at epoch 1 and rises after it.
    X, _ = digits
    ae = make_estimator(
        init="random",
        early_stopping=True,
        n_iter_no_change=2,
        tol=0.0,
        epochs=20,
        callbacks=[ForgedValidation([1.0, 0.5, 0.6, 0.7, 0.8] + [0.9] * 15)],
    ).fit(X)
    assert ae.n_iter_ == 4  # stopped two epochs after the best
    assert ae.history_["loss"][-1] < ae.history_["loss"][0]
    rates = ae.history_["learning_rate"]
    assert rates[-1] == pytest.approx(rates[0] / 2)  # halved after 2 // 2 = 1 bad epoch


def test_without_early_stopping_the_training_loss_decides_and_no_rows_are_held_out(
    make_estimator, digits
):
    X, _ = digits
    ae = make_estimator(
        init="random", early_stopping=False, n_iter_no_change=3, tol=10.0, epochs=50
    ).fit(X)
    # With an impossible tol no epoch after the first counts as an improvement.
    assert ae.n_iter_ == 4
    assert "val_loss" not in ae.history_


def test_n_iter_no_change_none_trains_every_epoch(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(init="random", n_iter_no_change=None, tol=10.0, epochs=7).fit(X)
    assert ae.n_iter_ == 7


# ---------------------------------------------------------------------------
# The plateau schedule


def test_plateau_halves_the_learning_rate_every_half_patience(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(
        init="random",
        early_stopping=False,
        learning_rate=0.004,
        n_iter_no_change=4,
        tol=10.0,
        epochs=50,
    ).fit(X)
    # Stops after 1 + 4 epochs; the rate is halved after every 4 // 2 = 2
    # epochs without improvement (the log holds the rate each epoch ran at).
    np.testing.assert_allclose(ae.history_["learning_rate"], [0.004] * 3 + [0.002] * 2)
    assert float(ae.model_.optimizer.learning_rate) == pytest.approx(0.001)


def test_no_schedule_keeps_the_learning_rate(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(
        init="random", learning_rate=0.004, lr_schedule=None, n_iter_no_change=None, tol=10.0
    ).fit(X)
    assert "learning_rate" not in ae.history_
    assert float(ae.model_.optimizer.learning_rate) == pytest.approx(0.004)


# ---------------------------------------------------------------------------
# The cosine schedule


def _cosine(rate, epochs):
    return [rate * (1 + math.cos(math.pi * i / epochs)) / 2 for i in range(epochs)]


def test_cosine_anneals_over_the_epochs_then_puts_the_rate_back(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(
        init="random",
        learning_rate=0.004,
        lr_schedule="cosine",
        n_iter_no_change=None,
        epochs=5,
        warm_start=True,
    ).fit(X)
    np.testing.assert_allclose(ae.history_["learning_rate"], _cosine(0.004, 5), rtol=1e-6)
    assert float(ae.model_.optimizer.learning_rate) == pytest.approx(0.004)
    ae.set_params(epochs=3).fit(X)  # a warm-started fit anneals again from the start
    np.testing.assert_allclose(
        ae.history_["learning_rate"], _cosine(0.004, 5) + _cosine(0.004, 3), rtol=1e-6
    )


def test_cosine_with_a_stopping_rule_still_follows_the_epoch_budget(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(
        init="random",
        early_stopping=False,
        learning_rate=0.004,
        lr_schedule="cosine",
        n_iter_no_change=2,
        tol=10.0,
        epochs=50,
    ).fit(X)
    # Stops after 1 + 2 epochs, at the first three rates of a 50-epoch cosine.
    np.testing.assert_allclose(ae.history_["learning_rate"], _cosine(0.004, 50)[:3], rtol=1e-6)


def test_halve_on_plateau_counts_epochs_without_improvement(x, make_keras_autoencoder):
    model = make_keras_autoencoder(N_FEATURES, seed=0, learning_rate=0.08)
    callback = HalveOnPlateau(monitor="val_loss", patience=2, min_delta=0.1)
    callback.set_model(model)
    rates = []
    for epoch, loss in enumerate([5.0, 4.0, 3.95, 3.92, 2.0, 1.95, 1.93, 1.9]):
        logs = {"val_loss": loss}
        callback.on_epoch_end(epoch, logs)
        rates.append(logs["learning_rate"])
    # Improvements by more than 0.1 at epochs 0, 1 and 4; two epochs without
    # one halve the rate (after epochs 3 and 6).
    np.testing.assert_allclose(rates, [0.08] * 4 + [0.04] * 3 + [0.02])
    callback.on_epoch_end(8, {})  # no monitored value: nothing changes
    assert float(model.optimizer.learning_rate) == pytest.approx(0.02)


def test_no_warning_per_epoch_from_skaes_callbacks(make_estimator, digits):
    # keras.callbacks.ReduceLROnPlateau converts the rate with NumPy, which
    # warns (DeprecationWarning) at every epoch under NumPy >= 2.4.
    X, _ = digits
    ae = make_estimator(
        init="random",
        early_stopping=True,
        n_iter_no_change=2,
        tol=10.0,
        epochs=8,
        lr_schedule="plateau",
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", DeprecationWarning)
        ae.fit(X)
    assert ae.history_["learning_rate"][-1] < ae.history_["learning_rate"][0]  # it did halve
    assert [str(w.message) for w in caught] == []


# ---------------------------------------------------------------------------
# History and divergence


def test_extend_history_appends_python_floats_without_touching_the_old_one():
    first = _training.extend_history(None, {"loss": [np.float32(2.5), 2.0]}, 1.0)
    assert first == {"loss": [2.5, 2.0]} and all(type(v) is float for v in first["loss"])
    second = _training.extend_history(first, {"loss": [1.5], "val_loss": [1.7]}, 1.0)
    assert second == {"loss": [2.5, 2.0, 1.5], "val_loss": [1.7]}
    assert first == {"loss": [2.5, 2.0]}


@pytest.mark.parametrize(
    "largest_input, cause",
    [(5.0, "Lower learning_rate"), (3e4, r"The scaled inputs reach 3e\+04.*`scaling`")],
)
def test_a_diverged_loss_says_when_and_why(largest_input, cause):
    message = rf"Training diverged: the loss became nan at epoch 3\. {cause}"
    with pytest.raises(ValueError, match=message):
        _training.extend_history({"loss": [1.0, 0.5]}, {"loss": [np.nan]}, largest_input)
    with pytest.raises(ValueError, match="became inf at epoch 1"):
        _training.extend_history(None, {"loss": [np.inf]}, largest_input)


def test_divergence_stops_at_the_first_bad_epoch_and_leaves_no_model(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(optimizer="sgd", learning_rate=1e12, lr_schedule=None, epochs=5)
    with pytest.raises(ValueError, match="Training diverged.*epoch 1"):
        ae.fit(X * 1e6)
    with pytest.raises(NotFittedError):
        ae.transform(X)


# ---------------------------------------------------------------------------
# Snapshot and restore, and keeping the start unless it is beaten


def test_restore_puts_back_weights_and_optimizer_state(x, make_keras_autoencoder):
    model = make_keras_autoencoder(N_FEATURES, seed=0)
    assert _training.snapshot(None) is None
    _training.train(model, x, x, None, _options(epochs=1), seed=0)
    saved = _training.snapshot(model)
    weights = [w.copy() for w in model.get_weights()]
    slots = [v.numpy().copy() for v in model.optimizer.variables]
    _training.train(model, x, x, None, _options(epochs=2), seed=1)
    _training.restore(model, saved)
    for ours, theirs in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    for variable, value in zip(model.optimizer.variables, slots, strict=True):
        np.testing.assert_array_equal(variable.numpy(), value)
    _training.restore(model, None)  # nothing saved: nothing to do


@pytest.mark.parametrize("scramble", [False, True])
def test_the_start_is_kept_unless_training_beats_it(x, make_keras_autoencoder, scramble):
    model = make_keras_autoencoder(N_FEATURES, seed=0, learning_rate=1e-3)
    start = [w.copy() for w in model.get_weights()]
    callbacks = [Scramble(at=0)] if scramble else []
    options = _options(epochs=3, callbacks=callbacks)
    _, kept = _training.train(model, x, x, None, options, seed=0, keep_start_unless_beaten=True)
    assert kept is scramble
    same = all(np.array_equal(a, b) for a, b in zip(model.get_weights(), start, strict=True))
    assert same is scramble


def test_a_warm_start_continues_the_epoch_count(make_estimator, digits):
    X, _ = digits
    epochs = []
    callback = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs.append(e))
    ae = make_estimator(
        DenoisingAutoencoder, warm_start=True, n_iter_no_change=None, callbacks=[callback]
    )
    ae.fit(X).fit(X)
    assert epochs == [0, 1, 2, 3, 4, 5] and ae.n_iter_ == 6


def test_training_options_follow_the_estimator_parameters(make_estimator, digits, monkeypatch):
    X, _ = digits
    seen = []
    original = _training.train

    def spy(model, x, y, sample_weight, options, **kwargs):
        seen.append(options)
        return original(model, x, y, sample_weight, options, **kwargs)

    monkeypatch.setattr(skae._engine, "train", spy)
    make_estimator(
        AutoencoderTransformer,
        epochs=2,
        batch_size=50,
        shuffle=False,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=7,
        tol=0.5,
        lr_schedule=None,
        fit__epochs=4,
        fit__validation_batch_size=16,
    ).fit(X)
    (options,) = seen
    assert (options.epochs, options.batch_size, options.shuffle) == (4, 50, False)
    assert (options.early_stopping, options.validation_fraction) == (True, 0.2)
    assert (options.n_iter_no_change, options.tol, options.lr_schedule) == (7, 0.5, None)
    assert options.fit_args == {"validation_batch_size": 16}
