"""Summarise a partial ``bench_outliers.py`` run beside the committed baselines.

Usage::

    python benchmarks/summarise_partial.py RUN.json.partial.jsonl BASELINES.json

Reads the per-table lines that ``bench_outliers.py --out RUN.json`` appends as
each table finishes (``RUN.json.partial.jsonl``), and the baselines' results
JSON (``benchmarks/results/baselines_tuning.json``) of the same protocol (same
seeds and splits, so the figures of a table can be put side by side); prints,
per family and size, over the tables the run finished: each detector's mean
ROC-AUC / AP / rank of AUC among the six baselines and the one candidate
ranked, the candidate's margin over the best of IForest, kNN, MCD and Ens3,
seconds per split, and the shares of normal test rows flagged.
"""

import json
import sys

import numpy as np
from scipy.stats import rankdata

BASELINES = ("IForest", "kNN", "MCD", "LOF", "PCA", "Ens3")
CLASSICAL = ("IForest", "kNN", "MCD", "Ens3")


def main(partial, baselines_path):
    baselines = json.loads(open(baselines_path).read())["results"]
    cells = {}
    for line in open(partial):
        entry = json.loads(line)
        family, table = entry.pop("family"), entry.pop("table")
        for size, records in entry.items():
            base = baselines.get(family, {}).get(size, {}).get(table)
            if base is None:
                continue
            cells.setdefault((family, size), {})[table] = {**base, **records}
    for (family, size), tables in sorted(cells.items()):
        names = sorted(tables)
        candidates = [d for d in tables[names[0]] if d not in BASELINES]
        print(f"\n### {family}, size {size} ({len(names)} tables: {', '.join(names)})\n")
        print("| detector | AUC | AP | rank (of 7) | margin | s / split | flagged mean / max |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for detector in (*BASELINES, *candidates):
            others = [d for d in candidates if d != detector]
            order = [d for d in (*BASELINES, *candidates) if d not in others]
            auc = np.array([[np.mean(tables[t][d]["auc"]) for d in order] for t in names])
            ap = np.array([[np.mean(tables[t][d]["ap"]) for d in order] for t in names])
            ranks = np.array([rankdata(-row) for row in auc])
            i = order.index(detector)
            best = max(auc[:, order.index(d)].mean() for d in CLASSICAL if d != detector)
            seconds = np.mean([np.mean(tables[t][detector]["seconds"]) for t in names])
            flagged = [
                np.mean(tables[t][detector]["flagged"])
                for t in names
                if tables[t][detector].get("flagged")
            ]
            shares = f"{np.mean(flagged):.3f} / {np.max(flagged):.3f}" if flagged else ""
            margin = f"{auc[:, i].mean() - best:+.3f}" if detector in candidates else ""
            print(
                f"| {detector} | {auc[:, i].mean():.3f} | {ap[:, i].mean():.3f} | "
                f"{ranks[:, i].mean():.2f} | {margin} | {seconds:.2f} | {shares} |"
            )


if __name__ == "__main__":
    main(*sys.argv[1:3])
