"""
=================================================
An autoencoder as a drop-in for PCA
=================================================

Fit PCA and :class:`skae.AutoencoderTransformer` on the handwritten digits
that ship with scikit-learn, at a few latent sizes, and print side by side
the reconstruction error on held-out digits and the time each took to fit.
Both are used the same way: ``fit``, ``transform``, ``inverse_transform``.
"""

# %%
# Load the digits and hold out a quarter of them
# ----------------------------------------------

# sphinx_gallery_start_ignore
# TensorFlow prints notes on stderr as it starts (oneDNN, CUDA drivers and, on
# a machine without a GPU, "failed call to cuInit: CUDA error"), most of them
# before TF_CPP_MIN_LOG_LEVEL applies: load it with those lines filtered out.
# Every other line it prints, and any exception, still shows.
import os
import re
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
with tempfile.TemporaryFile() as _log:
    sys.stderr.flush()
    _stderr = os.dup(2)
    os.dup2(_log.fileno(), 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()  # the GPU look-up, which logs cuInit
    finally:
        sys.stderr.flush()
        os.dup2(_stderr, 2)
        os.close(_stderr)
        _log.seek(0)
        for _line in _log.read().decode(errors="replace").splitlines():
            if not re.search(r"absl::InitializeLog|oneDNN custom|cuda drivers|cuInit", _line):
                print(_line, file=sys.stderr)
# sphinx_gallery_end_ignore
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer

X, y = load_digits(return_X_y=True)
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0, stratify=y)


# %%
# Fit both at each latent size
# ----------------------------
# The reconstruction error is measured in pixel units (0..16) on the test part.
def reconstruction_mse(reducer):
    start = time.perf_counter()
    reducer.fit(X_train)
    seconds = time.perf_counter() - start
    X_back = reducer.inverse_transform(reducer.transform(X_test))
    return np.mean((X_test - X_back) ** 2), seconds


print(f"{'latent':>6} {'PCA MSE':>8} {'AE MSE':>8} {'AE/PCA':>7} {'PCA fit s':>9} {'AE fit s':>8}")
for latent_dim in (2, 8, 16):
    pca_mse, pca_s = reconstruction_mse(PCA(n_components=latent_dim))
    ae_mse, ae_s = reconstruction_mse(
        AutoencoderTransformer(latent_dim=latent_dim, random_state=0)
    )
    print(
        f"{latent_dim:>6} {pca_mse:>8.3f} {ae_mse:>8.3f} {ae_mse / pca_mse:>7.2f}"
        f" {pca_s:>9.3f} {ae_s:>8.1f}"
    )

# %%
# Reading the table
# -----------------
# At small latent sizes the non-linear autoencoder keeps much more of each
# digit than the same number of principal components. PCA fits in
# milliseconds with a closed form; the autoencoder trains a network for up to
# ``epochs`` passes and stops when its training loss levels off.
