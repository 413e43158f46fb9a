"""PCA of the scaled training rows, with sample weights: the start of a PCA-started network.

NumPy only. A weight counts as that many repeated rows: the mean and the
covariance are weighted, so fitting with integer weights gives the PCA of the
repeated rows (scikit-learn's PCA takes no weights).
"""

import numpy as np

__all__ = ["pca_start", "width_for_variance"]


def _weighted_pca(x, weights=None):
    """``(mean, axes, variances)``: principal axes as rows, largest variance first."""
    # C order: a DataFrame's Fortran-ordered values would round differently.
    x = np.ascontiguousarray(x, dtype=np.float64)
    weights = np.ones(len(x)) if weights is None else np.asarray(weights, np.float64)
    weights = weights / weights.sum()
    mean = weights @ x
    centred = x - mean
    covariance = (centred * weights[:, None]).T @ centred
    variances, axes = np.linalg.eigh(covariance)
    order = np.argsort(variances)[::-1]
    axes = axes[:, order].T
    # A deterministic sign per axis, as scikit-learn's svd_flip gives one.
    signs = np.sign(axes[np.arange(len(axes)), np.argmax(np.abs(axes), axis=1)])
    return mean, axes * np.where(signs == 0, 1.0, signs)[:, None], np.maximum(variances[order], 0)


def pca_start(x, latent_dim, weights=None):
    """``(components, mean)`` for :func:`skae._nn.build_pca_residual_autoencoder`.

    ``components`` has ``latent_dim`` rows: the leading principal axes, then
    rows of zeros where the code is wider than the data's rank.
    """
    mean, axes, variances = _weighted_pca(x, weights)
    rank = min(latent_dim, len(axes), int(np.sum(variances > variances.max(initial=0) * 1e-12)))
    components = np.zeros((latent_dim, x.shape[1]))
    components[:rank] = axes[:rank]
    return components, mean


def width_for_variance(x, fraction, weights=None):
    """The fewest principal axes keeping ``fraction`` of the variance (PCA's float n_components)."""
    _, _, variances = _weighted_pca(x, weights)
    total = variances.sum()
    if total <= 0:
        return 1
    kept = np.searchsorted(np.cumsum(variances) / total, fraction - 1e-12) + 1
    return int(min(kept, len(variances)))
