"""
=========================================
PCA and an autoencoder, side by side
=========================================

Compress the 8x8 handwritten digits that ship with scikit-learn to a few
numbers with :class:`~sklearn.decomposition.PCA` and with
:class:`skae.AutoencoderTransformer`, then look at what comes back: the
digits each one reconstructs from the same latent size, and the
reconstruction error on held-out digits as the latent size grows.
"""

# %%
# Data: digits, a quarter held out
# --------------------------------

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer
from skae.plotting import plot_reconstructions

X, y = load_digits(return_X_y=True)
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0, stratify=y)

# %%
# Reconstructions from 4 numbers per digit
# ----------------------------------------
# Both are used the same way: ``fit``, then ``inverse_transform(transform(X))``
# (the autoencoder's ``predict`` is the same thing). The autoencoder trains
# for up to 200 epochs and stops when its loss on a tenth of the training
# rows, held out, stops improving.
latent_dim = 4
pca = PCA(n_components=latent_dim).fit(X_train)
ae = AutoencoderTransformer(latent_dim=latent_dim, random_state=0).fit(X_train)

fig = plt.figure(figsize=(10, 4.2), layout="constrained")
for subfig, (name, model) in zip(
    fig.subfigures(2, 1), [("PCA", pca), ("AutoencoderTransformer", ae)], strict=True
):
    plot_reconstructions(model, X_test, image_shape=(8, 8), n_images=10, fig=subfig)
    subfig.suptitle(f"{name}, {latent_dim} numbers per digit")

# %%
# Reconstruction error against latent size
# ----------------------------------------
# Mean squared error per pixel (pixels run from 0 to 16) on the held-out
# digits. The non-linear decoder gets the most out of a narrow code: at 2 to
# 8 numbers per digit its error is about half of PCA's. As the code widens,
# PCA keeps more and more of the 64 pixels exactly, and at 32 the two nearly
# meet.
latent_dims = [2, 4, 8, 16, 32]
errors = {"PCA": [], "AutoencoderTransformer": []}
for size in latent_dims:
    pca = PCA(n_components=size).fit(X_train)
    errors["PCA"].append(np.mean((X_test - pca.inverse_transform(pca.transform(X_test))) ** 2))
    ae = AutoencoderTransformer(latent_dim=size, random_state=0).fit(X_train)
    errors["AutoencoderTransformer"].append(np.mean(ae.reconstruction_error(X_test)))

for name, values in errors.items():
    print(f"{name:<24}" + " ".join(f"{v:7.3f}" for v in values))

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
for (name, values), marker in zip(errors.items(), ["o", "s"], strict=True):
    ax.plot(latent_dims, values, marker=marker, label=name)
ax.set_xscale("log", base=2)
ax.set_xticks(latent_dims, [str(size) for size in latent_dims])
ax.set_xlabel("latent size (n_components / latent_dim)")
ax.set_ylabel("test MSE per pixel")
ax.legend()
plt.show()
