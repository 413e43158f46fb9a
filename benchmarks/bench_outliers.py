"""Outlier detection on the labelled tables: skae against six baselines, per family and size.

Usage::

    python benchmarks/bench_outliers.py DATA_DIR --pool tuning|lockbox|all
        [--sizes 64 256 1024 full] [--families tabular embeddings]
        [--detectors NAME ...] [--tables NAME ...] [--skae-params JSON]
        [--jobs N] [--out results.json]

DATA_DIR holds ``tabular/*.npz`` and ``embeddings/*.npz`` (``../shared/data``
from the project root; its README says where the data come from). The
protocol is ``benchmarks/OUTLIER_PROTOCOL.md``, in short:

- pool: every table of both folders but ``adbench_http`` (scale tests only);
  ``benchmarks/lockbox.json`` splits it into the tuning pool and the lockbox.
  ``--pool tuning`` (the default) never reads a lockbox table;
- for each table, three stratified 60/40 train/test splits (seeds 0, 1, 2);
  every detector is fit on the training part (outliers included, labels
  unused) and scores the test part;
- sizes: the training part subsampled (stratified, seeded with the split's
  seed) to 64, 256 or 1,024 rows, or ``full``; a size not smaller than the
  training part is skipped for that table and listed as skipped;
- reported per family (tabular, embeddings) and size: every table's mean
  ROC-AUC and AP over the splits; each detector's mean ROC-AUC, mean AP, mean
  rank of ROC-AUC among the detectors of the run (1 = best) and mean fit+score
  seconds per split; and the share of the normal test rows flagged by
  ``predict`` where a detector has one (skae with its default threshold,
  IsolationForest with ``contamination="auto"``).

Detectors, all with their default parameters, the same for every table:

- ``IForest``: ``IsolationForest(random_state=seed)``;
- ``kNN``: distance to the 5th nearest training row after ``StandardScaler``;
- ``MCD``: robust Mahalanobis distance (``MinCovDet(random_state=seed)``)
  after ``StandardScaler``; ``LedoitWolf`` for tables with more than 100
  columns or fewer than 5 training rows per column, and where MinCovDet fails;
- ``LOF``: ``LocalOutlierFactor(novelty=True)`` after ``StandardScaler``;
- ``PCA``: reconstruction error after ``StandardScaler``, components for 90%
  of the variance;
- ``Ens3``: the mean of the median/IQR-normalised anomalies of IForest, kNN
  and MCD, each normalised on the training rows' own scores (kNN's with each
  training row not its own neighbour);
- ``skae``: ``skae.AutoencoderOutlierDetector(random_state=seed)``
  (``--skae-params`` adds parameters, as JSON): candidate ``CF-Ens3+AE``;
- ``skae-classical``: the same detector without its autoencoder term (a
  benchmark-only subclass: isolation, neighbours and covariance terms,
  cross-fitted normalisation and threshold): candidate ``CF-Ens3``, the
  ablation that says what the autoencoder term earns.

The results JSON (``--out``) keeps every split's figures, so that a later run
(e.g. ``benchmarks/outlier_candidates.py``) can be compared table by table.
"""

import argparse
import json
import os
import sys
import time
import warnings
from functools import partial
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

SEEDS = (0, 1, 2)
SIZES = ("64", "256", "1024", "full")
FAMILIES = ("tabular", "embeddings")
LOCKBOX_FILE = Path(__file__).with_name("lockbox.json")
CLASSICAL = ("IForest", "kNN", "MCD", "Ens3")


class Split:
    """One train/test split of one table at one size, with a cache of term scores.

    Terms (e.g. ``"iforest"``) are computed once per split and shared by every
    detector that uses them (IForest, Ens3 and candidates). A detector is
    charged the seconds of every term it reads, computed or cached, so that
    its time is what it would cost alone.
    """

    def __init__(self, X_train, X_test, seed):
        self.X_train, self.X_test, self.seed = X_train, X_test, seed
        self._terms = {}
        self._standardized = None
        self.charged = 0.0

    def standardized(self):
        """(train, test) after a StandardScaler fitted on train (zero-variance columns give 0)."""
        if self._standardized is None:
            scaler = StandardScaler().fit(self.X_train)
            self._standardized = scaler.transform(self.X_train), scaler.transform(self.X_test)
        return self._standardized

    def term(self, name):
        """(train anomalies, test anomalies, extra) of a classical term; bigger = more anomalous."""
        if name not in self._terms:
            start = time.perf_counter()
            value = TERMS[name](self)
            self._terms[name] = (value, time.perf_counter() - start)
        else:
            self.charged += self._terms[name][1]
        return self._terms[name][0]


