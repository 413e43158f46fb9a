"""skae/_engine: the compiled loops train and infer as Model.fit and the model do."""

import gc
import math
import weakref

import keras
import numpy as np
import pytest
import tensorflow as tf

import skae._engine._tf_loops
from skae import DenoisingAutoencoder
from skae._engine._tf_inference import predict_arrays
from skae._engine._tf_loops import fit_arrays, fit_model
from skae._nn import assemble, build_dense_autoencoder

# The other backends have their own engines, tested by tests/engine/test_backends.py.
pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="TensorFlow's compiled epoch loop (skae/_engine/_tf_loops.py) runs on TensorFlow only",
)

N_ROWS, N_FEATURES, BATCH_SIZE = 150, 8, 32


def _data(seed):
    """Rows near a plane in 8-D, and positive weights."""
    rng = np.random.RandomState(seed)
    X = (rng.normal(size=(N_ROWS, 2)) @ rng.normal(size=(2, N_FEATURES))).astype("float32")
    X += 0.1 * rng.normal(size=X.shape).astype("float32")
    weights = rng.uniform(0.1, 2.0, size=N_ROWS)
    return X, weights


@pytest.fixture
def data():
    return _data(0)


class ModelFitSpy:
    """Counts ``keras.Model.fit`` calls (and their arguments), then runs the real one."""

    def __init__(self, monkeypatch):
        self.calls = []
        original = keras.Model.fit

        def spy(model, *args, **kwargs):
            self.calls.append(kwargs)
            return original(model, *args, **kwargs)

        monkeypatch.setattr(keras.Model, "fit", spy)


# ---------------------------------------------------------------------------
# fit_arrays against Model.fit: same architecture, data and initial weights


def test_in_order_fit_arrays_gives_model_fits_numbers(global_random_seed, make_keras_autoencoder):
    # Without shuffling both visit the same batches in the same order, so
    # they compute the same steps: equal up to float32 rounding.
    X, weights = _data(global_random_seed)
    kwargs = dict(
        batch_size=BATCH_SIZE,
        epochs=3,
        shuffle=False,
        sample_weight=weights,
        validation_data=(X[:40], X[:40]),
        verbose=0,
    )
    histories, weights_after = [], []
    for fit in (keras.Model.fit, fit_arrays):
        model = make_keras_autoencoder(
            N_FEATURES, global_random_seed, dropout=0.0, l1=1e-3, metrics=["mae"]
        )
        histories.append(fit(model, X, X, **kwargs).history)
        weights_after.append(model.get_weights())
    assert histories[0].keys() == histories[1].keys()
    for key in histories[0]:
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-4)
    for ours, theirs in zip(weights_after[1], weights_after[0], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-5)


def test_shuffled_fit_arrays_trains_as_well_as_model_fit(
    global_random_seed, make_keras_autoencoder
):
    # Shuffled orders differ (a NumPy generator against tf.data's), so the
    # losses are not equal; over 30 epochs they end within noise of each
    # other, with dropout and an activity penalty in the loss.
    X, _ = _data(global_random_seed)
    final, first = [], []
    for fit in (keras.Model.fit, fit_arrays):
        model = make_keras_autoencoder(
            N_FEATURES, global_random_seed, dropout=0.1, l1=1e-3, learning_rate=3e-3
        )
        losses = fit(model, X, X, batch_size=BATCH_SIZE, epochs=30, verbose=0).history["loss"]
        first.append(losses[0])
        final.append(model.evaluate(X, X, verbose=0))
    assert first[1] == pytest.approx(first[0], rel=0.1)
    # Both learnt (the loss fell to a small part of the first epoch's) ...
    assert max(final) < 0.5 * min(first)
    # ... and by about as much.
    assert final[1] == pytest.approx(final[0], rel=0.25)


def test_fit_arrays_continues_from_initial_epoch(data, make_keras_autoencoder):
    X, _ = data
    model = make_keras_autoencoder(N_FEATURES, 0)
    epochs = []
    callback = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs.append(e))
    history = fit_arrays(
        model, X, X, batch_size=BATCH_SIZE, epochs=5, initial_epoch=3, callbacks=[callback]
    )
    assert epochs == [3, 4]
    assert history.epoch == [3, 4]
    assert int(model.optimizer.iterations.numpy()) == 2 * math.ceil(N_ROWS / BATCH_SIZE)


def test_callbacks_see_every_hook_and_the_logs(data, make_keras_autoencoder):
    X, _ = data
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

    model = make_keras_autoencoder(N_FEATURES, 0, metrics=["mae"])
    fit_arrays(model, X, X, epochs=2, validation_data=(X, X), callbacks=[Recorder()])
    keys = ["loss", "mae", "val_loss", "val_mae"]
    assert seen == ["train_begin", "epoch_begin 0", keys, "epoch_begin 1", keys, "train_end"]


