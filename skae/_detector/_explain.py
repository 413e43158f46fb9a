"""Why a row is an outlier: its autoencoder anomaly split over its columns (``explain``).

See :meth:`skae.AutoencoderOutlierDetector.explain` for the rules; this
module computes them from a fitted detector.
"""

import numpy as np
import pandas as pd

from . import _statistics as scores

__all__ = ["contributions", "explain"]


def explain(detector, X, X_checked, top_k):
    """The tidy table of :meth:`~skae.AutoencoderOutlierDetector.explain`."""
    scaled = detector._scale(X_checked)
    cells, expected = contributions(detector, scaled)
    terms = detector._normalised_terms(detector._terms(scaled))
    names = np.asarray(
        getattr(detector, "feature_names_in_", [f"x{j}" for j in range(scaled.shape[1])])
    )
    rows = X.index.to_numpy() if isinstance(X, pd.DataFrame) else np.arange(len(scaled))
    top_k = min(top_k, scaled.shape[1])
    order = np.argsort(-cells, axis=1, kind="stable")[:, :top_k]
    picked = np.take_along_axis(cells, order, axis=1)
    values = np.take_along_axis(np.asarray(X_checked, np.float64), order, axis=1)
    expected = np.take_along_axis(detector._unscale(expected), order, axis=1)
    table = {
        "row": np.repeat(rows, top_k),
        "rank": np.tile(np.arange(1, top_k + 1), len(rows)),
        "column": names[order].ravel(),
        "contribution": picked.ravel(),
        "value": values.ravel(),
        "expected": expected.ravel(),
    }
    for name, term in zip(detector._term_names(), terms, strict=True):
        table[name] = np.repeat(term, top_k)
    return pd.DataFrame(table)


def contributions(detector, scaled):
    """Each cell's share ``(n, d)`` of the autoencoder term, and the scaled reconstructions.

    Zero everywhere when the detector has no autoencoder term.
    """
    reconstructions = np.asarray(detector._run(detector.model_, detector._filled(scaled)))
    residuals = scaled.astype(np.float64) - reconstructions.astype(np.float64)
    names = detector._term_names()
    if "autoencoder" not in names:
        return np.zeros(scaled.shape), reconstructions
    relative = scores.relative_squares(residuals, detector.residual_scale_)
    observed = ~np.isnan(relative)
    relative = np.where(observed, relative, 0.0)
    m = np.maximum(observed.sum(axis=1, keepdims=True), 1)
    anomaly = np.sqrt(relative.sum(axis=1, keepdims=True) / m)
    # sqrt(S / m) = sum_j (r_j^2 / s_j^2) / (m sqrt(S / m)): an exact split.
    cells = relative / m / np.maximum(anomaly, 1e-300)
    spread = detector.term_spread_[names.index("autoencoder")]
    return cells / spread / len(names), reconstructions
