"""Training loops per Keras backend, against ``Model.fit`` on the same backend.

Usage::

    python benchmarks/bench_backends_draft.py DATA_DIR [--backends tensorflow,jax,torch]
        [--epochs 200] [--mnist-epochs 2] [--mnist-rows 60000] [--torch-threads N]

Each backend runs in a subprocess (``KERAS_BACKEND`` is read at import).
Plain Keras dense autoencoders like skae's, no estimator around them:

- digits: ``load_digits`` scaled to zero mean and unit variance, 80% of the
  rows (1,437 x 64), 64-128-8-128-64 ReLU, linear output, MSE, Adam 1e-3,
  batch 64;
- MNIST: 60,000 x 784 in [0, 1], 512-256-32-256-512 ReLU, sigmoid output,
  binary cross-entropy, Adam 1e-3, batch 256.

Rows: ``Model.fit`` (``steps_per_execution`` = the steps of an epoch where
the backend allows it; PyTorch requires 1), the engine's loop (first fit,
tracing included, and a second model of the same architecture, which reuses
the traces where the engine shares them), final training loss of each.
"""

import argparse
import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    x = load_digits().data
    x = x[np.random.default_rng(0).permutation(len(x))[: int(0.8 * len(x))]]
    return StandardScaler().fit_transform(x).astype(np.float32)


def _mnist(data_dir, rows):
    with np.load(Path(data_dir) / "mnist.npz", allow_pickle=False) as data:
        return (data["x_train"][:rows].reshape(-1, 784) / 255.0).astype(np.float32)


def _model(keras, n_features, hidden, code, output, loss, seed, spe=1, jit=None):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((n_features,))
    x = inputs
    for width in hidden:
        x = keras.layers.Dense(width, activation="relu")(x)
    x = keras.layers.Dense(code)(x)
    for width in reversed(hidden):
        x = keras.layers.Dense(width, activation="relu")(x)
    outputs = keras.layers.Dense(n_features, activation=output)(x)
    model = keras.Model(inputs, outputs)
    args = {"steps_per_execution": spe}
    if jit is not None:
        args["jit_compile"] = jit
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, **args)
    return model


def _engine_fit(backend):
    if backend == "jax":
        from skae import _engine_jax_draft as engine
    elif backend == "torch":
        from skae import _engine_torch_draft as engine
    else:
        from skae import _loops as engine
    return engine.fit_arrays


def _timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def run_one(backend, data_dir, epochs, mnist_epochs, mnist_rows):
    """Measure in this process (KERAS_BACKEND already set); print JSON rows."""
    import keras

    assert keras.backend.backend() == backend, keras.backend.backend()
    fit = _engine_fit(backend)
    rows = []
    cases = [
        ("digits", _digits(), (128,), 8, "linear", "mse", 64, epochs),
        (
            "mnist",
            _mnist(data_dir, mnist_rows),
            (512, 256),
            32,
            "sigmoid",
            "binary_crossentropy",
            256,
            mnist_epochs,
        ),
    ]
    for case in cases:
        rows += _case(keras, backend, fit, *case)
    print("ROWS " + json.dumps(rows))


def _case(keras, backend, fit, name, x, hidden, code, output, loss, batch, n_epochs):
    """Rows for one data set: Model.fit, then the engine's loop on two new models."""
    steps = -(-len(x) // batch)
    spe = 1 if backend == "torch" else steps  # PyTorch refuses steps_per_execution > 1
    rows = []

    def model(spe=spe, jit=None):
        return _model(keras, x.shape[1], hidden, code, output, loss, 0, spe, jit)

    def engine(m):
        return fit(m, x, x, batch_size=batch, epochs=n_epochs, seed=0)

    m = model()
    seconds, history = _timed(
        lambda: m.fit(x, x, batch_size=batch, epochs=n_epochs, verbose=0, shuffle=True)
    )
    rows.append((name, f"Model.fit(spe={spe})", seconds, history.history["loss"][-1]))
    for label in ("engine, 1st model", "engine, 2nd model"):
        seconds, history = _timed(functools.partial(engine, model(spe=1)))
        rows.append((name, label, seconds, history.history["loss"][-1]))
    if backend == "torch":
        seconds, history = _timed(functools.partial(engine, model(spe=1, jit=True)))
        rows.append((name, "engine, torch.compile", seconds, history.history["loss"][-1]))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--mnist-epochs", type=int, default=2)
    parser.add_argument("--mnist-rows", type=int, default=60000)
    parser.add_argument("--torch-threads", type=int, default=0, help="OMP_NUM_THREADS for torch")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.data_dir, args.epochs, args.mnist_epochs, args.mnist_rows)
        return
    table = []
    for backend in args.backends.split(","):
        env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=str(ROOT))
        if backend == "torch" and args.torch_threads:
            # PyTorch's OpenMP threads spin-wait: on a shared machine two of them
            # can run a small step 10x slower than one (measured: 785 us against
            # 50 us for a 64x64 @ 64x128 product at load 8 on 2 cores).
            env["OMP_NUM_THREADS"] = str(args.torch_threads)
        command = [
            sys.executable,
            __file__,
            args.data_dir,
            "--one",
            backend,
            "--epochs",
            str(args.epochs),
            "--mnist-epochs",
            str(args.mnist_epochs),
            "--mnist-rows",
            str(args.mnist_rows),
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        lines = [line for line in done.stdout.splitlines() if line.startswith("ROWS ")]
        if done.returncode or not lines:
            print(f"{backend} failed:\n{done.stderr[-3000:]}", file=sys.stderr)
            continue
        table += [(backend, *row) for row in json.loads(lines[-1][5:])]
    print("| backend | data | loop | seconds | final loss |\n|---|---|---|---:|---:|")
    for backend, data, loop, seconds, loss in table:
        print(f"| {backend} | {data} | {loop} | {seconds:.2f} | {loss:.4f} |")


if __name__ == "__main__":
    main()
