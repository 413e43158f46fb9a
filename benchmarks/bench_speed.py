"""Speed of skae against plain Keras and PCA: training, transform latency, scoring.

Usage::

    python benchmarks/bench_speed.py DATA_DIR [--quick]
    python benchmarks/bench_speed.py DATA_DIR --backends tensorflow,jax,torch [--mnist-epochs N]

``--backends`` measures only the figures of issue 25, section (f), once per
Keras backend, each in its own process (``KERAS_BACKEND`` is read when Keras
is imported), and prints them side by side.

DATA_DIR holds ``mnist.npz`` and ``tabular/adbench_http.npz``
(``../shared/data`` from the project root). Everything is measured in one
run on one machine; the ratios are the point, absolute times depend on the
machine and on what else it runs.

(a) Training. ``AutoencoderTransformer.fit`` (validation, scaling, building,
    compiling and training) against ``Model.fit`` on NumPy arrays alone (the
    model built and compiled outside the timer, with ``steps_per_execution``
    the steps of an epoch, as skae's loops run them; 1 on PyTorch, which
    allows no more), same architecture (a
    randomly initialised dense network: ``init="random"``, no early
    stopping), epochs, batch size, optimizer, learning rate and initial
    weights (the estimator's seed). The rows are shuffled in different
    orders (a NumPy generator against tf.data's), so the final training
    losses agree closely, not number for number.

    - digits: ``load_digits``, 80% of the rows (1,437 x 64), a 64-128-8-128-64
      network, batch 64, 200 epochs, ``n_iter_no_change=None`` so that both
      run every epoch;
    - MNIST: the 60,000 training images (60,000 x 784) in [0, 1], the
      settings of bench_pca.py (512-256-32-256-512, sigmoid output, binary
      cross-entropy, batch 256), 3 epochs.

(b) Transform latency for 1, 10 and 1,000 digits rows: ``transform`` end to
    end (input validation and scaling included) against
    ``encoder_.predict_on_batch`` and ``encoder_.predict`` on already
    scaled rows and against ``PCA(n_components=8).transform``. Each figure
    is the best of 9 repeats of the mean time per call (timeit's advice:
    slower repeats measure the other processes on the machine, not the
    code); skae's median is shown too. The ratios use the best figures.

(c) Scoring: ``reconstruction_error`` on all 567,498 rows of adbench_http
    (a 3-16-2-16-3 network fitted on 50,000 of them): rows per second (median
    of 3 calls), with ``model_.predict(batch_size=8192)`` on the scaled rows
    as a reference, and the memory the call adds: peak resident set size
    (RSS, sampled from /proc/self/statm every 0.2 ms on a thread, minus the
    RSS before the call) and tracemalloc's peak (NumPy and other Python
    allocations; TensorFlow's own buffers are not traced), both over the size
    of the data as loaded (float32).

(d) Fixed cost of a new model: five fits in a row of a new
    ``AutoencoderTransformer`` (the digits network of (a), its defaults
    otherwise: PCA start, early stopping on held-out rows), one epoch each,
    each on new data (a different 90% of the digits training rows). Fit 1
    traces the architecture's compiled functions; fits 2..5 run the traced
    ones (skae._engine._tf_compiled). The same five fits with sharing switched off
    (``skae._engine._tf_compiled.ENABLED = False``: every model traces its own, as
    before sharing) come first. The fixed cost is the fit's time less one
    epoch's arithmetic (the time an extra epoch adds, from a 61-epoch fit).

(e) Grid search, as scikit-learn users run one: GridSearchCV over 3 code
    widths (4, 8, 16) x cv=3 on the digits training rows, for PCA
    (``n_components``), ``MLPRegressor(hidden_layer_sizes=(128, k, 128))``
    fitted from X to X as an autoencoder, and ``AutoencoderTransformer``
    (``latent_dim=k``, ``hidden_layer_sizes=(128,)``, defaults otherwise),
    each at n_jobs=1 and n_jobs=2 (loky: worker processes, which import
    TensorFlow and trace once each; skae also with joblib's threading
    backend, one process); scored by reconstruction MSE, with the held-out
    MSE of each search's refitted best model on the 20% test rows.

``--quick`` cuts epochs, MNIST rows, repeats and the searches' iterations,
for a smoke run. ``SKAE_SHARE_TRACES=0`` in the environment runs everything
(loky workers included) with every model tracing its own functions, for a
before/after comparison.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import timeit
import tracemalloc
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from joblib import parallel_config
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPRegressor

from skae import AutoencoderTransformer, _engine
from skae._nn import assemble, build_dense_autoencoder

if keras.backend.backend() == "tensorflow":  # its switch for sharing traces
    from skae._engine import _tf_compiled as _compiled
else:
    _compiled = None

SEED = 0
# Both sides build the same randomly initialised network and train every epoch.
COMPARABLE = dict(init="random", early_stopping=False, n_iter_no_change=None)
DIGITS_PARAMS = dict(
    latent_dim=8, hidden_layer_sizes=(128,), batch_size=64, epochs=200, **COMPARABLE
)
MNIST_PARAMS = dict(
    **COMPARABLE,
    latent_dim=32,
    hidden_layer_sizes=(512, 256),
    scaling=None,
    output_activation="sigmoid",
    loss="binary_crossentropy",
    batch_size=256,
    epochs=3,
)
HTTP_PARAMS = dict(latent_dim=2, hidden_layer_sizes=(16,), batch_size=256, epochs=3)
LATENCY_ROWS = (1, 10, 1000)
NEW_MODEL_PARAMS = dict(latent_dim=8, hidden_layer_sizes=(128,), batch_size=64)
SEARCH_WIDTHS = (4, 8, 16)


# ----------------------------------------------------------------------
# (a) training


def fit_both(X, params):
    """Fit skae and plain Keras alike; return (seconds, final loss) of each."""
    ae = AutoencoderTransformer(random_state=SEED, **{**COMPARABLE, **params})
    start = time.perf_counter()
    ae.fit(X)
    skae_seconds = time.perf_counter() - start

    encoder, decoder = build_dense_autoencoder(
        X.shape[1],
        params["latent_dim"],
        hidden_layer_sizes=params["hidden_layer_sizes"],
        output_activation=params.get("output_activation", "linear"),
        seed=ae._fit_seed(),  # the estimator's seed: same initial weights
    )
    model = assemble(encoder, decoder)
    model.compile(
        optimizer=keras.optimizers.Adam(ae.learning_rate),
        loss=params.get("loss", "mse"),
        steps_per_execution=keras_steps_per_execution(len(X), params["batch_size"]),
    )
    scaled = np.asarray(ae.scaler_.transform(X), dtype=np.float32)
    keras.utils.set_random_seed(ae._fit_seed())
    start = time.perf_counter()
    history = model.fit(
        scaled, scaled, batch_size=params["batch_size"], epochs=params["epochs"], verbose=0
    )
    keras_seconds = time.perf_counter() - start
    return (skae_seconds, ae.history_["loss"][-1]), (keras_seconds, history.history["loss"][-1]), ae


def keras_steps_per_execution(n_rows, batch_size):
    """The steps of an epoch, as one execution: what skae's loops run per call.

    PyTorch's trainer refuses more than one step per execution.
    """
    if keras.backend.backend() == "torch":
        return 1
    return -(-n_rows // batch_size)


def warm_up():
    """Pay TensorFlow's one-time start-up costs outside every timer."""
    X = np.random.RandomState(SEED).rand(64, 4)
    fit_both(X, dict(latent_dim=2, hidden_layer_sizes=(4,), batch_size=32, epochs=1))


