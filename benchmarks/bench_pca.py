"""AutoencoderTransformer vs PCA: reconstruction error, fit time, code quality.

Usage::

    python benchmarks/bench_pca.py DATA_DIR [--quick]

DATA_DIR holds ``mnist.npz`` (``../shared/data`` from the project root).
For each data set and latent size the script fits PCA and an
AutoencoderTransformer on the training part and prints, on the test part:
reconstruction MSE of each, the ratio AE / PCA (below 1 means the
autoencoder reconstructs better), fit times, and the accuracy of a
LogisticRegression trained on each one's codes.

- digits: ``sklearn.datasets.load_digits``, stratified 75/25 split (seed 0),
  pixels 0..16, the estimator's default parameters.
- MNIST: the 60,000 training images to fit, the 10,000 test images to score,
  pixels scaled to [0, 1]; the usual image settings (no extra scaling, sigmoid
  output, binary cross-entropy) and a wider network, 20 epochs of batch 256.

``--quick`` uses 10,000 MNIST training images and 5 epochs (a smoke run).
"""

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skae import AutoencoderTransformer  # noqa: E402

LATENT_SIZES = (2, 8, 32)
SEED = 0
MNIST_PARAMS = dict(
    scaling=None,
    output_activation="sigmoid",
    loss="binary_crossentropy",
    hidden_layer_sizes=(512, 256),
    batch_size=256,
    epochs=20,
)


def load_digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=SEED, stratify=y)


def load_mnist_split(data_dir, quick):
    data = np.load(Path(data_dir) / "mnist.npz", allow_pickle=False)
    X_train = data["x_train"].reshape(len(data["x_train"]), -1).astype(np.float32) / 255
    X_test = data["x_test"].reshape(len(data["x_test"]), -1).astype(np.float32) / 255
    y_train, y_test = data["y_train"], data["y_test"]
    if quick:
        X_train, y_train = X_train[:10_000], y_train[:10_000]
    return X_train, X_test, y_train, y_test


def evaluate(reducer, X_train, X_test, y_train, y_test):
    """Fit ``reducer``; return test MSE, fit seconds and code accuracy."""
    start = time.perf_counter()
    reducer.fit(X_train)
    fit_seconds = time.perf_counter() - start
    reconstruction = reducer.inverse_transform(reducer.transform(X_test))
    mse = float(np.mean((np.asarray(X_test, np.float64) - reconstruction) ** 2))
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    classifier.fit(reducer.transform(X_train), y_train)
    accuracy = classifier.score(reducer.transform(X_test), y_test)
    return mse, fit_seconds, accuracy


def run(name, split, ae_params):
    rows = []
    for latent in LATENT_SIZES:
        pca = evaluate(PCA(latent, random_state=SEED), *split)
        ae = AutoencoderTransformer(latent, random_state=SEED, **ae_params)
        auto = evaluate(ae, *split)
        rows.append((name, latent, pca, auto, ae.n_iter_))
        print_row(rows[-1])
    return rows


HEADER = (
    f"{'data':<7}{'latent':>7}{'PCA MSE':>11}{'AE MSE':>11}{'AE/PCA':>8}"
    f"{'PCA fit s':>10}{'AE fit s':>10}{'AE epochs':>10}{'PCA acc':>9}{'AE acc':>8}"
)


def print_row(row):
    name, latent, (p_mse, p_s, p_acc), (a_mse, a_s, a_acc), epochs = row
    print(
        f"{name:<7}{latent:>7}{p_mse:>11.4f}{a_mse:>11.4f}{a_mse / p_mse:>8.2f}"
        f"{p_s:>10.2f}{a_s:>10.1f}{epochs:>10}{p_acc:>9.3f}{a_acc:>8.3f}",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", help="folder holding mnist.npz")
    parser.add_argument("--quick", action="store_true", help="small MNIST smoke run")
    args = parser.parse_args()
    mnist_params = dict(MNIST_PARAMS, epochs=5) if args.quick else MNIST_PARAMS
    print(HEADER, flush=True)
    run("digits", load_digits_split(), {})
    run("mnist", load_mnist_split(args.data_dir, args.quick), mnist_params)


if __name__ == "__main__":
    main()