def _iforest_term(split):
    model = IsolationForest(random_state=split.seed).fit(split.X_train)
    flags = model.predict(split.X_test) == -1  # contamination="auto"
    return -model.score_samples(split.X_train), -model.score_samples(split.X_test), flags


def _knn_term(split, k=5):
    train, test = split.standardized()
    k_train = min(k, len(train) - 1)
    search = NearestNeighbors(n_neighbors=k_train + 1).fit(train)
    # Training rows: the (k+1)th neighbour, each row not its own neighbour.
    train_distances = search.kneighbors(train)[0][:, -1]
    test_distances = search.kneighbors(test, n_neighbors=k_train)[0][:, -1]
    return train_distances, test_distances, None


def _mcd_term(split):
    train, test = split.standardized()
    n, d = train.shape
    if d <= 100 and n >= 5 * d:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "covariance matrix ... not full rank"
                model = MinCovDet(random_state=split.seed).fit(train)
            return model.mahalanobis(train), model.mahalanobis(test), None
        except (ValueError, np.linalg.LinAlgError):
            pass
    model = LedoitWolf().fit(train)
    return model.mahalanobis(train), model.mahalanobis(test), None


TERMS = {"iforest": _iforest_term, "knn": _knn_term, "mcd": _mcd_term}


def robust_normalised(train, test):
    """(test, train) minus the median of ``train``, over its IQR (std, then 1, where 0)."""
    median = np.median(train)
    spread = np.subtract(*np.percentile(train, [75, 25]))
    if not spread > 0:
        spread = np.std(train)
    if not spread > 0:
        spread = 1.0
    return (test - median) / spread, (train - median) / spread


# Every detector: (split) -> (test normality, bigger = more normal; test flags or None).


def iforest(split):
    _, test, flags = split.term("iforest")
    return -test, flags


def knn(split):
    return -split.term("knn")[1], None


def mcd(split):
    return -split.term("mcd")[1], None


def lof(split):
    train, test = split.standardized()
    model = LocalOutlierFactor(novelty=True, n_neighbors=min(20, len(train) - 1))
    return model.fit(train).score_samples(test), None


def pca(split):
    train, test = split.standardized()
    model = PCA(n_components=0.9, svd_solver="full").fit(train)
    return -np.sum((test - model.inverse_transform(model.transform(test))) ** 2, axis=1), None


def ens3(split):
    total = 0.0
    for name in ("iforest", "knn", "mcd"):
        train, test, _ = split.term(name)
        total = total + robust_normalised(train, test)[0]
    return -total / 3, None


