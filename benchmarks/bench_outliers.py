"""Outlier detection on 14 labelled ADBench tables: skae vs IsolationForest, LOF, PCA.

Usage::

    python benchmarks/bench_outliers.py DATA_DIR [--sets NAME ...]

DATA_DIR holds ``tabular/adbench_*.npz`` (``../shared/data`` from the project
root; ``adbench_http`` is skipped: it is for scale). The protocol is the one in
DATA_DIR/README.md: for each set, three stratified 60/40 train/test splits
(seeds 0, 1, 2); every detector is fit on the training part, outliers included
and labels unused, and scored on the test part; the table shows the mean
ROC-AUC over the three splits. Detectors, all with default parameters:

- ``IsolationForest(random_state=seed)``;
- ``LocalOutlierFactor(novelty=True)`` after ``StandardScaler``;
- PCA reconstruction error after ``StandardScaler``, with the components
  that explain 90% of the variance;
- ``skae.AutoencoderOutlierDetector(random_state=seed)``;
- "skae Q": the same fitted detector ranked by its reconstruction error alone
  (``reconstruction_error``), without the code-distance term of its score.

The last column is skae's mean fit time per split, in seconds.
"""

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neighbors import LocalOutlierFactor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skae import AutoencoderOutlierDetector  # noqa: E402

SEEDS = (0, 1, 2)
DETECTORS = ("IForest", "LOF", "PCA", "skae", "skae Q")


def pca_outlier_scores(X_train, X_test):
    """Minus the PCA reconstruction error, higher = more normal."""
    scaler = StandardScaler().fit(X_train)
    train, test = scaler.transform(X_train), scaler.transform(X_test)
    pca = PCA(n_components=0.9, svd_solver="full").fit(train)
    return -np.sum((test - pca.inverse_transform(pca.transform(test))) ** 2, axis=1)


def normality_scores(name, X_train, X_test, seed):
    """Fit detector ``name``; return {column: test scores (higher = more normal)}, fit time."""
    start = time.perf_counter()
    if name == "PCA":
        return {name: pca_outlier_scores(X_train, X_test)}, time.perf_counter() - start
    detector = {
        "IForest": lambda: IsolationForest(random_state=seed),
        "LOF": lambda: make_pipeline(StandardScaler(), LocalOutlierFactor(novelty=True)),
        "skae": lambda: AutoencoderOutlierDetector(random_state=seed),
    }[name]().fit(X_train)
    seconds = time.perf_counter() - start
    scores = {name: detector.score_samples(X_test)}
    if name == "skae":
        scores["skae Q"] = -detector.reconstruction_error(X_test)
    return scores, seconds


def evaluate(path):
    data = np.load(path, allow_pickle=False)
    X, y = data["X"].astype(np.float64), data["y"]
    aucs = {name: [] for name in DETECTORS}
    skae_seconds = []
    for seed in SEEDS:
        X_train, X_test, _, y_test = train_test_split(
            X, y, test_size=0.4, stratify=y, random_state=seed
        )
        for name in ("IForest", "LOF", "PCA", "skae"):
            scores, seconds = normality_scores(name, X_train, X_test, seed)
            for column, values in scores.items():
                aucs[column].append(roc_auc_score(y_test, -values))
            if name == "skae":
                skae_seconds.append(seconds)
    return {name: float(np.mean(v)) for name, v in aucs.items()}, float(np.mean(skae_seconds))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", help="folder holding tabular/adbench_*.npz")
    parser.add_argument("--sets", nargs="*", help="only these sets (e.g. adbench_wbc)")
    args = parser.parse_args()
    paths = sorted((Path(args.data_dir) / "tabular").glob("adbench_*.npz"))
    paths = [p for p in paths if p.stem != "adbench_http"]
    if args.sets:
        paths = [p for p in paths if p.stem in args.sets]
    print(f"{'data set':<22}{'rows':>7}" + "".join(f"{n:>9}" for n in DETECTORS)
          + f"{'skae fit s':>12}", flush=True)
    table = []
    for path in paths:
        aucs, seconds = evaluate(path)
        rows = len(np.load(path)["y"])
        table.append((aucs, seconds))
        print(f"{path.stem:<22}{rows:>7}" + "".join(f"{aucs[n]:>9.3f}" for n in DETECTORS)
              + f"{seconds:>12.1f}", flush=True)
    means = {n: np.mean([aucs[n] for aucs, _ in table]) for n in DETECTORS}
    total = np.mean([seconds for _, seconds in table])
    print(f"{'mean':<29}" + "".join(f"{means[n]:>9.3f}" for n in DETECTORS)
          + f"{total:>12.1f}")
    print(f"skae - IForest mean ROC-AUC: {means['skae'] - means['IForest']:+.3f}")


if __name__ == "__main__":
    main()
