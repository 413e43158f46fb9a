"""AutoencoderOutlierDetector: IsolationForest's contract and planted outliers."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import is_outlier_detector
from sklearn.compose import ColumnTransformer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skae import AutoencoderOutlierDetector

FAST = dict(hidden_layer_sizes=(32, 16), epochs=30, batch_size=32)


def clusters_with_noise(seed, n_inliers=400, n_outliers=12):
    """Three Gaussian clusters in 5-D and uniform noise over their bounding box."""
    rng = np.random.RandomState(seed)
    centres = rng.uniform(-6, 6, size=(3, 5))
    inliers = centres[rng.randint(3, size=n_inliers)] + 0.5 * rng.normal(size=(n_inliers, 5))
    low, high = inliers.min(0), inliers.max(0)
    outliers = rng.uniform(low, high, size=(n_outliers, 5))
    # keep only noise far from every cluster, so the labels are right
    far = np.min(np.linalg.norm(outliers[:, None] - centres[None], axis=2), axis=1) > 3
    outliers = outliers[far]
    X = np.vstack([inliers, outliers])
    y = np.r_[np.zeros(n_inliers), np.ones(len(outliers))]
    return X, y


def off_curve(seed, n_inliers=400, n_outliers=10):
    """A parabola bent through 6-D, and points off it whose columns all look normal."""
    rng = np.random.RandomState(seed)
    t = rng.uniform(-1, 1, n_inliers)
    inliers = np.c_[t, t**2] + 0.01 * rng.normal(size=(n_inliers, 2))
    s = rng.uniform(-0.5, 0.5, n_outliers)
    outliers = np.c_[s, 0.6 + 0.2 * rng.uniform(size=n_outliers)]  # inside the bowl
    rotation, _ = np.linalg.qr(np.random.RandomState(42).normal(size=(6, 6)))
    X = np.hstack([np.vstack([inliers, outliers]), np.zeros((n_inliers + n_outliers, 4))])
    return X @ rotation, np.r_[np.zeros(n_inliers), np.ones(n_outliers)]


@pytest.mark.parametrize(
    "make_data, params",
    [(clusters_with_noise, {}), (off_curve, {"latent_dim": 1})],
    ids=["clusters+noise", "off-manifold"],
)
def test_planted_outliers_score_lowest(make_data, params):
    X, y = make_data(0)
    detector = AutoencoderOutlierDetector(random_state=0, **{**FAST, **params}).fit(X)
    scores = detector.score_samples(X)
    assert roc_auc_score(y, -scores) >= 0.9
    n_planted = int(y.sum())
    lowest = np.argsort(scores)[:n_planted]
    assert y[lowest].mean() >= 0.8  # the planted rows are (nearly) the lowest scores


def test_no_single_column_reveals_the_off_manifold_outliers():
    X, y = off_curve(0)
    outliers, inliers = X[y == 1], X[y == 0]
    assert np.all(outliers.min(0) >= inliers.min(0)) and np.all(outliers.max(0) <= inliers.max(0))


@pytest.mark.parametrize("contamination", [0.05, 0.1, 0.25])
def test_contamination_sets_the_training_fraction_flagged(contamination):
    X, _ = clusters_with_noise(1)
    detector = AutoencoderOutlierDetector(contamination=contamination, random_state=0, **FAST)
    labels = detector.fit_predict(X)
    assert abs(np.mean(labels == -1) - contamination) <= 1.5 / len(X)


def test_isolation_forest_contract():
    X, _ = clusters_with_noise(2)
    detector = AutoencoderOutlierDetector(random_state=0, **FAST).fit(X)
    assert is_outlier_detector(detector)
    scores = detector.score_samples(X)
    assert scores.dtype == np.float64
    np.testing.assert_allclose(detector.decision_function(X), scores - detector.offset_)
    labels = detector.predict(X)
    assert labels.dtype.kind == "i" and set(np.unique(labels)) == {-1, 1}
    np.testing.assert_array_equal(labels == -1, detector.decision_function(X) < 0)
    assert detector.score(X) == pytest.approx(scores.mean())


def test_per_feature_errors_name_the_perturbed_column_through_a_column_transformer():
    rng = np.random.RandomState(0)
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
    pipe = make_pipeline(columns, AutoencoderOutlierDetector(latent_dim=2, random_state=0, **FAST))
    pipe.fit(frame)
    assert pipe.predict(frame)[7] == -1
    assert np.argmin(pipe.score_samples(frame)) == 7
    errors = pipe[-1].reconstruction_error(pipe[0].transform(frame), per_feature=True)
    assert isinstance(errors, pd.DataFrame)
    assert errors.loc[7].idxmax() == "num__spend"


def test_grid_search_with_a_label_scorer_on_a_validation_set():
    X, y = clusters_with_noise(3)
    rng = np.random.RandomState(0)
    order = rng.permutation(len(X))
    train, valid = order[: len(X) // 2], order[len(X) // 2 :]

    def auc(estimator, X_valid, y_valid):
        return roc_auc_score(y_valid, -estimator.score_samples(X_valid))

    search = GridSearchCV(
        AutoencoderOutlierDetector(random_state=0, **FAST),
        {"latent_dim": [1, 4]},
        scoring=auc,
        cv=[(train, valid)],
    ).fit(X, y)
    assert search.best_params_["latent_dim"] in (1, 4)
    assert search.best_score_ >= 0.9


def _with(X, row, col, value):
    bad = X.astype(object) if isinstance(value, str) else X.copy()
    bad[row, col] = value
    return bad


@pytest.fixture(scope="module")
def fitted():
    X, _ = clusters_with_noise(4)
    return AutoencoderOutlierDetector(random_state=0, **FAST).fit(X), X


@pytest.mark.parametrize(
    "make_bad, match",
    [
        (lambda X: _with(X, 1, 2, np.nan), "Input X contains NaN"),
        (lambda X: _with(X, 1, 2, np.inf), "Input X contains infinity"),
        (lambda X: _with(X, 1, 2, "high"), "needs numeric input"),
        (lambda X: X[:, :3], "X has 3 features, but AutoencoderOutlierDetector is expecting 5"),
    ],
    ids=["nan", "inf", "string", "width"],
)
@pytest.mark.parametrize(
    "method", ["score_samples", "decision_function", "predict", "reconstruction_error"]
)
def test_bad_input_at_scoring_time(fitted, make_bad, match, method):
    detector, X = fitted
    with pytest.raises(ValueError, match=match):
        getattr(detector, method)(make_bad(X))


def test_invalid_contamination():
    X, _ = clusters_with_noise(0)
    with pytest.raises(ValueError, match="contamination"):
        AutoencoderOutlierDetector(contamination=0.7, **FAST).fit(X)


def test_partial_fit_refits_the_threshold():
    X, _ = clusters_with_noise(5)
    detector = AutoencoderOutlierDetector(contamination=0.1, random_state=0, **FAST)
    detector.partial_fit(X)
    detector.partial_fit(X)
    assert detector.n_iter_ == 2
    assert abs(np.mean(detector.predict(X) == -1) - 0.1) <= 1.5 / len(X)
