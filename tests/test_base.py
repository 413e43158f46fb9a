"""skae/_base.py: the estimator contract shared by every estimator, and its regression tests."""

import copy
import io
import pickle
import random
import threading
import time

import joblib
import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags
from tensorflow.python.framework import config as tf_config

import skae._base
from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
)
from tests.conftest import ESTIMATORS


def _outputs(model, X):
    """What a fitted estimator computes from rows: codes, or its scores."""
    if hasattr(model, "transform"):
        return model.transform(X)
    return model.score_samples(X)


# ---------------------------------------------------------------------------
# Regression tests for the scikeras defects worked around in skae/_base.py


def test_tags_come_from_mixins_left_of_scikeras():
    # Defect 1: scikeras' mixins sit right of BaseEstimator, so scikit-learn
    # >= 1.6 never sees their tags.
    tags = get_tags(AutoencoderTransformer())
    assert tags.transformer_tags is not None
    assert tags.target_tags.required is False
    assert "float32" in tags.transformer_tags.preserves_dtype
    assert get_tags(AutoencoderOutlierDetector()).estimator_type == "outlier_detector"


def test_seeded_fit_leaves_op_determinism_off(make_estimator, digits):
    # Defect 2: after a scikeras fit with random_state, op determinism stayed
    # on and every later unseeded random op raised "Random ops require a seed".
    X, _ = digits
    make_estimator(dropout=0.2, random_state=0).fit(X)
    assert not tf_config.is_op_determinism_enabled()
    make_estimator(dropout=0.2, random_state=None).fit(X)
    assert tf.random.uniform((2,)).shape == (2,)


def test_fit_signature_is_pipeline_friendly(make_estimator, digits):
    # Defect 3: scikeras' fit requires y; a transformer must accept y=None
    # and ignore labels that a Pipeline passes along.
    X, y = digits
    with_labels = make_estimator().fit(X, y).transform(X)
    without = make_estimator().fit(X).transform(X)
    np.testing.assert_array_equal(with_labels, without)


# ---------------------------------------------------------------------------
# Randomness: seeded fits repeat, unseeded fits differ, global streams untouched


STREAMS = {
    "numpy": (np.random.seed, np.random.random_sample, np.random.RandomState),
    "python": (random.seed, random.random, random.Random),
}


def _draws_while(action, stream, seed=11):
    """Draws from a global stream made by another thread while ``action`` runs.

    Returns the draws, and one more drawn here after ``action``.
    """
    reseed, draw_one, _ = STREAMS[stream]
    reseed(seed)
    drawn, done = [], threading.Event()

    def draw():
        while not done.is_set():
            drawn.append(draw_one())
            time.sleep(0.002)

    thread = threading.Thread(target=draw)
    thread.start()
    try:
        action()
    finally:
        done.set()
        thread.join()
    return drawn, draw_one()


def _sequence(stream, n, seed=11):
    generator = STREAMS[stream][2](seed)
    draw = generator.random if stream == "python" else generator.random_sample
    return [draw() for _ in range(n)]


def _stream_cases():
    for estimator in ESTIMATORS:
        for stream in ("numpy", "python"):
            yield pytest.param(estimator, stream, id=f"{estimator.__name__}-{stream}")


@pytest.mark.parametrize("estimator, stream", list(_stream_cases()))
def test_a_seeded_fit_leaves_the_global_random_streams_alone(
    make_estimator, digits, estimator, stream
):
    # A fit that reseeded random or np.random, or drew from them, would
    # change the sequence another thread draws meanwhile, and the one after.
    X, _ = digits
    model = make_estimator(estimator, random_state=0, dropout=0.1, early_stopping=True)
    drawn, after = _draws_while(lambda: model.fit(X).predict(X), stream)
    assert len(drawn) >= 10, "the other thread must draw while the fit runs"
    expected = _sequence(stream, len(drawn) + 1)
    assert drawn == expected[:-1]
    assert after == expected[-1]


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_an_int_random_state_gives_bit_identical_fits(make_estimator, digits, estimator):
    X, _ = digits
    params = dict(dropout=0.1, early_stopping=True, random_state=3)
    first = make_estimator(estimator, **params).fit(X)
    make_estimator(estimator, random_state=None).fit(X)  # an unseeded fit in between
    second = make_estimator(estimator, **params).fit(X)
    assert first.history_ == second.history_
    np.testing.assert_array_equal(_outputs(first, X), _outputs(second, X))
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    other = make_estimator(estimator, **{**params, "random_state": 4, "init": "random"}).fit(X)
    assert not np.array_equal(_outputs(other, X), _outputs(first, X))


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_unseeded_fits_differ(make_estimator, digits, estimator):
    # init="random": a network started as PCA could fall back to PCA's
    # solution, the same for every seed.
    X, _ = digits
    first = make_estimator(estimator, random_state=None, init="random").fit(X)
    second = make_estimator(estimator, random_state=None, init="random").fit(X)
    assert not np.array_equal(_outputs(first, X), _outputs(second, X))


