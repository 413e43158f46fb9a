"""Denoising MNIST: skae (dense and conv) vs the Keras tutorial recipe.

Usage::

    python benchmarks/bench_denoising.py DATA_DIR [--epochs N] [--train-size N]

DATA_DIR holds ``mnist.npz`` (``../shared/data`` from the project root).
Images are scaled to [0, 1] and corrupted as in the tutorials: Gaussian
noise of standard deviation 0.5, clipped to [0, 1]. The script prints, on
the 10,000 test images, the MSE and PSNR against the clean images of:

- the noisy input itself;
- skae's ``DenoisingAutoencoder`` with a dense and with a conv architecture
  (default parameters plus the data's description: ``noise_level=0.5``,
  ``clip=(0, 1)``, ``image_shape=(28, 28)``, ``latent_dim`` and ``epochs``);
  it draws fresh noise at every training step;
- the tutorial recipe written in plain Keras: Conv2D(32)-MaxPool-Conv2D(32)-
  MaxPool, mirrored with UpSampling, sigmoid output, binary cross-entropy,
  Adam, batch 128, trained on one fixed noisy copy of the training images,
  stopped when it has trained for as long as skae's conv model did.

PSNR is ``10 * log10(1 / MSE)`` over all test pixels (peak value 1).
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from keras import layers

from skae import DenoisingAutoencoder

NOISE = 0.5
SEED = 0


def load(data_dir, train_size):
    data = np.load(Path(data_dir) / "mnist.npz", allow_pickle=False)
    X_train = data["x_train"][:train_size].reshape(-1, 784).astype(np.float32) / 255
    X_test = data["x_test"].reshape(-1, 784).astype(np.float32) / 255
    return X_train, X_test


def add_noise(X, seed):
    noisy = X + NOISE * np.random.RandomState(seed).normal(size=X.shape)
    return np.clip(noisy, 0, 1).astype(np.float32)


def tutorial_model():
    """The Keras denoising tutorial's convolutional autoencoder."""
    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu", padding="same")(inputs)
    x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Conv2D(32, 3, activation="relu", padding="same")(x)
    x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Conv2D(32, 3, activation="relu", padding="same")(x)
    x = layers.UpSampling2D(2)(x)
    x = layers.Conv2D(32, 3, activation="relu", padding="same")(x)
    x = layers.UpSampling2D(2)(x)
    outputs = layers.Conv2D(1, 3, activation="sigmoid", padding="same")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


class TimeBudget(keras.callbacks.Callback):
    """Stop training once ``seconds`` of training have passed."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self.start >= self.seconds:
            self.model.stop_training = True


def fit_tutorial(X_train, budget_seconds):
    keras.utils.set_random_seed(SEED)
    model = tutorial_model()
    images = X_train.reshape(-1, 28, 28, 1)
    noisy = add_noise(X_train, SEED + 2).reshape(-1, 28, 28, 1)
    start = time.perf_counter()
    history = model.fit(
        noisy,
        images,
        epochs=1000,
        batch_size=128,
        shuffle=True,
        verbose=0,
        callbacks=[TimeBudget(budget_seconds)],
    )
    seconds = time.perf_counter() - start
    return model, seconds, len(history.history["loss"])


def fit_skae(X_train, latent_dim, epochs, **params):
    dae = DenoisingAutoencoder(
        latent_dim,
        noise_level=NOISE,
        clip=(0, 1),
        epochs=epochs,
        random_state=SEED,
        **params,
    )
    start = time.perf_counter()
    dae.fit(X_train)
    return dae, time.perf_counter() - start


def report(name, denoised, X_test, seconds, epochs):
    mse = float(np.mean((np.asarray(denoised, np.float64) - X_test) ** 2))
    psnr = 10 * np.log10(1 / mse)
    print(f"{name:<34}{mse:>9.4f}{psnr:>9.2f}{seconds:>11.1f}{epochs:>8}", flush=True)


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
    parser.add_argument("data_dir", help="folder holding mnist.npz")
    parser.add_argument("--epochs", type=int, default=10, help="skae's epochs")
    parser.add_argument("--latent-dim", type=int, default=64, help="skae's code width")
    parser.add_argument("--train-size", type=int, default=60_000)
    args = parser.parse_args()
    require_data(args.data_dir, "mnist.npz")
    X_train, X_test = load(args.data_dir, args.train_size)
    X_test_noisy = add_noise(X_test, SEED + 1)
    print(f"{'model':<34}{'MSE':>9}{'PSNR dB':>9}{'train s':>11}{'epochs':>8}")
    report("noisy input", X_test_noisy, X_test, 0.0, 0)

    dense, seconds = fit_skae(X_train, args.latent_dim, args.epochs)
    report(
        "skae DenoisingAutoencoder dense",
        dense.predict(X_test_noisy),
        X_test,
        seconds,
        dense.n_iter_,
    )
    conv, conv_seconds = fit_skae(
        X_train, args.latent_dim, args.epochs, architecture="conv", image_shape=(28, 28)
    )
    report(
        "skae DenoisingAutoencoder conv",
        conv.predict(X_test_noisy),
        X_test,
        conv_seconds,
        conv.n_iter_,
    )

    tutorial, seconds, epochs = fit_tutorial(X_train, conv_seconds)
    denoised = tutorial.predict(X_test_noisy.reshape(-1, 28, 28, 1), verbose=0)
    report("Keras tutorial (same wall time)", denoised.reshape(-1, 784), X_test, seconds, epochs)


if __name__ == "__main__":
    main()
