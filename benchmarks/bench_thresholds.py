"""Thresholds, p-values and explanations of the outlier detector on the ADBench tables.

Usage::

    python benchmarks/bench_thresholds.py DATA_DIR [--sets NAME ...] [--seeds 0 1 2]

For each table (every ``tabular/adbench_*.npz`` but ``adbench_http``) and
seed: a stratified 60/40 split; an ``AutoencoderOutlierDetector`` fit on the
training part (outliers included, labels unused) with a fifth of it held out
as calibration rows (``--calibration-fraction``, 0.2 by default; with 0 the
thresholds come from the training rows' scores, as by default, and there are
no p-values). On the test part it reports:

- for ``contamination="auto"`` and for a fixed ``contamination=0.1`` (both
  thresholds set on the calibration rows): the share of test rows flagged,
  beside the true share of outliers, and the precision and recall of the
  flags;
- for conformal p-values with Benjamini-Hochberg at 5% and 10%, applied to
  the test rows in batches of 20: the empirical false discovery rate (share
  of inliers among the flagged rows) and the recall. The calibration rows
  hold outliers too, which makes the p-values conservative;
- for ``explain``: test inliers with one column changed by 5 standard
  deviations (of the training part), and how often ``explain`` ranks that
  column first.

Means over tables and seeds are printed at the end.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from sklearn.model_selection import train_test_split

from skae import AutoencoderOutlierDetector, benjamini_hochberg

BATCH = 20
N_PLANTED = 50


def flags_report(flagged, outlier):
    hits = (flagged & outlier).sum()
    return flagged.mean(), hits / max(flagged.sum(), 1), hits / max(outlier.sum(), 1)


def fdr_report(p_values, outlier, alpha):
    batches = np.array_split(np.arange(len(p_values)), max(1, len(p_values) // BATCH))
    flagged = np.zeros(len(p_values), dtype=bool)
    for batch in batches:
        flagged[batch] = benjamini_hochberg(p_values[batch], alpha)
    false = (flagged & ~outlier).sum()
    return false / max(flagged.sum(), 1), (flagged & outlier).sum() / max(outlier.sum(), 1)


def planted_hit_rate(detector, X_train, X_test, outlier, seed):
    rng = np.random.RandomState(seed)
    rows = X_test[~outlier][:N_PLANTED].copy()
    columns = rng.randint(X_train.shape[1], size=len(rows))
    spread = X_train.std(axis=0)
    rows[np.arange(len(rows)), columns] += 5 * np.where(spread > 0, spread, 1.0)[columns]
    names = np.array([f"x{j}" for j in range(X_train.shape[1])])
    first = detector.explain(rows, top_k=1)["column"].to_numpy()
    return np.mean(first == names[columns])


def evaluate(path, seed, calibration_fraction):
    data = np.load(path, allow_pickle=False)
    X, y = data["X"].astype(np.float64), data["y"].astype(bool)
    X_train, X_test, _, outlier = train_test_split(
        X, y, test_size=0.4, stratify=y, random_state=seed
    )
    auto = AutoencoderOutlierDetector(
        contamination="auto", calibration_fraction=calibration_fraction, random_state=seed
    ).fit(X_train)
    reference = auto.calibration_scores_
    if not len(reference):  # thresholds on the training rows' scores, as fit sets them
        reference = auto.score_samples(X_train)
    fixed_offset = np.percentile(reference, 10)
    normality = auto.score_samples(X_test)
    no_p = np.ones(len(X_test))  # without calibration rows: no p-values
    p_values = auto.p_values(X_test) if len(auto.calibration_scores_) else no_p
    row = {
        "true share": outlier.mean(),
        "auto": flags_report(normality < auto.offset_, outlier),
        "0.1": flags_report(normality < fixed_offset, outlier),
        "BH 5%": fdr_report(p_values, outlier, 0.05),
        "BH 10%": fdr_report(p_values, outlier, 0.1),
        "planted first": planted_hit_rate(auto, X_train, X_test, outlier, seed),
    }
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--sets", nargs="*")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument(
        "--calibration-fraction",
        type=float,
        default=0.2,
        help="0: thresholds on the training rows, no p-values",
    )
    args = parser.parse_args()
    paths = [
        p
        for p in sorted(Path(args.data_dir, "tabular").glob("adbench_*.npz"))
        if p.stem != "adbench_http"
    ]
    if args.sets:
        paths = [p for p in paths if p.stem.removeprefix("adbench_") in args.sets]
    if not paths:
        print(
            f"bench_thresholds.py: no tables under {args.data_dir}/tabular; see the "
            "README's section 'Data for the benchmarks'.",
            file=sys.stderr,
        )
        sys.exit(2)
    print(
        "| table | true share | auto: flagged / precision / recall | 0.1: flagged / "
        "precision / recall | BH 5%: FDR / recall | BH 10%: FDR / recall | planted first |"
    )
    print("|---|---:|---|---|---|---|---:|")
    rows = []
    for path in paths:
        for seed in args.seeds:
            row = evaluate(path, seed, args.calibration_fraction)
            rows.append(row)
            name = path.stem.removeprefix("adbench_")
            print(
                f"| {name} (seed {seed}) | {row['true share']:.3f} | "
                + " | ".join(
                    " / ".join(f"{v:.3f}" for v in row[k])
                    for k in ("auto", "0.1", "BH 5%", "BH 10%")
                )
                + f" | {row['planted first']:.2f} |",
                flush=True,
            )
    mean = {k: np.mean([r[k] for r in rows], axis=0) for k in rows[0]}
    print(
        f"| **mean** | {mean['true share']:.3f} | "
        + " | ".join(
            " / ".join(f"{v:.3f}" for v in mean[k]) for k in ("auto", "0.1", "BH 5%", "BH 10%")
        )
        + f" | {mean['planted first']:.2f} |"
    )


if __name__ == "__main__":
    main()
