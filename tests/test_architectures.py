"""Keras builders and the Corruption layer."""

import keras
import numpy as np
import pytest

from skae._architectures import (
    Corruption,
    build_conv_autoencoder,
    build_dense_autoencoder,
    conv_grid,
    split_autoencoder,
)

ROWS = np.random.RandomState(0).uniform(size=(200, 64)).astype("float32")


@pytest.mark.parametrize(
    "image_shape, n_blocks, grid",
    [((8, 8, 1), 2, (2, 2)), ((28, 28, 1), 2, (7, 7)), ((28, 28, 1), 3, (4, 4)),
     ((7, 5, 3), 2, (2, 2))],
)
def test_conv_grid_rounds_up(image_shape, n_blocks, grid):
    assert conv_grid(image_shape, n_blocks) == grid


@pytest.mark.parametrize("image_shape", [(8, 8, 1), (28, 28, 1), (7, 5, 3), (9, 13, 2)])
@pytest.mark.parametrize("filters", [(8,), (8, 16), (4, 8, 8)])
def test_conv_autoencoder_keeps_flat_rows(image_shape, filters):
    n_features = int(np.prod(image_shape))
    autoencoder, encoder, decoder = build_conv_autoencoder(
        image_shape, 3, filters=filters, seed=0
    )
    rows = np.ones((2, n_features), "float32")
    assert autoencoder(rows).shape == (2, n_features)
    assert encoder(rows).shape == (2, 3)
    assert decoder(np.ones((2, 3), "float32")).shape == (2, n_features)


@pytest.mark.parametrize("build, shape", [
    (build_dense_autoencoder, 64), (build_conv_autoencoder, (8, 8, 1)),
])
def test_encoder_and_decoder_share_the_autoencoders_layers(build, shape):
    autoencoder, encoder, decoder = build(shape, 2, seed=0)
    assert split_autoencoder(autoencoder) == (encoder, decoder)
    chained = decoder(encoder(ROWS[:5]))
    np.testing.assert_allclose(autoencoder(ROWS[:5]), chained, rtol=1e-6)


def test_same_seed_same_weights():
    first = build_conv_autoencoder((8, 8, 1), 2, dropout=0.1, seed=3)[0].get_weights()
    second = build_conv_autoencoder((8, 8, 1), 2, dropout=0.1, seed=3)[0].get_weights()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------
# Corruption


def test_corruption_is_identity_outside_training():
    layer = Corruption("gaussian", 0.5, seed=0)
    np.testing.assert_array_equal(layer(ROWS), ROWS)
    np.testing.assert_array_equal(layer(ROWS, training=False), ROWS)
    assert not np.array_equal(layer(ROWS, training=True), ROWS)


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
