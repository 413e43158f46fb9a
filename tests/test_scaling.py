"""skae/_scaling.py: one exact affine map for training and inference, and its limits."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skae import (
    AutoencoderOutlierDetector,
    _scaling,
)
from tests.conftest import ESTIMATORS

SCALINGS = [*sorted(_scaling.SCALERS), None]


@pytest.fixture
def columns(global_random_seed):
    """Columns of different spreads and offsets, and a second draw of the same columns."""
    rng = np.random.RandomState(global_random_seed)
    units = np.array([1e-3, 1.0, 50.0, 1e4])
    offsets = np.array([0.0, -7.0, 1e3, 2e6])
    return (
        rng.standard_t(3, size=(300, 4)) * units + offsets,
        rng.standard_t(3, size=(50, 4)) * units + offsets,
    )


@pytest.mark.parametrize("scaling", SCALINGS)
def test_affine_map_is_the_fitted_scalers_transform(columns, scaling):
    X, X_new = columns
    scaler = _scaling.fit_scaler(scaling, X)
    factor, offset = _scaling.affine_map(scaler, X.shape[1])
    assert factor.dtype == offset.dtype == np.float64
    for rows in (X, X_new):
        np.testing.assert_allclose(
            rows * factor + offset,
            scaler.transform(rows),
            rtol=1e-12,
            atol=1e-12 * np.abs(scaler.transform(rows)).max(),
        )
        scaled = _scaling.scale(rows, (factor, offset), dtype="float64")
        # Round trip exact to rounding, relative to each column's magnitude.
        back = _scaling.unscale(scaled, (factor, offset))
        for j in range(rows.shape[1]):
            np.testing.assert_allclose(
                back[:, j], rows[:, j], rtol=1e-12, atol=1e-12 * np.abs(rows[:, j]).max()
            )


@pytest.mark.parametrize("scaling", SCALINGS)
def test_the_scaler_returns_arrays_whatever_set_output_says(columns, scaling):
    X, _ = columns
    with sklearn.config_context(transform_output="pandas"):
        scaler = _scaling.fit_scaler(scaling, X)
        assert isinstance(scaler.transform(X), np.ndarray)


def test_each_scaling_is_the_documented_scaler(columns):
    X, _ = columns
    for name in ("standard", "minmax", "robust"):
        scaled = _scaling.scale(X, _scaling.affine_map(_scaling.fit_scaler(name, X), 4), "float64")
        if name == "standard":
            np.testing.assert_allclose(scaled.mean(0), 0, atol=1e-9)
            np.testing.assert_allclose(scaled.std(0), 1, rtol=1e-9)
        elif name == "minmax":
            np.testing.assert_allclose(scaled.min(0), 0, atol=1e-9)
            np.testing.assert_allclose(scaled.max(0), 1, rtol=1e-9)
        else:
            np.testing.assert_allclose(np.median(scaled, axis=0), 0, atol=1e-9)
            q1, q3 = np.percentile(scaled, [25, 75], axis=0)
            np.testing.assert_allclose(q3 - q1, 1, rtol=1e-9)
    assert isinstance(_scaling.fit_scaler(None, X), FunctionTransformer)


def test_uniform_scaling_centres_columns_and_keeps_their_relative_spread(columns):
    X, _ = columns
    scaler = _scaling.fit_scaler("uniform", X)
    factor, _ = _scaling.affine_map(scaler, X.shape[1])
    assert np.all(factor == factor[0])  # one common scale
    scaled = _scaling.scale(X, (factor, _scaling.affine_map(scaler, 4)[1]), "float64")
    np.testing.assert_allclose(scaled.mean(0), 0, atol=1e-9)
    np.testing.assert_allclose(scaled.std(0) / scaled.std(0)[-1], X.std(0) / X.std(0)[-1])
    np.testing.assert_allclose(np.mean(scaled.var(0)), 1, rtol=1e-9)


def test_standard_scaling_honours_integer_weights_as_repeated_rows(columns):
    X, _ = columns
    weights = np.arange(len(X)) % 3 + 1.0
    weighted = _scaling.affine_map(_scaling.fit_scaler("standard", X, weights), 4)
    repeated_rows = np.repeat(X, weights.astype(int), axis=0)
    repeated = _scaling.affine_map(_scaling.fit_scaler("standard", repeated_rows), 4)
    for ours, theirs in zip(weighted, repeated, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)


# ---------------------------------------------------------------------------
# Constant and huge columns


def _with_constant_columns(n_rows=60):
    X = np.random.RandomState(0).normal(size=(n_rows, 3))
    X[:, 1] = 1e26
    X[:, 2] = -3.3e25
    return X


@pytest.mark.parametrize("scaling", [s for s in SCALINGS if s is not None])
def test_constant_columns_scale_to_exactly_zero(scaling):
    X = _with_constant_columns()
    scaler = _scaling.fit_scaler(scaling, X)
    scaled = _scaling.scale(X, _scaling.affine_map(scaler, 3), dtype="float64")
    assert np.all(scaled[:, 1:] == 0.0)
    assert np.abs(scaled[:, 0]).max() > 0.5  # the varying column is left to vary


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("scaling", ["standard", "minmax", "uniform"])
def test_model_accepts_its_own_training_data_with_huge_constant_columns(
    make_estimator, estimator, scaling
):
    X = _with_constant_columns()
    model = make_estimator(estimator, scaling=scaling).fit(X)
    outputs = model.score_samples(X) if hasattr(model, "score_samples") else model.predict(X)
    assert np.isfinite(outputs).all()
    if not isinstance(model, AutoencoderOutlierDetector):  # whose predict gives labels
        # The constant columns come back exactly: they are 0 in the network's units.
        reconstruction = model.predict(X)
        np.testing.assert_allclose(reconstruction[:, 1:], X[:, 1:], rtol=1e-6)


def test_oversized_scaled_columns_are_refused_naming_the_column(make_estimator):
    X = pd.DataFrame(
        {"small": np.linspace(0, 1, 50), "huge": np.linspace(0, 1e9, 50), "ok": np.ones(50)}
    )
    with pytest.raises(ValueError, match=r"scaling=None.*\['huge'\].*1e\+09.*'standard'"):
        make_estimator(scaling=None).fit(X)
    # Without column names, the column's index.
    with pytest.raises(ValueError, match=r"column\(s\) \['1'\]"):
        make_estimator(scaling=None).fit(X.to_numpy())


def test_robust_scaling_of_rare_huge_values_over_a_zero_spread_is_refused(make_estimator):
    # A column that is 0 in more than three rows of four has an interquartile
    # range of 0: RobustScaler leaves it unscaled, and its outliers huge.
    column = np.zeros(40)
    column[:3] = 1e8
    X = np.c_[np.random.RandomState(0).normal(size=40), column]
    with pytest.raises(ValueError, match=r"scaling='robust'.*\['1'\].*'standard' or 'minmax'"):
        make_estimator(scaling="robust").fit(X)
    assert np.isfinite(make_estimator(scaling="minmax").fit(X).predict(X)).all()


def test_check_scaled_training_data_passes_what_the_network_can_learn():
    scaled = np.full((5, 3), 1e6)
    _scaling.check_scaled_training_data(scaled, "minmax")  # at the limit: no error
    scaled[2, 2] = -1.0000001e6
    with pytest.raises(ValueError, match=r"\['c'\]"):
        _scaling.check_scaled_training_data(scaled, "minmax", np.array(["a", "b", "c"]))


def test_scale_refuses_values_it_takes_beyond_float32():
    affine = (np.array([1e10]), np.array([0.0]))
    assert _scaling.scale(np.array([[1e20]]), affine).dtype == np.float32
    with pytest.raises(ValueError, match="far outside the range seen in fit"):
        _scaling.scale(np.array([[1e30]]), affine)


def test_scaler_fitted_on_weighted_rows_ignores_rows_of_weight_zero(make_estimator):
    X = np.random.RandomState(0).uniform(size=(80, 3))
    outlier = np.array([[50.0, -50.0, 50.0]])
    with_outlier = np.vstack([X, outlier])
    weights = np.r_[np.ones(len(X)), 0.0]
    model = make_estimator(scaling="standard").fit(with_outlier, sample_weight=weights)
    reference = make_estimator(scaling="standard").fit(X)
    assert isinstance(model.scaler_, StandardScaler)
    np.testing.assert_allclose(model.scaler_.mean_, reference.scaler_.mean_, rtol=1e-12)
    np.testing.assert_allclose(model.scaler_.scale_, reference.scaler_.scale_, rtol=1e-12)
