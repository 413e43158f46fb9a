"""Fit + score seconds of the outlier detector, this tree against a git revision, by turns.

Usage::

    python benchmarks/bench_detector_time.py DATA_DIR [--before REV] [--tables T ...]
        [--size full] [--runs 1]

For each table of ``DATA_DIR/tabular`` (default: the 25 tables but
``adbench_http``), the protocol's first split (stratified 60/40, seed 0; the
training part subsampled to ``--size`` rows unless ``full``) is fitted and
scored with ``AutoencoderOutlierDetector(random_state=0)`` defaults by the
package at revision REV ("before", extracted with ``git archive``; default
``HEAD``) and by this working tree ("after"), each in its own Python process
that loads TensorFlow once and then times every table, the two versions taking
turns table by table so that a change of load hits both alike. Prints the
machine (CPU count, load before and after) and, per table and in total, the
seconds of each and their ratio.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_cli import extract  # the package at a git revision, as bench_cli.py times it

ROOT = Path(__file__).resolve().parents[1]

# Run inside each version's process: times one table, prints JSON.
WORKER = r"""
import json, sys, time, warnings
import numpy as np
from sklearn.model_selection import train_test_split
from skae import AutoencoderOutlierDetector
import skae
assert skae.__file__.startswith(sys.argv[1]), (skae.__file__, sys.argv[1])
for line in sys.stdin:
    path, size = json.loads(line)
    data = np.load(path)
    X, y = data["X"].astype(np.float64), data["y"].astype(int)
    X_train, X_test, y_train, _ = train_test_split(
        X, y, test_size=0.4, stratify=y, random_state=0)
    if size != "full" and int(size) < len(X_train):
        X_train = train_test_split(
            X_train, y_train, train_size=int(size), stratify=y_train, random_state=0)[0]
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        AutoencoderOutlierDetector(random_state=0).fit(X_train).score_samples(X_test)
    print(json.dumps(time.perf_counter() - start), flush=True)
"""


def worker(pythonpath, cwd):
    # cwd: not the checkout, whose skae would shadow PYTHONPATH's (python -c puts cwd first)
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(pythonpath)],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--before", default="HEAD", help="git revision of 'before'")
    parser.add_argument("--tables", nargs="+", help="table file stems (default: all but http)")
    parser.add_argument("--size", default="full", help="training rows, or 'full'")
    parser.add_argument("--runs", type=int, default=1, help="times each table is timed")
    args = parser.parse_args()
    paths = sorted((args.data_dir / "tabular").glob("*.npz"))
    paths = [
        p for p in paths if (p.stem in args.tables if args.tables else p.stem != "adbench_http")
    ]
    with tempfile.TemporaryDirectory() as temp:
        versions = {"before": extract(args.before, Path(temp) / "before"), "after": ROOT}
        workers = {name: worker(path, temp) for name, path in versions.items()}
        load = os.getloadavg()
        times = {name: {} for name in versions}
        for path in paths:
            for _ in range(args.runs):
                for name, process in workers.items():
                    process.stdin.write(json.dumps([str(path), args.size]) + "\n")
                    process.stdin.flush()
                    line = process.stdout.readline()
                    if not line:
                        sys.exit(f"the '{name}' worker stopped on {path.stem}")
                    times[name].setdefault(path.stem, []).append(json.loads(line))
        for process in workers.values():
            process.stdin.close()
            process.wait()
    print(
        f"# detector fit + score seconds, before ({args.before}) and after (this tree)\n\n"
        f"command: `python {' '.join(sys.argv)}`; {os.cpu_count()} CPUs, load average "
        f"{load[0]:.1f} before and {os.getloadavg()[0]:.1f} after; size {args.size}\n"
    )
    print("| table | before s | after s | after / before |\n|---|---:|---:|---:|")
    for stem in times["after"]:
        before, after = min(times["before"][stem]), min(times["after"][stem])
        print(f"| {stem} | {before:.2f} | {after:.2f} | {after / before:.2f} |")
    before = sum(min(v) for v in times["before"].values())
    after = sum(min(v) for v in times["after"].values())
    n = len(times["after"])
    print(
        f"| **mean per table ({n})** | {before / n:.2f} | {after / n:.2f} | {after / before:.2f} |"
    )


if __name__ == "__main__":
    main()