def test_a_callback_can_stop_training(data, make_keras_autoencoder):
    X, _ = data
    model = make_keras_autoencoder(N_FEATURES, 0)

    def stop(epoch, logs):
        model.stop_training = epoch == 1

    callback = keras.callbacks.LambdaCallback(on_epoch_end=stop)
    history = fit_arrays(model, X, X, epochs=10, callbacks=[callback])
    assert history.epoch == [0, 1]


@pytest.mark.parametrize(
    "fit_args",
    [{"validation_freq": 2}, {"class_weight": None}, {"shuffle": "batch"}, {"verbose": "auto"}],
    ids=["validation_freq", "class_weight", "shuffle_batch", "verbose_auto"],
)
def test_arguments_the_loop_cannot_honour_go_to_model_fit(
    data, make_keras_autoencoder, fit_args, monkeypatch
):
    X, _ = data
    spy = ModelFitSpy(monkeypatch)
    history = fit_model(
        make_keras_autoencoder(N_FEATURES, 0),
        X,
        X,
        batch_size=BATCH_SIZE,
        epochs=1,
        **{"verbose": 0, **fit_args},
    )
    assert len(spy.calls) == 1 and len(history.history["loss"]) == 1


def test_arguments_the_loop_honours_stay_in_the_loop(data, make_keras_autoencoder, monkeypatch):
    X, weights = data
    spy = ModelFitSpy(monkeypatch)
    fit_model(
        make_keras_autoencoder(N_FEATURES, 0),
        X,
        X,
        seed=0,
        batch_size=BATCH_SIZE,
        epochs=2,
        initial_epoch=1,
        shuffle=True,
        sample_weight=weights,
        validation_data=(X, X),
        callbacks=[],
        verbose=0,
    )
    assert spy.calls == []


def test_model_fit_fallback_leaves_the_global_tensorflow_seed_as_it_was(
    data, make_keras_autoencoder
):
    X, _ = data
    tf.random.set_seed(1234)
    expected = tf.random.uniform((3,)).numpy()
    tf.random.set_seed(1234)
    fit_model(make_keras_autoencoder(N_FEATURES, 0), X, X, seed=5, epochs=1, verbose="auto")
    tf.random.set_seed(1234)  # same seed, same stream: the fit did not change the seed
    np.testing.assert_array_equal(tf.random.uniform((3,)).numpy(), expected)


def test_estimator_fit_does_not_call_model_fit(make_estimator, digits, monkeypatch):
    X, _ = digits
    spy = ModelFitSpy(monkeypatch)
    ae = make_estimator(early_stopping=True, n_iter_no_change=None).fit(X)
    assert spy.calls == [] and ae.n_iter_ == 3


def test_routed_fit_argument_falls_back_to_model_fit(make_estimator, digits, monkeypatch):
    X, _ = digits
    spy = ModelFitSpy(monkeypatch)
    ae = make_estimator(early_stopping=True, fit__validation_batch_size=16).fit(X)
    assert [call["validation_batch_size"] for call in spy.calls] == [16]
    assert len(ae.history_["val_loss"]) == 3


# ---------------------------------------------------------------------------
# Row orders: a new permutation every epoch, from a seeded generator


def test_row_orders_are_a_new_permutation_every_epoch():
    orders = skae._engine._tf_loops._row_orders(1000, shuffle=True, seed=None)
    first, second = np.asarray(next(orders)), np.asarray(next(orders))
    assert sorted(first) == sorted(second) == list(range(1000))
    assert not np.array_equal(first, second)


def test_a_seeded_sequence_of_row_orders_repeats():
    def sequence(seed):
        orders = skae._engine._tf_loops._row_orders(50, shuffle=True, seed=seed)
        return [np.asarray(next(orders)) for _ in range(3)]

    np.testing.assert_array_equal(sequence(3), sequence(3))
    assert not np.array_equal(sequence(3), sequence(4))
    assert not np.array_equal(sequence(None), sequence(None))


def test_without_shuffle_rows_are_visited_in_order():
    orders = skae._engine._tf_loops._row_orders(7, shuffle=False, seed=3)
    for _ in range(3):
        np.testing.assert_array_equal(np.asarray(next(orders)), np.arange(7))


@pytest.fixture
def epoch_orders(monkeypatch):
    """The row order each training epoch of the compiled loop actually used."""
    orders = []
    original = skae._engine._tf_loops._train_epoch

    def spy(model, data, order, batch_size):
        orders.append(np.asarray(order))
        return original(model, data, order, batch_size)

    monkeypatch.setattr(skae._engine._tf_loops, "_train_epoch", spy)
    return orders