def skae_detector(split, params, classical=False):
    from skae import AutoencoderOutlierDetector  # public API only

    cls = AutoencoderOutlierDetector
    if classical:  # the ablation: the same detector, its autoencoder term left out

        class ClassicalTerms(AutoencoderOutlierDetector):
            _autoencoder_term = False

        cls = ClassicalTerms
    detector = cls(random_state=split.seed, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # few rows under the threshold
        detector.fit(split.X_train)
    return detector.score_samples(split.X_test), detector.predict(split.X_test) == -1


BASELINES = {"IForest": iforest, "kNN": knn, "MCD": mcd, "LOF": lof, "PCA": pca, "Ens3": ens3}
DETECTORS = (*BASELINES, "skae", "skae-classical")


def pool_tables(data_dir, pool, families):
    """{family: [path, ...]} of the tables of ``pool`` ("tuning", "lockbox" or "all")."""
    drawn = json.loads(LOCKBOX_FILE.read_text())
    tables = {}
    for family in families:
        names = drawn["tuning"][family] if pool == "tuning" else []
        names = names + (drawn["lockbox"][family] if pool in ("lockbox", "all") else [])
        names = names + (drawn["tuning"][family] if pool == "all" else [])
        tables[family] = [Path(data_dir, family, f"{n}.npz") for n in sorted(names)]
    return tables


def subsample(X_train, y_train, size, seed):
    """The training part cut to ``size`` rows, stratified where it can be, seeded."""
    if size == "full":
        return X_train, y_train
    try:
        X_small, _, y_small, _ = train_test_split(
            X_train, y_train, train_size=int(size), stratify=y_train, random_state=seed
        )
    except ValueError:  # too few outliers to stratify
        X_small, _, y_small, _ = train_test_split(
            X_train, y_train, train_size=int(size), random_state=seed
        )
    return X_small, y_small


def evaluate_table(path, sizes, detectors):
    """{size: {detector: {"auc": [...], "ap": [...], "seconds": [...], "flagged": [...]}}}.

    ``detectors`` maps a name to a function of a :class:`Split`. Sizes not
    smaller than the training part are left out of the answer (skipped).
    """
    data = np.load(path, allow_pickle=False)
    X, y = data["X"].astype(np.float64), data["y"]
    results = {}
    for seed in SEEDS:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.4, stratify=y, random_state=seed
        )
        for size in sizes:
            if size != "full" and int(size) >= len(X_train):
                continue
            split = Split(subsample(X_train, y_train, size, seed)[0], X_test, seed)
            for name, detector in detectors.items():
                split.charged = 0.0
                start = time.perf_counter()
                normality, flags = detector(split)
                seconds = time.perf_counter() - start + split.charged
                record = results.setdefault(size, {}).setdefault(
                    name, {"auc": [], "ap": [], "seconds": [], "flagged": []}
                )
                record["auc"].append(float(roc_auc_score(y_test, -normality)))
                record["ap"].append(float(average_precision_score(y_test, -normality)))
                record["seconds"].append(seconds)
                # flags: one array, or {rule: array} for several threshold rules.
                for key, value in _flag_rules(flags).items():
                    record.setdefault(key, []).append(float(np.mean(value[y_test == 0])))
    return results


def _flag_rules(flags):
    """{record key: flags}: "flagged" for one array, "flagged_RULE" for a dict of rules."""
    if flags is None:
        return {}
    if isinstance(flags, dict):
        return {f"flagged_{rule}": value for rule, value in flags.items()}
    return {"flagged": flags}


def run(data_dir, pool, sizes, families, detectors, jobs=1, tables=None, partial_out=None):
    """{family: {size: {table: {detector: record}}}} and the skipped {family: {size: [table]}}."""
    paths = pool_tables(data_dir, pool, families)
    jobs_list = [
        (family, path)
        for family, members in paths.items()
        for path in members
        if not tables or path.stem in tables
    ]
    missing = [str(p) for _, p in jobs_list if not p.exists()]
    if missing or not jobs_list:
        print(
            f"bench_outliers.py: tables not found under {data_dir}: {missing or 'none selected'}",
            file=sys.stderr,
        )
        sys.exit(2)

    def one(family, path):
        answer = evaluate_table(path, sizes, detectors)
        if partial_out:  # every table's figures as it finishes, in case the run is cut short
            with open(partial_out, "a") as stream:
                stream.write(json.dumps({"family": family, "table": path.stem, **answer}) + "\n")
        print(
            f"{family}/{path.stem}: "
            + ", ".join(
                f"{s}: " + " ".join(f"{d} {np.mean(r['auc']):.3f}" for d, r in answer[s].items())
                for s in answer
            ),
            file=sys.stderr,
            flush=True,
        )
        return answer

    if jobs > 1:
        from joblib import Parallel, delayed

        answers = Parallel(n_jobs=jobs)(delayed(one)(f, p) for f, p in jobs_list)
    else:
        answers = [one(f, p) for f, p in jobs_list]
    results = {f: {s: {} for s in sizes} for f in families}
    skipped = {f: {s: [] for s in sizes} for f in families}
    for (family, path), answer in zip(jobs_list, answers, strict=True):
        for size in sizes:
            if size in answer:
                results[family][size][path.stem] = answer[size]
            else:
                skipped[family][size].append(path.stem)
    return results, skipped


def summary(cell, detectors):
    """{detector: (mean AUC, mean AP, mean rank of AUC, mean seconds per split)} over tables."""
    names = [t for t in cell if all(d in cell[t] for d in detectors)]
    if not names:
        return {}
    auc = np.array([[np.mean(cell[t][d]["auc"]) for d in detectors] for t in names])
    ap = np.array([[np.mean(cell[t][d]["ap"]) for d in detectors] for t in names])
    seconds = np.array([[np.mean(cell[t][d]["seconds"]) for d in detectors] for t in names])
    ranks = np.array([rankdata(-row) for row in auc])
    return {
        d: (auc[:, i].mean(), ap[:, i].mean(), ranks[:, i].mean(), seconds[:, i].mean())
        for i, d in enumerate(detectors)
    }


