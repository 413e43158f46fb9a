"""AutoencoderOutlierDetector: IsolationForest's contract, its statistics, planted outliers."""

import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import is_outlier_detector
from sklearn.compose import ColumnTransformer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import skae._loops
import skae._validation
from skae import AutoencoderOutlierDetector

# Deep enough to learn the structure of a few hundred rows.
DETECTOR = dict(hidden_layer_sizes=(32, 16), epochs=30)


def _auc(y, scores):
    """ROC-AUC of low scores for outliers (label 1)."""
    return roc_auc_score(y, -scores)


@pytest.fixture(scope="module")
def fitted(make_estimator, make_blobs_with_outliers):
    X, _ = make_blobs_with_outliers(4)
    return make_estimator(AutoencoderOutlierDetector, **DETECTOR).fit(X), X


# ---------------------------------------------------------------------------
# Planted outliers


@pytest.mark.parametrize("data", ["clusters+noise", "off-curve"])
def test_planted_outliers_score_lowest(
    make_estimator, make_blobs_with_outliers, make_off_curve, global_random_seed, data
):
    if data == "clusters+noise":
        X, y = make_blobs_with_outliers(global_random_seed)
        params = {"latent_dim": 4}
    else:
        X, y = make_off_curve(global_random_seed)
        params = {"latent_dim": 1}
    detector = make_estimator(
        AutoencoderOutlierDetector, **DETECTOR, **params, random_state=global_random_seed
    ).fit(X)
    scores = detector.score_samples(X)
    assert _auc(y, scores) >= 0.95
    # Three in four planted rows are among the lowest scores (twice as many as
    # planted): uniform noise can land near the plane of the three clusters.
    lowest = np.argsort(scores)[: 2 * int(y.sum())]
    assert y[lowest].sum() >= 0.75 * y.sum()


def test_no_single_column_reveals_the_off_curve_outliers(make_off_curve):
    X, y = make_off_curve(0)
    outliers, inliers = X[y == 1], X[y == 0]
    assert np.all(outliers.min(0) >= inliers.min(0))
    assert np.all(outliers.max(0) <= inliers.max(0))


@pytest.mark.parametrize("contamination", [0.05, 0.1, 0.25])
def test_contamination_sets_the_training_fraction_flagged(
    make_estimator, make_blobs_with_outliers, global_random_seed, contamination
):
    X, _ = make_blobs_with_outliers(global_random_seed)
    detector = make_estimator(
        AutoencoderOutlierDetector, contamination=contamination, random_state=global_random_seed
    )
    labels = detector.fit_predict(X)
    assert abs(np.mean(labels == -1) - contamination) <= 1.5 / len(X)


def test_per_feature_errors_name_the_perturbed_column_through_a_column_transformer(
    make_estimator, global_random_seed
):
    rng = np.random.RandomState(global_random_seed)
    n, numeric = 300, ["age", "income", "spend", "balance", "debt", "savings", "rent", "tax"]
    units = np.logspace(0, 3, len(numeric))
    structure = rng.normal(size=(n, 2)) @ rng.normal(size=(2, len(numeric)))
    frame = pd.DataFrame(
        (structure + 0.05 * rng.normal(size=structure.shape)) * units, columns=numeric
    )
    frame["city"] = rng.choice(["paris", "lyon", "nice"], size=n)
    frame.loc[7, "spend"] += 8 * frame["spend"].std()  # the planted outlier
    columns = ColumnTransformer(
        [("num", StandardScaler(), numeric),
         ("cat", OneHotEncoder(sparse_output=False), ["city"])],
    ).set_output(transform="pandas")
    detector = make_estimator(
        AutoencoderOutlierDetector, **DETECTOR, random_state=global_random_seed
    )
    pipe = make_pipeline(columns, detector).fit(frame)
    assert pipe.predict(frame)[7] == -1
    assert np.argmin(pipe.score_samples(frame)) == 7
    errors = pipe[-1].reconstruction_error(pipe[0].transform(frame), per_feature=True)
    assert isinstance(errors, pd.DataFrame)
    assert errors.loc[7].idxmax() == "num__spend"


