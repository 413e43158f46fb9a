"""skae/_detector/_statistics.py and _calibration.py: terms, p-values, FDR, thresholds."""

import warnings

import numpy as np
import pytest
from sklearn.covariance import MinCovDet
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from skae import AutoencoderOutlierDetector, benjamini_hochberg
from skae._detector import _statistics as scores

# Small and quick, yet the detector's own defaults otherwise.
QUICK = dict(epochs=20)


def gaussian_inliers(seed, n):
    """Correlated Gaussian rows in 6-D (a 3-D structure plus noise)."""
    rng = np.random.RandomState(seed)
    mixing = np.random.RandomState(99).normal(size=(3, 6))
    return rng.normal(size=(n, 3)) @ mixing + 0.3 * rng.normal(size=(n, 6))


# ---------------------------------------------------------------------------
# Benjamini-Hochberg


def test_benjamini_hochberg_matches_the_textbook_steps():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2, 0.5])
    # sorted: .005 .01 .03 .04 .2 .5 against .1*i/6: .0167 .033 .05 .067 .083 .1
    assert benjamini_hochberg(p, alpha=0.1).tolist() == [True, True, True, True, False, False]
    # .03 * i / 6: .005 .01 .015 .02 ...: the two smallest pass, the third does not
    assert benjamini_hochberg(p, alpha=0.03).tolist() == [True, False, False, True, False, False]
    assert not benjamini_hochberg(p, alpha=0.01).any()
    assert not benjamini_hochberg(np.full(5, 0.5), alpha=0.1).any()


@pytest.mark.parametrize("bad", [[[0.1]], [0.1, 1.5], [-0.1]])
def test_benjamini_hochberg_refuses_what_is_not_p_values(bad):
    with pytest.raises(ValueError, match="p_values"):
        benjamini_hochberg(bad)


def test_benjamini_hochberg_controls_the_false_discovery_rate(global_random_seed):
    # 900 uniform (null) p-values and 100 tiny ones: the share of nulls among
    # the flagged stays below alpha on average (here, over 200 draws).
    rng = np.random.RandomState(global_random_seed)
    rates = []
    for _ in range(200):
        p = np.r_[rng.uniform(size=900), rng.uniform(0, 1e-3, size=100)]
        flagged = benjamini_hochberg(p, alpha=0.1)
        rates.append(flagged[:900].sum() / max(flagged.sum(), 1))
    assert np.mean(rates) <= 0.1 + 0.01


# ---------------------------------------------------------------------------
# conformal p-values


def test_p_values_of_new_inliers_are_calibrated(global_random_seed):
    X = gaussian_inliers(global_random_seed, 2600)
    detector = AutoencoderOutlierDetector(
        calibration_fraction=0.45, random_state=global_random_seed, **QUICK
    ).fit(X[:1200])
    p = detector.p_values(X[1200:])
    assert len(detector.calibration_scores_) == 540
    for level in (0.05, 0.1, 0.2):
        # P(p <= a) <= a, up to sampling noise (1,400 rows: sd about 0.01)
        assert np.mean(p <= level) <= level + 0.03
    assert np.mean(p <= 0.1) >= 0.05  # and not absurdly conservative


def test_p_values_with_fdr_flag_planted_outliers(global_random_seed):
    X = gaussian_inliers(global_random_seed, 1700)
    test = X[1500:].copy()
    test[:20] += 6 * np.random.RandomState(global_random_seed).choice([-1, 1], size=(20, 6))
    detector = AutoencoderOutlierDetector(random_state=global_random_seed, **QUICK)
    detector.fit(X[:1000]).calibrate(X[1000:1500])
    flagged = benjamini_hochberg(detector.p_values(test), alpha=0.1)
    assert flagged[:20].mean() >= 0.8
    assert flagged[20:].sum() <= 0.1 * flagged.sum() + 2


def test_p_values_without_calibration_rows_rest_on_out_of_fold_scores(global_random_seed):
    X = gaussian_inliers(global_random_seed, 2000)
    detector = AutoencoderOutlierDetector(random_state=global_random_seed, **QUICK).fit(X[:1000])
    # the autoencoder's held-out 20% of the training rows, scored out of fold
    assert len(detector.calibration_scores_) == 200
    p = detector.p_values(X[1000:])
    for level in (0.05, 0.1, 0.2):  # nearly valid for new inliers (sd about 0.01)
        assert np.mean(p <= level) <= level + 0.04


