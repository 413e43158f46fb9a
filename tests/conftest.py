"""Shared fixtures: the one estimator factory, the data generators, the seed sweep.

- ``ESTIMATORS``: every public estimator class (imported by the test modules
  that run a test over all of them).
- ``make_estimator(cls=AutoencoderTransformer, **params)``: an estimator with
  small, fast, seeded defaults (``FAST``); every test builds its estimators
  through it and says only what it needs to change.
- Data: ``digits``, ``digit_images``, ``tabular`` and the generators
  ``make_blobs_with_outliers``, ``make_off_curve`` and ``make_curve``.
- ``global_random_seed``: the seed of tests whose thresholds are statistical.
  ``SKAE_TESTS_GLOBAL_RANDOM_SEED`` sets it: ``"0"`` (the default), another
  int, a range ``"0-4"``, or ``"all"`` (0 to 4), which runs each such test once
  per seed, as scikit-learn's ``global_random_seed`` does. A threshold must
  hold for every seed of ``"all"``, not just for the default one.
"""

import os
import sys

# Quieter TensorFlow start-up in test logs; must be set before it is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    DenoisingAutoencoder,
    VariationalAutoencoder,
)

# Child processes (``python -m skae`` in the command line's tests) run on this
# session's backend: left to choose, the command line picks the quickest
# installed one (skae/cli/_backend.py), JAX where it is installed.
# (Keras itself is imported by the estimators, after TensorFlow's start-up filter.)
os.environ.setdefault("KERAS_BACKEND", sys.modules["keras"].backend.backend())

# Every public estimator, in one place: the test modules that run a test
# over all of them import this list (``from tests.conftest import ESTIMATORS``).
ESTIMATORS = [
    AutoencoderTransformer,
    DenoisingAutoencoder,
    AutoencoderOutlierDetector,
    VariationalAutoencoder,
]

# Small and quick, yet enough to learn something on 400 digits. Seeded, so
# that a test that does not care about randomness gets the same numbers on
# every run; tests about randomness pass their own random_state.
FAST = {
    "hidden_layer_sizes": (16,),
    "latent_dim": 2,
    "epochs": 3,
    "batch_size": 32,
    "random_state": 0,
}

_SEED_VARIABLE = "SKAE_TESTS_GLOBAL_RANDOM_SEED"
_ALL_SEEDS = range(5)


def _global_random_seeds():
    """The seeds that ``SKAE_TESTS_GLOBAL_RANDOM_SEED`` asks for."""
    value = os.environ.get(_SEED_VARIABLE, "0").strip()
    try:
        if value == "all":
            return list(_ALL_SEEDS)
        if "-" in value:
            first, last = (int(v) for v in value.split("-"))
            if first > last:
                raise ValueError
            return list(range(first, last + 1))
        return [int(value)]
    except ValueError:
        raise pytest.UsageError(
            f"{_SEED_VARIABLE} must be an int, a range such as '0-4', or 'all'; got {value!r}."
        ) from None


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: runs for more than ~20 s; the reason is written next to it"
    )


@pytest.fixture(params=_global_random_seeds(), ids=lambda seed: f"seed{seed}")
def global_random_seed(request):
    """Seed of a test whose threshold is statistical (see the module docstring)."""
    return request.param


# ---------------------------------------------------------------------------
# The estimator factory


@pytest.fixture(scope="session")
def make_estimator():
    """``make_estimator(cls=AutoencoderTransformer, **params)``: ``FAST``, then ``params``."""

    def make(cls=None, **params):
        if cls is None:
            from skae import AutoencoderTransformer as cls
        return cls(**{**FAST, **params})

    return make


# ---------------------------------------------------------------------------
# Data


@pytest.fixture(scope="session")
def digits():
    """400 digits rows, 64 pixel columns in 0..16, and their labels."""
    X, y = load_digits(return_X_y=True)
    return X[:400], y[:400]


@pytest.fixture(scope="session")
def digit_images():
    """All 1797 digits in [0, 1], clean and with Gaussian noise 0.5 clipped to [0, 1]."""
    X = load_digits().data / 16
    noisy = np.clip(X + 0.5 * np.random.RandomState(1).normal(size=X.shape), 0, 1)
    return X, noisy


