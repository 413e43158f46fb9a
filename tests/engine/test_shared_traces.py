"""skae/_engine/_tf_compiled.py: functions traced once per architecture, shared by its models.

The second fit of an architecture must run the graph traced for the first
one (nothing traced again), on its own variables, and end with exactly the
numbers of a fit with sharing switched off.
"""

import gc
import weakref

import keras
import numpy as np
import pytest
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

import skae._engine._tf_compiled as compiled
import skae._engine._tf_functions as loops
from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    DenoisingAutoencoder,
    VariationalAutoencoder,
)
from skae._engine._tf_inference import predict_arrays
from skae._engine._tf_loops import fit_arrays

# The other backends have their own engines, tested by tests/engine/test_backends.py.
pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="TensorFlow's shared graphs (skae/_engine/_tf_compiled.py) exist on TensorFlow only",
)

N_FEATURES = 8


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    """Each test starts with no shared function, sharing on, and ends with none kept."""
    monkeypatch.setattr(compiled, "ENABLED", True)
    compiled.clear()
    yield
    compiled.clear()


def _rows(seed, n_rows=300, n_features=N_FEATURES):
    rng = np.random.RandomState(seed)
    latent = rng.normal(size=(n_rows, 2))
    X = latent @ rng.normal(size=(2, n_features)) + 0.1 * rng.normal(size=(n_rows, n_features))
    return X


def _state(estimator):
    """Weights, optimizer state (learning rate and step count included), history."""
    model = estimator.model_
    return (
        [w.copy() for w in model.get_weights()],
        [v.numpy().copy() for v in model.optimizer.variables],
        estimator.history_,
    )


