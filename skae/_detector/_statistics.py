"""The outlier detector's statistics: per-member terms, normalised on the training rows.

NumPy and scikit-learn only; the network's outputs come in as arrays. An
ensemble of ``M`` autoencoders, each on its own columns, gives every row
three kinds of evidence (the "terms"), each computed per member:

``reconstruction`` (Q)
    The row's squared reconstruction error on the member's observed columns,
    each divided by that column's mean error on the training rows, averaged.
``code`` (T²)
    The squared Mahalanobis distance of the row's code from the bulk of the
    training codes: location and covariance re-estimated on the
    ``support_fraction`` of codes closest to the previous estimate (three
    concentration steps, as in MinCovDet), so the outliers among the
    training rows do not set them.
``neighbours``
    The distance of the (scaled) row to its k-th nearest training row, one
    value shared by all members; a training row does not count as its own
    neighbour.

Each term of each member is centred by its median on the training rows and
divided by its interquartile range there, so the terms share one unit; a
row's anomaly is the mean of its terms, each averaged over the members.
"""

import numpy as np
from sklearn.neighbors import NearestNeighbors

__all__ = [
    "ReferenceIndex",
    "benjamini_hochberg",
    "code_distances",
    "column_scales",
    "member_errors",
    "nearest_distances",
    "neighbour_distances",
    "normalisers",
    "reconstruction_term",
    "robust_codes",
]

# Concentration steps of the robust code location and spread.
_C_STEPS = 3


def member_errors(scaled, reconstructions, masks):
    """Squared errors ``(n, M, d)``: NaN where a cell is missing or not the member's."""
    n, d = scaled.shape
    members = len(masks)
    predictions = reconstructions.reshape(n, members, d).astype(np.float64)
    errors = (predictions - scaled[:, None, :].astype(np.float64)) ** 2
    return np.where(masks[None] > 0, errors, np.nan)


def column_scales(errors):
    """Each member's mean training error per column ``(M, d)``; 1 where it has none."""
    with np.errstate(invalid="ignore"), _quiet():
        scales = np.nanmean(errors, axis=0)
    floor = 1e-12 + 1e-6 * np.nanmax(scales, initial=0.0)
    return np.where(np.isnan(scales), 1.0, np.maximum(scales, floor))


def reconstruction_term(errors, scales):
    """Q per row and member ``(n, M)``: mean relative error over the member's observed columns."""
    relative = errors / scales[None]
    observed = ~np.isnan(relative)
    totals = np.where(observed, relative, 0.0).sum(axis=2)
    return totals / np.maximum(observed.sum(axis=2), 1)


def robust_codes(codes, support_fraction):
    """Per member, a robust location ``(M, k)`` and precision ``(M, k, k)`` of the codes."""
    locations, precisions = [], []
    for member in np.moveaxis(codes, 1, 0):
        chosen = np.ones(len(member), dtype=bool)
        for _ in range(_C_STEPS + 1):
            location, precision = _location_precision(member[chosen])
            distances = _mahalanobis(member, location, precision)
            chosen = distances <= np.quantile(distances, support_fraction)
        locations.append(location)
        precisions.append(precision)
    return np.array(locations), np.array(precisions)


def _location_precision(codes):
    location = codes.mean(axis=0)
    if len(codes) < 2:
        return location, np.zeros((codes.shape[1], codes.shape[1]))
    return location, np.linalg.pinv(np.atleast_2d(np.cov(codes, rowvar=False)))


def _mahalanobis(codes, location, precision):
    centred = codes - location
    return np.einsum("ij,jk,ik->i", centred, precision, centred)


def code_distances(codes, locations, precisions):
    """T² per row and member ``(n, M)``."""
    return np.stack(
        [_mahalanobis(codes[:, m], locations[m], precisions[m]) for m in range(len(locations))],
        axis=1,
    )