def training_table(digits_train, mnist_train, quick):
    print("\n(a) training: skae fit vs Keras Model.fit on numpy arrays", flush=True)
    print(
        f"{'data':<8}{'rows x cols':>14}{'epochs':>7}{'skae s':>9}{'Keras s':>9}"
        f"{'speed-up':>9}{'skae loss':>12}{'Keras loss':>12}{'loss ratio':>11}",
        flush=True,
    )
    digits_params = dict(DIGITS_PARAMS, epochs=20) if quick else DIGITS_PARAMS
    mnist_params = dict(MNIST_PARAMS, epochs=1) if quick else MNIST_PARAMS
    fitted = None
    for name, X, params in [
        ("digits", digits_train, digits_params),
        ("mnist", mnist_train, mnist_params),
    ]:
        (s_sec, s_loss), (k_sec, k_loss), ae = fit_both(X, params)
        fitted = fitted or ae
        print(
            f"{name:<8}{f'{X.shape[0]} x {X.shape[1]}':>14}{params['epochs']:>7}"
            f"{s_sec:>9.2f}{k_sec:>9.2f}{k_sec / s_sec:>8.1f}x"
            f"{s_loss:>12.6f}{k_loss:>12.6f}{s_loss / k_loss:>11.4f}",
            flush=True,
        )
    return fitted