def _assert_same_state(ours, theirs):
    weights, slots, history = ours
    for a, b in zip(weights + slots, theirs[0] + theirs[1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert history == theirs[2]


def _fit(make, X, fit_params):
    return make().fit(X, **fit_params)


def _plain_fit(make, X, fit_params, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(compiled, "ENABLED", False)
        before = compiled.stats()
        estimator = _fit(make, X, fit_params)
        after = compiled.stats()
    assert after == before  # the plain path asked nothing of the cache
    return estimator


def _with_nan(X):
    X = X.copy()
    X[np.random.RandomState(7).rand(*X.shape) < 0.1] = np.nan
    return X


FAST = dict(hidden_layer_sizes=(16,), latent_dim=2, epochs=4, batch_size=32, random_state=0)

CASES = {
    # PCA start, early stopping on held-out rows, learning rate halved on plateaus.
    "transformer_defaults": (AutoencoderTransformer, dict(n_iter_no_change=2, tol=1e-1), {}),
    "dropout": (AutoencoderTransformer, dict(init="random", dropout=0.3), {}),
    "l1_penalty": (AutoencoderTransformer, dict(l1=1e-2), {}),
    "metrics": (AutoencoderTransformer, dict(metrics=["mae"], early_stopping=False), {}),
    "vae_sampling": (VariationalAutoencoder, dict(), {}),
    "denoiser_corruption": (DenoisingAutoencoder, dict(), {}),
    "sample_weight": (AutoencoderTransformer, dict(), {"sample_weight": "weights"}),
    "early_stop": (AutoencoderTransformer, dict(epochs=30, n_iter_no_change=1, tol=1.0), {}),
    "masked_loss": (AutoencoderTransformer, dict(init="random"), {"nan": True}),
    # Feature-bagged members (automatic layer names), a trimmed loss whose
    # switch is a variable of the loss, flipped by a callback after 2 epochs.
    "detector_trimmed_loss": (AutoencoderOutlierDetector, dict(epochs=10), {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_second_fit_reuses_the_trace_and_gives_the_plain_numbers(case, monkeypatch):
    cls, params, options = CASES[case]
    options = dict(options)

    def make():
        return cls(**{**FAST, **params})

    X_first, X = _rows(1), _rows(2)
    if options.pop("nan", False):
        X_first, X = _with_nan(X_first), _with_nan(X)
    if cls is DenoisingAutoencoder:
        # Its corruption works in the data's units: the scaling fitted on the
        # data is part of the graph, so only the same columns' ranges share.
        X_first = X
    fit_params = {}
    if options.pop("sample_weight", None):
        fit_params["sample_weight"] = np.random.RandomState(3).uniform(0.1, 2.0, len(X))

    _fit(make, X_first, fit_params)  # traces the architecture's functions
    traced = compiled.stats()["traced"]
    assert traced >= 1
    shared = _fit(make, X, fit_params)
    stats = compiled.stats()
    assert stats["traced"] == traced, "the second fit traced again"
    assert stats["shared"] >= traced and stats["unshareable"] == 0

    plain = _plain_fit(make, X, fit_params, monkeypatch)
    _assert_same_state(_state(shared), _state(plain))
    output = "score_samples" if cls is AutoencoderOutlierDetector else "transform"
    np.testing.assert_array_equal(getattr(shared, output)(X[:20]), getattr(plain, output)(X[:20]))
    if case == "early_stop":
        assert shared.n_iter_ < 30
    if case == "transformer_defaults":
        assert "val_loss" in shared.history_
        rates = shared.history_["learning_rate"]
        assert rates[-1] < rates[0], "the plateau rule never halved the rate"


def test_a_denoiser_trained_on_pairs_switches_its_corruption_off(monkeypatch):
    X = _rows(4)
    noisy = X + np.random.RandomState(5).normal(scale=0.3, size=X.shape)

    def make():
        return DenoisingAutoencoder(**FAST)

    make().fit(noisy)  # corruption on (the scaling, fitted on the inputs, is the same)
    traced = compiled.stats()["traced"]
    shared = make().fit(noisy, X_clean=X)  # corruption off, same graph
    assert compiled.stats()["traced"] == traced
    plain = _plain_fit(make, noisy, {"X_clean": X}, monkeypatch)
    _assert_same_state(_state(shared), _state(plain))


def test_the_template_model_is_left_alone():
    def make():
        return AutoencoderTransformer(**{**FAST, "init": "random"})

    first = make().fit(_rows(1))
    before = _state(first)
    second = make().fit(_rows(2))
    assert compiled.stats()["shared"] > 0
    _assert_same_state(_state(first), before)
    assert not np.array_equal(first.model_.get_weights()[0], second.model_.get_weights()[0])


def test_a_shared_forward_pass_runs_each_models_own_weights(make_keras_autoencoder):
    X = _rows(0, 50).astype("float32")
    models = [make_keras_autoencoder(N_FEATURES, seed) for seed in range(3)]
    outputs = [predict_arrays(model, X, 16) for model in models]
    stats = compiled.stats()
    assert stats["traced"] == 1 and stats["shared"] == 2
    for model, output in zip(models, outputs, strict=True):
        np.testing.assert_allclose(output, model(X, training=False), rtol=1e-5, atol=1e-6)
    assert not np.allclose(outputs[0], outputs[1])


def test_fit_arrays_shares_and_matches_a_model_of_its_own(make_keras_autoencoder, monkeypatch):
    X = _rows(0).astype("float32")
    kwargs = dict(batch_size=32, epochs=3, validation_data=(X[:50], X[:50]), seed=0)
    fit_arrays(make_keras_autoencoder(N_FEATURES, 0, dropout=0.2, metrics=["mae"]), X, X, **kwargs)
    traced = compiled.stats()["traced"]
    shared = make_keras_autoencoder(N_FEATURES, 1, dropout=0.2, metrics=["mae"])
    history = fit_arrays(shared, X, X, **kwargs).history
    assert compiled.stats()["traced"] == traced
    monkeypatch.setattr(compiled, "ENABLED", False)
    plain = make_keras_autoencoder(N_FEATURES, 1, dropout=0.2, metrics=["mae"])
    assert fit_arrays(plain, X, X, **kwargs).history == history
    for a, b in zip(shared.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------
# What is one architecture


def _key(model, kind="train"):
    X = _rows(0, 40).astype("float32")
    fit_arrays(model, X, X, epochs=0)  # builds the optimizer and metrics
    return compiled.architecture_key(model, kind)


def _dense(seed=0, *, units=16, dropout=0.0, activation="relu", loss="mse", optimizer=None):
    from skae._nn import assemble, build_dense_autoencoder

    encoder, decoder = build_dense_autoencoder(
        N_FEATURES,
        2,
        hidden_layer_sizes=(units,),
        dropout=dropout,
        activation=activation,
        seed=seed,
    )
    model = assemble(encoder, decoder)
    model.compile(optimizer=optimizer or keras.optimizers.Adam(1e-2), loss=loss)
    return model


def test_seeds_and_learning_rates_do_not_split_an_architecture():
    reference = _key(_dense(0, dropout=0.2))
    assert reference is not None
    assert _key(_dense(5, dropout=0.2)) == reference
    assert _key(_dense(0, dropout=0.2, optimizer=keras.optimizers.Adam(3e-4))) == reference


def _sequential(name=None):
    model = keras.Sequential(
        [
            keras.Input((N_FEATURES,)),
            keras.layers.Dense(3, name=name),
            keras.layers.Dense(N_FEATURES),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    return model


def test_automatic_layer_names_do_not_split_an_architecture():
    first, second = _sequential(), _sequential()
    assert first.layers[0].name != second.layers[0].name  # dense_12, dense_14...
    assert _key(first) == _key(second) is not None


def test_chosen_layer_names_split_an_architecture():
    # Code may look a layer up by a name its builder chose ("encoder").
    assert _key(_sequential("code"), "model") != _key(_sequential("middle"), "model")


@pytest.mark.parametrize(
    "change",
    [
        dict(units=17),
        dict(dropout=0.3),
        dict(activation="tanh"),
        dict(loss="mae"),
        dict(optimizer=keras.optimizers.Adam(1e-2, beta_1=0.8)),
        dict(optimizer=keras.optimizers.SGD(1e-2)),
    ],
    ids=["width", "dropout_rate", "activation", "loss", "optimizer_setting", "optimizer_class"],
)
def test_whatever_sets_the_graph_splits_an_architecture(change):
    assert _key(_dense(0, **{"dropout": 0.2, **change})) != _key(_dense(0, dropout=0.2))


def test_the_forward_pass_does_not_depend_on_compile_settings():
    assert _key(_dense(0), "model") == _key(_dense(0, loss="mae"), "model")


def _custom_loss(y_true, y_pred):
    return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)


class Subclassed(keras.Model):
    def train_step(self, data):
        return super().train_step(data)


def _lambda_model():
    inputs = keras.Input((N_FEATURES,))
    outputs = keras.layers.Dense(N_FEATURES)(keras.layers.Lambda(lambda x: 2 * x)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    return model


def _subclassed_model():
    inputs = keras.Input((N_FEATURES,))
    model = Subclassed(inputs, keras.layers.Dense(N_FEATURES)(inputs))
    model.compile(optimizer="adam", loss="mse")
    return model


def _jit_model():
    model = _dense(0)
    model.compile(optimizer="adam", loss="mse", jit_compile=True)
    return model


@pytest.mark.parametrize(
    "make",
    [_lambda_model, _subclassed_model, _jit_model, lambda: _dense(0, loss=_custom_loss)],
    ids=["lambda_layer", "subclassed_model", "jit_compile", "custom_loss"],
)
def test_models_sharing_cannot_describe_train_on_their_own(make):
    X = _rows(0, 64).astype("float32")
    model = make()
    before = model.get_weights()
    fit_arrays(model, X, X, epochs=2, batch_size=32)
    assert compiled.architecture_key(model, "train") is None
    assert compiled.stats()["traced"] == 0
    assert ("own", "train") in loops._FUNCTIONS[model]
    assert not all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before, strict=True))


def test_a_distribution_strategy_in_scope_stops_sharing():
    # A strategy changes how variables are read and written, and it is not in
    # the model's config: the key is refused while one is in scope, even for a
    # model whose key was computed (and remembered) outside it.
    import tensorflow as tf

    model = _dense(0)
    assert _key(model) is not None
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        assert compiled.architecture_key(model, "train") is None
    assert compiled.architecture_key(model, "train") is not None


# ---------------------------------------------------------------------------
# Bounded, model-free, thread-safe, switchable


def test_the_cache_is_bounded_and_keeps_no_model_alive(monkeypatch):
    monkeypatch.setattr(compiled, "MAX_ARCHITECTURES", 2)
    X = _rows(0, 64).astype("float32")
    model = _dense(0, units=4)
    fit_arrays(model, X, X, epochs=1)
    predict_arrays(model, X, 64)
    assert compiled.stats()["traced"] >= 2  # it is the template of its architecture
    template = weakref.ref(model)
    del model
    gc.collect()
    assert template() is None
    for units in (5, 6, 7):
        fit_arrays(_dense(0, units=units), X, X, epochs=1)
    assert compiled.stats()["architectures"] == 2


def test_a_recompiled_model_trains_its_new_optimizer():
    X = _rows(0, 64).astype("float32")
    model = _dense(0)
    fit_arrays(model, X, X, epochs=1, batch_size=32)
    old = model.optimizer
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    fit_arrays(model, X, X, epochs=1, batch_size=32)
    assert int(model.optimizer.iterations.numpy()) == 2
    assert int(old.iterations.numpy()) == 2


def test_a_threaded_grid_search_gives_the_sequential_numbers(digits):
    X, _ = digits
    grid = {"latent_dim": [2, 3]}

    def search(n_jobs):
        compiled.clear()
        estimator = AutoencoderTransformer(**{**FAST, "epochs": 2})
        with parallel_config(backend="threading"):
            return GridSearchCV(estimator, grid, cv=2, n_jobs=n_jobs).fit(X).cv_results_

    sequential, threaded = search(1), search(2)
    np.testing.assert_array_equal(threaded["mean_test_score"], sequential["mean_test_score"])


@pytest.mark.parametrize(
    "value, enabled", [(None, True), ("1", True), ("0", False), ("off", False), ("False", False)]
)
def test_the_environment_switch(value, enabled):
    environ = {} if value is None else {"SKAE_SHARE_TRACES": value}
    assert compiled._enabled(environ) is enabled


def test_a_shared_function_runs_under_a_gradient_tape_after_its_template_died(
    make_keras_autoencoder,
):
    import tensorflow as tf

    X = _rows(0, 50).astype("float32")
    template = make_keras_autoencoder(N_FEATURES, 0)
    predict_arrays(template, X, 64)
    fit_arrays(template, X, X, epochs=1)
    del template
    gc.collect()
    model = make_keras_autoencoder(N_FEATURES, 1)
    with tf.GradientTape():
        fit_arrays(model, X, X, epochs=1)
        outputs = predict_arrays(model, X, 64)
    assert compiled.stats()["shared"] >= 2
    assert int(model.optimizer.iterations.numpy()) == 2
    np.testing.assert_allclose(outputs, model(X, training=False), rtol=1e-5, atol=1e-6)
