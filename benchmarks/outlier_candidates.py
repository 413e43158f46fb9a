"""Candidate detector designs for issue 23, built from public pieces, on the tuning pool only.

Usage::

    python benchmarks/outlier_candidates.py DATA_DIR --candidates ID [ID ...]
        [--sizes 64 256 1024 full] [--families tabular embeddings]
        [--baselines benchmarks/results/baselines_tuning.json]
        [--out results.json] [--log benchmarks/outlier_candidates.md]
    python benchmarks/outlier_candidates.py DATA_DIR --compare A.json B.json ... --detectors ...

Every candidate is a function of one split (``bench_outliers.Split``) that
returns the test rows' normality (bigger = more normal) and the test rows it
flags. It uses only scikit-learn and skae's public estimators. The protocol,
splits and sizes are those of ``benchmarks/OUTLIER_PROTOCOL.md`` (through
``bench_outliers.run``) and the pool is always the tuning pool: this script
cannot read a lockbox table. Each run appends one row per candidate to the
log (``benchmarks/outlier_candidates.md``): mean ROC-AUC / mean AP / mean rank
of AUC among the six baselines and the candidate, per family x size, its
margin over the best classical detector (IForest, kNN, MCD, Ens3), and its
mean fit+score seconds per split.

Shared construction of the ``HO`` candidates (hold-out):

1. The training rows are split once, seeded: a calibration part B of
   ``max(8, round(0.2 n))`` rows and a fitting part A (the rest).
2. Every term is fitted on A only and scores B and the test rows, so that the
   scores it is normalised on are scores of rows it never saw (like the test
   rows), not in-sample scores that flatter a term that fits closely.
3. Terms, each an anomaly on a distance scale (bigger = more anomalous):
   ``iforest``: minus ``IsolationForest(random_state=seed).score_samples``;
   ``knn``: distance to the 5th nearest row of A after a StandardScaler
   fitted on A; ``mcd``: square root of the robust Mahalanobis distance
   (MinCovDet; LedoitWolf where d > 100, |A| < 5 d, or MinCovDet fails) after
   that scaler; ``ae``: see :func:`ae_term`.
4. Each term is normalised by the median and IQR of its B scores; the anomaly
   is the weighted mean of the normalised terms.
5. Threshold: the test row is flagged when its anomaly is above B's
   ``Q3 + 1.5 IQR`` (Tukey's fence, ``fence``) or ``Q3 + 3 IQR`` (``far``).
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import bench_outliers as bench
from sklearn.covariance import LedoitWolf, MinCovDet
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

BASELINE_ORDER = ("IForest", "kNN", "MCD", "LOF", "PCA", "Ens3")


# ---------------------------------------------------------------- hold-out terms


def hold_out(n, seed, fraction=0.2, least=8):
    """(fitting indices A, calibration indices B) of n training rows, seeded."""
    order = np.random.default_rng(seed).permutation(n)
    size = max(least, round(fraction * n))
    return np.sort(order[size:]), np.sort(order[:size])


def iforest_term(fit, rows, seed):
    model = IsolationForest(random_state=seed).fit(fit)
    return [-model.score_samples(r) for r in rows]


def knn_term(fit, rows, seed, k=5):
    search = NearestNeighbors(n_neighbors=min(k, len(fit))).fit(fit)
    return [search.kneighbors(r)[0][:, -1] for r in rows]


def mcd_term(fit, rows, seed):
    n, d = fit.shape
    model = None
    if d <= 100 and n >= 5 * d:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "covariance matrix ... not full rank"
                model = MinCovDet(random_state=seed).fit(fit)
        except (ValueError, np.linalg.LinAlgError):
            model = None
    model = model or LedoitWolf().fit(fit)
    # mahalanobis() is squared; its square root puts it on a distance scale like kNN's.
    return [np.sqrt(np.maximum(model.mahalanobis(r), 0)) for r in rows]


def ae_shape(fit):
    """(latent_dim, hidden width, epochs) of the autoencoder term, from the rows alone.

    - code: the number of principal components for 90% of the variance (the
      PCA baseline's rule; the PCA-started network begins as exactly that PCA),
      at most a quarter of the rows (a code needs rows to be estimated);
    - one hidden layer twice the code, 16 to 256 units;
    - epochs: about 500 gradient steps (batch 64), at least 5 and at most 50
      passes, so steps grow slowly with n and a 50-row table is not passed
      over a thousand times; early stopping on 10% of the rows (patience 5)
      does the rest. (500 and 50 are set by the CPU budget of this study: a
      2-core machine shared by four sessions, ~300 fits per candidate run.)
    """
    n, d = fit.shape
    variance = PCA(svd_solver="full").fit(fit).explained_variance_ratio_
    code = int(np.searchsorted(np.cumsum(variance), 0.9) + 1)
    code = max(1, min(code, n // 4, d))
    hidden = int(np.clip(2 * code, 16, 256))
    steps_per_epoch = int(np.ceil(0.9 * n / 64))
    epochs = int(np.clip(np.ceil(500 / steps_per_epoch), 5, 50))
    return code, hidden, epochs


def ae_term(fit, rows, seed):
    """RMS of the reconstruction residuals, each column over its median absolute residual.

    The autoencoder (``skae.AutoencoderTransformer``, PCA-started, early
    stopping) is fitted on the standardised rows; a column's residuals are put
    in a robust scale (median |residual| on the fitting rows) so that no
    column with a large, noisy residual decides the score alone.
    """
    from skae import AutoencoderTransformer  # public API only

    code, hidden, epochs = ae_shape(fit)
    model = AutoencoderTransformer(
        code,
        hidden_layer_sizes=(hidden,),
        scaling=None,  # the rows arrive standardised
        epochs=epochs,
        n_iter_no_change=5,
        random_state=seed,
    ).fit(fit)
    scale = np.sqrt(np.median(model.reconstruction_error(fit, per_feature=True), axis=0))
    floor = max(1e-6, 1e-3 * float(np.median(scale)))
    scale = np.maximum(scale, floor)
    return [
        np.sqrt(np.mean(model.reconstruction_error(r, per_feature=True) / scale**2, axis=1))
        for r in rows
    ]


def pca_term(fit, rows, seed):
    """The same residual construction as ``ae_term`` with plain PCA (90% variance)."""
    model = PCA(n_components=0.9, svd_solver="full").fit(fit)

    def squared(r):
        return (r - model.inverse_transform(model.transform(r))) ** 2

    scale = np.maximum(np.sqrt(np.median(squared(fit), axis=0)), 1e-6)
    return [np.sqrt(np.mean(squared(r) / scale**2, axis=1)) for r in rows]


TERM_FUNCTIONS = {
    "iforest": (iforest_term, False),  # (function, reads standardised rows)
    "knn": (knn_term, True),
    "mcd": (mcd_term, True),
    "ae": (ae_term, True),
    "pca": (pca_term, True),
}


def hold_out_terms(split, names):
    """{term: (B anomalies, test anomalies)}, every term fitted on A; cached on the split."""
    cache = split.__dict__.setdefault("_hold_out", {})
    if "rows" not in cache:
        fit_idx, cal_idx = hold_out(len(split.X_train), split.seed)
        A, B = split.X_train[fit_idx], split.X_train[cal_idx]
        scaler = StandardScaler().fit(A)
        cache["rows"] = {
            False: (A, B, split.X_test),
            True: (scaler.transform(A), scaler.transform(B), scaler.transform(split.X_test)),
        }
    answer = {}
    for name in names:
        if name not in cache:
            function, standardised = TERM_FUNCTIONS[name]
            A, B, test = cache["rows"][standardised]
            start = time.perf_counter()
            cache[name] = (function(A, [B, test], split.seed), time.perf_counter() - start)
        else:
            split.charged += cache[name][1]
        answer[name] = cache[name][0]
    return answer


def combined(split, weights):
    """Test normality and flags of the weighted mean of B-normalised terms."""
    terms = hold_out_terms(split, list(weights))
    total_b = total_test = 0.0
    for name, weight in weights.items():
        B, test = terms[name]
        test_n, b_n = bench.robust_normalised(B, test)
        total_b, total_test = total_b + weight * b_n, total_test + weight * test_n
    norm = sum(weights.values())
    anomaly_b, anomaly_test = total_b / norm, total_test / norm
    q1, q3 = np.percentile(anomaly_b, [25, 75])
    flags = {
        "fence": anomaly_test > q3 + 1.5 * (q3 - q1),
        "far": anomaly_test > q3 + 3.0 * (q3 - q1),
    }
    return -anomaly_test, flags


def shrinking_weight(split, c=5.0):
    """w = n / (n + c d): half weight at c rows per column (MCD's 5 rows per column rule)."""
    n, d = split.X_train.shape
    return n / (n + c * d)


CLASSICAL3 = {"iforest": 1.0, "knn": 1.0, "mcd": 1.0}

CANDIDATES = {
    "HO-Ens3": (
        "ablation, no autoencoder: IForest, kNN, sqrt-MCD fitted on A, normalised on held-out B",
        lambda s: combined(s, CLASSICAL3),
    ),
    "HO-Ens3+AE": (
        "HO-Ens3 plus the PCA-started AE residual term (robust column scale), weight 1",
        lambda s: combined(s, {**CLASSICAL3, "ae": 1.0}),
    ),
    "HO-Ens3+AE-w": (
        "HO-Ens3 plus the AE term with weight n/(n+5d): shrinks with few rows per column",
        lambda s: combined(s, {**CLASSICAL3, "ae": shrinking_weight(s)}),
    ),
    "HO-Ens3+PCA": (
        "HO-Ens3 plus the same residual term from plain PCA (does the AE beat its PCA start?)",
        lambda s: combined(s, {**CLASSICAL3, "pca": 1.0}),
    ),
}


# ---------------------------------------------------------------- log


def merged(candidate_results, baselines):
    """The candidate's per-table records beside the baselines', per family x size."""
    cells = {}
    for family, by_size in candidate_results.items():
        for size, cell in by_size.items():
            base = baselines["results"].get(family, {}).get(size, {})
            cells[(family, size)] = {
                t: {**base.get(t, {}), **records} for t, records in cell.items() if t in base
            }
    return cells


def log_rows(candidate_results, baselines, names):
    """One markdown row per candidate: AUC / AP / rank and margin per family x size."""
    cells = merged(candidate_results, baselines)
    rows = []
    for name in names:
        parts, margins, seconds = [], [], []
        for (family, size), cell in cells.items():
            detectors = [*BASELINE_ORDER, name]
            means = bench.summary(cell, detectors)
            if not means:
                continue
            auc, ap, rank, secs = means[name]
            best_auc = max(means[d][0] for d in bench.CLASSICAL)
            best_ap = max(means[d][1] for d in bench.CLASSICAL)
            margins.append(auc - best_auc)
            seconds.append(secs)
            ok = "✓" if auc >= best_auc + 0.01 and ap >= best_ap else ""
            parts.append(
                f"{family[:3]} {size}: {auc:.3f}/{ap:.3f}/{rank:.2f} ({auc - best_auc:+.3f}{ok})"
            )
        rows.append(
            f"| {name} | {CANDIDATES[name][0]} | " + "<br>".join(parts) + f" | {min(margins):+.3f}"
            f" | {np.mean(seconds):.2f} |"
        )
    return rows


def merge_files(paths):
    """Per-table records of several results files, merged (same tables, sizes and splits)."""
    results, skipped = {}, {}
    for path in paths:
        payload = json.loads(Path(path).read_text())
        for family, by_size in payload["results"].items():
            for size, cell in by_size.items():
                target = results.setdefault(family, {}).setdefault(size, {})
                for table, records in cell.items():
                    target.setdefault(table, {}).update(records)
                skipped.setdefault(family, {})[size] = payload["skipped"][family][size]
    return results, skipped


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--candidates", nargs="+", choices=list(CANDIDATES))
    parser.add_argument(
        "--compare",
        nargs="+",
        help="print the summary of these results files together; run nothing",
    )
    parser.add_argument("--detectors", nargs="+", help="with --compare: the detectors to show")
    parser.add_argument("--sizes", nargs="+", default=["64", "256", "1024"], choices=bench.SIZES)
    parser.add_argument("--families", nargs="+", default=list(bench.FAMILIES))
    parser.add_argument("--baselines", default="benchmarks/results/baselines_tuning.json")
    parser.add_argument("--out", help="write every split's figures to this JSON file")
    parser.add_argument("--log", default="benchmarks/outlier_candidates.md")
    args = parser.parse_args()
    if args.compare:
        results, skipped = merge_files(args.compare)
        bench.print_tables(results, skipped, args.detectors, per_table=False)
        return
    detectors = {name: CANDIDATES[name][1] for name in args.candidates}
    results, skipped = bench.run(args.data_dir, "tuning", args.sizes, args.families, detectors)
    command = "python " + " ".join(sys.argv)
    print(f"# outlier_candidates: tuning pool\n\ncommand: `{command}`")
    bench.print_tables(results, skipped, args.candidates)
    if args.out:
        payload = {"command": command, "pool": "tuning", "results": results, "skipped": skipped}
        Path(args.out).write_text(json.dumps(payload, indent=1))
    baselines = json.loads(Path(args.baselines).read_text())
    rows = log_rows(results, baselines, args.candidates)
    with open(args.log, "a") as log:
        log.write(f"\n<!-- {command} -->\n" + "\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