def test_fit_reshuffles_the_rows_every_epoch(make_estimator, digits, epoch_orders):
    X, _ = digits
    make_estimator(DenoisingAutoencoder, epochs=3, n_iter_no_change=None).fit(X)
    assert len(epoch_orders) == 3
    for order in epoch_orders:
        assert sorted(order) == list(range(len(X)))
    for previous, current in zip(epoch_orders[:-1], epoch_orders[1:], strict=True):
        assert not np.array_equal(previous, current)


def test_fit_without_shuffle_keeps_the_rows_in_order(make_estimator, digits, epoch_orders):
    X, _ = digits
    make_estimator(DenoisingAutoencoder, shuffle=False, n_iter_no_change=None).fit(X)
    assert len(epoch_orders) == 3
    for order in epoch_orders:
        np.testing.assert_array_equal(order, np.arange(len(X)))


def test_a_seeded_fit_repeats_its_row_orders(make_estimator, digits, epoch_orders):
    X, _ = digits
    make_estimator(DenoisingAutoencoder, random_state=3).fit(X)
    first = list(epoch_orders)
    epoch_orders.clear()
    make_estimator(DenoisingAutoencoder, random_state=3).fit(X)
    np.testing.assert_array_equal(epoch_orders, first)


# ---------------------------------------------------------------------------
# Inference and evaluation


@pytest.mark.parametrize("n_rows, chunk_size", [(1, 8192), (10, 8192), (150, 64), (150, 150)])
def test_predict_arrays_equals_the_model(data, make_keras_autoencoder, n_rows, chunk_size):
    X, _ = data
    model = make_keras_autoencoder(N_FEATURES, 0)
    outputs = predict_arrays(model, X[:n_rows], chunk_size)
    assert outputs.shape == (n_rows, N_FEATURES) and outputs.dtype == np.float32
    np.testing.assert_allclose(outputs, model(X[:n_rows], training=False), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("chunk_size", [8192, 64])
def test_code_and_reconstruction_come_from_one_pass(data, chunk_size):
    X, _ = data
    encoder, decoder = build_dense_autoencoder(N_FEATURES, 3, hidden_layer_sizes=(8,), seed=0)
    model = assemble(encoder, decoder)
    codes, reconstruction = predict_arrays(model, X, chunk_size, "code_and_reconstruction")
    np.testing.assert_allclose(codes, encoder(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reconstruction, model(X), rtol=1e-5, atol=1e-6)
    assert codes.shape == (N_ROWS, 3) and reconstruction.shape == (N_ROWS, N_FEATURES)


def test_compiled_functions_die_with_their_model(data, make_keras_autoencoder):
    X, _ = data
    model = make_keras_autoencoder(N_FEATURES, 0)
    fit_arrays(model, X, X, batch_size=BATCH_SIZE, validation_data=(X, X))
    predict_arrays(model, X, 64)
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None


def test_a_refitted_estimator_runs_its_new_network(make_estimator, digits):
    # Compiled inference functions are cached per network: a cold refit
    # builds a new one, which inference must then run.
    X, _ = digits
    ae = make_estimator(init="random", random_state=0).fit(X)
    first = ae.transform(X[:5])
    ae.set_params(random_state=1).fit(X)
    fresh = make_estimator(init="random", random_state=1).fit(X)
    np.testing.assert_array_equal(ae.transform(X[:5]), fresh.transform(X[:5]))
    assert not np.allclose(ae.transform(X[:5]), first)


# ---------------------------------------------------------------------------
# Building before tracing


@pytest.mark.parametrize("metrics", [None, ["mae"]], ids=["no_metrics", "metrics"])
def test_build_makes_the_variables_model_fit_makes(data, make_keras_autoencoder, metrics):
    # Without metrics, _build skips Keras' symbolic pass: the variables made
    # must be those of Model._symbolic_build, in the same order.
    X, weights = data
    ours, theirs = (make_keras_autoencoder(N_FEATURES, 0, metrics=metrics) for _ in range(2))
    tensors = skae._engine._tf_loops._as_tensors(X, X, weights)
    skae._engine._tf_loops._build(ours, tensors, BATCH_SIZE)
    theirs._symbolic_build(data_batch=tuple(part[:BATCH_SIZE] for part in tensors))

    def layout(model):
        state = model.variables + model.optimizer.variables + model.metrics_variables
        # Optimizer variables are named after their optimizer (adam_3/...).
        return [(v.path.split("/", 1)[-1], tuple(v.shape), v.dtype) for v in state]

    assert layout(ours) == layout(theirs)
    assert ours._compile_loss.built and ours.optimizer.built
    assert skae._engine._tf_loops._build_without_tracing(ours, tensors) is (metrics is None)
