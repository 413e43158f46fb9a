"""Draw the outlier benchmark's lockbox: a third of the pool, seeded, before any experiment.

Usage::

    python benchmarks/draw_lockbox.py DATA_DIR > benchmarks/lockbox.json

The pool is every labelled table of DATA_DIR (``tabular/*.npz`` but
``adbench_http``, kept for scale tests; ``embeddings/*.npz``). Tables that hold
the same rows are one group and fall on one side together: the ResNet-18 and
ViT embeddings of one MVTec-AD category, and the BERT and RoBERTa embeddings of
one 20 Newsgroups draw. Within each family (tabular, embeddings) a third of the
groups, rounded, is drawn with ``numpy.random.default_rng(SEED)`` from the
groups sorted by name. The draw was made and committed once, before any
experiment of this round; ``bench_outliers.py`` reads ``lockbox.json`` and
evaluates on it only when asked to with ``--pool lockbox``.
"""

import json
import re
import sys
from pathlib import Path

import numpy as np

SEED = 20261207
SCALE_ONLY = {"adbench_http"}


def group_of(name):
    """The rows a table holds: tables of one group share their rows."""
    return re.sub(r"^(resnet18|vit|bert|roberta)_", "", name)


def pool(data_dir):
    tables = {}
    for family in ("tabular", "embeddings"):
        names = sorted(p.stem for p in (Path(data_dir) / family).glob("*.npz"))
        tables[family] = [n for n in names if n not in SCALE_ONLY]
    return tables


def draw(tables, seed=SEED):
    rng = np.random.default_rng(seed)
    lockbox = {}
    for family, names in tables.items():
        groups = sorted({group_of(n) for n in names})
        chosen = set(rng.choice(groups, size=round(len(groups) / 3), replace=False))
        lockbox[family] = [n for n in names if group_of(n) in chosen]
    return lockbox


def main(argv=None):
    data_dir = (argv or sys.argv[1:] or ["../shared/data"])[0]
    tables = pool(data_dir)
    lockbox = draw(tables)
    tuning = {f: [n for n in names if n not in lockbox[f]] for f, names in tables.items()}
    json.dump({"seed": SEED, "lockbox": lockbox, "tuning": tuning}, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
