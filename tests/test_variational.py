"""VariationalAutoencoder: KL in the loss, means as codes, sampling, the ELBO."""

import keras
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from skae import VariationalAutoencoder
from skae._nn import kl_divergence

VAE = dict(hidden_layer_sizes=(32,), epochs=10)
CONV = dict(architecture="conv", image_shape=(8, 8), filters=(8, 16))


@pytest.fixture(scope="module")
def digits_X(digits):
    return digits[0]


@pytest.fixture(scope="module", params=["dense", "conv"])
def fitted(request, make_estimator, digits_X):
    extra = CONV if request.param == "conv" else {}
    return make_estimator(VariationalAutoencoder, **VAE, **extra).fit(digits_X)


def _moments(vae, X):
    """The encoder's means and log-variances of rows of X."""
    codes = vae.encoder_(vae.scaler_.transform(X).astype("float32"))
    return keras.ops.convert_to_numpy(codes).astype(float)


def test_the_kl_term_is_in_the_loss(fitted, digits_X):
    kl = keras.ops.convert_to_numpy(kl_divergence(_moments(fitted, digits_X)))
    assert np.all(np.isfinite(kl)) and kl.mean() > 0
    fitted.model_(fitted.scaler_.transform(digits_X[:50]).astype("float32"))
    (penalty,) = fitted.model_.losses
    penalty = keras.ops.convert_to_numpy(penalty)
    # beta * mean KL, per column and times 2 for the Gaussian's 1/2: the loss is
    # -ELBO / n_features.
    expected = 2.0 * fitted.beta / digits_X.shape[1] * np.mean(kl[:50])
    assert float(penalty) == pytest.approx(expected, rel=1e-4)


def test_beta_weighs_the_kl_term(make_estimator, digits_X, global_random_seed):
    def mean_kl(beta):
        vae = make_estimator(
            VariationalAutoencoder, **VAE, beta=beta, random_state=global_random_seed
        ).fit(digits_X)
        return float(np.mean(keras.ops.convert_to_numpy(kl_divergence(_moments(vae, digits_X)))))

    assert mean_kl(5.0) < 0.5 * mean_kl(0.1)


def test_transform_returns_the_deterministic_means(fitted, digits_X):
    codes = fitted.transform(digits_X)
    assert codes.shape == (len(digits_X), 2)
    np.testing.assert_array_equal(codes, fitted.transform(digits_X))
    np.testing.assert_allclose(codes, _moments(fitted, digits_X)[:, :2], rtol=1e-5, atol=1e-6)
    assert fitted.inverse_transform(codes).shape == digits_X.shape
    np.testing.assert_allclose(
        fitted.predict(digits_X), fitted.inverse_transform(codes), rtol=1e-4, atol=1e-4
    )


def test_sample_generates_rows_in_the_inputs_units(make_estimator, digits_X, global_random_seed):
    vae = make_estimator(VariationalAutoencoder, **VAE, random_state=global_random_seed)
    samples = vae.fit(digits_X).sample(500, random_state=0)
    assert samples.shape == (500, 64)
    np.testing.assert_array_equal(samples, vae.sample(500, random_state=0))
    assert not np.array_equal(samples, vae.sample(500, random_state=1))
    # Pixel units (0..16), not the scaled units the network works in: the
    # samples' column means follow the data's.
    assert np.corrcoef(samples.mean(0), digits_X.mean(0))[0, 1] > 0.8
    assert abs(samples.mean() - digits_X.mean()) < 1.5


def test_score_samples_is_the_elbo_of_the_scaled_rows(fitted, digits_X):
    rows = digits_X[:30]
    scaled = fitted.scaler_.transform(rows)
    moments = _moments(fitted, rows)
    decoded = fitted.decoder_(moments[:, :2].astype("float32"))
    reconstruction = keras.ops.convert_to_numpy(decoded).astype(float)
    nll = 0.5 * np.sum((scaled - reconstruction) ** 2, axis=1) + 32 * np.log(2 * np.pi)
    expected = -(nll + keras.ops.convert_to_numpy(kl_divergence(moments)))
    np.testing.assert_allclose(fitted.score_samples(rows), expected, rtol=1e-4)
    assert fitted.score(rows) == pytest.approx(expected.mean(), rel=1e-4)


def test_score_samples_flags_unusual_rows(make_estimator, digits_X, global_random_seed):
    vae = make_estimator(VariationalAutoencoder, **VAE, random_state=global_random_seed)
    vae.fit(digits_X[:300])
    noise = np.random.RandomState(global_random_seed).uniform(0, 16, size=(20, 64))
    elbo = vae.score_samples(np.vstack([digits_X[300:], noise]))
    assert elbo.dtype == np.float64 and np.all(np.isfinite(elbo))
    labels = np.r_[np.zeros(len(digits_X) - 300), np.ones(20)]
    assert roc_auc_score(labels, -elbo) > 0.9


def test_bernoulli_likelihood(make_estimator, digits_X):
    vae = make_estimator(
        VariationalAutoencoder,
        **VAE,
        scaling="minmax",
        loss="binary_crossentropy",
        output_activation="sigmoid",
    ).fit(digits_X)
    assert np.all(vae.score_samples(digits_X) < 0)


@pytest.mark.parametrize(
    "params, match",
    [({"loss": "mae"}, "loss"), ({"beta": -1}, "beta"), ({"init": "pca"}, "init")],
)
def test_invalid_parameters(make_estimator, digits_X, params, match):
    with pytest.raises(ValueError, match=match):
        make_estimator(VariationalAutoencoder, **params).fit(digits_X)


def test_feature_names_out(fitted):
    assert list(fitted.get_feature_names_out()) == [
        "variationalautoencoder0",
        "variationalautoencoder1",
    ]
