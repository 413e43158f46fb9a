"""
=======================================
Denoising handwritten digits
=======================================

Train :class:`skae.DenoisingAutoencoder` on the 8x8 digits that ship with
scikit-learn, corrupting them with Gaussian noise clipped to [0, 1] (the
recipe of the MNIST tutorials), then clean held-out digits it never saw.
Rows: clean digits, their noisy versions, and what the dense and the
convolutional denoisers return.
"""

# %%
# Data: digits scaled to [0, 1], noisy copies of the held-out ones
# -----------------------------------------------------------------

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import DenoisingAutoencoder

X = load_digits().data / 16
X_train, X_test = train_test_split(X, test_size=0.2, random_state=0)
rng = np.random.RandomState(0)
X_test_noisy = np.clip(X_test + 0.5 * rng.normal(size=X_test.shape), 0, 1)

# %%
# Train a dense and a convolutional denoiser
# ------------------------------------------
# Each draws fresh noise for every training batch; ``predict`` adds none.
# Both keep the default scaling and linear output, so a denoised pixel may
# fall slightly outside [0, 1] (the figure clips it); the image recipe,
# ``scaling=None, output_activation="sigmoid", loss="binary_crossentropy"``,
# keeps every output pixel inside.
params = {"noise": "gaussian", "noise_level": 0.5, "clip": (0, 1), "epochs": 60, "random_state": 0}
denoisers = {
    "dense": DenoisingAutoencoder(**params),
    "conv": DenoisingAutoencoder(architecture="conv", image_shape=(8, 8), **params),
}
rows = {"clean": X_test, "noisy": X_test_noisy}
for name, denoiser in denoisers.items():
    denoiser.fit(X_train)
    rows[f"denoised ({name})"] = denoiser.predict(X_test_noisy)

for name, images in rows.items():
    print(f"{name:<18} MSE to clean: {np.mean((images - X_test) ** 2):.4f}")

# %%
# Show clean / noisy / denoised rows
# ----------------------------------
n_digits = 10
fig, axes = plt.subplots(
    len(rows), n_digits, figsize=(n_digits, len(rows) + 0.5), layout="constrained"
)
for row, (name, images) in zip(axes, rows.items(), strict=True):
    for ax, image in zip(row, images[:n_digits], strict=True):
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    row[0].set_ylabel(name, rotation=0, ha="right", va="center")
fig.suptitle("Gaussian noise 0.5, clipped to [0, 1]")
plt.show()
