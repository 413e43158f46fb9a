"""Why a row is an outlier: its anomaly split over its columns (``explain``).

See :meth:`skae.AutoencoderOutlierDetector.explain` for the rules; this
module computes them from a fitted detector.
"""

import keras
import numpy as np
import pandas as pd

from .._engine import integrated_gradients

__all__ = ["contributions", "explain"]


def explain(detector, X, X_checked, top_k):
    """The tidy table of :meth:`~skae.AutoencoderOutlierDetector.explain`."""
    scaled = detector._scale(X_checked)
    cells, expected = contributions(detector, scaled)
    names = np.asarray(
        getattr(detector, "feature_names_in_", [f"x{j}" for j in range(scaled.shape[1])])
    )
    rows = X.index.to_numpy() if isinstance(X, pd.DataFrame) else np.arange(len(scaled))
    top_k = min(top_k, scaled.shape[1])
    order = np.argsort(-cells, axis=1, kind="stable")[:, :top_k]
    picked = np.take_along_axis(cells, order, axis=1)
    values = np.take_along_axis(np.asarray(X_checked, np.float64), order, axis=1)
    expected = np.take_along_axis(detector._unscale(expected), order, axis=1)
    return pd.DataFrame(
        {
            "row": np.repeat(rows, top_k),
            "rank": np.tile(np.arange(1, top_k + 1), len(rows)),
            "column": names[order].ravel(),
            "contribution": picked.ravel(),
            "value": values.ravel(),
            "expected": expected.ravel(),
        }
    )


def contributions(detector, scaled):
    """Each cell's contribution ``(n, d)`` to the anomaly, and the scaled reconstructions."""
    errors, codes = detector._errors_and_codes(scaled)
    masks = detector.member_masks_
    n_terms, members = detector.term_spread_.shape
    spread = detector.term_spread_
    # reconstruction: the member's mean over its observed columns, per column
    relative = errors / detector.column_error_scale_[None]
    observed = ~np.isnan(relative)
    counts = np.maximum(observed.sum(axis=2, keepdims=True), 1)
    shares = np.where(observed, relative, 0.0) / counts / spread[0][None, :, None]
    cells = shares.sum(axis=1) / members
    # code distance: integrated gradients from the training rows' median
    filled = detector._filled(scaled).astype(np.float64)
    baseline = _median_row(detector, filled)
    cells += _code_shares(detector, filled, baseline) / members
    if n_terms > 2:
        cells += _neighbour_shares(detector, filled) / spread[2][0]
    _, reconstructions = detector._run(detector.model_, scaled, "code_and_reconstruction")
    return cells / n_terms, _member_mean(reconstructions, masks, scaled.shape)


def _median_row(detector, filled):
    if len(detector.reference_rows_):
        return np.median(detector.reference_rows_, axis=0)
    return np.zeros(filled.shape[1])


def _code_shares(detector, filled, baseline):
    """Integrated gradients of the spread-normalised code distances, summed over members."""
    members = len(detector.member_masks_)
    location = keras.ops.convert_to_tensor(detector.code_location_, "float32")
    precision = keras.ops.convert_to_tensor(detector.code_precision_, "float32")
    weights = keras.ops.convert_to_tensor(1.0 / detector.term_spread_[1], "float32")
    encoder = detector.encoder_

    def distance(rows):
        codes = keras.ops.reshape(encoder(rows, training=False), (-1, members, location.shape[1]))
        centred = codes - location[None]
        t2 = keras.ops.einsum("nmi,mij,nmj->nm", centred, precision, centred)
        return keras.ops.sum(t2 * weights[None], axis=1)

    return integrated_gradients(distance, filled, baseline)


def _neighbour_shares(detector, filled):
    """Each column's share of the distance to the k-th nearest reference row."""
    k = max(1, min(detector.n_neighbors, len(detector.reference_rows_)))
    _, neighbours = detector._reference_index().kneighbors(filled, k)
    gaps = (filled - detector.reference_rows_[neighbours[:, -1]]) ** 2
    distance = np.sqrt(gaps.sum(axis=1, keepdims=True))
    return gaps / np.maximum(distance, 1e-12)


def _member_mean(reconstructions, masks, shape):
    """Each cell's reconstruction averaged over the members that see its column."""
    n, d = shape
    stacked = reconstructions.reshape(n, len(masks), d).astype(np.float64)
    counts = np.maximum(masks.sum(axis=0), 1)
    return (stacked * masks[None]).sum(axis=1) / counts