@pytest.mark.parametrize("init", ["random", "pca"])
def test_a_dataframe_and_its_values_give_the_same_fit(make_estimator, digits, init):
    X, _ = digits
    frame = pd.DataFrame(X).add_prefix("pixel")
    # learning_rate=1e-2: training beats the PCA start, which is not put back.
    from_frame = make_estimator(init=init, learning_rate=1e-2).fit(frame)
    from_array = make_estimator(init=init, learning_rate=1e-2).fit(X)
    assert getattr(from_array, "pca_fallback_", False) is False
    np.testing.assert_array_equal(from_frame.transform(frame), from_array.transform(X))


def test_random_state_instance_is_accepted(make_estimator, digits):
    X, _ = digits
    first = make_estimator(random_state=np.random.RandomState(3)).fit(X).transform(X)
    second = make_estimator(random_state=np.random.RandomState(3)).fit(X).transform(X)
    np.testing.assert_array_equal(first, second)


# ---------------------------------------------------------------------------
# Inference


def test_inference_does_not_call_model_predict(make_estimator, digits, monkeypatch):
    # Model.predict costs tens of ms per call, even for 10 rows.
    X, _ = digits
    ae = make_estimator().fit(X)
    expected = ae.transform(X[:10])

    def fail(*args, **kwargs):
        raise AssertionError("Model.predict must not be used")

    monkeypatch.setattr(keras.Model, "predict", fail)
    np.testing.assert_array_equal(ae.transform(X[:10]), expected)
    ae.predict(X[:10])
    ae.inverse_transform(ae.transform(X[:10]))


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_large_inputs_are_chunked_with_the_same_results(
    make_estimator, digits, estimator, monkeypatch
):
    X, _ = digits
    model = make_estimator(estimator).fit(X)
    whole, reconstructed = _outputs(model, X), model.predict(X)
    monkeypatch.setattr(skae._base, "_INFERENCE_CHUNK", 64)
    np.testing.assert_allclose(_outputs(model, X), whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(X), reconstructed, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# Parameters and routing


def test_learning_rate_reaches_the_optimizer(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(learning_rate=0.0123, lr_schedule=None, epochs=1).fit(X)
    assert float(ae.model_.optimizer.learning_rate) == pytest.approx(0.0123)


def test_routed_optimizer_parameters(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(optimizer__learning_rate=0.02, lr_schedule=None).fit(X)
    assert float(ae.model_.optimizer.learning_rate) == pytest.approx(0.02)
    ae = make_estimator(optimizer="sgd", optimizer__momentum=0.5).fit(X)
    assert isinstance(ae.model_.optimizer, keras.optimizers.SGD)
    assert ae.model_.optimizer.momentum == 0.5
    assert clone(ae).get_params()["optimizer__momentum"] == 0.5


def test_routed_model_parameter_reaches_the_builder(make_estimator, digits):
    # All-zero kernels (and zero biases) code every row as 0.
    X, _ = digits
    ae = make_estimator(init="random", model__kernel_initializer="zeros").initialize(X)
    np.testing.assert_array_equal(ae.transform(X), np.zeros((len(X), 2)))
    assert clone(ae).get_params()["model__kernel_initializer"] == "zeros"


def test_routed_fit_parameter_wins_over_the_plain_one(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(epochs=5, fit__epochs=2, n_iter_no_change=None).fit(X)
    assert ae.n_iter_ == 2


def test_user_callbacks_run(make_estimator, digits):
    X, _ = digits
    seen = []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))
    make_estimator(callbacks=[callback], epochs=2, n_iter_no_change=None).fit(X)
    assert seen == [0, 1]


def test_callbacks_must_be_keras_callbacks(make_estimator, digits):
    X, _ = digits
    with pytest.raises(TypeError, match="keras.callbacks.Callback"):
        make_estimator(callbacks=[print]).fit(X)


def test_unknown_parameter_is_reported(digits):
    X, _ = digits
    with pytest.raises((TypeError, ValueError), match="lattent_dim"):
        AutoencoderTransformer(lattent_dim=3).fit(X)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"latent_dim": 0}, "latent_dim"),
        ({"dropout": 1.0}, "dropout"),
        ({"scaling": "zscore"}, "scaling"),
        ({"validation_fraction": 1.5}, "validation_fraction"),
        ({"lr_schedule": "step"}, "lr_schedule"),
        ({"init": "orthogonal"}, "init"),
        ({"hidden_layer_sizes": (16, 0)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (16.5,)}, "hidden_layer_sizes"),
        ({"filters": ()}, "filters"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"epochs": 0}, "epochs"),
    ],
)
def test_invalid_parameters(make_estimator, digits, params, match):
    X, _ = digits
    with pytest.raises(ValueError, match=match):
        make_estimator(**params).fit(X)


