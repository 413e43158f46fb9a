"""AutoencoderTransformer: the PCA contract, its PCA start, pipelines and pandas."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderTransformer

# ---------------------------------------------------------------------------
# The PCA contract


def test_transform_and_inverse_transform_shapes(make_estimator, digits):
    X, _ = digits
    ae = make_estimator()
    codes = ae.fit_transform(X)
    assert codes.shape == (len(X), 2) and ae.latent_dim_ == 2
    assert ae.inverse_transform(codes).shape == X.shape
    np.testing.assert_allclose(codes, ae.transform(X), rtol=1e-6)
    assert ae.n_features_in_ == 64


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_output_dtype_follows_input(make_estimator, digits, dtype):
    X, _ = digits
    ae = make_estimator().fit(X.astype(dtype))
    expected = np.float32 if dtype == np.float32 else np.float64
    codes = ae.transform(X.astype(dtype))
    assert codes.dtype == expected
    assert ae.inverse_transform(codes).dtype == expected
    assert ae.predict(X.astype(dtype)).dtype == expected
    assert ae.reconstruction_error(X.astype(dtype)).dtype == np.float64


def test_reconstruction_error_and_score_agree(make_estimator, digits):
    X, _ = digits
    ae = make_estimator().fit(X)
    cells = ae.reconstruction_error(X, per_feature=True)
    rows = ae.reconstruction_error(X)
    assert cells.shape == X.shape and rows.shape == (len(X),)
    np.testing.assert_allclose(rows, cells.mean(axis=1))
    np.testing.assert_allclose(cells, (X - ae.predict(X)) ** 2, rtol=1e-5, atol=1e-8)
    assert ae.score(X) == pytest.approx(-rows.mean())
    weights = np.arange(len(X), dtype=float)
    assert ae.score(X, sample_weight=weights) == pytest.approx(-np.average(rows, weights=weights))


def test_missing_cells_are_left_out_of_the_errors(make_estimator, digits):
    X, _ = digits
    ae = make_estimator().fit(X)
    holes = X.copy()
    holes[0, :10] = np.nan
    cells = ae.reconstruction_error(holes, per_feature=True)
    assert np.isnan(cells[0, :10]).all() and np.isfinite(cells[0, 10:]).all()
    assert ae.reconstruction_error(holes)[0] == pytest.approx(np.mean(cells[0, 10:]))
    assert np.isfinite(ae.transform(holes)).all()


@pytest.mark.parametrize("scaling", ["minmax", "standard"])
def test_reconstruction_r2_is_the_variance_kept(make_estimator, tabular, scaling):
    # Columns on wildly different scales: the R^2 is in the input's units,
    # so each column's share must be weighed by its scale (not all equal).
    X = tabular
    ae = make_estimator(scaling=scaling).fit(X)
    expected = 1 - np.sum((X - ae.predict(X)) ** 2) / np.sum((X - X.mean(0)) ** 2)
    assert ae.reconstruction_r2_ == pytest.approx(expected, rel=1e-5)


def test_feature_names_out(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(latent_dim=3).fit(X)
    np.testing.assert_array_equal(
        ae.get_feature_names_out(),
        ["autoencodertransformer0", "autoencodertransformer1", "autoencodertransformer2"],
    )


def test_a_float_latent_dim_keeps_that_fraction_of_the_variance(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(latent_dim=0.8).fit(X)
    ratios = np.cumsum(PCA().fit(X).explained_variance_ratio_)
    expected = int(np.searchsorted(ratios, 0.8) + 1)  # uniform scaling: PCA's own ratios
    assert ae.latent_dim_ == expected
    assert ae.transform(X).shape == (len(X), expected)
    assert len(ae.get_feature_names_out()) == expected


# ---------------------------------------------------------------------------
# Starting as PCA, and never ending worse


def test_the_untrained_network_is_pca(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(latent_dim=5).initialize(X)
    pca = PCA(5).fit(X)
    np.testing.assert_allclose(
        ae.predict(X), pca.inverse_transform(pca.transform(X)), rtol=1e-4, atol=1e-3
    )


def test_linear_data_falls_back_to_pcas_solution(make_estimator):
    # Rows on a plane: PCA reconstructs them exactly, training cannot do better.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 2)) @ rng.normal(size=(2, 8)) + 5.0
    ae = make_estimator(epochs=5).fit(X)
    assert ae.pca_fallback_ is True
    pca = PCA(2).fit(X)
    np.testing.assert_allclose(
        ae.predict(X), pca.inverse_transform(pca.transform(X)), rtol=1e-4, atol=1e-4
    )
    assert ae.reconstruction_r2_ == pytest.approx(1.0, abs=1e-6)


def test_a_random_start_has_no_pca_fallback(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(init="random").fit(X)
    assert not hasattr(ae, "pca_fallback_")


def test_conv_cannot_start_as_pca(make_estimator, digits):
    X, _ = digits
    with pytest.raises(ValueError, match="init='pca'.*architecture='conv'"):
        make_estimator(architecture="conv", image_shape=(8, 8), init="pca").fit(X)


def test_nonlinear_manifold_beats_pca(global_random_seed, make_curve):
    X_train = make_curve(global_random_seed, 600)
    X_test = make_curve(global_random_seed + 100, 300)
    pca = PCA(n_components=1).fit(X_train)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    ae = AutoencoderTransformer(
        latent_dim=1,
        hidden_layer_sizes=(32, 16),
        epochs=100,
        batch_size=32,
        random_state=global_random_seed,
    ).fit(X_train)
    assert ae.pca_fallback_ is False
    assert -ae.score(X_test) < 0.25 * pca_error


def test_the_image_recipe_beats_pca_on_held_out_digits(digit_images, global_random_seed):
    # The README's image recipe (sigmoid output, cross-entropy, ELU, cosine
    # schedule), with layers and epochs scaled down to 8x8 digits; it starts
    # from random weights, so nothing but training puts it below PCA.
    X, _ = digit_images
    order = np.random.RandomState(global_random_seed).permutation(len(X))
    X_train, X_test = X[order[:1400]], X[order[1400:]]
    ae = AutoencoderTransformer(
        latent_dim=8,
        scaling=None,
        output_activation="sigmoid",
        loss="binary_crossentropy",
        hidden_layer_sizes=(64, 32),
        activation="elu",
        batch_size=64,
        epochs=30,
        learning_rate=3e-3,
        lr_schedule="cosine",
        early_stopping=False,
        random_state=global_random_seed,
    ).fit(X_train)
    pca = PCA(8).fit(X_train)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    assert np.mean((ae.predict(X_test) - X_test) ** 2) < 0.85 * pca_error
    assert ae.n_iter_ == 30


def test_held_out_error_is_never_much_worse_than_pcas(make_estimator, digits, global_random_seed):
    X, _ = digits
    X_train, X_test = X[:300], X[300:]
    ae = make_estimator(latent_dim=4, epochs=10, random_state=global_random_seed).fit(X_train)
    pca = PCA(4).fit(X_train)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    assert -ae.score(X_test) < 1.05 * pca_error


# ---------------------------------------------------------------------------
# Pipelines and model selection


def test_grid_search_over_latent_dim_like_pca(make_estimator, digits, global_random_seed):
    X, y = digits
    searches = {}
    for name, reducer, param in [
        (
            "ae",
            make_estimator(epochs=20, random_state=global_random_seed),
            "autoencodertransformer__latent_dim",
        ),
        ("pca", PCA(), "pca__n_components"),
    ]:
        pipe = make_pipeline(StandardScaler(), reducer, LogisticRegression(max_iter=500))
        searches[name] = GridSearchCV(pipe, {param: [2, 8]}, cv=2).fit(X, y)
    for search in searches.values():
        scores = search.cv_results_["mean_test_score"]
        assert scores[1] > scores[0] + 0.1  # 8 dimensions separate ten digits better than 2
        assert search.best_score_ > 0.75
    assert searches["ae"].best_params_ == {"autoencodertransformer__latent_dim": 8}


def test_cross_val_score_uses_the_reconstruction_score(make_estimator, digits):
    X, _ = digits
    ae = make_estimator()
    scores = cross_val_score(ae, X, cv=3)
    assert scores.shape == (3,)
    assert np.all(scores < 0)


def test_column_transformer_with_pandas_output(make_estimator):
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.normal(size=(120, 4)), columns=list("abcd"))
    frame["city"] = rng.choice(["x", "y"], size=120)
    columns = ColumnTransformer(
        [("ae", make_estimator(), ["a", "b", "c", "d"])],
        remainder="passthrough",
    ).set_output(transform="pandas")
    out = columns.fit_transform(frame)
    assert list(out.columns) == [
        "ae__autoencodertransformer0",
        "ae__autoencodertransformer1",
        "remainder__city",
    ]
    assert out.index.equals(frame.index)


def test_pandas_in_and_out(make_estimator, digits):
    X, _ = digits
    frame = pd.DataFrame(
        X, columns=[f"pixel{i}" for i in range(64)], index=np.arange(len(X)) * 7 + 3
    )
    ae = make_estimator().fit(frame)
    np.testing.assert_array_equal(ae.feature_names_in_, frame.columns)
    codes = ae.set_output(transform="pandas").transform(frame)
    assert isinstance(codes, pd.DataFrame)
    assert list(codes.columns) == ["autoencodertransformer0", "autoencodertransformer1"]
    assert codes.index.equals(frame.index)
    for output in (ae.predict(frame), ae.reconstruction_error(frame, per_feature=True)):
        assert isinstance(output, pd.DataFrame)
        assert output.columns.equals(frame.columns) and output.index.equals(frame.index)
    with pytest.warns(UserWarning, match="feature names"):
        ae.transform(X)


def test_inverse_transform_checks_the_code_width(make_estimator, digits):
    X, _ = digits
    ae = make_estimator().fit(X)
    with pytest.raises(ValueError, match="X has 5 features.*codes of width 2"):
        ae.inverse_transform(np.zeros((3, 5)))


# ---------------------------------------------------------------------------
# Convolutional architecture


def test_conv_architecture_learns_on_flat_images(make_estimator, digits):
    X, _ = digits
    ae = make_estimator(
        architecture="conv", image_shape=(8, 8, 1), filters=(8, 16), epochs=5, init="auto"
    )
    codes = ae.fit_transform(X)
    assert codes.shape == (len(X), 2) and not hasattr(ae, "pca_fallback_")
    assert ae.inverse_transform(codes).shape == X.shape
    untrained = make_estimator(architecture="conv", image_shape=(8, 8, 1), filters=(8, 16))
    assert ae.score(X) > untrained.initialize(X).score(X)


@pytest.mark.parametrize(
    "image_shape, match",
    [
        (None, "needs image_shape"),
        ((8, 7), "holds 56 values per image, but X has 64 features"),
        ((8, 8, 0), "positive ints"),
    ],
)
def test_conv_needs_a_matching_image_shape(make_estimator, digits, image_shape, match):
    X, _ = digits
    with pytest.raises(ValueError, match=match):
        make_estimator(architecture="conv", image_shape=image_shape).fit(X)