def test_calibration_sets_the_threshold_on_rows_the_network_did_not_see():
    # Over three draws: one draw's 600 new rows scatter by +-0.03 or more
    # around the share (seed 1 flags 17%, seed 3 7%).
    shares = []
    for seed in (1, 2, 3):
        X = gaussian_inliers(seed, 1600)
        detector = AutoencoderOutlierDetector(
            contamination=0.1, calibration_fraction=0.4, random_state=0, epochs=5
        ).fit(X[:1000])
        assert len(detector.calibration_scores_) == 400
        assert detector.offset_ == pytest.approx(np.percentile(detector.calibration_scores_, 10))
        shares.append(np.mean(detector.predict(X[1000:]) == -1))
    assert abs(np.mean(shares) - 0.1) < 0.03


# ---------------------------------------------------------------------------
# contamination="auto"


def test_auto_contamination_flags_few_inliers_and_the_planted_outliers(global_random_seed):
    X = gaussian_inliers(global_random_seed, 1000)
    X[:30] += 8 * np.random.RandomState(global_random_seed).choice([-1, 1], size=(30, 6))
    detector = AutoencoderOutlierDetector(
        contamination="auto", random_state=global_random_seed, **QUICK
    ).fit(X)
    labels = detector.predict(X)
    assert (labels[:30] == -1).mean() >= 0.9
    # Tukey's fence on skewed anomalies: a few inliers in a hundred, not ten
    assert (labels[30:] == -1).mean() <= 0.1


def test_auto_threshold_is_the_far_fence_of_the_out_of_fold_anomalies():
    X = gaussian_inliers(3, 400)
    detector = AutoencoderOutlierDetector(contamination="auto", epochs=3, random_state=0).fit(X)
    anomaly = -detector.calibration_scores_
    q1, q3 = np.percentile(anomaly, [25, 75])
    assert detector.offset_ == pytest.approx(-(q3 + 3 * (q3 - q1)))
    # out of fold: not the scores the final terms give the same training rows
    assert np.median(anomaly) > np.median(-detector.score_samples(X))


@pytest.mark.parametrize("contamination", ["auto", 0.05])
def test_the_threshold_holds_on_new_normal_rows(global_random_seed, contamination):
    # A float contamination rests on a quantile of the 20% out-of-fold rows:
    # 400 training rows (80 of them) for 0.05, 120 (24) for "auto".
    # Fit on normal rows with 5% planted outliers; predict fresh normal rows
    # drawn alike. A threshold set on the training rows' own (in-sample)
    # scores flags far more of them: the terms fit their training rows closely.
    rng = np.random.RandomState(global_random_seed)
    n = 120 if contamination == "auto" else 400
    X = gaussian_inliers(global_random_seed, n)
    X[: n // 20] += 6 * rng.choice([-1, 1], size=(n // 20, 6))
    # Default epochs: the previous release's detector, trained as long by
    # default, flagged 18% and 20% of the new rows here (seeds 0, 1).
    detector = AutoencoderOutlierDetector(
        contamination=contamination, random_state=global_random_seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 24 rows under "auto"
        detector.fit(X)
    new = gaussian_inliers(global_random_seed + 1000, 1000)
    limit = 0.10 if contamination == "auto" else 0.05 + 0.06
    assert np.mean(detector.predict(new) == -1) <= limit


def test_a_threshold_on_few_rows_warns():
    # 60 rows: the autoencoder's second network leaves 12 out, under 20
    X = gaussian_inliers(0, 60)
    with pytest.warns(UserWarning, match="scores of 12 out-of-fold row"):
        AutoencoderOutlierDetector(epochs=2, random_state=0).fit(X)


# ---------------------------------------------------------------------------
# the statistics


@pytest.mark.parametrize("max_samples", ["auto", 37])
def test_isolation_term_is_isolation_forests_score_from_plain_arrays(
    global_random_seed, max_samples
):
    rng = np.random.RandomState(global_random_seed)
    X = np.r_[rng.normal(size=(300, 5)), rng.uniform(-6, 6, size=(15, 5))]
    forest = IsolationForest(max_samples=max_samples, random_state=global_random_seed).fit(X)
    nodes, starts, n_rows = scores.forest_arrays(forest)
    new = rng.normal(scale=2, size=(400, 5))
    np.testing.assert_allclose(
        scores.isolation_anomaly(new, nodes, starts, n_rows),
        -forest.score_samples(new),
        rtol=0,
        atol=1e-12,
    )
    assert nodes.dtype == starts.dtype == np.float64 and len(starts) == 101


def _small_forest():
    X = np.random.RandomState(0).normal(size=(64, 3))
    return X, *scores.forest_arrays(IsolationForest(n_estimators=3, random_state=0).fit(X))


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda nodes, starts: nodes.__setitem__((0, 1), 0.0), id="own-child"),
        pytest.param(lambda nodes, starts: nodes.__setitem__((0, 0), 1e6), id="child-outside"),
        pytest.param(lambda nodes, starts: nodes.__setitem__((0, 2), 3.0), id="no-such-column"),
        pytest.param(lambda nodes, starts: starts.__setitem__(1, 0.0), id="empty-tree"),
        pytest.param(lambda nodes, starts: starts.__setitem__(-1, 1.0), id="starts-short"),
    ],
)
def test_a_malformed_forest_is_refused_not_walked(edit):
    # A crafted model file must not make the tree walk loop or read past a tree.
    X, nodes, starts, n_rows = _small_forest()
    edit(nodes, starts)
    with pytest.raises(ValueError, match="forest_"):
        scores.isolation_anomaly(X, nodes, starts, n_rows)


