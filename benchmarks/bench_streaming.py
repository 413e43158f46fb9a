"""Out-of-core outlier detection on adbench_http: skae streamed from Parquet vs in memory.

Usage::

    python benchmarks/bench_streaming.py DATA_DIR [--chunk-size 100000] [--passes 3]

DATA_DIR holds ``tabular/adbench_http.npz`` (``../shared/data`` from the
project root): 567,498 rows, 3 columns, 0.39% outliers. The protocol is the one
in DATA_DIR/README.md: three stratified 60/40 train/test splits (seeds 0, 1,
2), each detector fit on the training part (outliers included, labels unused)
and scored on the test part, mean ROC-AUC over the splits. Each split is first
written to two Parquet files (training and test rows, one row group per
chunk), and every method reads its data from those files:

- "skae streamed": ``AutoencoderOutlierDetector.partial_fit`` on one chunk of
  ``--chunk-size`` rows at a time, ``--passes`` passes over the file, then
  ``score_samples`` on the test file chunk by chunk. At most one chunk of
  rows is in memory;
- "skae in memory": the same detector, ``fit`` on the whole training file with
  ``epochs=--passes`` (as many gradient steps), scored on the whole test file;
- "IForest in memory": ``IsolationForest(random_state=seed)``, the baseline
  of the project's outlier benchmark.

A last row, "skae on 1000 rows", fits and scores 1,000 training rows: what
skae's network and TensorFlow's runtime cost whatever the data.

Each method runs in its own Python process, so that its peak memory is its
own: "peak MB" is how far the peak resident set size (Linux's ``VmHWM``, else
``getrusage(RUSAGE_SELF).ru_maxrss``) rises, over the first split, above the
process's peak right after its imports ("baseline MB": TensorFlow's own
~0.7 GB for skae). "s / split" is the mean wall time of reading, fitting and
scoring one split. skae's detectors use their default network with
``random_state=seed``.

Why the defaults: two chunk sizes show what the chunk size trades. 100,000
rows (1.2 MB of float32 here) make each ``partial_fit`` an epoch of ~1,560
gradient steps, long against skae's fixed cost per call; 20,000 rows hold less
in memory and pay that cost 54 times. The training files split into 3 x 100,000
+ 40,498 and 17 x 20,000 + 498 rows: ``partial_fit`` fits the detector's
statistics and threshold on the chunk it gets, so the last, short chunk
decides them (on this set the ROC-AUC moves by less than 0.002 whether they
come from 498 rows or from all 340,498). Three passes: the ROC-AUC is flat
after one already (0.995 streamed and in memory with ``--passes 1``), and
three keep the whole run to about 3.5 minutes on two CPU cores. The training
rows on disk are in the random order of the split, so the first chunk, on
which ``partial_fit`` fits the input scaling, is a random sample.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

SEEDS = (0, 1, 2)
LABEL = "y"
FIXED_ROWS = 1000


# ----------------------------------------------------------------------
# data on disk


def write_splits(data_dir, folder, row_group_size):
    """Write each split's training and test rows to Parquet; return the feature names."""
    data = np.load(Path(data_dir) / "tabular" / "adbench_http.npz", allow_pickle=False)
    X, y = data["X"], data["y"]
    features = [f"x{j}" for j in range(X.shape[1])]
    for seed in SEEDS:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.4, stratify=y, random_state=seed
        )
        for part, rows, labels in (("train", X_train, y_train), ("test", X_test, y_test)):
            columns = {name: rows[:, j] for j, name in enumerate(features)}
            table = pa.table({**columns, LABEL: labels})
            pq.write_table(table, folder / f"{part}_{seed}.parquet", row_group_size=row_group_size)
    return features, len(X)


