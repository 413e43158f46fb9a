"""AutoencoderTransformer: the PCA contract, pipelines, pandas and bad input."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderTransformer

FAST = dict(hidden_layer_sizes=(16,), latent_dim=2, epochs=3, batch_size=32)


def make_ae(**params):
    return AutoencoderTransformer(**{**FAST, **params})


def curve_in_10d(n_samples, seed):
    """Points on one fixed 1-D curve bent through 10 dimensions: no line fits it."""
    t = np.random.RandomState(seed).uniform(-1, 1, size=(n_samples, 1))
    curve = np.hstack([t, t**2, np.sin(3 * t), np.cos(2 * t), t**3])
    rotation, _ = np.linalg.qr(np.random.RandomState(42).normal(size=(10, 10)))
    return np.hstack([curve, np.zeros((n_samples, 5))]) @ rotation


# ---------------------------------------------------------------------------
# The PCA contract


def test_transform_and_inverse_transform_shapes(digits, seed):
    X, _ = digits
    ae = make_ae(random_state=seed)
    codes = ae.fit_transform(X)
    assert codes.shape == (len(X), 2)
    assert ae.inverse_transform(codes).shape == X.shape
    np.testing.assert_allclose(codes, ae.transform(X), rtol=1e-6)
    assert ae.n_features_in_ == 64


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_output_dtype_follows_input(digits, seed, dtype):
    X, _ = digits
    ae = make_ae(random_state=seed).fit(X.astype(dtype))
    expected = np.float32 if dtype == np.float32 else np.float64
    codes = ae.transform(X.astype(dtype))
    assert codes.dtype == expected
    assert ae.inverse_transform(codes).dtype == expected
    assert ae.reconstruction_error(X.astype(dtype)).dtype == np.float64


def test_reconstruction_error_and_score_agree(digits, seed):
    X, _ = digits
    ae = make_ae(random_state=seed).fit(X)
    cells = ae.reconstruction_error(X, per_feature=True)
    rows = ae.reconstruction_error(X)
    assert cells.shape == X.shape and rows.shape == (len(X),)
    np.testing.assert_allclose(rows, cells.mean(axis=1))
    np.testing.assert_allclose(cells, (X - ae.predict(X)) ** 2, rtol=1e-5)
    assert ae.score(X) == pytest.approx(-rows.mean())
    weights = np.arange(len(X), dtype=float)
    assert ae.score(X, sample_weight=weights) == pytest.approx(
        -np.average(rows, weights=weights)
    )


def test_feature_names_out(digits, seed):
    X, _ = digits
    ae = make_ae(latent_dim=3, random_state=seed).fit(X)
    np.testing.assert_array_equal(
        ae.get_feature_names_out(),
        ["autoencodertransformer0", "autoencodertransformer1", "autoencodertransformer2"],
    )


def test_nonlinear_manifold_beats_pca(seed):
    X_train, X_test = curve_in_10d(600, seed), curve_in_10d(300, seed + 1)
    pca = PCA(n_components=1).fit(X_train)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    ae = AutoencoderTransformer(
        latent_dim=1, hidden_layer_sizes=(32, 16), epochs=100, batch_size=32,
        random_state=seed,
    ).fit(X_train)
    ae_error = -ae.score(X_test)
    assert ae_error < 0.1 * pca_error


# ---------------------------------------------------------------------------
# Pipelines and model selection


def test_grid_search_over_latent_dim_like_pca(digits, seed):
    X, y = digits
    grid = {"latent_dim": [2, 8]}
    searches = {}
    for name, reducer, param in [
        ("ae", make_ae(epochs=40, random_state=seed), "autoencodertransformer__latent_dim"),
        ("pca", PCA(), "pca__n_components"),
    ]:
        pipe = make_pipeline(StandardScaler(), reducer, LogisticRegression(max_iter=500))
        search = GridSearchCV(pipe, {param: grid["latent_dim"]}, cv=2, n_jobs=2)
        searches[name] = search.fit(X, y)
    for name, search in searches.items():
        scores = search.cv_results_["mean_test_score"]
        assert scores.shape == (2,)
        assert scores[1] > scores[0]  # 8 dimensions separate ten digits better than 2
        assert search.best_score_ > 0.5
    assert searches["ae"].best_params_ == {"autoencodertransformer__latent_dim": 8}


def test_cross_val_score_uses_reconstruction_score(digits, seed):
    X, _ = digits
    scores = cross_val_score(make_ae(random_state=seed), X, cv=3)
    assert scores.shape == (3,)
    assert np.all(scores < 0)


def test_column_transformer_with_pandas_output(seed):
    rng = np.random.RandomState(seed)
    frame = pd.DataFrame(rng.normal(size=(120, 4)), columns=list("abcd"))
    frame["city"] = rng.choice(["x", "y"], size=120)
    columns = ColumnTransformer(
        [("ae", make_ae(random_state=seed), ["a", "b", "c", "d"])],
        remainder="passthrough",
    ).set_output(transform="pandas")
    out = columns.fit_transform(frame)
    assert list(out.columns) == [
        "ae__autoencodertransformer0", "ae__autoencodertransformer1", "remainder__city",
    ]
    assert out.index.equals(frame.index)


# ---------------------------------------------------------------------------
# pandas


def test_pandas_in_and_out(digits, seed):
    X, _ = digits
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(64)], index=X[:, 10] * 1000 + np.arange(len(X)))
    ae = make_ae(random_state=seed).fit(frame)
    np.testing.assert_array_equal(ae.feature_names_in_, frame.columns)
    codes = ae.set_output(transform="pandas").transform(frame)
    assert isinstance(codes, pd.DataFrame)
    assert list(codes.columns) == ["autoencodertransformer0", "autoencodertransformer1"]
    assert codes.index.equals(frame.index)
    errors = ae.reconstruction_error(frame, per_feature=True)
    assert isinstance(errors, pd.DataFrame)
    assert errors.columns.equals(frame.columns) and errors.index.equals(frame.index)
    with pytest.warns(UserWarning, match="feature names"):
        ae.transform(X)


# ---------------------------------------------------------------------------
# Bad input


@pytest.fixture(scope="module")
def fitted(digits):
    X, _ = digits
    return make_ae(random_state=0).fit(X)


def _with(X, row, col, value):
    bad = X.astype(object) if isinstance(value, str) else X.copy()
    bad[row, col] = value
    return bad


@pytest.mark.parametrize(
    "make_bad, match",
    [
        (lambda X: _with(X, 3, 5, np.nan), "Input X contains NaN"),
        (lambda X: _with(X, 3, 5, np.inf), "Input X contains infinity"),
        (lambda X: _with(X, 3, 5, "seven"), "needs numeric input.*OneHotEncoder"),
        (lambda X: X[:, :10], "X has 10 features, but AutoencoderTransformer is expecting 64"),
        (lambda X: X[:0], "0 sample"),
    ],
    ids=["nan", "inf", "string", "width", "empty"],
)
@pytest.mark.parametrize("method", ["transform", "predict", "score", "reconstruction_error"])
def test_bad_input_at_transform_time(fitted, digits, make_bad, match, method):
    X, _ = digits
    with pytest.raises(ValueError, match=match):
        getattr(fitted, method)(make_bad(X))


@pytest.mark.parametrize(
    "make_bad, match",
    [
        (lambda X: _with(X, 3, 5, np.nan), "Input X contains NaN"),
        (lambda X: _with(X, 3, 5, np.inf), "Input X contains infinity"),
        (lambda X: _with(X, 3, 5, "seven"), "needs numeric input"),
        (lambda X: X[:0], "0 sample"),
    ],
    ids=["nan", "inf", "string", "empty"],
)
def test_bad_input_at_fit_time(digits, make_bad, match):
    X, _ = digits
    with pytest.raises(ValueError, match=match):
        make_ae().fit(make_bad(X))


def test_string_column_in_dataframe(digits):
    X, _ = digits
    frame = pd.DataFrame(X[:, :3], columns=["a", "b", "c"])
    frame["colour"] = "red"
    with pytest.raises(ValueError, match="needs numeric input"):
        make_ae().fit(frame)


def test_inverse_transform_checks_code_width(fitted):
    with pytest.raises(ValueError, match="latent_dim=2"):
        fitted.inverse_transform(np.zeros((3, 5)))


def test_methods_before_fit_raise_not_fitted(digits):
    X, _ = digits
    for method in ("transform", "predict", "reconstruction_error", "score"):
        with pytest.raises(NotFittedError):
            getattr(make_ae(), method)(X)
    with pytest.raises(NotFittedError):
        make_ae().inverse_transform(np.zeros((2, 2)))


# ---------------------------------------------------------------------------
# Convolutional architecture


def test_conv_architecture_on_flat_images(digits, seed):
    X, _ = digits
    ae = make_ae(architecture="conv", image_shape=(8, 8, 1), filters=(8, 16), random_state=seed)
    codes = ae.fit_transform(X)
    assert codes.shape == (len(X), 2)
    assert ae.inverse_transform(codes).shape == X.shape
    assert ae.encoder_.get_layer("to_image").output.shape == (None, 8, 8, 1)


@pytest.mark.parametrize(
    "image_shape, match",
    [
        (None, "needs image_shape"),
        ((8, 7), "holds 56 values per image, but X has 64 features"),
        ((8, 8, 0), "positive ints"),
        ((8,), "2 or 3 positive ints"),
    ],
)
def test_conv_needs_a_matching_image_shape(digits, image_shape, match):
    X, _ = digits
    with pytest.raises(ValueError, match=match):
        make_ae(architecture="conv", image_shape=image_shape).fit(X)


def test_conv_filters_are_validated(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="filters"):
        make_ae(architecture="conv", image_shape=(8, 8), filters=()).fit(X)
