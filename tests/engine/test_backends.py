"""The engine's contract on whichever Keras backend runs the tests.

The same tests pass on TensorFlow, JAX and PyTorch (``KERAS_BACKEND``): the
engine trains as ``Model.fit`` does, repeats a seeded fit exactly, runs the
forward pass of ``model(x)`` for any number of rows, and splits a change of
a function over the cells by integrated gradients. TensorFlow's own loop and
shared traces have their own tests (tests/engine/test_loops.py,
test_shared_traces.py).
"""

import warnings

import keras
import numpy as np
import pytest

from skae import _engine
from skae._nn import assemble, build_dense_autoencoder
from tests.conftest import ESTIMATORS

N_ROWS, N_FEATURES = 96, 6
BATCH_SIZE = 32


def _rows(seed=0, n=N_ROWS):
    return np.random.default_rng(seed).normal(size=(n, N_FEATURES)).astype(np.float32)


def _model(seed=0, dropout=0.0):
    encoder, decoder = build_dense_autoencoder(
        N_FEATURES, 2, hidden_layer_sizes=(8,), seed=seed, dropout=dropout
    )
    model = assemble(encoder, decoder)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    return model


def test_in_order_training_gives_model_fits_numbers():
    x = _rows()
    ours, theirs = _model(), _model()
    logs = _engine.fit_model(ours, x, x, batch_size=BATCH_SIZE, epochs=3, shuffle=False)
    reference = theirs.fit(x, x, batch_size=BATCH_SIZE, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(logs.history["loss"], reference.history["loss"], rtol=1e-4)
    for mine, keras_weights in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(mine, keras_weights, rtol=1e-4, atol=1e-5)


def test_row_losses_are_each_rows_loss_and_warn_of_nothing():
    # skae's masked loss run on NumPy arrays mixed PyTorch tensors with arrays,
    # which NumPy 2 warns of on every call.
    from skae._nn._layers import MaskedMeanSquaredError

    x = _rows(n=10)
    model = _model()
    model.compile(optimizer="adam", loss=MaskedMeanSquaredError())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses = _engine.row_losses(model, x, x)
    expected = ((_engine.predict_arrays(model, x, 64) - x) ** 2).mean(axis=1)
    assert losses.dtype == np.float64
    np.testing.assert_allclose(losses, expected, rtol=1e-5)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_fits_and_outputs_warn_of_no_backend_array_copy(cls, make_estimator):
    # Keras' Variable.numpy() (model weights, the optimizer's rate, the best
    # weights EarlyStopping keeps) warns under NumPy 2 on JAX and PyTorch;
    # skae reads variables through skae._nn.to_numpy instead.
    X = np.random.default_rng(0).normal(size=(120, N_FEATURES))
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "__array__ implementation", DeprecationWarning)
        estimator = make_estimator(cls, early_stopping=True, n_iter_no_change=1).fit(X)
        estimator.score_samples(X) if hasattr(estimator, "score_samples") else estimator.predict(X)


def test_a_snapshot_is_not_changed_by_training_and_restores_the_weights():
    # PyTorch trains its variables in place: a snapshot must own its arrays.
    x = _rows()
    model = _model()
    _engine.fit_model(model, x, x, batch_size=BATCH_SIZE, epochs=1, seed=0)  # optimizer built
    saved = _engine.snapshot(model)
    taken = [w.copy() for w in saved[0]] + [s.copy() for s in saved[1]]
    _engine.fit_model(model, x, x, batch_size=BATCH_SIZE, epochs=2, seed=1)
    for before, kept in zip(taken, saved[0] + saved[1], strict=True):
        np.testing.assert_array_equal(kept, before)
    assert not np.array_equal(model.get_weights()[0], taken[0])
    _engine.restore(model, saved)
    for before, weight in zip(taken, model.get_weights(), strict=False):
        np.testing.assert_array_equal(weight, before)


def test_weight_averages_are_copied_in_as_model_fit_does():
    # Model.fit copies an optimizer's weight averages (use_ema) into the
    # weights at the end whenever epochs > 0, also when a fit resumes at its
    # last epoch and runs none (weights set since are put back to the averages).
    x = _rows()
    ours, theirs = _model(), _model()
    for model in (ours, theirs):
        model.compile(optimizer=keras.optimizers.Adam(1e-2, use_ema=True), loss="mse")
        model.fit(x, x, batch_size=BATCH_SIZE, epochs=2, shuffle=False, verbose=0)
        model.set_weights([w + 1 for w in model.get_weights()])  # away from the averages
    resumed = dict(batch_size=BATCH_SIZE, epochs=2, initial_epoch=2, shuffle=False)
    _engine.fit_model(ours, x, x, **resumed)
    theirs.fit(x, x, verbose=0, **resumed)
    for mine, keras_weights in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(mine, keras_weights, rtol=1e-5, atol=1e-6)


