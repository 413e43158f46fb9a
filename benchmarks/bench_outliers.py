"""Outlier detection on the labelled ADBench tables: skae against five baselines.

Usage::

    python benchmarks/bench_outliers.py DATA_DIR [--sets NAME ...] [--detectors NAME ...]
                                        [--skae-params JSON]

DATA_DIR holds ``tabular/adbench_*.npz`` (``../shared/data`` from the project
root; see the README for where the data come from). Every table but
``adbench_http`` (kept for scale tests) is used. The protocol is the one in
DATA_DIR/README.md: for each table, three stratified 60/40 train/test splits
(seeds 0, 1, 2); every detector is fit on the training part, outliers
included and labels unused, and scores the test part. Reported per table:
mean ROC-AUC and mean average precision (AP) over the splits; then each
detector's mean over the tables, its mean rank over the tables (1 = best),
and its mean fit+score seconds per split. Detectors, all with their default
parameters, the same for every table:

- ``IForest``: ``IsolationForest(random_state=seed)``;
- ``LOF``: ``LocalOutlierFactor(novelty=True)`` after ``StandardScaler``;
- ``PCA``: reconstruction error after ``StandardScaler``, components for 90%
  of the variance;
- ``kNN``: distance to the 5th nearest training row after ``StandardScaler``;
- ``MCD``: robust Mahalanobis distance (``MinCovDet(random_state=seed)``)
  after ``StandardScaler``; ``LedoitWolf`` for tables with more than 100
  columns or fewer than 5 training rows per column, and where MinCovDet fails;
- ``skae``: ``skae.AutoencoderOutlierDetector(random_state=seed)``
  (``--skae-params`` adds parameters, as JSON).

The tables are also split into two fixed halves (sorted by name, alternate
ones, case ignored): the defaults of skae were chosen by looking at one half and checked on
the other, both ways; the script prints each half's means, so that anyone can
see how the figures hold on the half not used for a choice.
"""

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from scipy.stats import rankdata
from sklearn.covariance import LedoitWolf, MinCovDet
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderOutlierDetector

SEEDS = (0, 1, 2)
DETECTORS = ("IForest", "LOF", "PCA", "kNN", "MCD", "skae")


def _standardized(X_train, X_test):
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test)


def iforest(X_train, X_test, seed, _):
    return IsolationForest(random_state=seed).fit(X_train).score_samples(X_test)


def lof(X_train, X_test, seed, _):
    train, test = _standardized(X_train, X_test)
    return LocalOutlierFactor(novelty=True).fit(train).score_samples(test)


def pca(X_train, X_test, seed, _):
    train, test = _standardized(X_train, X_test)
    model = PCA(n_components=0.9, svd_solver="full").fit(train)
    return -np.sum((test - model.inverse_transform(model.transform(test))) ** 2, axis=1)


def knn(X_train, X_test, seed, _):
    train, test = _standardized(X_train, X_test)
    distances, _ = NearestNeighbors(n_neighbors=5).fit(train).kneighbors(test)
    return -distances[:, -1]


def mcd(X_train, X_test, seed, _):
    train, test = _standardized(X_train, X_test)
    n, d = train.shape
    if d <= 100 and n >= 5 * d:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "covariance matrix ... not full rank"
                return -MinCovDet(random_state=seed).fit(train).mahalanobis(test)
        except (ValueError, np.linalg.LinAlgError):
            pass
    return -LedoitWolf().fit(train).mahalanobis(test)


def skae_detector(X_train, X_test, seed, params):
    detector = AutoencoderOutlierDetector(random_state=seed, **params)
    return detector.fit(X_train).score_samples(X_test)


SCORERS = {
    "IForest": iforest,
    "LOF": lof,
    "PCA": pca,
    "kNN": knn,
    "MCD": mcd,
    "skae": skae_detector,
}


