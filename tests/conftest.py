import os

# Quieter TensorFlow start-up in test logs; must be set before it is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

SEED = 0


@pytest.fixture
def seed():
    return SEED


@pytest.fixture(scope="session")
def digits():
    """400 digits rows, 64 pixel columns in 0..16, and their labels."""
    X, y = load_digits(return_X_y=True)
    return X[:400], y[:400]


@pytest.fixture(scope="session")
def tabular():
    """200 rows of correlated columns on wildly different scales."""
    rng = np.random.RandomState(SEED)
    latent = rng.normal(size=(200, 2))
    X = latent @ rng.normal(size=(2, 6)) + 0.05 * rng.normal(size=(200, 6))
    return X * np.array([1e-3, 1.0, 10.0, 1e2, 1e3, 1e4])
