"""BaseAutoencoder: training options, scikeras seams and their regression tests."""

import copy
import pickle

import joblib
import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags
from tensorflow.python.framework import config as tf_config

import skae._base
from skae import AutoencoderTransformer

FAST = dict(hidden_layer_sizes=(16,), latent_dim=2, epochs=3, batch_size=32)


def make_ae(**params):
    return AutoencoderTransformer(**{**FAST, **params})


# ---------------------------------------------------------------------------
# Regression tests for the scikeras defects fixed in skae/_base.py


def test_tags_come_from_mixins_left_of_scikeras():
    # Defect 1: scikeras' mixins sit right of BaseEstimator, so scikit-learn
    # >= 1.6 never sees their tags.
    tags = get_tags(AutoencoderTransformer())
    assert tags.transformer_tags is not None
    assert tags.target_tags.required is False
    assert tags.input_tags.allow_nan is False
    assert "float32" in tags.transformer_tags.preserves_dtype


def test_seeded_fit_leaves_op_determinism_off(digits, seed):
    # Defect 2: after a scikeras fit with random_state, op determinism stayed
    # on and every later unseeded random op raised "Random ops require a seed".
    X, _ = digits
    make_ae(dropout=0.2, random_state=seed).fit(X)
    assert not tf_config.is_op_determinism_enabled()
    make_ae(dropout=0.2, random_state=None).fit(X)
    assert tf.random.uniform((2,)).shape == (2,)


def test_seeded_fit_restores_global_random_state(digits, seed):
    X, _ = digits
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    make_ae(random_state=seed).fit(X)
    assert np.random.rand() == expected


def test_inference_does_not_call_model_predict(digits, seed, monkeypatch):
    # Defect 3: Model.predict costs tens of ms per call, even for 10 rows.
    X, _ = digits
    ae = make_ae(random_state=seed).fit(X)
    expected = np.asarray(ae.encoder_(ae._scale(X[:10])))

    def fail(*args, **kwargs):
        raise AssertionError("Model.predict must not be used")

    monkeypatch.setattr(keras.Model, "predict", fail)
    np.testing.assert_allclose(ae.transform(X[:10]), expected, rtol=1e-6)
    ae.predict(X[:10])
    ae.inverse_transform(ae.transform(X[:10]))


def test_large_inputs_are_chunked_with_same_results(digits, seed, monkeypatch):
    X, _ = digits
    ae = make_ae(random_state=seed).fit(X)
    whole = ae.transform(X)
    monkeypatch.setattr(skae._base, "_INFERENCE_CHUNK", 64)
    chunked = ae.transform(X)
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-6)
    assert chunked.shape == (len(X), 2)


def test_fit_signature_is_pipeline_friendly(digits, seed):
    # Defect 4: scikeras' fit requires y; a transformer must accept y=None
    # and ignore labels that a Pipeline passes along.
    X, y = digits
    with_labels = make_ae(random_state=seed).fit(X, y).transform(X)
    without = make_ae(random_state=seed).fit(X).transform(X)
    np.testing.assert_array_equal(with_labels, without)


# ---------------------------------------------------------------------------
# Parameters and routing


def test_learning_rate_reaches_the_optimizer(digits):
    X, _ = digits
    ae = make_ae(learning_rate=0.0123, lr_schedule=None, epochs=1).fit(X)
    assert np.isclose(float(ae.model_.optimizer.learning_rate), 0.0123)


@pytest.mark.parametrize(
    "params, check",
    [
        (
            {"optimizer__learning_rate": 0.02, "lr_schedule": None},
            lambda ae: np.isclose(float(ae.model_.optimizer.learning_rate), 0.02),
        ),
        (
            {"optimizer": "sgd", "optimizer__momentum": 0.5},
            lambda ae: ae.model_.optimizer.momentum == 0.5,
        ),
        (
            {"model__kernel_initializer": "zeros"},
            lambda ae: not np.any(ae.encoder_.get_layer("code").kernel.numpy()),
        ),
        ({"fit__epochs": 2, "n_iter_no_change": None}, lambda ae: ae.n_iter_ == 2),
    ],
)
def test_scikeras_routed_parameters(digits, params, check):
    X, _ = digits
    ae = make_ae(**params).fit(X)
    assert check(ae)
    assert clone(ae).get_params()[next(iter(params))] == params[next(iter(params))]


def test_user_callbacks_run(digits):
    X, _ = digits
    seen = []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))
    make_ae(callbacks=[callback], epochs=2, n_iter_no_change=None).fit(X)
    assert seen == [0, 1]