@pytest.fixture(scope="session")
def tabular():
    """200 rows of correlated columns on wildly different scales."""
    rng = np.random.RandomState(0)
    latent = rng.normal(size=(200, 2))
    X = latent @ rng.normal(size=(2, 6)) + 0.05 * rng.normal(size=(200, 6))
    return X * np.array([1e-3, 1.0, 10.0, 1e2, 1e3, 1e4])


def blobs_with_outliers(seed, n_inliers=400, n_outliers=12):
    """Three Gaussian clusters in 5-D, and uniform noise over their box far from all of them.

    Returns ``X`` and ``y`` (1 for a planted outlier).
    """
    rng = np.random.RandomState(seed)
    centres = rng.uniform(-6, 6, size=(3, 5))
    inliers = centres[rng.randint(3, size=n_inliers)] + 0.5 * rng.normal(size=(n_inliers, 5))
    low, high = inliers.min(0), inliers.max(0)
    outliers = rng.uniform(low, high, size=(n_outliers, 5))
    # Only noise far from every cluster, so that the labels are right.
    far = np.min(np.linalg.norm(outliers[:, None] - centres[None], axis=2), axis=1) > 3
    outliers = outliers[far]
    X = np.vstack([inliers, outliers])
    return X, np.r_[np.zeros(n_inliers), np.ones(len(outliers))]


def off_curve(seed, n_inliers=400, n_outliers=10, noise=0.01):
    """A parabola bent through 6-D, and points inside its bowl whose columns all look normal.

    Returns ``X`` (rows shuffled) and ``y`` (1 for a planted outlier).
    """
    rng = np.random.RandomState(seed)
    t = rng.uniform(-1, 1, n_inliers)
    inliers = np.c_[t, t**2] + noise * rng.normal(size=(n_inliers, 2))
    s = rng.uniform(-0.5, 0.5, n_outliers)
    outliers = np.c_[s, 0.6 + 0.2 * rng.uniform(size=n_outliers)]
    flat = np.vstack([inliers, outliers])
    extra = noise * rng.normal(size=(len(flat), 4))
    rotation, _ = np.linalg.qr(np.random.RandomState(42).normal(size=(6, 6)))
    X = np.hstack([flat, extra]) @ rotation
    y = np.r_[np.zeros(n_inliers), np.ones(n_outliers)]
    order = rng.permutation(len(X))
    return X[order], y[order]


def curve(seed, n_samples):
    """Points on one fixed 1-D curve bent through 10 dimensions: no line fits it."""
    t = np.random.RandomState(seed).uniform(-1, 1, size=(n_samples, 1))
    points = np.hstack([t, t**2, np.sin(3 * t), np.cos(2 * t), t**3])
    rotation, _ = np.linalg.qr(np.random.RandomState(42).normal(size=(10, 10)))
    return np.hstack([points, np.zeros((n_samples, 5))]) @ rotation


@pytest.fixture(scope="session")
def make_blobs_with_outliers():
    """``make_blobs_with_outliers(seed, n_inliers=400, n_outliers=12) -> X, y``."""
    return blobs_with_outliers


@pytest.fixture(scope="session")
def make_off_curve():
    """``make_off_curve(seed, n_inliers=400, n_outliers=10, noise=0.01) -> X, y``."""
    return off_curve


@pytest.fixture(scope="session")
def make_curve():
    """``make_curve(seed, n_samples) -> X``: a 1-D curve in 10-D."""
    return curve


@pytest.fixture(scope="session")
def make_keras_autoencoder():
    """``make_keras_autoencoder(n_features, seed, **options)``: a compiled dense autoencoder.

    Built by skae's own builder and ``assemble``, as the estimators build it;
    ``options`` are ``dropout``, ``l1``, ``metrics`` and ``learning_rate``
    (Adam's, 1e-2 by default).
    """

    def make(n_features, seed, dropout=0.0, l1=0.0, metrics=None, learning_rate=1e-2):
        import keras

        from skae._nn import assemble, build_dense_autoencoder

        encoder, decoder = build_dense_autoencoder(
            n_features, 2, hidden_layer_sizes=(16,), dropout=dropout, l1=l1, seed=seed
        )
        model = assemble(encoder, decoder)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse", metrics=metrics)
        return model

    return make
