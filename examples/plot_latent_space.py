"""
=========================================
The latent space of handwritten digits
=========================================

Train :class:`skae.AutoencoderTransformer` on the 8x8 digits that ship with
scikit-learn and look inside it with :mod:`skae.plotting`: the training
curve, the codes of every digit coloured by its label, the digits the decoder
draws across the code plane, and the code of single digits.
"""

# %%
# A 2-D code, small enough to look at directly
# --------------------------------------------
# The labels are not used in training; they only colour the figures.

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from skae import AutoencoderTransformer
from skae.plotting import (
    plot_code,
    plot_history,
    plot_latent_grid,
    plot_latent_space,
)

X, y = load_digits(return_X_y=True)
ae2 = AutoencoderTransformer(latent_dim=2, early_stopping=True, random_state=0).fit(X)

# %%
# Training curve
# --------------
# With ``early_stopping=True`` a tenth of the rows is held out; training stops
# when their loss has not improved for ``n_iter_no_change`` epochs, and the
# weights of the best epoch are kept.
ax = plot_history(ae2)
ax.set_yscale("log")
ax.set_title(f"{ae2.n_iter_} epochs")

# %%
# Codes coloured by digit, and what the decoder draws there
# ---------------------------------------------------------
# Left: the code of every digit. Right: the decoder's image at each point of a
# regular grid over the same range of codes. Some digits get a region of
# their own (0, 2, 3, 4, 6 and 7 here); others (5, 8 and 9) crowd the middle,
# where two numbers are not enough to tell them apart.
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
plot_latent_space(ae2, X, y, ax=left)
plot_latent_grid(ae2, image_shape=(8, 8), n=12, X=X, ax=right)
left.set_title("codes of the 1797 digits")
right.set_title("decoded grid of codes")

# %%
# A wider code, projected to 2-D
# ------------------------------
# With 8 numbers per digit there is room to keep the classes apart (a
# classifier on these codes does much better, see the grid search example).
# To draw them, the codes are projected on their first two principal
# components, or embedded with t-SNE, which keeps neighbours together rather
# than distances.
ae8 = AutoencoderTransformer(latent_dim=8, random_state=0).fit(X)
fig, axes = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
for ax, method in zip(axes, ["pca", "tsne"], strict=True):
    plot_latent_space(ae8, X, y, method=method, ax=ax, random_state=0)
    ax.set_title("8-D codes, " + {"pca": "PCA", "tsne": "t-SNE"}[method])

# %%
# The code of single digits
# -------------------------
# One bar per code unit: each digit is summed up by these 8 numbers, from
# which the decoder redraws it.
fig, axes = plt.subplots(1, 3, figsize=(11, 3), layout="constrained", sharey=True)
for ax, digit in zip(axes, [0, 1, 7], strict=True):
    index = list(y).index(digit)
    plot_code(ae8, X[index], ax=ax)
    ax.set_title(f"digit {digit}")
plt.show()