def test_a_forest_of_one_row_scores_as_scikit_learns_does():
    # c(1) = 0: scikit-learn scores 0.5 there, not 0 / 0 (a NaN once reached fit's terms)
    X = np.zeros((1, 2))
    forest = IsolationForest(random_state=0).fit(X)
    new = np.array([[0.0, 0.0], [3.0, -1.0]])
    anomaly = scores.isolation_anomaly(new, *scores.forest_arrays(forest))
    np.testing.assert_array_equal(anomaly, -forest.score_samples(new))


def test_average_path_length_is_c_of_n():
    # c(1) = 0, c(2) = 1, c(n) = 2 H(n - 1) - 2 (n - 1) / n with H(i) ~ ln i + 0.5772
    c = scores.average_path_length([1, 2, 256])
    assert c[0] == 0 and c[1] == 1
    assert c[2] == pytest.approx(2 * (np.log(255) + np.euler_gamma) - 2 * 255 / 256)


def test_covariance_term_is_robust_and_falls_back_where_mcd_cannot_be_fitted():
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(size=(90, 2)), rng.normal(loc=20, size=(10, 2))]
    location, precision = scores.fit_covariance(X, seed=0)
    np.testing.assert_allclose(location, MinCovDet(random_state=0).fit(X).location_)
    assert np.abs(location).max() < 0.5  # the mean of all would be near 2
    distances = scores.covariance_anomaly(X, location, precision)
    assert distances[90:].min() > 5 * np.median(distances[:90])
    wide = rng.normal(size=(20, 8))  # fewer than 5 rows per column: LedoitWolf
    location, precision = scores.fit_covariance(wide, seed=0)
    np.testing.assert_allclose(location, wide.mean(axis=0))
    assert np.isfinite(scores.covariance_anomaly(wide, location, precision)).all()


def test_neighbour_term_is_the_distance_to_the_kth_reference_row():
    reference = np.array([[0.0], [1.0], [3.0]])
    found = scores.neighbour_anomaly(np.array([[0.5], [10.0]]), reference, 2)
    assert found.tolist() == [0.5, 9.0]


def test_folds_follow_the_rows():
    assert np.bincount(scores.folds(20, 0)).tolist() == [10, 10]  # 20 // 8 = 2
    assert np.bincount(scores.folds(1000, 0)).tolist() == [200] * 5
    assert not np.array_equal(scores.folds(40, 0), scores.folds(40, 1))


def test_residual_scales_and_anomaly():
    residuals = np.array([[1.0, 0.0, np.nan], [3.0, 0.0, 2.0], [2.0, 0.0, 2.0]])
    s = scores.residual_scales(residuals)
    # medians of r^2: 4, 0 (floored at max(1e-6, 1e-3 * median(s))), 4
    np.testing.assert_allclose(s, [2.0, 2e-3, 2.0])
    anomaly = scores.residual_anomaly(residuals, s)
    np.testing.assert_allclose(anomaly[0], np.sqrt((1 / 4 + 0) / 2))  # NaN cell skipped
    spread = scores.normalisers(np.array([[1.0, 1.0, 1.0, 1.0]]))[1]
    assert spread.tolist() == [1.0]  # neither IQR nor std: 1


def test_missing_cells_degrade_detection_gracefully(global_random_seed):
    X = gaussian_inliers(global_random_seed, 800)
    y = np.zeros(800)
    y[:25] = 1
    X[:25] += 6 * np.random.RandomState(global_random_seed).choice([-1, 1], size=(25, 6))
    aucs = []
    for fraction in (0.0, 0.1, 0.3):
        Xm = X.copy()
        Xm[np.random.RandomState(1).rand(*X.shape) < fraction] = np.nan
        detector = AutoencoderOutlierDetector(random_state=global_random_seed, **QUICK)
        normality = detector.fit(Xm).score_samples(Xm)
        assert np.isfinite(normality).all() and np.isfinite(detector.offset_)
        aucs.append(roc_auc_score(y, -normality))
    assert aucs[0] > 0.95 and aucs[1] > 0.9 and aucs[2] > 0.8