def test_a_seeded_fit_with_dropout_repeats_exactly():
    x = _rows()
    fits = []
    for _ in range(2):
        model = _model(dropout=0.2)
        _engine.fit_model(model, x, x, batch_size=BATCH_SIZE, epochs=2, seed=3)
        fits.append(model.get_weights())
    for first, second in zip(*fits, strict=True):
        np.testing.assert_array_equal(first, second)


def test_sample_weights_count_as_repeated_rows():
    x = _rows(n=64)
    weighted, repeated = _model(), _model()
    weights = np.where(np.arange(64) < 32, 2.0, 1.0).astype(np.float32)
    twice = np.concatenate([x[:32], x])
    _engine.fit_model(
        weighted,
        x,
        x,
        sample_weight=weights * 64 / weights.sum(),
        batch_size=64,
        epochs=1,
        shuffle=False,
    )
    _engine.fit_model(repeated, twice, twice, batch_size=96, epochs=1, shuffle=False)
    for a, b in zip(weighted.get_weights(), repeated.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_callbacks_see_each_epoch_and_can_stop_training():
    x = _rows()
    seen = []

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, logs["loss"]))
            if epoch == 1:
                self.model.stop_training = True

    history = _engine.fit_model(_model(), x, x, batch_size=BATCH_SIZE, epochs=5, callbacks=[Stop()])
    assert [epoch for epoch, _ in seen] == [0, 1]
    assert history.history["loss"] == [loss for _, loss in seen]


def test_a_learning_rate_set_between_epochs_is_used():
    x = _rows()
    frozen = _model()
    before = frozen.get_weights()

    class Freeze(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.optimizer.learning_rate.assign(0.0)

    _engine.fit_model(frozen, x, x, batch_size=BATCH_SIZE, epochs=2, callbacks=[Freeze()])
    for a, b in zip(before, frozen.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_validation_data_is_scored_each_epoch():
    x = _rows()
    model = _model()
    history = _engine.fit_model(
        model, x[:64], x[:64], batch_size=BATCH_SIZE, epochs=2, validation_data=(x[64:], x[64:])
    )
    expected = model.evaluate(x[64:], x[64:], batch_size=BATCH_SIZE, verbose=0)
    assert len(history.history["val_loss"]) == 2
    np.testing.assert_allclose(history.history["val_loss"][-1], expected, rtol=1e-4)


@pytest.mark.parametrize("n_rows, chunk_size", [(1, 64), (10, 64), (100, 64), (130, 50)])
def test_the_forward_pass_equals_the_model(n_rows, chunk_size):
    model = _model()
    x = _rows(n=n_rows)
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(_engine.predict_arrays(model, x, chunk_size), expected, atol=1e-6)
    code, reconstruction = _engine.predict_arrays(model, x, chunk_size, "code_and_reconstruction")
    assert code.shape == (n_rows, 2)
    np.testing.assert_allclose(reconstruction, expected, atol=1e-6)


def test_integrated_gradients_split_the_change_of_a_quadratic():
    x, baseline = _rows(n=5), np.zeros(N_FEATURES, np.float32)

    def function(rows):
        return keras.ops.sum(rows * rows, axis=1)

    shares = _engine.integrated_gradients(function, x, baseline)
    np.testing.assert_allclose(shares, x.astype(np.float64) ** 2, rtol=1e-5)


@pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="JAX's jitted epochs are shared per architecture"
)
def test_a_second_model_of_an_architecture_reuses_its_traces_and_numbers():
    x = _rows()
    _engine.clear_traces()
    first, second = _model(), _model()
    _engine.fit_model(first, x, x, batch_size=BATCH_SIZE, epochs=2, seed=0)
    made = _engine.trace_stats()["traced"]
    _engine.fit_model(second, x, x, batch_size=BATCH_SIZE, epochs=2, seed=0)
    assert _engine.trace_stats()["traced"] == made
    assert _engine.trace_stats()["shared"] >= 1
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