def test_keras_schedule_as_learning_rate(make_estimator, digits):
    X, _ = digits
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5)
    for rule in ("plateau", "cosine"):
        with pytest.raises(ValueError, match="lr_schedule=None"):
            make_estimator(learning_rate=schedule, lr_schedule=rule).fit(X)
    ae = make_estimator(learning_rate=schedule, lr_schedule=None, n_iter_no_change=None).fit(X)
    assert ae.n_iter_ == 3


def test_verbose_prints_keras_progress(make_estimator, digits, capsys):
    X, _ = digits
    make_estimator(epochs=1, verbose=0).fit(X)
    assert capsys.readouterr().out == ""
    make_estimator(epochs=2, verbose=2, n_iter_no_change=None).fit(X)
    out = capsys.readouterr().out
    assert out.count("Epoch ") == 2 and "loss" in out


def test_repr_shows_changed_parameters_only():
    assert repr(AutoencoderTransformer(latent_dim=3)) == "AutoencoderTransformer(latent_dim=3)"


# ---------------------------------------------------------------------------
# A failed call leaves the estimator as it was


class _Interrupt(keras.callbacks.Callback):
    """Press Ctrl-C at the end of epoch ``at`` (counted from 1 within a call)."""

    def __init__(self, at):
        super().__init__()
        self.at, self.seen = at, 0

    def on_epoch_end(self, epoch, logs=None):
        self.seen += 1
        if self.seen == self.at:
            raise KeyboardInterrupt


def test_interrupted_first_fit_leaves_estimator_unfitted(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(epochs=5, callbacks=[_Interrupt(at=2)])
    attributes = set(vars(ae))
    with pytest.raises(KeyboardInterrupt):
        ae.fit(X)
    assert set(vars(ae)) == attributes
    with pytest.raises(NotFittedError):
        ae.transform(X)


def test_interrupted_refit_keeps_the_previous_model(make_estimator, digits):
    X, _ = digits
    ae = make_estimator().fit(X)
    codes, history = ae.transform(X), copy.deepcopy(ae.history_)
    ae.set_params(callbacks=[_Interrupt(at=1)], latent_dim=3)
    with pytest.raises(KeyboardInterrupt):
        ae.fit(X)
    np.testing.assert_array_equal(ae.transform(X), codes)
    assert ae.history_ == history


@pytest.mark.parametrize("continue_with", ["partial_fit", "warm_start"])
def test_interrupted_continued_training_rolls_back(make_estimator, digits, continue_with):
    X, _ = digits
    ae = make_estimator(init="random").fit(X)
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
    fresh = make_estimator(init="random").fit(X).partial_fit(X)
    np.testing.assert_array_equal(ae.partial_fit(X).transform(X), fresh.transform(X))


# ---------------------------------------------------------------------------
# Sample weights


def test_sample_weight_favours_the_heavy_rows(make_estimator, digits, global_random_seed):
    X, _ = digits
    weights = np.where(np.arange(len(X)) < 200, 1.0, 1e-3)
    params = dict(init="random", epochs=20, random_state=global_random_seed)
    plain = make_estimator(**params).fit(X)
    weighted = make_estimator(**params).fit(X, sample_weight=weights)
    head, tail = X[:200], X[200:]
    # Weighted training favours the first half at the expense of the second.
    assert weighted.score(head) - weighted.score(tail) > plain.score(head) - plain.score(tail)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_rows_of_weight_zero_are_left_out_altogether(make_estimator, estimator):
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(60, 4))
    with_outlier = np.vstack([X, [[100.0, -100.0, 100.0, -100.0]]])
    weights = np.r_[np.ones(len(X)), 0.0]
    params = dict(scaling="minmax", early_stopping=False)
    weighted = make_estimator(estimator, **params).fit(with_outlier, sample_weight=weights)
    reference = make_estimator(estimator, **params).fit(X)
    # The outlier moved neither the scaling nor the training.
    np.testing.assert_array_equal(weighted.scaler_.data_min_, X.min(0))
    np.testing.assert_array_equal(weighted.scaler_.data_max_, X.max(0))
    np.testing.assert_allclose(weighted.predict(X), reference.predict(X), rtol=1e-6)
    np.testing.assert_allclose(_outputs(weighted, X), _outputs(reference, X), rtol=1e-6)


