"""skae/_training.py: the compiled loops give Model.fit's and the model's own numbers."""

import gc
import pickle
import weakref

import keras
import numpy as np
import pytest
import tensorflow as tf

import skae._training
from skae import AutoencoderTransformer
from skae._architectures import build_dense_autoencoder
from skae._training import _global_seed

FAST = dict(hidden_layer_sizes=(16,), latent_dim=2, epochs=3, batch_size=32)
N_ROWS, N_FEATURES, BATCH_SIZE, EPOCHS = 150, 8, 32, 3


def make_ae(**params):
    return AutoencoderTransformer(**{**FAST, **params})


def make_model(seed, dropout=0.2, l1=1e-3, metrics=None):
    """A compiled model with dropout and an activity penalty, both of which must apply."""
    model, _, _ = build_dense_autoencoder(
        N_FEATURES, 2, hidden_layer_sizes=(16,), dropout=dropout, l1=l1, seed=seed
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse", metrics=metrics)
    return model


@pytest.fixture
def data(seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(N_ROWS, N_FEATURES)).astype("float32")
    weights = rng.uniform(0.1, 2.0, size=N_ROWS)
    return X, weights


@pytest.fixture
def model_fit_path(monkeypatch):
    """Send every fit through ``Model.fit``: the reference the loop must match."""
    monkeypatch.setattr(skae._training, "_fits_in_loop", lambda model, args: False)


# ---------------------------------------------------------------------------
# fit_arrays against Model.fit, same initial weights


FIT_CASES = {
    "in_order": dict(shuffle=False, weighted=False, validate=False),
    "shuffled_weighted_validated": dict(shuffle=True, weighted=True, validate=True),
}


@pytest.mark.parametrize("case", FIT_CASES.values(), ids=FIT_CASES.keys())
def test_fit_arrays_matches_model_fit(data, seed, case):
    X, weights = data
    kwargs = dict(
        batch_size=BATCH_SIZE,
        epochs=EPOCHS,
        shuffle=case["shuffle"],
        sample_weight=weights if case["weighted"] else None,
        verbose=0,
    )
    if case["validate"]:
        kwargs["validation_data"] = (X[:40], X[:40])
    histories, weights_after = [], []
    for fit in (keras.Model.fit, skae._training.fit_arrays):
        model = make_model(seed, metrics=["mae"])
        with _global_seed(seed):  # the same global seed: the same shuffled order
            histories.append(fit(model, X, X, **kwargs).history)
        weights_after.append(model.get_weights())
    assert histories[0].keys() == histories[1].keys()
    for key in histories[0]:
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-6)
    for ours, theirs in zip(weights_after[1], weights_after[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)


def test_fit_arrays_continues_from_initial_epoch(data, seed):
    X, _ = data
    model = make_model(seed)
    epochs = []
    callback = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs.append(e))
    history = skae._training.fit_arrays(
        model, X, X, batch_size=BATCH_SIZE, epochs=5, initial_epoch=3, callbacks=[callback]
    )
    assert epochs == [3, 4]
    assert history.epoch == [3, 4]


def test_unseeded_shuffle_changes_the_order_each_epoch(monkeypatch):
    # Whatever another test left as TensorFlow's global seed: none here.
    monkeypatch.setattr(tf.compat.v1.random, "get_seed", lambda op_seed: (None, None))
    orders = skae._training._row_orders(1000, shuffle=True)
    first, second = np.asarray(next(orders)), np.asarray(next(orders))
    assert sorted(first) == list(range(1000))
    assert not np.array_equal(first, second)


@pytest.mark.parametrize(
    "fit_args",
    [{"validation_freq": 2}, {"class_weight": None}, {"shuffle": "batch"}, {"verbose": "auto"}],
)
def test_arguments_the_loop_cannot_honour_go_to_model_fit(data, seed, fit_args, monkeypatch):
    X, _ = data
    calls = []
    original = keras.Model.fit

    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy)
    history = skae._training.fit_model(
        make_model(seed), X, X, batch_size=BATCH_SIZE, epochs=1, **{"verbose": 0, **fit_args}
    )
    assert len(calls) == 1 and len(history.history["loss"]) == 1


# ---------------------------------------------------------------------------
# The estimator: same numbers and behaviour as through Model.fit


ESTIMATOR_CASES = {
    "dropout_l1": dict(dropout=0.1, l1=1e-3),
    "early_stopping": dict(early_stopping=True, n_iter_no_change=2, epochs=8, metrics=["mae"]),
    "plateau_in_order": dict(n_iter_no_change=2, tol=10.0, epochs=8, shuffle=False),
}


@pytest.mark.parametrize("params", ESTIMATOR_CASES.values(), ids=ESTIMATOR_CASES.keys())
def test_estimator_matches_the_model_fit_path(digits, seed, params, monkeypatch):
    X, _ = digits
    weights = np.linspace(0.5, 1.5, len(X))
    ours = make_ae(random_state=seed, **params).fit(X, sample_weight=weights)
    monkeypatch.setattr(skae._training, "_fits_in_loop", lambda model, args: False)
    reference = make_ae(random_state=seed, **params).fit(X, sample_weight=weights)
    assert ours.history_.keys() == reference.history_.keys()
    for key, values in reference.history_.items():
        np.testing.assert_allclose(ours.history_[key], values, rtol=1e-5)
    np.testing.assert_allclose(ours.transform(X), reference.transform(X), rtol=1e-4, atol=1e-5)


