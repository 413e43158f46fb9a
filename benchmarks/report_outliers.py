"""Issue 23's targets, checked from ``bench_outliers.py`` results side by side.

Usage::

    python benchmarks/report_outliers.py RESULTS [RESULTS ...] [--candidate skae]
        [--ablation skae-classical]

Each RESULTS is a results JSON written by ``bench_outliers.py --out`` or the
per-table ``.partial.jsonl`` it appends as tables finish. Runs of one pool
with the same seeds and splits (the protocol fixes them) are merged table by
table, so a run of skae alone can be read beside a run of the baselines; a
(family, size, table) counts only where every detector has figures (a run
cut short is reported on the tables it finished, all detectors alike).

Prints, per family and training size (and as one table of every detector's
mean ROC-AUC / AP):

- each detector's mean ROC-AUC, mean AP and mean rank of ROC-AUC among the
  six baselines and that detector (1 = best of 7);
- the targets for ``--candidate``: its mean ROC-AUC minus the best of
  IsolationForest, kNN, MCD and Ens3 (target +0.01), its mean AP against
  the best of them, whether its mean rank is the best, and what its
  autoencoder term earns (candidate minus ``--ablation``, target +0.01);
- the share of normal test rows its default threshold flags (mean and
  largest over the tables; target at most 5% and 10%) beside
  IsolationForest's ``contamination="auto"``.
"""

import argparse
import json

import numpy as np
from scipy.stats import rankdata

BASELINES = ("IForest", "kNN", "MCD", "LOF", "PCA", "Ens3")
CLASSICAL = ("IForest", "kNN", "MCD", "Ens3")
SIZES = ("64", "256", "1024", "full")


def load(paths):
    """{(family, size): {table: {detector: record}}} merged over every run."""
    cells = {}
    for path in paths:
        if path.endswith(".jsonl"):
            entries = [json.loads(line) for line in open(path)]
        else:
            results = json.loads(open(path).read())["results"]
            entries = [
                {"family": family, "table": table, **{size: cell[table]}}
                for family, by_size in results.items()
                for size, cell in by_size.items()
                for table in cell
            ]
        for entry in entries:
            family, table = entry.pop("family"), entry.pop("table")
            for size, records in entry.items():
                cell = cells.setdefault((family, size), {}).setdefault(table, {})
                cell.update(records)
    return cells


def means(tables, detectors, candidate):
    """Per detector: mean AUC, mean AP, mean rank of 7, seconds.

    The rank of a baseline or of ``candidate`` is among the six baselines and
    ``candidate``; that of another detector (the ablation), among the six
    baselines and it.
    """
    names = sorted(t for t in tables if all(d in tables[t] for d in detectors))
    out = {}
    for detector in detectors:
        extra = detector if detector not in BASELINES else candidate
        ranked = [d for d in BASELINES if d in detectors] + ([extra] if extra in detectors else [])
        auc = np.array([[np.mean(tables[t][d]["auc"]) for d in ranked] for t in names])
        ap = np.array([[np.mean(tables[t][d]["ap"]) for d in ranked] for t in names])
        ranks = np.array([rankdata(-row) for row in auc])
        i = ranked.index(detector)
        seconds = np.mean([np.mean(tables[t][detector]["seconds"]) for t in names])
        out[detector] = {
            "auc": auc[:, i].mean(),
            "ap": ap[:, i].mean(),
            "rank": ranks[:, i].mean(),
            "ranks": dict(zip(ranked, ranks.mean(axis=0), strict=True)),
            "seconds": seconds,
        }
    return names, out


def flagged(tables, names, detector):
    shares = [np.mean(tables[t][detector]["flagged"]) for t in names]
    shares = [s for s in shares if np.isfinite(s)]
    if not shares:
        return ""
    return f"{np.mean(shares):.1%} / {np.max(shares):.1%} ({sum(s > 0.10 for s in shares)})"


def report(cells, candidate, ablation):
    detectors = None
    rows, compact = [], []
    for family in ("tabular", "embeddings"):
        for size in SIZES:
            tables = cells.get((family, size))
            if not tables:
                continue
            present = set.union(*(set(r) for r in tables.values()))
            detectors = [d for d in (*BASELINES, candidate, ablation) if d in present]
            names, m = means(tables, detectors, candidate)
            if not names:
                continue
            print(f"\n### {family}, training size {size} ({len(names)} tables)\n")
            print("| detector | mean ROC-AUC | mean AP | mean rank (of 7) | s / split |")
            print("|---|---:|---:|---:|---:|")
            for d in detectors:
                print(
                    f"| {d} | {m[d]['auc']:.3f} | {m[d]['ap']:.3f} | {m[d]['rank']:.2f} | "
                    f"{m[d]['seconds']:.2f} |"
                )
            compact.append(
                f"| {family} | {size} | {len(names)} | "
                + " | ".join(f"{m[d]['auc']:.3f} / {m[d]['ap']:.3f}" for d in detectors)
                + " |"
            )
            if candidate not in m:
                continue
            best_auc = max(CLASSICAL, key=lambda d: m[d]["auc"])
            best_ap = max(m[d]["ap"] for d in CLASSICAL)
            own = m[candidate]["ranks"]
            best_rank = min(v for d, v in own.items() if d != candidate) > own[candidate]
            earns = m[candidate]["auc"] - m[ablation]["auc"] if ablation in m else float("nan")
            rows.append(
                f"| {family} | {size} | {len(names)} | {m[candidate]['auc']:.3f} | "
                f"{best_auc} {m[best_auc]['auc']:.3f} | "
                f"{m[candidate]['auc'] - m[best_auc]['auc']:+.3f} | "
                f"{m[candidate]['ap']:.3f} / {best_ap:.3f} | "
                f"{m[candidate]['rank']:.2f} ({'best' if best_rank else 'not best'}) | "
                f"{earns:+.3f} | {flagged(tables, names, candidate)} | "
                f"{flagged(tables, names, 'IForest')} |"
            )
    print("\n## Mean ROC-AUC / mean AP per family and training size\n")
    print("| family | size | tables | " + " | ".join(detectors) + " |")
    print("|---|---|---:|" + "---:|" * len(detectors))
    print("\n".join(compact))
    print(f"\n## Targets for {candidate} (ablation: {ablation})\n")
    print(
        "| family | size | tables | ROC-AUC | best classical | margin (target +0.010) | "
        "AP / best classical AP | rank | AE term earns (target +0.010) | "
        f"normal rows flagged: {candidate} mean / max (tables > 10%) | IForest auto |"
    )
    print("|---|---|---:|---:|---|---:|---|---|---:|---|---|")
    print("\n".join(rows))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", help="results .json or .partial.jsonl files")
    parser.add_argument("--candidate", default="skae")
    parser.add_argument("--ablation", default="skae-classical")
    args = parser.parse_args()
    report(load(args.results), args.candidate, args.ablation)


if __name__ == "__main__":
    main()
