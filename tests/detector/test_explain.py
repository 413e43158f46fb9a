"""AutoencoderOutlierDetector.explain (skae/_detector/_explain.py)."""

import numpy as np
import pandas as pd
import pytest

from skae import AutoencoderOutlierDetector

N_FEATURES = 6


def correlated(seed, n):
    rng = np.random.RandomState(seed)
    mixing = np.random.RandomState(7).normal(size=(2, N_FEATURES))
    return rng.normal(size=(n, 2)) @ mixing + 0.2 * rng.normal(size=(n, N_FEATURES))


@pytest.fixture(scope="module")
def fitted():
    X = correlated(0, 600)
    return AutoencoderOutlierDetector(epochs=30, random_state=0).fit(X), X


def test_a_planted_column_ranks_first(global_random_seed, fitted):
    detector, _ = fitted
    rng = np.random.RandomState(global_random_seed)
    rows = correlated(global_random_seed + 100, 60)
    planted = rng.randint(N_FEATURES, size=60)
    rows[np.arange(60), planted] += 8 * rng.choice([-1, 1], size=60)
    first = detector.explain(rows, top_k=1)["column"].to_numpy()
    # the autoencoder's residuals: a planted column leaks a little into the
    # others through the reconstruction (0.88 with seed 0)
    assert np.mean(first == np.array([f"x{j}" for j in planted])) >= 0.8


def test_the_table_is_tidy_and_names_columns_and_index():
    X = pd.DataFrame(correlated(1, 300), columns=list("abcdef"), index=range(1000, 1300))
    detector = AutoencoderOutlierDetector(epochs=5, random_state=0).fit(X)
    table = detector.explain(X.iloc[:4], top_k=2)
    assert list(table.columns) == [
        *["row", "rank", "column", "contribution", "value", "expected"],
        *["isolation", "neighbours", "covariance", "autoencoder"],
    ]
    # the row's normalised terms, whose mean is its anomaly
    terms = table.groupby("row")[["isolation", "neighbours", "covariance", "autoencoder"]].first()
    np.testing.assert_allclose(
        terms.mean(axis=1).to_numpy(), -detector.score_samples(X.iloc[:4]), rtol=1e-9
    )
    assert table["row"].tolist() == [1000, 1000, 1001, 1001, 1002, 1002, 1003, 1003]
    assert table["rank"].tolist() == [1, 2] * 4
    assert set(table["column"]) <= set("abcdef")
    first = table.iloc[0]
    assert first["value"] == X.loc[1000, first["column"]]
    ranked = table.groupby("row")["contribution"].apply(lambda c: (np.diff(c) <= 0).all())
    assert ranked.all()


def test_contributions_split_the_autoencoder_term_exactly(fitted):
    # Summed over all columns, a row's contributions are its autoencoder
    # anomaly as it enters -score_samples (over the number of terms), up to
    # the term's median, a constant of the fitted detector.
    detector, X = fitted
    rows = correlated(5, 40)
    rows[:10, 2] += 6
    table = detector.explain(rows, top_k=N_FEATURES)
    by_row = table.groupby("row")
    totals = by_row["contribution"].sum().to_numpy()
    gaps = totals - by_row["autoencoder"].first().to_numpy() / 4
    np.testing.assert_allclose(gaps, gaps[0], atol=1e-9)
    assert np.ptp(totals) > 0.1


def test_top_k_is_checked(fitted):
    detector, X = fitted
    with pytest.raises(ValueError, match="top_k"):
        detector.explain(X[:2], top_k=0)
    assert len(detector.explain(X[:2], top_k=50)) == 2 * N_FEATURES