@pytest.fixture
def float64_keras():
    """Keras layers in float64 for one test (skae feeds them float32 rows, cast on entry)."""
    keras.backend.set_floatx("float64")
    try:
        yield
    finally:
        keras.backend.set_floatx("float32")


@pytest.mark.parametrize("scaling", ["standard", "minmax"])
def test_integer_weights_count_as_repeated_rows(make_estimator, float64_keras, scaling):
    # One full batch, rows in order: the weighted mean loss is exactly the
    # mean over the repeated rows, and so is every step.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 5))
    weights = rng.randint(1, 4, size=len(X)).astype(float)
    repeated = np.repeat(X, weights.astype(int), axis=0)
    params = dict(
        init="random",
        scaling=scaling,
        batch_size=len(repeated),
        shuffle=False,
        early_stopping=False,
        n_iter_no_change=None,
        epochs=5,
    )
    weighted = make_estimator(**params).fit(X, sample_weight=weights)
    reference = make_estimator(**params).fit(repeated)
    np.testing.assert_allclose(weighted.history_["loss"], reference.history_["loss"], rtol=1e-6)
    np.testing.assert_allclose(weighted.transform(X), reference.transform(X), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# Fitting again: initialize, partial_fit, warm_start


def test_initialize_builds_an_untrained_network(make_estimator, digits):
    X, _ = digits
    ae = make_estimator().initialize(X)
    assert ae.history_ == {} and ae.n_iter_ == 0
    assert ae.transform(X).shape == (len(X), 2)


def test_partial_fit_adds_one_epoch_each_call(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(init="random")
    for expected in (1, 2, 3):
        ae.partial_fit(X[:200])
        assert ae.n_iter_ == expected
    losses = ae.history_["loss"]
    assert losses[-1] < losses[0]
    # The scaling was fitted on the first batch and stays.
    scale = ae.scaler_.scale_.copy()
    ae.partial_fit(X[200:] * 2)
    np.testing.assert_array_equal(ae.scaler_.scale_, scale)


def test_warm_start_continues_weights_and_history(make_estimator, digits):
    # Like MLPRegressor's loss_curve_: a warm start goes on where it stopped.
    X, _ = digits
    ae = make_estimator(init="random", warm_start=True, n_iter_no_change=None)
    first = list(ae.fit(X).history_["loss"])
    model = ae.model_
    ae.fit(X)
    assert ae.model_ is model and ae.n_iter_ == 6
    assert ae.history_["loss"][:3] == first
    assert ae.history_["loss"][3] < first[0]  # not a new start
    # Without warm_start a refit starts again from scratch.
    cold = make_estimator(init="random", n_iter_no_change=None)
    cold.fit(X)
    assert cold.fit(X).history_["loss"] == first and cold.n_iter_ == 3


def test_warm_start_keeps_the_scaling(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(warm_start=True, scaling="minmax").fit(X)
    ae.fit(X * 3)
    np.testing.assert_array_equal(ae.scaler_.data_max_, X.max(0))


# ---------------------------------------------------------------------------
# Fitted attributes


@pytest.mark.parametrize("alias", ["feature_encoder_", "target_encoder_"])
def test_scikeras_names_of_the_scaler_are_deprecated(make_estimator, digits, alias):
    X, _ = digits
    ae = make_estimator().fit(X)
    with pytest.warns(FutureWarning, match=f"{alias} is deprecated.*use scaler_"):
        assert getattr(ae, alias) is ae.scaler_


def test_encoder_and_decoder_are_the_trained_halves(make_estimator, digits):
    X, _ = digits
    ae = make_estimator().fit(X)
    codes = ae.transform(X[:20])
    np.testing.assert_allclose(
        ae.inverse_transform(codes), ae.predict(X[:20]), rtol=1e-4, atol=1e-4
    )
    assert ae.encoder_.output.shape[-1] == 2
    assert ae.decoder_.output.shape[-1] == X.shape[1]


# ---------------------------------------------------------------------------
# Pickle and joblib


def _joblib_round_trip(estimator):
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


@pytest.mark.parametrize(
    "round_trip",
    [lambda e: pickle.loads(pickle.dumps(e)), _joblib_round_trip],
    ids=["pickle", "joblib"],
)
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_persistence_round_trip(make_estimator, digits, round_trip, estimator):
    X, _ = digits
    model = make_estimator(estimator).fit(X)
    restored = round_trip(model)
    np.testing.assert_array_equal(_outputs(restored, X), _outputs(model, X))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert restored.history_ == model.history_
    # The restored network still trains, and its halves with it.
    before = _outputs(restored, X[:5])
    restored.partial_fit(X)
    assert not np.array_equal(_outputs(restored, X[:5]), before)
