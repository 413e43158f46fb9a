"""skae/_nn (_architectures.py, _layers.py): builders, assemble, skae's layers and losses."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.decomposition import PCA

from skae._nn._architectures import (
    assemble,
    build_conv_autoencoder,
    build_dense_autoencoder,
    build_pca_residual_autoencoder,
    conv_grid,
    image_shape_3d,
    split_autoencoder,
)
from skae._nn._layers import (
    Corruption,
    MaskedBinaryCrossentropy,
    MaskedMeanSquaredError,
    Sampling,
    kl_divergence,
)

ROWS = np.random.RandomState(0).uniform(size=(200, 64)).astype("float32")


# ---------------------------------------------------------------------------
# Builders: (encoder, decoder), chained by assemble


@pytest.mark.parametrize(
    "image_shape, n_blocks, grid",
    [
        ((8, 8, 1), 2, (2, 2)),
        ((28, 28, 1), 2, (7, 7)),
        ((28, 28, 1), 3, (4, 4)),
        ((7, 5, 3), 2, (2, 2)),
    ],
)
def test_conv_grid_rounds_up(image_shape, n_blocks, grid):
    assert conv_grid(image_shape, n_blocks) == grid


@pytest.mark.parametrize(
    "image_shape, n_features, expected",
    [((8, 8), 64, (8, 8, 1)), ((4, 4, 3), 48, (4, 4, 3)), ([2, 5], 10, (2, 5, 1))],
)
def test_image_shape_gets_its_channels(image_shape, n_features, expected):
    assert image_shape_3d(image_shape, n_features) == expected


@pytest.mark.parametrize(
    "image_shape, match",
    [
        (None, "needs image_shape"),
        ((8, 7), "holds 56 values per image, but X has 64 features"),
        ((8, 8, 0), "positive ints"),
        ((8,), "2 or 3 positive ints"),
        ((8.0, 8), "positive ints"),
    ],
)
def test_image_shape_must_match_the_rows(image_shape, match):
    with pytest.raises(ValueError, match=match):
        image_shape_3d(image_shape, 64)


@pytest.mark.parametrize("image_shape", [(8, 8, 1), (28, 28, 1), (7, 5, 3), (9, 13, 2)])
@pytest.mark.parametrize("filters", [(8,), (4, 8, 8)])
def test_conv_autoencoder_keeps_flat_rows(image_shape, filters):
    n_features = int(np.prod(image_shape))
    encoder, decoder = build_conv_autoencoder(image_shape, 3, filters=filters, seed=0)
    rows = np.ones((2, n_features), "float32")
    assert encoder(rows).shape == (2, 3)
    assert decoder(np.ones((2, 3), "float32")).shape == (2, n_features)
    assert assemble(encoder, decoder)(rows).shape == (2, n_features)


@pytest.mark.parametrize("hidden_layer_sizes", [(), (16,), (16, 8)])
def test_dense_autoencoder_widths(hidden_layer_sizes):
    encoder, decoder = build_dense_autoencoder(
        64, 3, hidden_layer_sizes=hidden_layer_sizes, code_width=6, seed=0
    )
    assert encoder(ROWS[:4]).shape == (4, 6)  # code_width: a VAE's means and log-variances
    assert decoder(np.ones((4, 3), "float32")).shape == (4, 64)


@pytest.mark.parametrize(
    "build, shape",
    [(build_dense_autoencoder, 64), (build_conv_autoencoder, (8, 8, 1))],
    ids=["dense", "conv"],
)
def test_assemble_chains_the_halves_which_share_its_weights(build, shape):
    encoder, decoder = build(shape, 2, seed=0)
    autoencoder = assemble(encoder, decoder)
    np.testing.assert_allclose(autoencoder(ROWS[:5]), decoder(encoder(ROWS[:5])), rtol=1e-6)
    assert split_autoencoder(autoencoder) == (encoder, decoder)
    # Training the autoencoder trains its halves.
    autoencoder.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = keras.ops.convert_to_numpy(encoder(ROWS[:5]))
    autoencoder.fit(ROWS, ROWS, epochs=1, verbose=0)
    assert not np.allclose(encoder(ROWS[:5]), before)


def test_assemble_puts_a_layer_before_and_between():
    encoder, decoder = build_dense_autoencoder(64, 2, hidden_layer_sizes=(8,), seed=0)
    double = keras.layers.Rescaling(2.0)
    half = keras.layers.Rescaling(0.5)
    autoencoder = assemble(encoder, decoder, before=double, between=half)
    expected = decoder(0.5 * encoder(2.0 * ROWS[:5]))
    np.testing.assert_allclose(autoencoder(ROWS[:5]), expected, rtol=1e-5)


@pytest.mark.parametrize(
    "build, shape",
    [
        (build_dense_autoencoder, 64),
        (build_conv_autoencoder, (8, 8, 1)),
    ],
    ids=["dense", "conv"],
)
def test_same_seed_same_weights_other_seed_other_weights(build, shape):
    def weights(seed):
        encoder, decoder = build(shape, 2, dropout=0.1, seed=seed)
        return encoder.get_weights() + decoder.get_weights()

    for a, b in zip(weights(3), weights(3), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(weights(3), weights(4), strict=True))


def test_l1_adds_the_code_penalty_to_the_losses():
    encoder, decoder = build_dense_autoencoder(64, 2, hidden_layer_sizes=(8,), l1=0.5, seed=0)
    autoencoder = assemble(encoder, decoder)
    autoencoder(ROWS[:10])
    codes = keras.ops.convert_to_numpy(encoder(ROWS[:10]))
    (penalty,) = autoencoder.losses
    assert float(penalty) == pytest.approx(0.5 * np.abs(codes).sum() / 10, rel=1e-5)


def test_pca_residual_autoencoder_starts_as_pca():
    rng = np.random.RandomState(0)
    X = (rng.normal(size=(300, 3)) @ rng.normal(size=(3, 10))).astype("float32")
    X += 0.1 * rng.normal(size=X.shape).astype("float32")
    pca = PCA(2).fit(X)
    encoder, decoder = build_pca_residual_autoencoder(
        pca.components_, pca.mean_, hidden_layer_sizes=(8,), seed=0
    )
    codes = encoder(X)
    np.testing.assert_allclose(codes, pca.transform(X), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        assemble(encoder, decoder)(X),
        pca.inverse_transform(pca.transform(X)),
        rtol=1e-4,
        atol=1e-4,
    )


@pytest.mark.parametrize("train_linear", [True, False])
def test_pca_residual_autoencoder_can_freeze_its_linear_maps(train_linear):
    pca = PCA(2).fit(ROWS)
    encoder, decoder = build_pca_residual_autoencoder(
        pca.components_, pca.mean_, hidden_layer_sizes=(8,), train_linear=train_linear, seed=0
    )
    n_trainable = len(encoder.trainable_weights) + len(decoder.trainable_weights)
    n_all = len(encoder.weights) + len(decoder.weights)
    assert (n_trainable == n_all) is train_linear


def test_pca_residual_code_is_pca_width():
    pca = PCA(2).fit(ROWS)
    with pytest.raises(ValueError, match="latent_dim"):
        build_pca_residual_autoencoder(pca.components_, pca.mean_, code_width=4)


# ---------------------------------------------------------------------------
# Corruption


def test_corruption_is_identity_outside_training():
    layer = Corruption("gaussian", 0.5, seed=0)
    np.testing.assert_array_equal(layer(ROWS), ROWS)
    np.testing.assert_array_equal(layer(ROWS, training=False), ROWS)
    assert not np.array_equal(layer(ROWS, training=True), ROWS)


def test_corruption_switched_off_passes_training_inputs_through():
    layer = Corruption("gaussian", 0.5, seed=0)
    layer.build(ROWS.shape)
    layer.set_enabled(False)
    np.testing.assert_array_equal(layer(ROWS, training=True), ROWS)
    layer.set_enabled(True)
    assert not np.array_equal(layer(ROWS, training=True), ROWS)


def test_the_switch_works_in_a_function_traced_before_it_was_set():
    # The denoiser sets it per fit, without rebuilding or retracing its network.
    layer = Corruption("gaussian", 100.0, seed=0)
    layer.build(ROWS.shape)
    corrupt = tf.function(lambda x: layer(x, training=True))
    assert np.abs(np.asarray(corrupt(ROWS)) - ROWS).mean() > 10
    layer.set_enabled(False)
    np.testing.assert_array_equal(corrupt(ROWS), ROWS)
    assert corrupt.experimental_get_tracing_count() == 1


def test_gaussian_noise_level_and_clip():
    noisy = np.asarray(Corruption("gaussian", 0.5, seed=0)(ROWS, training=True))
    assert np.std(noisy - ROWS) == pytest.approx(0.5, rel=0.02)
    clipped = np.asarray(Corruption("gaussian", 0.5, clip=(0, 1), seed=0)(ROWS, training=True))
    assert clipped.min() == 0.0 and clipped.max() == 1.0


@pytest.mark.parametrize("level", [0.1, 0.5])
def test_masking_zeroes_that_fraction(level):
    ones = np.ones((500, 64), "float32")
    masked = np.asarray(Corruption("masking", level, seed=0)(ones, training=True))
    assert set(np.unique(masked)) == {0.0, 1.0}
    assert (masked == 0).mean() == pytest.approx(level, abs=0.01)


def test_salt_and_pepper_flips_that_fraction_to_the_bounds():
    grey = np.full((500, 64), 0.5, "float32")
    layer = Corruption("salt_and_pepper", 0.2, low=-1.0, high=2.0, seed=0)
    flipped = np.asarray(layer(grey, training=True))
    assert (flipped == -1.0).mean() == pytest.approx(0.1, abs=0.01)
    assert (flipped == 2.0).mean() == pytest.approx(0.1, abs=0.01)
    assert set(np.unique(flipped)) == {-1.0, 0.5, 2.0}


def test_corruption_in_unscaled_units():
    data = np.random.RandomState(1).uniform(size=(2000, 3)).astype("float32")
    scale, offset = np.array([10.0, 0.1, 1.0]), np.array([5.0, -1.0, 0.0])
    layer = Corruption("gaussian", 0.2, clip=(0, 1), scale=scale, offset=offset, seed=0)
    scaled_noisy = np.asarray(layer((data * scale + offset).astype("float32"), training=True))
    noisy = (scaled_noisy - offset) / scale
    # Noise of 0.2 in the data's own units, clipped to [0, 1] there.
    assert np.std(noisy - data, axis=0) == pytest.approx([0.18] * 3, abs=0.03)
    assert noisy.min() >= -1e-5 and noisy.max() <= 1 + 1e-5


def test_fresh_noise_each_call_and_reproducible_sequence():
    first, second = Corruption(seed=0), Corruption(seed=0)
    a1, a2 = first(ROWS, training=True), first(ROWS, training=True)
    assert not np.array_equal(a1, a2)
    np.testing.assert_array_equal(a1, second(ROWS, training=True))


def test_corruption_serializes():
    layer = Corruption("masking", 0.3, clip=(0, 1), scale=[2.0], offset=[1.0], seed=4)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert restored.get_config() == layer.get_config()


# ---------------------------------------------------------------------------
# Sampling and the KL term


def test_kl_divergence_is_zero_at_the_prior_and_positive_elsewhere():
    prior = np.zeros((3, 4), "float32")  # means 0, log-variances 0
    np.testing.assert_allclose(kl_divergence(prior), 0.0, atol=1e-7)
    moments = np.array([[1.0, 0.0, 0.0, 0.0]], "float32")  # one mean of 1
    np.testing.assert_allclose(kl_divergence(moments), [0.5], rtol=1e-6)


def test_sampling_draws_around_the_mean_in_training_only():
    moments = np.tile(np.array([[3.0, -1.0, np.log(0.25), 0.0]], "float32"), (4000, 1))
    layer = Sampling(kl_weight=2.0, seed=0)
    np.testing.assert_array_equal(layer(moments), moments[:, :2])
    drawn = np.asarray(layer(moments, training=True))
    np.testing.assert_allclose(drawn.mean(0), [3.0, -1.0], atol=0.05)
    np.testing.assert_allclose(drawn.std(0), [0.5, 1.0], rtol=0.05)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert restored.get_config() == layer.get_config()


def test_sampling_adds_the_weighted_kl_term_to_the_losses():
    encoder, decoder = build_dense_autoencoder(64, 2, hidden_layer_sizes=(8,), code_width=4, seed=0)
    model = assemble(encoder, decoder, between=Sampling(kl_weight=3.0, seed=0))
    model(ROWS[:20])
    (loss,) = model.losses
    expected = 3.0 * np.mean(kl_divergence(encoder(ROWS[:20])))
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)


# ---------------------------------------------------------------------------
# Losses that skip missing cells


def test_masked_losses_equal_keras_losses_without_missing_cells():
    y_true, y_pred = ROWS[:20], np.clip(ROWS[20:40] * 0.9 + 0.05, 0, 1)
    assert float(MaskedMeanSquaredError()(y_true, y_pred)) == pytest.approx(
        float(keras.losses.MeanSquaredError()(y_true, y_pred)), rel=1e-5
    )
    assert float(MaskedBinaryCrossentropy()(y_true, y_pred)) == pytest.approx(
        float(keras.losses.BinaryCrossentropy()(y_true, y_pred)), rel=1e-4
    )


def test_masked_mse_averages_over_observed_cells():
    y_true = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]], "float32")
    y_pred = np.array([[0.0, 100.0, 1.0], [5.0, 5.0, 5.0]], "float32")
    # Row 1: (1 + 4) / 2; row 2 has no observed cell and adds 0; mean over rows.
    assert float(MaskedMeanSquaredError()(y_true, y_pred)) == pytest.approx(2.5 / 2)
