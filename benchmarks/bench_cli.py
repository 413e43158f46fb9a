"""Start-up and small-job wall time of the ``skae`` command line, before and after.

Usage::

    python benchmarks/bench_cli.py [--before REV] [--runs 3]

Times, in fresh processes, ``skae --help``, ``skae score --help`` and
``skae score`` of 100 rows with a saved small detector, for this working
tree ("after") and for the package at git revision REV ("before", extracted
with ``git archive`` into a temporary folder; default ``HEAD``), run by
turns on the same machine in one run, each ``--runs`` times. Prints the
machine (CPU count, load average before and after) and a table of the
median, the fastest and the first wall time of each.

The data are the first 100 rows of scikit-learn's breast cancer data (30
numeric columns); the model is a detector trained by this tree's
``skae fit`` for 20 epochs on TensorFlow, saved once and scored by both
versions. The commands run with the environment as it is: without
``KERAS_BACKEND``, each version runs on the backend it chooses (see
``skae --help``). JAX's cache of compiled functions starts empty, in a
temporary folder: the first run of a version that uses it pays its
compilations, later runs reuse them.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "skae --help": ["--help"],
    "skae score --help": ["score", "--help"],
    "skae score (100 rows, saved model)": [
        "score",
        "data.csv",
        "--model",
        "model.skae",
        "-o",
        "scores.csv",
        "-q",
    ],
}


def extract(revision, folder):
    """The ``skae`` package at ``revision``, extracted under ``folder``; that folder."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, "skae"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def wall_time(argv, pythonpath, cwd):
    """Seconds one ``python -m skae ARGV`` takes, start to exit (it must succeed)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(pythonpath),
        "XDG_CACHE_HOME": str(cwd / "cache"),  # JAX's compilation cache, empty at first
    }
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "skae", *argv],
        cwd=cwd,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def make_data(folder):
    """``data.csv`` (100 rows) and ``model.skae`` in ``folder``, made by this tree."""
    from sklearn.datasets import load_breast_cancer

    load_breast_cancer(as_frame=True).data.iloc[:100].to_csv(folder / "data.csv", index=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KERAS_BACKEND": "tensorflow"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "skae",
            "fit",
            "data.csv",
            "-o",
            "model.skae",
            "--epochs",
            "20",
            "--random-state",
            "0",
            "-q",
        ],
        cwd=folder,
        env=env,
        check=True,
        stderr=subprocess.DEVNULL,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="HEAD", help="git revision of 'before'")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        temp = Path(temp)
        versions = {"before": extract(args.before, temp / "before"), "after": ROOT}
        work = temp / "work"
        work.mkdir()
        make_data(work)
        load = os.getloadavg()
        times = {(name, version): [] for name in COMMANDS for version in versions}
        for _ in range(args.runs):  # by turns, so that load changes hit both alike
            for name, argv in COMMANDS.items():
                for version, path in versions.items():
                    times[name, version].append(wall_time(argv, path, work))
    print(
        f"CPUs: {os.cpu_count()}; load average (1, 5, 15 min) {load} before the runs, "
        f"{os.getloadavg()} after; {args.runs} runs each; before = {args.before}"
    )
    print(f"{'command':<38} {'before median (min, first)':>28} {'after median (min, first)':>27}")
    for name in COMMANDS:
        cells = [
            f"{statistics.median(times[name, v]):.2f} s ({min(times[name, v]):.2f}, "
            f"{times[name, v][0]:.2f})"
            for v in versions
        ]
        print(f"{name:<38} {cells[0]:>28} {cells[1]:>27}")


if __name__ == "__main__":
    main()