# ----------------------------------------------------------------------
# (b) transform latency


def per_call_seconds(call, repeats):
    """Best and median over ``repeats`` of the mean time of one call (~0.1 s of calls each)."""
    call()
    once = timeit.timeit(call, number=1)
    number = max(1, min(2000, int(0.1 / max(once, 1e-7))))
    times = [t / number for t in timeit.repeat(call, number=number, repeat=repeats)]
    return min(times), statistics.median(times)


def latency_table(ae, digits_train, digits_all, quick):
    print("\n(b) transform latency on digits (same fitted encoder)", flush=True)
    print(
        f"{'rows':>6}{'skae transform':>16}{'(median)':>10}{'predict_on_batch':>18}"
        f"{'encoder.predict':>17}{'PCA.transform':>15}{'on_batch/skae':>15}"
        f"{'predict/skae':>14}{'skae/PCA':>10}",
        flush=True,
    )
    pca = PCA(n_components=DIGITS_PARAMS["latent_dim"], random_state=SEED).fit(digits_train)
    repeats = 3 if quick else 9
    for n_rows in LATENCY_ROWS:
        rows = digits_all[:n_rows]
        scaled = np.asarray(ae.scaler_.transform(rows), dtype=np.float32)
        ours, ours_median = per_call_seconds(lambda rows=rows: ae.transform(rows), repeats)
        on_batch, _ = per_call_seconds(
            lambda scaled=scaled: ae.encoder_.predict_on_batch(scaled), repeats
        )
        keras_s, _ = per_call_seconds(
            lambda scaled=scaled: ae.encoder_.predict(scaled, verbose=0), repeats
        )
        pca_s, _ = per_call_seconds(lambda rows=rows: pca.transform(rows), repeats)
        print(
            f"{n_rows:>6}{ours * 1e6:>13.0f} us{ours_median * 1e6:>7.0f} us"
            f"{on_batch * 1e6:>15.0f} us{keras_s * 1e6:>14.0f} us{pca_s * 1e6:>12.0f} us"
            f"{on_batch / ours:>14.1f}x{keras_s / ours:>13.1f}x{ours / pca_s:>9.1f}x",
            flush=True,
        )


# ----------------------------------------------------------------------
# (c) scoring a large table