def test_partial_fit_matches_the_model_fit_path(digits, seed, monkeypatch):
    X, _ = digits
    ours = make_ae(random_state=seed)
    for _ in range(3):
        ours.partial_fit(X)
    monkeypatch.setattr(skae._training, "_fits_in_loop", lambda model, args: False)
    reference = make_ae(random_state=seed)
    for _ in range(3):
        reference.partial_fit(X)
    np.testing.assert_allclose(ours.history_["loss"], reference.history_["loss"], rtol=1e-5)


def test_estimator_fit_does_not_call_model_fit(digits, seed, monkeypatch):
    X, _ = digits

    def fail(*args, **kwargs):
        raise AssertionError("Model.fit must not be used for in-memory arrays")

    monkeypatch.setattr(keras.Model, "fit", fail)
    ae = make_ae(early_stopping=True, random_state=seed).fit(X)
    assert ae.n_iter_ == FAST["epochs"]


def test_routed_fit_argument_falls_back_to_model_fit(digits, seed, monkeypatch):
    X, _ = digits
    calls = []
    original = keras.Model.fit

    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy)
    ae = make_ae(early_stopping=True, fit__validation_batch_size=16, random_state=seed)
    ae.fit(X)
    assert [call["validation_batch_size"] for call in calls] == [16]
    assert len(ae.history_["val_loss"]) == FAST["epochs"]


def test_int_random_state_refits_are_bit_identical(digits, seed):
    X, _ = digits
    params = dict(dropout=0.2, l1=1e-3, early_stopping=True, random_state=seed)
    first = make_ae(**params).fit(X)
    make_ae(dropout=0.2).fit(X)  # an unseeded fit in between changes nothing
    second = make_ae(**params).fit(X)
    assert first.history_ == second.history_
    np.testing.assert_array_equal(first.transform(X), second.transform(X))


def test_callbacks_see_every_hook_and_the_logs(digits, seed):
    X, _ = digits
    seen = []

    class Recorder(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            seen.append(f"epoch_begin {epoch}")

        def on_epoch_end(self, epoch, logs=None):
            seen.append(sorted(logs))

        def on_train_end(self, logs=None):
            seen.append("train_end")

    ae = make_ae(callbacks=[Recorder()], early_stopping=True, metrics=["mae"], epochs=2)
    ae.fit(X)
    # User callbacks run first, before ReduceLROnPlateau logs the rate.
    keys = ["loss", "mean_absolute_error", "val_loss", "val_mean_absolute_error"]
    assert seen == ["train_begin", "epoch_begin 0", keys, "epoch_begin 1", keys, "train_end"]
    assert sorted(ae.history_) == sorted(keys + ["learning_rate"])


@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_verbose_progress(digits, seed, capsys, verbose):
    X, _ = digits
    make_ae(verbose=verbose, n_iter_no_change=None, random_state=seed).fit(X)
    out = capsys.readouterr().out
    if verbose == 0:
        assert out == ""
        return
    # Keras' ProgbarLogger: an "Epoch i/n" header per epoch, then a bar at
    # verbose=1 (drawn when the epoch ends and again when it is finalized)
    # or one summary line at verbose=2.
    assert out.count("Epoch ") == FAST["epochs"]
    assert out.count("loss:") == FAST["epochs"] * (2 if verbose == 1 else 1)
    assert ("━" in out) == (verbose == 1)


def test_divergence_stops_training_at_the_first_bad_epoch(digits):
    X, _ = digits
    ae = make_ae(optimizer="sgd", learning_rate=1e12, lr_schedule=None, epochs=5)
    with pytest.raises(ValueError, match="Training diverged.*epoch 1"):
        ae.fit(X * 1e6)


# ---------------------------------------------------------------------------
# Inference


@pytest.mark.parametrize("n_rows, chunk_size", [(1, 8192), (10, 8192), (150, 64), (150, 150)])
def test_predict_arrays_equals_the_model(data, seed, n_rows, chunk_size):
    X, _ = data
    model = make_model(seed)
    outputs = skae._training.predict_arrays(model, X[:n_rows], chunk_size)
    assert outputs.shape == (n_rows, N_FEATURES) and outputs.dtype == np.float32
    np.testing.assert_allclose(outputs, model(X[:n_rows], training=False), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(outputs, model.predict_on_batch(X[:n_rows]), rtol=1e-6, atol=1e-7)


def test_compiled_functions_die_with_their_model(data, seed):
    X, _ = data
    model = make_model(seed)
    skae._training.fit_arrays(model, X, X, batch_size=BATCH_SIZE, validation_data=(X, X))
    skae._training.predict_arrays(model, X, 64)
    assert set(skae._training._FUNCTIONS[model]) == {"train", "test", "predict"}
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None


def test_new_model_gets_new_functions_and_pickles_without_them(digits, seed):
    X, _ = digits
    ae = make_ae(random_state=seed).fit(X)
    ae.transform(X[:5])
    first_model = ae.model_
    ae.set_params(random_state=seed + 1).fit(X)  # a cold refit replaces model_
    assert ae.model_ is not first_model
    np.testing.assert_allclose(
        ae.transform(X[:5]), ae.encoder_(ae._scale(X[:5])), rtol=1e-5, atol=1e-6
    )
    restored = pickle.loads(pickle.dumps(ae))
    np.testing.assert_array_equal(restored.transform(X[:5]), ae.transform(X[:5]))