def test_unknown_parameter_is_reported(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="Unknown parameter.*'lattent_dim'"):
        AutoencoderTransformer(lattent_dim=3).fit(X)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"latent_dim": 0}, "latent_dim"),
        ({"dropout": 1.0}, "dropout"),
        ({"scaling": "zscore"}, "scaling"),
        ({"validation_fraction": 1.5}, "validation_fraction"),
        ({"lr_schedule": "cosine"}, "lr_schedule"),
        ({"hidden_layer_sizes": (16, 0)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (16.5,)}, "hidden_layer_sizes"),
    ],
)
def test_invalid_parameters(digits, params, match):
    X, _ = digits
    with pytest.raises(ValueError, match=match):
        make_ae(**params).fit(X)


def test_keras_schedule_as_learning_rate(digits):
    X, _ = digits
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5)
    with pytest.raises(ValueError, match="lr_schedule=None"):
        make_ae(learning_rate=schedule).fit(X)
    ae = make_ae(learning_rate=schedule, lr_schedule=None).fit(X)
    assert ae.n_iter_ == 3


def test_early_stopping_holds_out_and_restores_best(digits, seed):
    X, _ = digits
    ae = make_ae(
        early_stopping=True, n_iter_no_change=2, epochs=60, learning_rate=0.05,
        random_state=seed,
    ).fit(X)
    val = ae.history_["val_loss"]
    assert len(val) == ae.n_iter_ < 60
    # The restored weights are those of the best epoch, not the last one.
    scaled = ae._scale(X)
    assert min(val) < val[-1]
    assert np.isfinite(ae.model_.evaluate(scaled, scaled, verbose=0))


def test_training_loss_plateau_stops_and_halves_learning_rate(digits, seed):
    X, _ = digits
    ae = make_ae(
        n_iter_no_change=4, tol=10.0, epochs=50, learning_rate=1e-3, random_state=seed
    ).fit(X)
    # With an impossible tol no epoch counts as an improvement.
    assert ae.n_iter_ == 5
    rates = ae.history_["learning_rate"]
    assert rates[-1] == pytest.approx(rates[0] / 2)


def test_divergence_is_a_clear_error(digits):
    X, _ = digits
    ae = make_ae(optimizer="sgd", learning_rate=1e12, lr_schedule=None, epochs=5)
    with pytest.raises(ValueError, match="Training diverged"):
        ae.fit(X * 1e6)
    # No NaN model is left behind to score with.
    with pytest.raises(NotFittedError):
        ae.transform(X)


class _Interrupt(keras.callbacks.Callback):
    """Press Ctrl-C at the end of epoch ``at`` (counted from 1 within a call)."""

    def __init__(self, at):
        super().__init__()
        self.at, self.seen = at, 0

    def on_epoch_end(self, epoch, logs=None):
        self.seen += 1
        if self.seen == self.at:
            raise KeyboardInterrupt


def test_interrupted_first_fit_leaves_estimator_unfitted(digits, seed):
    X, _ = digits
    ae = make_ae(random_state=seed, epochs=5, callbacks=[_Interrupt(at=2)])
    attributes = set(vars(ae))
    with pytest.raises(KeyboardInterrupt):
        ae.fit(X)
    assert set(vars(ae)) == attributes
    with pytest.raises(NotFittedError):
        ae.transform(X)


def test_interrupted_refit_keeps_the_previous_model(digits, seed):
    X, _ = digits
    ae = make_ae(random_state=seed).fit(X)
    codes, history = ae.transform(X), copy.deepcopy(ae.history_)
    ae.set_params(callbacks=[_Interrupt(at=1)], latent_dim=3)
    with pytest.raises(KeyboardInterrupt):
        ae.fit(X)
    np.testing.assert_array_equal(ae.transform(X), codes)
    assert ae.history_ == history


@pytest.mark.parametrize("continue_with", ["partial_fit", "warm_start"])
def test_interrupted_continued_training_rolls_back(digits, seed, continue_with):
    X, _ = digits
    ae = make_ae(random_state=seed).fit(X)
    codes, history = ae.transform(X), copy.deepcopy(ae.history_)
    iterations = int(ae.model_.optimizer.iterations.numpy())
    ae.set_params(callbacks=[_Interrupt(at=1)], warm_start=continue_with == "warm_start")
    with pytest.raises(KeyboardInterrupt):
        ae.partial_fit(X) if continue_with == "partial_fit" else ae.fit(X)
    # Weights, optimizer state and history are those from before the call.
    np.testing.assert_array_equal(ae.transform(X), codes)
    assert ae.history_ == history
    assert int(ae.model_.optimizer.iterations.numpy()) == iterations
    # ... and training goes on as if the interrupted call never happened.
    ae.set_params(callbacks=None)
    fresh = make_ae(random_state=seed).fit(X).partial_fit(X)
    np.testing.assert_array_equal(ae.partial_fit(X).transform(X), fresh.transform(X))


def test_verbose_prints_keras_progress(digits, capsys):
    X, _ = digits
    make_ae(epochs=1, verbose=0).fit(X)
    assert "loss" not in capsys.readouterr().out
    make_ae(epochs=1, verbose=2).fit(X)
    assert "loss" in capsys.readouterr().out