def test_grid_search_with_a_label_scorer_picks_the_detector_that_finds_them(
    make_estimator, make_off_curve, global_random_seed
):
    # One epoch leaves the network near its random start, where the points
    # inside the parabola's bowl look no stranger than the curve; thirty
    # learn the curve. The search must tell them apart on held-out labels.
    X, y = make_off_curve(global_random_seed, n_outliers=20)
    half = len(X) // 2
    detector = make_estimator(
        AutoencoderOutlierDetector, **DETECTOR, latent_dim=4, random_state=global_random_seed
    )
    search = GridSearchCV(
        detector,
        {"epochs": [1, 30]},
        scoring=lambda estimator, X, y: _auc(y, estimator.score_samples(X)),
        cv=[(np.arange(half), np.arange(half, len(X)))],
    ).fit(X, y)
    one_epoch, trained = search.cv_results_["mean_test_score"]
    assert search.best_params_ == {"epochs": 30}
    assert trained >= 0.95 and trained - one_epoch > 0.1
    assert search.best_estimator_.n_iter_ > 1


# ---------------------------------------------------------------------------
# The contract and the statistics


def test_isolation_forest_contract(fitted):
    detector, X = fitted
    assert is_outlier_detector(detector)
    scores = detector.score_samples(X)
    assert scores.dtype == np.float64
    np.testing.assert_allclose(detector.decision_function(X), scores - detector.offset_)
    labels = detector.predict(X)
    assert labels.dtype.kind == "i" and set(np.unique(labels)) == {-1, 1}
    np.testing.assert_array_equal(labels == -1, detector.decision_function(X) < 0)
    assert detector.score(X) == pytest.approx(scores.mean())


def test_q_and_t2_are_scaled_to_mean_one_on_the_training_rows(fitted):
    detector, X = fitted
    # reconstruction_error gives each row's Q; its training mean is q_scale_.
    assert np.mean(detector.reconstruction_error(X)) == pytest.approx(detector.q_scale_)
    assert detector.t2_scale_ > 0
    # score_samples is minus the mean of Q / q_scale_ and T² / t2_scale_: -1 on average.
    assert detector.score_samples(X).mean() == pytest.approx(-1.0)


def test_per_feature_errors_are_relative_to_each_columns_typical_error(fitted):
    detector, X = fitted
    cells = detector.reconstruction_error(X, per_feature=True)
    np.testing.assert_allclose(cells.mean(axis=0), 1.0, rtol=1e-6)
    np.testing.assert_allclose(cells.mean(axis=1), detector.reconstruction_error(X))


def test_validates_once_and_runs_the_network_once(fitted, make_estimator, monkeypatch):
    detector, X = fitted
    validations, passes = [], []
    validate, predict = skae._validation.validate_data, skae._loops.predict_arrays

    def count_validations(*args, **kwargs):
        validations.append(1)
        return validate(*args, **kwargs)

    def count_passes(*args, **kwargs):
        passes.append(1)
        return predict(*args, **kwargs)

    monkeypatch.setattr(skae._validation, "validate_data", count_validations)
    for module in list(sys.modules.values()):  # wherever skae bound predict_arrays
        if getattr(module, "__name__", "").startswith("skae") and (
            getattr(module, "predict_arrays", None) is predict
        ):
            monkeypatch.setattr(module, "predict_arrays", count_passes)
    scores = detector.score_samples(X)
    assert (len(validations), len(passes)) == (1, 1)
    assert scores.shape == (len(X),)
    validations.clear()
    make_estimator(AutoencoderOutlierDetector).fit(X)
    assert len(validations) == 1


def test_invalid_contamination(make_estimator, fitted):
    _, X = fitted
    with pytest.raises(ValueError, match="contamination"):
        make_estimator(AutoencoderOutlierDetector, contamination=0.7).fit(X)


def test_partial_fit_refits_the_statistics_on_the_batch(make_estimator, make_blobs_with_outliers):
    X, _ = make_blobs_with_outliers(5)
    detector = make_estimator(AutoencoderOutlierDetector, contamination=0.1)
    detector.partial_fit(X)
    detector.partial_fit(X)
    assert detector.n_iter_ == 2
    assert abs(np.mean(detector.predict(X) == -1) - 0.1) <= 1.5 / len(X)
    batch = X[:100]
    detector.partial_fit(batch)
    assert np.percentile(detector.score_samples(batch), 10) == pytest.approx(detector.offset_)