def rss_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_during(call):
    """Peak RSS above the RSS before ``call``, sampled on a thread."""
    baseline, peak, done = rss_bytes(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.0002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        call()
    finally:
        done.set()
        sampler.join()
    return max(peak[0], rss_bytes()) - baseline


def tracemalloc_peak_during(call):
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def scoring_table(data_dir, quick):
    X = np.load(Path(data_dir) / "tabular" / "adbench_http.npz", allow_pickle=False)["X"]
    sample = np.random.RandomState(SEED).choice(len(X), 50_000, replace=False)
    ae = AutoencoderTransformer(random_state=SEED, **HTTP_PARAMS).fit(X[sample])
    ae.reconstruction_error(X[:10])  # trace the forward pass outside the timers
    runs = 1 if quick else 3
    seconds = statistics.median(
        timeit.repeat(lambda: ae.reconstruction_error(X), number=1, repeat=runs)
    )
    scaled = np.asarray(ae.scaler_.transform(X), dtype=np.float32)
    ae.model_.predict(scaled[:10], verbose=0)
    keras_seconds = statistics.median(
        timeit.repeat(
            lambda: ae.model_.predict(scaled, batch_size=8192, verbose=0),
            number=1,
            repeat=runs,
        )
    )
    scaled = None  # free it before measuring peak memory
    rss = peak_rss_during(lambda: ae.reconstruction_error(X))
    traced = tracemalloc_peak_during(lambda: ae.reconstruction_error(X))
    mb = 1024**2
    print(
        f"\n(c) scoring adbench_http: reconstruction_error on {len(X):,} x {X.shape[1]} "
        f"rows ({X.nbytes / mb:.1f} MiB as float32)",
        flush=True,
    )
    print(f"    skae reconstruction_error : {len(X) / seconds:>12,.0f} rows/s ({seconds:.2f} s)")
    print(
        f"    Keras model_.predict      : {len(X) / keras_seconds:>12,.0f} rows/s "
        f"({keras_seconds:.2f} s; scaled input, no validation, no error)"
    )
    print(
        f"    peak RSS added            : {rss / mb:>9.1f} MiB = {rss / X.nbytes:.1f} x data "
        "(/proc/self/statm sampled on a thread)"
    )
    print(
        f"    tracemalloc peak          : {traced / mb:>9.1f} MiB = {traced / X.nbytes:.1f} x data "
        "(NumPy/Python allocations)",
        flush=True,
    )


# ----------------------------------------------------------------------
# (d) fixed cost of a new model


def timed_fit(X, seed, epochs=1):
    ae = AutoencoderTransformer(random_state=seed, epochs=epochs, **NEW_MODEL_PARAMS)
    start = time.perf_counter()
    ae.fit(X)
    return time.perf_counter() - start


def new_model_table(digits_train, quick):
    print(
        "\n(d) fixed cost of a new model: fits 1..5 of one architecture in one "
        "process, new data each, 1 epoch",
        flush=True,
    )
    rng = np.random.RandomState(SEED)
    subsets = [
        digits_train[rng.permutation(len(digits_train))[: int(0.9 * len(digits_train))]]
        for _ in range(11)
    ]
    # One epoch's arithmetic: what 60 more epochs add, on a warm architecture
    # (n_iter_no_change=None: every epoch runs).
    ae_params = dict(NEW_MODEL_PARAMS, n_iter_no_change=None)
    runs = []
    for epochs in (1, 61):
        ae = AutoencoderTransformer(random_state=SEED, epochs=epochs, **ae_params)
        ae.fit(subsets[0])  # trace outside the timer
        runs.append(
            min(
                timeit.repeat(
                    lambda e=epochs: AutoencoderTransformer(
                        random_state=SEED, epochs=e, **ae_params
                    ).fit(subsets[0]),
                    number=1,
                    repeat=2 if quick else 3,
                )
            )
        )
    epoch = max(0.0, (runs[1] - runs[0]) / 60)
    _engine.clear_traces()
    print(f"    one epoch's arithmetic (and validation): {epoch * 1e3:.1f} ms", flush=True)
    print(
        f"{'sharing':<10}{'fit 1':>9}{'fits 2..5 min':>15}{'median':>9}"
        f"{'fixed 2..5 min':>16}{'median':>9}",
        flush=True,
    )
    results = {}
    # SKAE_SHARE_TRACES=0 leaves only the "off" row; on another backend, one row
    # (its own engine: JAX shares traces, PyTorch has none to share).
    enabled = None if _compiled is None else _compiled.ENABLED
    for shared in (False, True) if enabled else (enabled is None,):
        if _compiled is not None:
            _compiled.ENABLED = shared
        # The cache was cleared: fit 1 with sharing on traces, as a first fit does.
        times = [timed_fit(subsets[1 + i], SEED + i) for i in range(5)]
        if _compiled is not None:
            _compiled.ENABLED = enabled
        later = times[1:]
        print(
            f"{'on' if shared else 'off':<10}{times[0]:>8.3f}s{min(later):>14.3f}s"
            f"{statistics.median(later):>8.3f}s{min(later) - epoch:>15.3f}s"
            f"{statistics.median(later) - epoch:>8.3f}s",
            flush=True,
        )
        results[shared] = times
    return results


# ----------------------------------------------------------------------
# (e) grid search over code widths


def reconstruction_mse(estimator, X, y=None):
    """Mean squared reconstruction error of ``estimator`` on ``X`` (any of the three)."""
    if isinstance(estimator, MLPRegressor):
        reconstruction = estimator.predict(X)
    else:
        reconstruction = estimator.inverse_transform(estimator.transform(X))
    return float(np.mean((np.asarray(reconstruction, dtype=np.float64) - X) ** 2))


def negative_mse(estimator, X, y=None):
    return -reconstruction_mse(estimator, X)


def searches(quick):
    max_iter = 20 if quick else 200
    return [
        ("PCA", PCA(random_state=SEED), {"n_components": list(SEARCH_WIDTHS)}, False),
        (
            "MLPRegressor",
            MLPRegressor(random_state=SEED, max_iter=max_iter),
            {"hidden_layer_sizes": [(128, k, 128) for k in SEARCH_WIDTHS]},
            True,
        ),
        (
            "skae",
            AutoencoderTransformer(hidden_layer_sizes=(128,), random_state=SEED, epochs=max_iter),
            {"latent_dim": list(SEARCH_WIDTHS)},
            False,
        ),
    ]


def grid_search_table(digits_train, digits_test, quick):
    print(
        f"\n(e) GridSearchCV on digits: {len(SEARCH_WIDTHS)} code widths x cv=3, "
        "scored by reconstruction MSE; held-out MSE of the refitted best model",
        flush=True,
    )
    print(
        f"{'model':<14}{'n_jobs':>15}{'wall s':>9}{'best width':>12}{'held-out MSE':>14}",
        flush=True,
    )
    rows = {}
    for name, estimator, grid, fit_on_target in searches(quick):
        runs = [(1, "loky"), (2, "loky")]
        if name == "skae":
            runs.append((2, "threading"))  # one process: one trace per architecture
        for n_jobs, backend in runs:
            search = GridSearchCV(estimator, grid, cv=3, n_jobs=n_jobs, scoring=negative_mse)
            with warnings.catch_warnings(), parallel_config(backend=backend):
                warnings.simplefilter("ignore", ConvergenceWarning)
                start = time.perf_counter()
                if fit_on_target:
                    search.fit(digits_train, digits_train)
                else:
                    search.fit(digits_train)
                seconds = time.perf_counter() - start
            width = next(iter(search.best_params_.values()))
            width = width[1] if isinstance(width, tuple) else width
            mse = reconstruction_mse(search.best_estimator_, digits_test)
            rows[name, n_jobs, backend] = (seconds, mse)
            jobs = f"{n_jobs}" if backend == "loky" else f"{n_jobs} ({backend})"
            print(f"{name:<14}{jobs:>15}{seconds:>9.2f}{width:>12}{mse:>14.4f}", flush=True)
    return rows


# ----------------------------------------------------------------------
# (f) the figures on every Keras backend, side by side


BACKENDS = ("tensorflow", "jax", "torch")
FIGURE_NAMES = {
    "digits_skae": "digits 200 epochs: skae fit, s",
    "digits_keras": "digits 200 epochs: Model.fit(steps_per_execution), s",
    "mnist_skae": "MNIST: skae fit, s",
    "mnist_keras": "MNIST: Model.fit(steps_per_execution), s",
    "mnist_ratio": "MNIST: Model.fit / skae (>= 1: skae no slower)",
    "fixed_min": "fixed cost of fits 2-5, min, s",
    "fixed_median": "fixed cost of fits 2-5, median, s",
    "search_skae": "GridSearchCV skae (n_jobs=1), s",
    "search_mlp": "GridSearchCV MLPRegressor (faster thread setting), s",
    "transform10_ms": "transform of 10 rows, ms",
}


def backend_figures(digits_all, digits_train, mnist, mnist_epochs, with_mlp=True):
    """The figures of issue 25 on the backend this process runs: a dict of FIGURE_NAMES."""
    from threadpoolctl import threadpool_limits

    figures = {}
    (s_sec, _), (k_sec, _), ae = fit_both(digits_train, DIGITS_PARAMS)
    figures["digits_skae"], figures["digits_keras"] = s_sec, k_sec
    (s_sec, _), (k_sec, _), _ = fit_both(mnist, dict(MNIST_PARAMS, epochs=mnist_epochs))
    figures["mnist_skae"], figures["mnist_keras"] = s_sec, k_sec
    figures["mnist_ratio"] = k_sec / s_sec
    figures["transform10_ms"] = per_call_seconds(lambda: ae.transform(digits_all[:10]), 9)[0] * 1e3
    rng = np.random.RandomState(SEED)
    subsets = [
        digits_train[rng.permutation(len(digits_train))[: int(0.9 * len(digits_train))]]
        for _ in range(6)
    ]
    params = dict(NEW_MODEL_PARAMS, n_iter_no_change=None)
    one, many = (
        min(
            timeit.repeat(
                lambda e=epochs: AutoencoderTransformer(random_state=SEED, epochs=e, **params).fit(
                    subsets[0]
                ),
                number=1,
                repeat=2,
            )
        )
        for epochs in (1, 61)
    )
    epoch = max(0.0, (many - one) / 60)
    _engine.clear_traces()
    times = [timed_fit(subsets[1 + i], SEED + i) for i in range(5)]
    figures["fixed_min"] = min(times[1:]) - epoch
    figures["fixed_median"] = statistics.median(times[1:]) - epoch
    searches_by_name = {name: rest for name, *rest in searches(quick=False)}
    runs = [("skae", [None])] + ([("MLPRegressor", [1, None])] if with_mlp else [])
    for name, limits in runs:
        estimator, grid, fit_on_target = searches_by_name[name]
        best = np.inf
        for limit in limits:
            search = GridSearchCV(estimator, grid, cv=3, n_jobs=1, scoring=negative_mse)
            with warnings.catch_warnings(), threadpool_limits(limit):
                warnings.simplefilter("ignore", ConvergenceWarning)
                start = time.perf_counter()
                search.fit(digits_train, digits_train if fit_on_target else None)
                best = min(best, time.perf_counter() - start)
        figures["search_skae" if name == "skae" else "search_mlp"] = best
    return figures


def backends_table(data_dir, backends, mnist_epochs):
    """Run :func:`backend_figures` once per backend, each in its own process; print a table."""
    columns = {}
    for index, backend in enumerate(backends):
        env = dict(os.environ, KERAS_BACKEND=backend)
        command = [sys.executable, __file__, data_dir, "--figures-child", str(mnist_epochs)]
        if index:  # MLPRegressor runs no Keras: measured once, in the first process
            command.append("--without-mlp")
        if backend == "torch":
            env.setdefault("OMP_NUM_THREADS", "1")  # see .ci/run: spinning threads
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        lines = [line for line in done.stdout.splitlines() if line.startswith("FIGURES ")]
        if done.returncode or not lines:
            print(f"{backend}: failed\n{done.stderr[-2000:]}", file=sys.stderr, flush=True)
            continue
        columns[backend] = json.loads(lines[-1][len("FIGURES ") :])
        print(f"{backend} done, load average {os.getloadavg()[0]:.2f}", flush=True)
    print(f"\n(f) issue 25's figures per Keras backend ({os.cpu_count()} CPU cores)\n")
    print("| figure | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for key, label in FIGURE_NAMES.items():
        cells = [
            f"{columns[b][key]:.3g}" if key in columns[b] else "(first column)" for b in columns
        ]
        print(f"| {label} | " + " | ".join(cells) + " |")


# ----------------------------------------------------------------------


def load_data(data_dir, quick):
    X_digits, _ = load_digits(return_X_y=True)
    digits_train, digits_test = train_test_split(X_digits, test_size=0.2, random_state=SEED)
    mnist = np.load(Path(data_dir) / "mnist.npz", allow_pickle=False)["x_train"]
    mnist = mnist.reshape(len(mnist), -1).astype(np.float32) / 255
    if quick:
        mnist = mnist[:5000]
    return X_digits, digits_train, digits_test, mnist


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
    parser.add_argument("data_dir", help="folder holding mnist.npz and tabular/")
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument(
        "--backends",
        help="comma-separated Keras backends: only the issue-25 figures, one process each",
    )
    parser.add_argument("--mnist-epochs", type=int, default=MNIST_PARAMS["epochs"])
    parser.add_argument("--figures-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--without-mlp", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backends:
        backends_table(args.data_dir, args.backends.split(","), args.mnist_epochs)
        return
    if args.figures_child is not None:
        digits_all, digits_train, _, mnist = load_data(args.data_dir, False)
        warm_up()
        figures = backend_figures(
            digits_all, digits_train, mnist, args.figures_child, not args.without_mlp
        )
        print("FIGURES " + json.dumps(figures), flush=True)
        return
    require_data(args.data_dir, "mnist.npz", "tabular/adbench_http.npz")
    digits_all, digits_train, digits_test, mnist = load_data(args.data_dir, args.quick)
    print(
        f"keras {keras.__version__}, {os.cpu_count()} CPU cores, load average "
        f"{os.getloadavg()[0]:.2f}, traces shared: {_compiled and _compiled.ENABLED} "
        "(SKAE_SHARE_TRACES=0 turns sharing off)",
        flush=True,
    )
    warm_up()
    ae = training_table(digits_train, mnist, args.quick)
    latency_table(ae, digits_train, digits_all, args.quick)
    scoring_table(args.data_dir, args.quick)
    new_model_table(digits_train, args.quick)
    grid_search_table(digits_train, digits_test, args.quick)
    print(f"load average at the end {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
