"""AutoencoderOutlierDetector: IsolationForest's contract, its terms and sizes, outliers."""

import pickle
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import is_outlier_detector
from sklearn.compose import ColumnTransformer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import skae._engine
import skae._pca
import skae._validation
from skae import AutoencoderOutlierDetector

# Deep enough to learn the structure of a few hundred rows, yet quick.
DETECTOR = dict(hidden_layer_sizes=(32, 16), epochs=30)
NO_NEIGHBOURS = dict(n_neighbors=0)


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


def test_the_detector_finds_outliers_that_no_single_column_reveals(make_estimator, make_off_curve):
    X, y = make_off_curve(0)
    # Each column alone: the largest |z| of a row ranks the planted rows
    # little better than chance (they lie inside every column's range).
    largest_z = np.abs((X - X.mean(0)) / X.std(0)).max(axis=1)
    assert roc_auc_score(y, largest_z) < 0.75
    detector = make_estimator(
        AutoencoderOutlierDetector, **DETECTOR, latent_dim=1, random_state=0
    ).fit(X)
    assert _auc(y, detector.score_samples(X)) >= 0.95


@pytest.mark.parametrize("contamination", [0.05, 0.1, 0.25])
@pytest.mark.parametrize("neighbours", [True, False])
def test_a_float_contamination_flags_that_share_of_the_training_rows(
    make_estimator, make_blobs_with_outliers, global_random_seed, contamination, neighbours
):
    # IsolationForest's contract: fit_predict flags the share c of the rows it was fit on.
    X, _ = make_blobs_with_outliers(global_random_seed)
    detector = make_estimator(
        AutoencoderOutlierDetector,
        contamination=contamination,
        random_state=global_random_seed,
        **({} if neighbours else NO_NEIGHBOURS),
    )
    flagged = np.mean(detector.fit_predict(X) == -1)
    assert abs(flagged - contamination) <= 1.5 / len(X)
    # The out-of-fold scores, which p_values use, are not what a float sets offset_ from.
    assert len(detector.calibration_scores_) < len(X)


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
        [("num", StandardScaler(), numeric), ("cat", OneHotEncoder(sparse_output=False), ["city"])],
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
    # After one epoch the networks are near their random start, where the
    # points inside the parabola's bowl look no stranger than the curve; the
    # neighbours term finds them without training. The search, scored on
    # held-out labels, must pick it.
    X, y = make_off_curve(global_random_seed, n_outliers=20)
    half = len(X) // 2
    detector = make_estimator(
        AutoencoderOutlierDetector, **{**DETECTOR, "epochs": 1}, random_state=global_random_seed
    )
    search = GridSearchCV(
        detector,
        {"n_neighbors": [0, 5]},
        scoring=lambda estimator, X, y: _auc(y, estimator.score_samples(X)),
        cv=[(np.arange(half), np.arange(half, len(X)))],
    ).fit(X, y)
    without, with_neighbours = search.cv_results_["mean_test_score"]
    assert search.best_params_ == {"n_neighbors": 5}
    assert with_neighbours >= 0.9 and with_neighbours - without > 0.1
    assert search.best_estimator_.reference_rows_.shape == X.shape


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


