"""
==================================================
Generating digits with a variational autoencoder
==================================================

Fit :class:`skae.VariationalAutoencoder` with a 2-D code on the 8x8 digits
that ship with scikit-learn. Its code is a Gaussian, so decoding a regular
grid of the standard normal prior shows the whole learned manifold, and
decoding random draws generates new digits. ``score_samples`` gives each row's
evidence lower bound: random noise scores far below real digits.
"""

# %%
# Fit a VAE with a 2-D code
# -------------------------

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skae import VariationalAutoencoder
from skae.plotting import plot_latent_grid, plot_latent_space

X, y = load_digits(return_X_y=True)
vae = VariationalAutoencoder(
    latent_dim=2,
    scaling="minmax",
    loss="binary_crossentropy",
    output_activation="sigmoid",
    epochs=100,
    random_state=0,
).fit(X)
print(f"trained {vae.n_iter_} epochs, mean ELBO {vae.score(X):.1f} nats")

# %%
# The latent space: means of the code, coloured by digit
# ------------------------------------------------------
ax = plot_latent_space(vae, X, y)
ax.set_title("VAE codes of the digits (means)")

# %%
# The learned manifold: a regular grid of the prior, decoded
# ----------------------------------------------------------
ax = plot_latent_grid(vae, image_shape=(8, 8), n=12)
ax.set_title(r"Decoded grid of codes in $[-3, 3]^2$")

# %%
# New digits: decode codes drawn from the prior
# ---------------------------------------------
samples = vae.sample(16, random_state=0)
fig, axes = plt.subplots(2, 8, figsize=(8, 2.2), layout="constrained")
for ax, image in zip(axes.ravel(), samples, strict=True):
    ax.imshow(image.reshape(8, 8), cmap="gray_r")
    ax.set_axis_off()
fig.suptitle("vae.sample(16)")

# %%
# The ELBO as a likelihood score
# ------------------------------
noise = np.random.RandomState(0).uniform(0, 16, size=(100, 64))
print(f"mean ELBO of digits: {vae.score(X):.1f}, of uniform noise: {vae.score(noise):.1f}")
plt.show()