def evaluate(path, detectors, skae_params):
    """{detector: (mean ROC-AUC, mean AP, mean seconds per split)} on one table."""
    data = np.load(path, allow_pickle=False)
    X, y = data["X"].astype(np.float64), data["y"]
    results = {name: ([], [], []) for name in detectors}
    for seed in SEEDS:
        X_train, X_test, _, y_test = train_test_split(
            X, y, test_size=0.4, stratify=y, random_state=seed
        )
        for name in detectors:
            start = time.perf_counter()
            normality = SCORERS[name](X_train, X_test, seed, skae_params)
            seconds = time.perf_counter() - start
            aucs, aps, times = results[name]
            aucs.append(roc_auc_score(y_test, -normality))
            aps.append(average_precision_score(y_test, -normality))
            times.append(seconds)
    return {name: tuple(float(np.mean(v)) for v in values) for name, values in results.items()}


def halves(names):
    """Two fixed halves of the tables: sorted by name (ignoring case), alternate ones."""
    ordered = sorted(names, key=str.lower)
    return ordered[0::2], ordered[1::2]


def mean_ranks(table, names, detectors, measure):
    """Mean over tables of each detector's rank (1 = best) by ``measure`` (0 AUC, 1 AP)."""
    ranks = np.array([rankdata([-table[n][d][measure] for d in detectors]) for n in names])
    return dict(zip(detectors, ranks.mean(axis=0), strict=True))


def report(table, detectors):
    names = list(table)
    print("\n| table | " + " | ".join(f"{d} AUC | {d} AP" for d in detectors) + " |")
    print("|---|" + "---:|" * (2 * len(detectors)))
    for name in names:
        cells = " | ".join(f"{table[name][d][0]:.3f} | {table[name][d][1]:.3f}" for d in detectors)
        print(f"| {name} | {cells} |")
    print("\n| summary | " + " | ".join(detectors) + " |")
    print("|---|" + "---:|" * len(detectors))
    groups = {"all": names}
    if len(names) > 3:
        first, second = halves(names)
        groups.update({"half A": first, "half B": second})
    for group, members in groups.items():
        for measure, label in ((0, "ROC-AUC"), (1, "AP")):
            means = [np.mean([table[n][d][measure] for n in members]) for d in detectors]
            print(
                f"| mean {label}, {group} ({len(members)}) | "
                + " | ".join(f"{m:.3f}" for m in means)
                + " |"
            )
            ranks = mean_ranks(table, members, detectors, measure)
            print(
                f"| mean rank {label}, {group} | "
                + " | ".join(f"{ranks[d]:.2f}" for d in detectors)
                + " |"
            )
    seconds = [np.mean([table[n][d][2] for n in names]) for d in detectors]
    print("| fit+score s / split | " + " | ".join(f"{s:.2f}" for s in seconds) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", help="folder holding tabular/adbench_*.npz")
    parser.add_argument("--sets", nargs="*", help="table names, e.g. cardio glass")
    parser.add_argument("--detectors", nargs="*", default=list(DETECTORS), choices=DETECTORS)
    parser.add_argument("--skae-params", default="{}", help="JSON parameters for skae")
    args = parser.parse_args()
    paths = sorted(Path(args.data_dir, "tabular").glob("adbench_*.npz"))
    paths = [p for p in paths if p.stem != "adbench_http"]
    if args.sets:
        paths = [p for p in paths if p.stem.removeprefix("adbench_") in args.sets]
    if not paths:
        print(
            f"bench_outliers.py: no tables found under {args.data_dir}/tabular "
            "(adbench_*.npz); see the README's section 'Data for the benchmarks'.",
            file=sys.stderr,
        )
        sys.exit(2)
    skae_params = json.loads(args.skae_params)
    table = {}
    for path in paths:
        name = path.stem.removeprefix("adbench_")
        table[name] = evaluate(path, args.detectors, skae_params)
        print(name, {d: tuple(round(v, 3) for v in r) for d, r in table[name].items()}, flush=True)
    report(table, args.detectors)


if __name__ == "__main__":
    main()