def test_the_terms_and_the_network_follow_the_data(make_blobs_with_outliers):
    X, _ = make_blobs_with_outliers(0)
    detector = AutoencoderOutlierDetector(epochs=3, random_state=0).fit(X)
    assert detector.term_median_.shape == detector.term_spread_.shape == (4,)
    # the code: principal axes for 90% of the variance, clipped to [1, min(n // 4, d)]
    scaled = detector._scale(X)
    expected = skae._pca.width_for_variance(scaled, 0.9)
    assert detector.latent_dim_ == min(max(expected, 1), min(len(X) // 4, X.shape[1]))
    assert detector._hidden_sizes() == (int(np.clip(2 * detector.latent_dim_, 16, 256)),)
    assert detector.transform(X).shape == (len(X), detector.latent_dim_)
    assert detector.reference_rows_.shape == X.shape
    assert detector.forest_max_samples_ == min(256, len(X))
    without = AutoencoderOutlierDetector(epochs=3, **NO_NEIGHBOURS, random_state=0).fit(X)
    assert without.term_median_.shape == (3,) and not len(without.reference_rows_)
    # a tiny table gets a tiny code
    assert AutoencoderOutlierDetector(epochs=1).fit(X[:12]).latent_dim_ <= 3


@pytest.mark.parametrize("n_rows, epochs", [(80, 50), (1000, 50), (5_000, 14), (20_000, 5)])
def test_auto_epochs_follow_the_rows(n_rows, epochs):
    # clip(ceil(500 / ceil(0.9 n / 128)), 5, 50): about 500 gradient steps,
    # so that 80 rows are not passed over 1,500 times.
    options = AutoencoderOutlierDetector()._training_options(n_rows)
    assert options.epochs == epochs
    assert options.early_stopping and options.n_iter_no_change == 5
    assert not AutoencoderOutlierDetector()._training_options(10).early_stopping
    assert not AutoencoderOutlierDetector(epochs=7)._training_options(n_rows).early_stopping


def test_an_80_row_table_trains_at_most_50_epochs(make_blobs_with_outliers):
    X, _ = make_blobs_with_outliers(0)
    with pytest.warns(UserWarning, match="rests on"):
        detector = AutoencoderOutlierDetector(random_state=0).fit(X[:80])
    assert 1 <= detector.n_iter_ <= 50


@pytest.mark.parametrize("removed", ["n_members", "trim_fraction", "support_fraction"])
def test_parameters_of_the_previous_design_are_refused(removed):
    with pytest.raises(TypeError, match=removed):
        AutoencoderOutlierDetector(**{removed: 1}).fit(np.zeros((20, 3)))


def test_save_and_load_give_the_same_scores_and_store_no_pickle(tmp_path, fitted):
    detector, X = fitted
    path = tmp_path / "detector.skae"
    detector.save(path)
    loaded = skae.load(path)
    np.testing.assert_array_equal(loaded.score_samples(X), detector.score_samples(X))
    np.testing.assert_array_equal(loaded.predict(X), detector.predict(X))
    assert loaded.offset_ == detector.offset_
    pd.testing.assert_frame_equal(loaded.explain(X[:5]), detector.explain(X[:5]))
    assert b"IsolationForest" not in path.read_bytes()


def test_p_values_are_calibrated_on_held_out_rows(
    make_estimator, make_blobs_with_outliers, global_random_seed
):
    X, y = make_blobs_with_outliers(global_random_seed, n_inliers=800)
    inliers, outliers = X[y == 0], X[y == 1]
    detector = make_estimator(
        AutoencoderOutlierDetector,
        **DETECTOR,
        calibration_fraction=0.25,
        random_state=global_random_seed,
    ).fit(inliers[:600])
    assert len(detector.calibration_scores_) == 150
    p_inliers = detector.p_values(inliers[600:])  # new rows, drawn as the calibration rows
    assert np.all((p_inliers > 0) & (p_inliers <= 1))
    assert np.mean(p_inliers <= 0.1) <= 0.1 + 0.1  # valid, up to the noise of 200 rows
    assert np.median(detector.p_values(outliers)) < 0.05


def test_explain_names_the_perturbed_column(make_estimator, make_blobs_with_outliers):
    X, _ = make_blobs_with_outliers(0, n_outliers=0)
    X = X.copy()
    X[7, 3] += 10.0
    detector = make_estimator(AutoencoderOutlierDetector, **DETECTOR).fit(X)
    explanation = detector.explain(X[[7]], top_k=2)
    first = explanation[explanation["rank"] == 1]
    assert first["column"].tolist() in ([3], ["3"], ["x3"])


def test_per_feature_errors_are_relative_to_each_columns_typical_error(fitted):
    detector, X = fitted
    cells = detector.reconstruction_error(X, per_feature=True)
    # s_j^2 is the median squared training residual: the median cell is 1
    np.testing.assert_allclose(np.median(cells, axis=0), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.nanmean(cells, axis=1), detector.reconstruction_error(X))


def test_validates_once_and_runs_the_network_once(fitted, make_estimator, monkeypatch):
    detector, X = fitted
    validations, passes = [], []
    validate, predict = skae._validation.validate_data, skae._engine.predict_arrays

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
    # once: the second network trains on, and scores, the rows fit validated
    assert len(validations) == 1


def test_neighbour_search_is_built_once_and_follows_new_reference_rows(
    make_estimator, make_blobs_with_outliers, monkeypatch
):
    X, _ = make_blobs_with_outliers(6)
    detector = make_estimator(AutoencoderOutlierDetector).fit(X)
    fits, fit = [], NearestNeighbors.fit

    def count_fits(self, *args, **kwargs):
        fits.append(1)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(NearestNeighbors, "fit", count_fits)
    scores, explanation = detector.score_samples(X), detector.explain(X[:20])
    built = len(fits)
    np.testing.assert_array_equal(detector.score_samples(X), scores)
    pd.testing.assert_frame_equal(detector.explain(X[:20]), explanation)
    assert len(fits) == built  # the second calls fit no neighbour index
    assert b"NearestNeighbors" not in pickle.dumps(detector)  # nor is one pickled

    def assert_scored_as_its_reloaded_copy(detector):
        # A pickle holds no index: the copy searches reference_rows_ afresh.
        copy = pickle.loads(pickle.dumps(detector))
        np.testing.assert_array_equal(detector.score_samples(X), copy.score_samples(X))
        pd.testing.assert_frame_equal(detector.explain(X[:20]), copy.explain(X[:20]))

    detector.partial_fit(X[::3])  # reference_rows_: this batch
    assert len(detector.reference_rows_) == len(X[::3])
    assert_scored_as_its_reloaded_copy(detector)
    detector.fit(X[1::2])
    assert_scored_as_its_reloaded_copy(detector)
    assert not np.array_equal(detector.score_samples(X), scores)


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
    batch = X[:100]
    detector.partial_fit(batch)
    assert len(detector.reference_rows_) == len(detector.calibration_scores_) == 100
    # a float contamination: that share of the batch's own scores is below offset_
    assert np.percentile(detector.score_samples(batch), 10) == pytest.approx(detector.offset_)


def test_a_threshold_on_few_rows_warns_with_their_count(tabular):
    detector = AutoencoderOutlierDetector(epochs=1, random_state=0).fit(tabular)
    with pytest.warns(UserWarning, match=r"scores of 3 out-of-fold row\(s\), fewer than 20"):
        detector.partial_fit(tabular[:3])
    with pytest.warns(UserWarning, match=r"scores of 5 calibration row\(s\)"):
        detector.calibrate(tabular[:5])
    with pytest.warns(UserWarning, match=r"scores of 10 training row\(s\)"):
        AutoencoderOutlierDetector(epochs=1, contamination=0.1, random_state=0).fit(tabular[:10])


def test_a_threshold_on_enough_rows_does_not_warn(tabular, recwarn):
    # 100 rows: the autoencoder's second network leaves 20 out, the fewest that do not warn
    AutoencoderOutlierDetector(epochs=1, random_state=0).fit(tabular[:100])
    assert not [w for w in recwarn if "threshold offset_" in str(w.message)]
