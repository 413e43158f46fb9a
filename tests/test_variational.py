"""VariationalAutoencoder: KL in the loss, means as codes, sampling, ELBO."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score

from skae import VariationalAutoencoder
from skae._architectures import kl_divergence

FAST = dict(hidden_layer_sizes=(32,), latent_dim=2, epochs=10, batch_size=32)


@pytest.fixture(scope="module")
def digits_X():
    return load_digits().data[:500]


@pytest.fixture(scope="module", params=["dense", "conv"])
def fitted(request, digits_X):
    params = {"architecture": "conv", "image_shape": (8, 8), "filters": (8, 16)}
    extra = params if request.param == "conv" else {}
    return VariationalAutoencoder(random_state=0, **{**FAST, **extra}).fit(digits_X)


def test_kl_term_is_in_the_loss_and_positive(fitted, digits_X):
    moments = fitted.encoder_(fitted._scale(digits_X))
    kl = np.asarray(kl_divergence(moments))
    assert np.all(np.isfinite(kl)) and kl.mean() > 0
    # The model's own losses hold the weighted KL term of the last call.
    fitted.model_(fitted._scale(digits_X[:50]))
    assert len(fitted.model_.losses) == 1 and float(fitted.model_.losses[0]) > 0
    assert np.isfinite(fitted.history_["loss"][-1])


def test_beta_weighs_the_kl_term(digits_X):
    def mean_kl(beta):
        vae = VariationalAutoencoder(beta=beta, random_state=0, **FAST).fit(digits_X)
        return float(np.mean(kl_divergence(vae.encoder_(vae._scale(digits_X)))))

    assert mean_kl(5.0) < mean_kl(0.1)


def test_transform_returns_deterministic_means(fitted, digits_X):
    codes = fitted.transform(digits_X)
    assert codes.shape == (len(digits_X), 2)
    np.testing.assert_array_equal(codes, fitted.transform(digits_X))
    moments = np.asarray(fitted.encoder_(fitted._scale(digits_X)))
    np.testing.assert_allclose(codes, moments[:, :2], rtol=1e-5, atol=1e-6)
    assert fitted.inverse_transform(codes).shape == digits_X.shape
    np.testing.assert_allclose(fitted.predict(digits_X), fitted.inverse_transform(codes), rtol=1e-4, atol=1e-4)


def test_sample_generates_rows_in_input_scale(fitted, digits_X):
    samples = fitted.sample(200, random_state=0)
    assert samples.shape == (200, 64)
    np.testing.assert_array_equal(samples, fitted.sample(200, random_state=0))
    assert not np.array_equal(samples, fitted.sample(200, random_state=1))
    # Pixel units (0..16), not the scaled units the network works in.
    assert 4 < samples.mean() < 6 and samples.max() > 8
    with pytest.raises(ValueError, match="n_samples"):
        fitted.sample(0)


def test_score_samples_is_an_elbo_that_flags_unusual_rows(fitted, digits_X):
    rng = np.random.RandomState(0)
    noise = rng.uniform(0, 16, size=(20, 64))
    elbo = fitted.score_samples(np.vstack([digits_X[:100], noise]))
    assert elbo.dtype == np.float64 and np.all(np.isfinite(elbo))
    labels = np.r_[np.zeros(100), np.ones(20)]
    assert roc_auc_score(labels, -elbo) > 0.9
    assert fitted.score(digits_X[:100]) == pytest.approx(elbo[:100].mean())


def test_bernoulli_likelihood(digits_X):
    vae = VariationalAutoencoder(
        scaling="minmax", loss="binary_crossentropy", output_activation="sigmoid",
        random_state=0, **FAST,
    ).fit(digits_X)
    assert np.all(vae.score_samples(digits_X) < 0)


def test_invalid_loss_and_beta(digits_X):
    with pytest.raises(ValueError, match="loss"):
        VariationalAutoencoder(loss="mae", **FAST).fit(digits_X)
    with pytest.raises(ValueError, match="beta"):
        VariationalAutoencoder(beta=-1, **FAST).fit(digits_X)


def test_reproducible_and_picklable(fitted, digits_X):
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(digits_X), fitted.transform(digits_X))
    np.testing.assert_array_equal(restored.score_samples(digits_X), fitted.score_samples(digits_X))
    params = fitted.get_params()
    again = VariationalAutoencoder(**params).fit(digits_X)
    np.testing.assert_array_equal(again.transform(digits_X), fitted.transform(digits_X))


def test_feature_names_out(fitted):
    assert list(fitted.get_feature_names_out()) == [
        "variationalautoencoder0", "variationalautoencoder1",
    ]
