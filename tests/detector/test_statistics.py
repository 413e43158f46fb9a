"""skae/_detector/_statistics.py and _calibration.py: p-values, FDR, contamination="auto"."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from skae import AutoencoderOutlierDetector, benjamini_hochberg
from skae._detector import _statistics as scores

# Small and quick, yet the detector's own defaults otherwise.
QUICK = dict(epochs=20, n_members=4)


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


def test_p_values_need_calibration_rows():
    X = gaussian_inliers(0, 200)
    detector = AutoencoderOutlierDetector(epochs=2, n_members=2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="calibration_fraction"):
        detector.p_values(X)


def test_calibration_sets_the_threshold_on_rows_the_network_did_not_see():
    X = gaussian_inliers(1, 1600)
    detector = AutoencoderOutlierDetector(
        contamination=0.1, calibration_fraction=0.4, random_state=0, **QUICK
    ).fit(X[:1000])
    flagged_new = np.mean(detector.predict(X[1000:]) == -1)
    assert abs(flagged_new - 0.1) < 0.04
    assert detector.offset_ == pytest.approx(np.percentile(detector.calibration_scores_, 10))


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


def test_auto_threshold_is_tukeys_fence_of_the_training_anomalies():
    X = gaussian_inliers(3, 400)
    # Without the neighbours term, whose training values leave each row out
    # of its own neighbours, the training rows score as score_samples does.
    detector = AutoencoderOutlierDetector(
        contamination="auto", epochs=3, n_members=2, n_neighbors=0, random_state=0
    ).fit(X)
    anomaly = -detector.score_samples(X)
    q1, q3 = np.percentile(anomaly, [25, 75])
    assert detector.offset_ == pytest.approx(-(q3 + 1.5 * (q3 - q1)))


# ---------------------------------------------------------------------------
# the statistics


def test_robust_code_location_ignores_a_far_cluster():
    rng = np.random.RandomState(0)
    codes = np.r_[rng.normal(size=(90, 2)), rng.normal(loc=20, size=(10, 2))][:, None, :]
    location, precision = scores.robust_codes(codes, support_fraction=0.5)
    assert np.abs(location[0]).max() < 0.5  # the mean of all would be near 2
    distances = scores.code_distances(codes, location, precision)
    assert distances[90:].min() > 10 * np.median(distances[:90])


def test_neighbour_distance_skips_the_row_itself_in_the_reference():
    reference = np.array([[0.0], [1.0], [3.0]])
    nearest = scores.nearest_distances(reference, reference, 1)
    inside = scores.neighbour_distances(nearest, 3, 1, np.ones(3, dtype=bool))
    outside = scores.neighbour_distances(nearest, 3, 1)
    assert inside.ravel().tolist() == [1.0, 1.0, 2.0] and not outside.any()


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
