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
    ae_mse, ae_s = reconstruction_mse(AutoencoderTransformer(latent_dim=latent_dim, random_state=0))
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