def read_chunks(path, columns, chunk_size):
    """Yield the file's ``columns`` as float32 arrays of at most ``chunk_size`` rows."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_size, columns=columns):
        yield np.column_stack([batch.column(name).to_numpy() for name in columns])


def read_all(path, columns):
    table = pq.read_table(path, columns=columns)
    return np.column_stack([table.column(name).to_numpy() for name in columns])


def read_labels(path):
    """The test labels, 1 = outlier: kept apart, so that features stay float32."""
    return pq.read_table(path, columns=[LABEL]).column(LABEL).to_numpy()


# ----------------------------------------------------------------------
# the methods, each run in a process of its own; each returns the test
# labels and scores (higher = more normal), or None when it scores no test set


def skae_streamed(train, test, features, seed, args):
    from skae import AutoencoderOutlierDetector

    detector = AutoencoderOutlierDetector(random_state=seed, epochs=args.passes)
    for _ in range(args.passes):
        for X in read_chunks(train, features, args.chunk_size):
            detector.partial_fit(X)
    scores = [detector.score_samples(X) for X in read_chunks(test, features, args.chunk_size)]
    return read_labels(test), np.concatenate(scores)


def skae_in_memory(train, test, features, seed, args):
    from skae import AutoencoderOutlierDetector

    detector = AutoencoderOutlierDetector(random_state=seed, epochs=args.passes)
    detector.fit(read_all(train, features))
    return read_labels(test), detector.score_samples(read_all(test, features))


def iforest_in_memory(train, test, features, seed, args):
    from sklearn.ensemble import IsolationForest

    forest = IsolationForest(random_state=seed).fit(read_all(train, features))
    return read_labels(test), forest.score_samples(read_all(test, features))


def skae_fixed_cost(train, test, features, seed, args):
    """What skae costs whatever the data: fit and score the first 1,000 rows."""
    from skae import AutoencoderOutlierDetector

    X = next(read_chunks(train, features, FIXED_ROWS))
    AutoencoderOutlierDetector(random_state=seed, epochs=args.passes).fit(X).score_samples(X)


RUNNERS = {
    "streamed": skae_streamed,
    "in-memory": skae_in_memory,
    "iforest": iforest_in_memory,
    "fixed": skae_fixed_cost,
}


def peak_rss_mb():
    """Peak resident set size of this process so far, in MiB.

    Linux's ``VmHWM`` where there is one: ``ru_maxrss`` also counts the peak
    of the parent at the ``fork`` that started this process, which would hide
    a smaller method's growth under the parent's data.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_child(args):
    """Run one method on every split; print its figures as one JSON line."""
    runner = RUNNERS[args.child]
    if runner is iforest_in_memory:
        from sklearn.ensemble import IsolationForest  # noqa: F401
    else:
        # skae loads TensorFlow on first use: its memory belongs to the baseline.
        from skae import AutoencoderOutlierDetector  # noqa: F401

    baseline = peak_rss_mb()
    aucs, seconds, peak = [], [], None
    for seed in SEEDS:
        start = time.perf_counter()
        result = runner(
            args.folder / f"train_{seed}.parquet",
            args.folder / f"test_{seed}.parquet",
            args.features,
            seed,
            args,
        )
        seconds.append(time.perf_counter() - start)
        if peak is None:
            # Later splits would add what the allocators kept of earlier models.
            peak = peak_rss_mb() - baseline
        if result is not None:
            labels, scores = result
            aucs.append(roc_auc_score(labels, -scores))
    print(
        json.dumps(
            {
                "auc": float(np.mean(aucs)) if aucs else None,
                "seconds": float(np.mean(seconds)),
                "peak_mb": peak,
                "baseline_mb": baseline,
            }
        )
    )


def run_method(name, runner, chunk_size, folder, features, args):
    """Run ``runner`` in a fresh Python process; print and return its figures."""
    command = [
        sys.executable,
        __file__,
        "--child",
        runner,
        "--folder",
        str(folder),
        "--features",
        *features,
        "--chunk-size",
        str(chunk_size),
        "--passes",
        str(args.passes),
    ]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{name} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    auc = "-" if result["auc"] is None else f"{result['auc']:.4f}"
    print(
        f"{name:<34}{auc:>9}{result['seconds']:>11.1f}{result['peak_mb']:>10.0f}"
        f"{result['baseline_mb']:>13.0f}",
        flush=True,
    )
    return result


def run_parent(args):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        features, n_rows = write_splits(args.data_dir, folder, min(args.chunk_size))
        n_train = pq.ParquetFile(folder / "train_0.parquet").metadata.num_rows
        print(
            f"adbench_http: {n_rows} rows, {len(features)} columns; per split "
            f"{n_train} training rows, {n_rows - n_train} test rows; {args.passes} "
            f"passes / epochs; seeds {list(SEEDS)}",
            flush=True,
        )
        print(
            f"{'method':<34}{'ROC-AUC':>9}{'s / split':>11}{'peak MB':>10}{'baseline MB':>13}",
            flush=True,
        )
        streamed = {}
        for chunk_size in args.chunk_size:
            n_full, rest = divmod(n_train, chunk_size)
            name = f"skae streamed, {n_full} x {chunk_size}" + (f" + {rest}" if rest else "")
            streamed[name] = run_method(name, "streamed", chunk_size, folder, features, args)
        chunk_size = max(args.chunk_size)
        in_memory = run_method("skae in memory", "in-memory", chunk_size, folder, features, args)
        run_method("IForest in memory", "iforest", chunk_size, folder, features, args)
        run_method(
            f"skae on {FIXED_ROWS} rows (fixed cost)", "fixed", FIXED_ROWS, folder, features, args
        )
    for name, result in streamed.items():
        print(
            f"{name} / in memory: ROC-AUC {result['auc'] - in_memory['auc']:+.4f}, "
            f"time x{result['seconds'] / in_memory['seconds']:.2f}, "
            f"peak memory x{result['peak_mb'] / in_memory['peak_mb']:.2f}"
        )


def require_data(data_dir, *names):
    """Exit with status 2 and one line on stderr unless DATA_DIR holds ``names``."""
    folder = Path(data_dir)
    if not folder.is_dir():
        problem = f"data folder {data_dir} does not exist"
    else:
        missing = [name for name in names if not (folder / name).is_file()]
        if not missing:
            return
        problem = f"{data_dir} has no {', '.join(missing)}"
    print(
        f"{Path(sys.argv[0]).name}: {problem}; see 'Data for the benchmarks' in the README",
        file=sys.stderr,
    )
    sys.exit(2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", help="folder holding tabular/adbench_http.npz")
    parser.add_argument(
        "--chunk-size",
        type=int,
        nargs="+",
        default=[100_000, 20_000],
        help="rows per chunk read and per partial_fit, one streamed run "
        "each (default: 100000 20000)",
    )
    parser.add_argument(
        "--passes",
        type=int,
        default=3,
        help="passes over the training file; in-memory epochs (default 3)",
    )
    parser.add_argument("--child", choices=RUNNERS, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--features", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.chunk_size = args.chunk_size[0]
        run_child(args)
    elif args.data_dir is None:
        parser.error("DATA_DIR is required")
    else:
        require_data(args.data_dir, "tabular/adbench_http.npz")
        run_parent(args)


if __name__ == "__main__":
    main()
