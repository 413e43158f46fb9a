"""DenoisingAutoencoder: corruption in training only, pairs, scoring, images."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skae import DenoisingAutoencoder

FAST = dict(hidden_layer_sizes=(16,), latent_dim=2, epochs=3, batch_size=32)


@pytest.fixture(scope="module")
def images():
    """Digits in [0, 1], clean and with Gaussian noise 0.5 clipped to [0, 1]."""
    X = load_digits().data / 16
    noisy = np.clip(X + 0.5 * np.random.RandomState(1).normal(size=X.shape), 0, 1)
    return X, noisy


@pytest.mark.parametrize(
    "params",
    [{}, {"architecture": "conv", "image_shape": (8, 8)}],
    ids=["dense", "conv"],
)
def test_denoises_digits(images, params):
    X, noisy = images
    dae = DenoisingAutoencoder(
        noise_level=0.5, clip=(0, 1), epochs=30, random_state=0, **params
    ).fit(X[:1000])
    noisy_mse = np.mean((noisy[1000:] - X[1000:]) ** 2)
    denoised_mse = np.mean((dae.predict(noisy[1000:]) - X[1000:]) ** 2)
    assert denoised_mse <= 0.5 * noisy_mse
    assert dae.score(noisy[1000:], X[1000:]) == pytest.approx(-denoised_mse)


def test_fit_on_given_pairs(images):
    X, noisy = images
    dae = DenoisingAutoencoder(epochs=30, random_state=0).fit(noisy[:1000], X[:1000])
    assert "corruption" not in [layer.name for layer in dae.model_.layers]
    noisy_mse = np.mean((noisy[1000:] - X[1000:]) ** 2)
    assert -dae.score(noisy[1000:], X[1000:]) <= 0.5 * noisy_mse


def test_corruption_only_in_training(images):
    X, _ = images
    dae = DenoisingAutoencoder(noise_level=0.5, random_state=0, **FAST).fit(X)
    assert dae.model_.layers[1].name == "corruption"
    np.testing.assert_array_equal(dae.predict(X[:50]), dae.predict(X[:50]))
    np.testing.assert_array_equal(dae.transform(X[:50]), dae.transform(X[:50]))
    # transform never sees the corruption: it equals the plain encoder.
    np.testing.assert_allclose(
        dae.transform(X[:50]), np.asarray(dae.encoder_(dae._scale(X[:50]))), rtol=1e-5
    )


@pytest.mark.parametrize(
    "noise, level, check",
    [
        ("masking", 0.3, lambda clean, noisy: np.isclose((noisy == 0)[clean > 0].mean(), 0.3, atol=0.02)),
        ("salt_and_pepper", 0.2, lambda clean, noisy: np.isclose((noisy != clean).mean(), 0.2 * (1 - (clean == 0).mean() / 2 - (clean == 1).mean() / 2), atol=0.02)),
        ("gaussian", 0.5, lambda clean, noisy: noisy.min() == 0 and noisy.max() == 1),
    ],
)
def test_each_noise_corrupts_what_it_says(images, noise, level, check):
    X, _ = images
    dae = DenoisingAutoencoder(noise=noise, noise_level=level, clip=(0, 1), **FAST).fit(X)
    noisy = dae.corrupt(X, random_state=0)
    assert noisy.shape == X.shape
    assert check(X, noisy)
    np.testing.assert_array_equal(noisy, dae.corrupt(X, random_state=0))


def test_noise_is_seeded_by_random_state(images):
    X, _ = images
    params = dict(noise="masking", noise_level=0.3, random_state=0, **FAST)
    first = DenoisingAutoencoder(**params).fit(X).predict(X)
    second = DenoisingAutoencoder(**params).fit(X).predict(X)
    np.testing.assert_array_equal(first, second)


def test_labels_from_a_pipeline_are_ignored(images):
    X, _ = images
    y = load_digits().target
    pipe = make_pipeline(DenoisingAutoencoder(random_state=0, **FAST), LogisticRegression())
    pipe.fit(X, y)
    assert pipe.named_steps["denoisingautoencoder"].model_.layers[1].name == "corruption"
    assert pipe.predict(X[:5]).shape == (5,)


def test_wrong_target_shape_is_explained(images):
    X, _ = images
    with pytest.raises(ValueError, match="y must be the clean version of X"):
        DenoisingAutoencoder(**FAST).fit(X, X[:, :10])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"noise": "blur"}, "noise"),
        ({"noise": "masking", "noise_level": 1.5}, "at most 1"),
        ({"clip": (1, 0)}, "clip"),
        ({"noise_level": -0.1}, "noise_level"),
    ],
)
def test_invalid_noise_parameters(images, params, match):
    X, _ = images
    with pytest.raises(ValueError, match=match):
        DenoisingAutoencoder(**{**FAST, **params}).fit(X)


def test_dataframe_keeps_columns(images):
    X, noisy = images
    columns = [f"px{i}" for i in range(64)]
    frame = pd.DataFrame(noisy[:100], columns=columns)
    dae = DenoisingAutoencoder(random_state=0, **FAST).fit(pd.DataFrame(X, columns=columns))
    out = dae.predict(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == columns and out.index.equals(frame.index)
    assert isinstance(dae.corrupt(frame), pd.DataFrame)
    assert np.isfinite(dae.score(frame))


def test_score_without_pairs_is_deterministic(images):
    X, _ = images
    dae = DenoisingAutoencoder(random_state=0, **FAST).fit(X)
    assert dae.score(X) == dae.score(X) < 0


def test_pickle_round_trip(images):
    X, noisy = images
    dae = DenoisingAutoencoder(
        architecture="conv", image_shape=(8, 8), random_state=0, **FAST
    ).fit(X)
    restored = pickle.loads(pickle.dumps(dae))
    np.testing.assert_array_equal(restored.predict(noisy), dae.predict(noisy))