def test_sample_weight_changes_the_fit(digits, seed):
    X, _ = digits
    weights = np.where(np.arange(len(X)) < 200, 1.0, 1e-3)
    plain = make_ae(random_state=seed, epochs=20).fit(X)
    weighted = make_ae(random_state=seed, epochs=20).fit(X, sample_weight=weights)
    head, tail = X[:200], X[200:]
    # Weighted training favours the first half at the expense of the second.
    assert weighted.score(head) - weighted.score(tail) > plain.score(head) - plain.score(tail)


# ---------------------------------------------------------------------------
# Scaling


@pytest.mark.parametrize("scaling", ["standard", "minmax", "robust", None])
def test_scaling_is_undone_on_output(tabular, seed, scaling):
    ae = make_ae(scaling=scaling, random_state=seed).fit(tabular)
    reconstruction = ae.inverse_transform(ae.transform(tabular))
    np.testing.assert_allclose(reconstruction, ae.predict(tabular), rtol=1e-5)
    assert reconstruction.shape == tabular.shape


def test_default_scaling_handles_columns_of_different_scales(tabular, seed):
    params = dict(latent_dim=2, hidden_layer_sizes=(32,), epochs=150, random_state=seed)
    scaled = AutoencoderTransformer(**params).fit(tabular)
    raw = AutoencoderTransformer(scaling=None, **params).fit(tabular)
    # Relative error per column: small columns are reconstructed only when scaled.
    def relative(ae):
        return (ae.reconstruction_error(tabular, per_feature=True).mean(0)
                / tabular.var(0))
    assert relative(scaled).max() < 0.1
    assert relative(raw).max() > 0.5


# ---------------------------------------------------------------------------
# Fitting again: partial_fit, warm_start, reproducibility, persistence


def test_partial_fit_adds_one_epoch_each_call(digits, seed):
    X, _ = digits
    ae = make_ae(random_state=seed)
    for expected in (1, 2, 3):
        ae.partial_fit(X[:200])
        assert ae.n_iter_ == expected
    losses = ae.history_["loss"]
    assert losses[-1] < losses[0]
    # The scaling was fitted on the first batch and stays.
    np.testing.assert_allclose(ae.feature_encoder_.data_max_, X[:200].max(0))
    ae.partial_fit(X[200:] * 2)
    np.testing.assert_allclose(ae.feature_encoder_.data_max_, X[:200].max(0))


def test_warm_start_continues_from_current_weights(digits, seed):
    X, _ = digits
    ae = make_ae(random_state=seed, warm_start=True, n_iter_no_change=None)
    first = ae.fit(X).history_["loss"]
    model = ae.model_
    second = ae.fit(X).history_["loss"]
    assert ae.model_ is model
    assert second[0] < first[0]
    cold = make_ae(random_state=seed, n_iter_no_change=None)
    cold.fit(X)
    assert cold.fit(X).history_["loss"][0] == pytest.approx(first[0])


def test_int_random_state_is_bit_identical(digits, seed):
    X, _ = digits
    params = dict(dropout=0.1, early_stopping=True, random_state=seed)
    first = make_ae(**params).fit(X).transform(X)
    make_ae(random_state=None).fit(X)  # unseeded fits in between change nothing
    second = make_ae(**params).fit(X).transform(X)
    np.testing.assert_array_equal(first, second)
    other = make_ae(**{**params, "random_state": seed + 1}).fit(X).transform(X)
    assert not np.array_equal(first, other)


def test_random_state_instance_is_accepted(digits):
    X, _ = digits
    first = make_ae(random_state=np.random.RandomState(3)).fit(X).transform(X)
    second = make_ae(random_state=np.random.RandomState(3)).fit(X).transform(X)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    "dump, load",
    [
        (pickle.dumps, pickle.loads),
        (lambda est: _joblib_bytes(est), lambda data: joblib.load(data)),
    ],
)
def test_persistence_round_trip(digits, seed, dump, load):
    X, _ = digits
    ae = make_ae(random_state=seed).fit(X)
    restored = load(dump(ae))
    np.testing.assert_array_equal(restored.transform(X), ae.transform(X))
    np.testing.assert_array_equal(restored.predict(X), ae.predict(X))
    assert restored.history_ == ae.history_
    # The restored encoder still shares its weights with the autoencoder.
    before = restored.transform(X[:5])
    restored.partial_fit(X)
    assert not np.array_equal(restored.transform(X[:5]), before)


def _joblib_bytes(estimator):
    import io

    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    buffer.seek(0)
    return buffer


def test_repr_shows_changed_parameters_only():
    assert repr(AutoencoderTransformer(latent_dim=3)) == "AutoencoderTransformer(latent_dim=3)"