class ReferenceIndex:
    """Nearest-neighbour search over fixed reference rows, fitted on first use, then reused.

    One ``NearestNeighbors`` per number of neighbours asked for (the scores
    ask for ``k + 1``, the explanations for ``k``), because scikit-learn's
    ``algorithm="auto"`` chooses brute force or a tree from it: each query
    returns exactly what a fresh ``NearestNeighbors(n_neighbors).fit(rows)``
    would. Queries from several threads are safe; at worst two of them fit
    the same index.
    """

    def __init__(self, rows):
        self.rows = rows
        self._fitted = {}

    def kneighbors(self, queries, n_neighbors):
        """``(distances, indices)`` of each query's ``n_neighbors`` nearest rows, sorted."""
        index = self._fitted.get(n_neighbors)
        if index is None:
            index = NearestNeighbors(n_neighbors=n_neighbors).fit(self.rows)
            self._fitted[n_neighbors] = index
        return index.kneighbors(queries)


def nearest_distances(rows, reference, n_neighbors):
    """Sorted distances ``(n, q)`` of each row to its ``q`` nearest reference rows.

    ``reference`` is the reference rows, or a :class:`ReferenceIndex` of them
    to reuse. ``q`` is one more than ``n_neighbors`` (at most the reference's
    size): as many as :func:`neighbour_distances` reads with or without
    ``exclude_self``, so that one query serves both.
    """
    if not isinstance(reference, ReferenceIndex):
        reference = ReferenceIndex(reference)
    n_reference = len(reference.rows)
    k = max(1, min(n_neighbors, n_reference))
    distances, _ = reference.kneighbors(rows, min(k + 1, n_reference))
    return distances


def neighbour_distances(nearest, n_reference, n_neighbors, exclude_self=None):
    """Distance of each row to its ``n_neighbors``-th nearest reference row ``(n, 1)``.

    ``nearest`` comes from :func:`nearest_distances` on a reference of
    ``n_reference`` rows. ``exclude_self`` (a boolean mask over the rows)
    marks rows that are in the reference themselves: their nearest neighbour,
    themselves, is skipped.
    """
    k = min(n_neighbors, n_reference - 1) if exclude_self is not None else n_neighbors
    k = max(1, min(k, n_reference))
    if exclude_self is None:
        return nearest[:, k - 1 : k]
    last = np.where(exclude_self, min(k, nearest.shape[1] - 1), k - 1)
    return nearest[np.arange(len(nearest)), last][:, None]


def normalisers(terms):
    """Median and spread ``(T, M)`` of the terms ``(T, n, M)`` on the training rows.

    The spread is the interquartile range, or where that vanishes (a term
    constant on most rows), the standard deviation; never 0.
    """
    medians = np.median(terms, axis=1)
    spreads = np.subtract(*np.percentile(terms, [75, 25], axis=1))
    return medians, np.where(spreads > 1e-12, spreads, terms.std(axis=1) + 1e-12)


def benjamini_hochberg(p_values, alpha=0.1):
    """Flag rows as outliers with the false discovery rate controlled at ``alpha``.

    The Benjamini-Hochberg procedure: sort the p-values, find the largest
    ``i`` with ``p_(i) <= alpha * i / n``, flag the ``i`` smallest. When the
    inliers' p-values are valid (``P(p <= a) <= a``) and independent or
    positively dependent, as conformal p-values of exchangeable rows are, the
    expected share of inliers among the flagged rows is at most ``alpha``.

    Parameters
    ----------
    p_values : array-like of shape (n_samples,)
        E.g. from :meth:`skae.AutoencoderOutlierDetector.p_values`.
    alpha : float in (0, 1), default=0.1
        Target false discovery rate.

    Returns
    -------
    outliers : ndarray of shape (n_samples,)
        True for the rows flagged as outliers.

    Examples
    --------
    >>> from skae import benjamini_hochberg
    >>> benjamini_hochberg([0.001, 0.02, 0.3, 0.8], alpha=0.1).tolist()
    [True, True, False, False]
    """
    p_values = np.asarray(p_values, dtype=np.float64)
    if p_values.ndim != 1 or not np.all((p_values >= 0) & (p_values <= 1)):
        raise ValueError("p_values must be a 1-D array of numbers in [0, 1].")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}.")
    n = len(p_values)
    order = np.argsort(p_values, kind="stable")
    below = p_values[order] <= alpha * np.arange(1, n + 1) / max(n, 1)
    flagged = np.zeros(n, dtype=bool)
    if below.any():
        flagged[order[: np.flatnonzero(below).max() + 1]] = True
    return flagged


class _quiet:
    """Silence NumPy's 'Mean of empty slice' for members without a given column."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc_info):
        self._catch.__exit__(*exc_info)