def print_tables(results, skipped, detectors, per_table=True):
    """Markdown: per-table ROC-AUC/AP, summaries per family x size, flagged shares."""
    for family, by_size in results.items():
        for size, cell in by_size.items():
            print(f"\n### {family}, size {size} ({len(cell)} tables)")
            if skipped[family][size]:
                print(f"\nskipped (training part not larger): {', '.join(skipped[family][size])}")
            if per_table and cell:
                print("\n| table | " + " | ".join(f"{d} AUC / AP" for d in detectors) + " |")
                print("|---|" + "---:|" * len(detectors))
                for table, record in cell.items():
                    print(
                        f"| {table} | "
                        + " | ".join(
                            f"{np.mean(record[d]['auc']):.3f} / {np.mean(record[d]['ap']):.3f}"
                            for d in detectors
                        )
                        + " |"
                    )
    print("\n## Summary: mean ROC-AUC / mean AP / mean rank of AUC / fit+score s per split")
    print("\n| family | size | n | " + " | ".join(detectors) + " |")
    print("|---|---|---:|" + "---|" * len(detectors))
    for family, by_size in results.items():
        for size, cell in by_size.items():
            means = summary(cell, detectors)
            if means:
                print(
                    f"| {family} | {size} | {len(cell)} | "
                    + " | ".join(
                        "{:.3f} / {:.3f} / {:.2f} / {:.2f}".format(*means[d]) for d in detectors
                    )
                    + " |"
                )
    print_flagged(results)


def print_flagged(results):
    """Share of normal test rows flagged by ``predict``: mean and largest over the tables."""
    rows = []
    for family, by_size in results.items():
        for size, cell in by_size.items():
            flaggers = sorted(
                {
                    (d, k)
                    for r in cell.values()
                    for d in r
                    for k in r[d]
                    if k.startswith("flagged") and r[d][k]
                }
            )
            for d, key in flaggers:
                shares = {t: np.mean(r[d][key]) for t, r in cell.items() if r.get(d, {}).get(key)}
                if key != "flagged":
                    d = f"{d} ({key.removeprefix('flagged_')})"
                worst = max(shares, key=shares.get)
                rows.append(
                    f"| {family} | {size} | {d} | {np.mean(list(shares.values())):.3f} | "
                    f"{shares[worst]:.3f} ({worst}) | {sum(v > 0.10 for v in shares.values())} |"
                )
    if rows:
        print("\n## Share of normal test rows flagged by predict (default threshold)")
        print("\n| family | size | detector | mean | largest (table) | tables > 10% |")
        print("|---|---|---|---:|---|---:|")
        print("\n".join(rows))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", help="folder holding tabular/*.npz and embeddings/*.npz")
    parser.add_argument("--pool", choices=("tuning", "lockbox", "all"), default="tuning")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=SIZES)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--detectors", nargs="+", default=list(DETECTORS), choices=DETECTORS)
    parser.add_argument("--tables", nargs="+", help="only these tables of the pool (file stems)")
    parser.add_argument("--skae-params", default="{}", help="JSON parameters for skae")
    parser.add_argument("--jobs", type=int, default=1, help="tables run in parallel")
    parser.add_argument("--out", help="write every split's figures to this JSON file")
    args = parser.parse_args()
    skae_params = json.loads(args.skae_params)
    detectors = {
        d: BASELINES[d]
        if d in BASELINES
        else partial(skae_detector, params=skae_params, classical=d == "skae-classical")
        for d in args.detectors
    }
    results, skipped = run(
        args.data_dir,
        args.pool,
        args.sizes,
        args.families,
        detectors,
        args.jobs,
        args.tables,
        partial_out=args.out and args.out + ".partial.jsonl",
    )
    command = "python " + " ".join(sys.argv)
    print(f"# bench_outliers: pool {args.pool}\n\ncommand: `{command}`")
    print_tables(results, skipped, args.detectors)
    if args.out:
        payload = {"command": command, "pool": args.pool, "results": results, "skipped": skipped}
        Path(args.out).write_text(json.dumps(payload, indent=1))


if __name__ == "__main__":
    main()
