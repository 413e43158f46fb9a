"""The outlier detector's statistics: its four terms, their cross-fitting and normalisation.

NumPy and scikit-learn only; the network's outputs come in as arrays. Every
term is an anomaly (bigger = more anomalous) of a scaled row:

``isolation``
    Minus IsolationForest's ``score_samples``. The fitted trees are kept as
    plain arrays (:func:`forest_arrays`) and scored here in NumPy
    (:func:`isolation_anomaly`), from the formulas of scikit-learn's
    ``_iforest.py``: ``2 ** (-E[h(x)] / c(max_samples))`` where ``h`` is the
    depth of the leaf a row reaches plus ``c(leaf size) - 1``.
``neighbours``
    The distance to the ``n_neighbors``-th nearest reference row.
``covariance``
    The square root of the robust Mahalanobis distance: MinCovDet where
    ``d <= 100`` and ``n >= 5 d``, else (or where it fails) LedoitWolf.
``autoencoder``
    ``sqrt(mean_j r_j^2 / s_j^2)`` over a row's observed columns, ``r`` its
    reconstruction residual and ``s_j`` the column's typical training
    residual (:func:`residual_scales`).

Each term is normalised by the median and interquartile range of its
out-of-fold anomalies (rows scored by a model that never saw them):
:func:`normalisers`.
"""

import warnings

import numpy as np
from sklearn.covariance import LedoitWolf, MinCovDet
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state

__all__ = [
    "ReferenceIndex",
    "average_path_length",
    "benjamini_hochberg",
    "covariance_anomaly",
    "fit_covariance",
    "fit_forest",
    "folds",
    "isolation_anomaly",
    "neighbour_anomaly",
    "normalisers",
    "residual_anomaly",
    "residual_scales",
]

# Largest number of columns, and fewest rows per column, for MinCovDet.
_MCD_MAX_FEATURES = 100
_MCD_ROWS_PER_FEATURE = 5
# Most rows MinCovDet is fitted on (a seeded random sample beyond): its cost
# grows with the rows, its estimate of at most 100 columns settles well before.
_MCD_MAX_ROWS = 2_000
# Columns of forest_arrays' node table.
_LEFT, _RIGHT, _FEATURE, _THRESHOLD, _SAMPLES = range(5)


# ----------------------------------------------------------------------
# cross-fitting


def folds(n, seed):
    """Fold number of each of ``n`` rows: ``K = min(5, n // 8)`` folds, at least 2, seeded."""
    k = max(2, min(5, n // 8))
    fold = np.arange(n) % k
    return check_random_state(seed).permutation(fold)


# ----------------------------------------------------------------------
# isolation


def fit_forest(x, seed):
    """``(nodes, starts, max_samples)``: an IsolationForest's trees as plain arrays."""
    forest = IsolationForest(random_state=seed).fit(x)
    return forest_arrays(forest)


def forest_arrays(forest):
    """The trees of a fitted IsolationForest (``max_features=1.0``) as arrays.

    ``nodes`` ``(total nodes, 5)``: each node's left and right child (-1 at
    a leaf), feature, threshold and number of training rows, the trees one
    after the other; ``starts`` ``(n_trees + 1,)``: where each tree begins.
    """
    tables = []
    for tree in forest.estimators_:
        t = tree.tree_
        tables.append(
            np.column_stack(
                [t.children_left, t.children_right, t.feature, t.threshold, t.n_node_samples]
            ).astype(np.float64)
        )
    starts = np.cumsum([0] + [len(table) for table in tables]).astype(np.float64)
    return np.vstack(tables), starts, float(forest.max_samples_)


def average_path_length(n):
    """``c(n)``: the mean depth of an unsuccessful search in a binary tree of ``n`` rows."""
    n = np.asarray(n, dtype=np.float64)
    c = np.zeros_like(n)
    c = np.where(n == 2, 1.0, c)
    big = n > 2
    safe = np.where(big, n, 3.0)
    return np.where(big, 2.0 * (np.log(safe - 1.0) + np.euler_gamma) - 2.0 * (safe - 1.0) / safe, c)


def isolation_anomaly(x, nodes, starts, max_samples):
    """Minus IsolationForest's ``score_samples`` of rows ``x``, from :func:`forest_arrays`."""
    # The trees compare float32 values, as scikit-learn casts rows to float32.
    x = np.asarray(x, dtype=np.float32).astype(np.float64)
    n = len(x)
    rows = np.arange(n)
    depths = np.zeros(n)
    starts = _check_starts(starts, len(nodes))
    for begin, end in zip(starts[:-1], starts[1:], strict=True):
        tree = nodes[begin:end]
        left = _check_tree(tree, x.shape[1])
        node = np.zeros(n, dtype=np.int64)
        depth = np.ones(n)  # the root's depth is 1, as compute_node_depths counts
        active = left[node] >= 0
        while active.any():
            at = node[active]
            goes_left = x[rows[active], tree[at, _FEATURE].astype(np.int64)] <= tree[at, _THRESHOLD]
            node[active] = np.where(goes_left, left[at], tree[at, _RIGHT].astype(np.int64))
            depth[active] += 1
            active = left[node] >= 0
        depths += depth + average_path_length(tree[node, _SAMPLES]) - 1.0
    denominator = (len(starts) - 1) * average_path_length(max_samples)
    # As scikit-learn: trees of one row (c(1) = 0) score 0.5, not 0 / 0.
    ratio = np.divide(depths, denominator, out=np.ones_like(depths), where=denominator != 0)
    return 2.0 ** (-ratio)


def _check_starts(starts, n_nodes):
    """``starts`` as ints: from 0 to ``n_nodes``, every tree at least one node."""
    ints = np.asarray(starts, dtype=np.float64).astype(np.int64)
    if (
        len(ints) < 2
        or not np.array_equal(ints, starts)
        or ints[0] != 0
        or ints[-1] != n_nodes
        or np.any(np.diff(ints) < 1)
    ):
        raise ValueError("forest_starts_ does not cut forest_nodes_ into trees.")
    return ints


def _check_tree(tree, n_features):
    """A tree's left children as ints, once its shape is checked; else ValueError.

    Scikit-learn numbers a node's children after it, so requiring every child
    to come after its node, inside the tree, is what makes every walk from
    the root end (a crafted file could make a node its own child).
    """
    index = np.arange(len(tree))
    left, right = tree[:, _LEFT].astype(np.int64), tree[:, _RIGHT].astype(np.int64)
    feature = tree[:, _FEATURE].astype(np.int64)
    leaf = left == -1
    inner = ~leaf
    if (
        np.any(right[leaf] != -1)
        or np.any((left[inner] <= index[inner]) | (left[inner] >= len(tree)))
        or np.any((right[inner] <= index[inner]) | (right[inner] >= len(tree)))
        or np.any((feature[inner] < 0) | (feature[inner] >= n_features))
    ):
        raise ValueError(
            "forest_nodes_ is not a forest of trees: a node's children must come after "
            "it in its tree (-1 at a leaf), and split on one of the columns."
        )
    return left


# ----------------------------------------------------------------------
# neighbours


class ReferenceIndex:
    """Nearest-neighbour search over fixed reference rows, fitted on first use, then reused.

    One ``NearestNeighbors`` per number of neighbours asked for, because
    scikit-learn's ``algorithm="auto"`` chooses brute force or a tree from
    it. Queries from several threads are safe; at worst two of them fit the
    same index.
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


def neighbour_anomaly(rows, reference, n_neighbors):
    """Distance of each row to its ``n_neighbors``-th nearest reference row.

    ``reference`` is the reference rows, or a :class:`ReferenceIndex` of them.
    """
    if not isinstance(reference, ReferenceIndex):
        reference = ReferenceIndex(reference)
    k = max(1, min(n_neighbors, len(reference.rows)))
    distances, _ = reference.kneighbors(rows, k)
    return distances[:, -1]


# ----------------------------------------------------------------------
# covariance


def fit_covariance(x, seed):
    """``(location, precision)``: MinCovDet where it can be estimated, else LedoitWolf.

    MinCovDet (at most 100 columns, at least 5 rows per column) is fitted on
    at most 2,000 of the rows, a seeded random sample.
    """
    n, d = x.shape
    if d <= _MCD_MAX_FEATURES and n >= _MCD_ROWS_PER_FEATURE * d:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                warnings.simplefilter("ignore", UserWarning)
                rows = x
                if n > _MCD_MAX_ROWS:
                    keep = np.random.RandomState(seed).permutation(n)[:_MCD_MAX_ROWS]
                    rows = x[np.sort(keep)]
                mcd = MinCovDet(random_state=seed).fit(rows)
            if np.all(np.isfinite(mcd.precision_)):
                return mcd.location_.astype(np.float64), mcd.precision_.astype(np.float64)
        except (ValueError, np.linalg.LinAlgError):
            pass  # a singular support: LedoitWolf's shrunk estimate below
    lw = LedoitWolf().fit(x)
    return lw.location_.astype(np.float64), lw.precision_.astype(np.float64)


def covariance_anomaly(x, location, precision):
    """Square root of each row's Mahalanobis distance (never below 0)."""
    centred = x - location
    squared = np.einsum("ij,jk,ik->i", centred, precision, centred)
    return np.sqrt(np.maximum(squared, 0.0))


# ----------------------------------------------------------------------
# autoencoder


def residual_scales(residuals):
    """``s_j``: sqrt of the median squared training residual per column, floored.

    The floor ``max(1e-6, 1e-3 * median(s))`` keeps a column the network
    reconstructs perfectly from dividing by 0. Missing cells (NaN) skipped.
    """
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scales = np.sqrt(np.nanmedian(residuals**2, axis=0))
    scales = np.where(np.isfinite(scales), scales, 0.0)
    floor = max(1e-6, 1e-3 * float(np.median(scales)))
    return np.maximum(scales, floor)


def relative_squares(residuals, scales):
    """``r_j^2 / s_j^2`` per cell ``(n, d)``; NaN where a cell is missing."""
    return residuals**2 / scales[None] ** 2


def residual_anomaly(residuals, scales):
    """``sqrt(mean_j r_j^2 / s_j^2)`` over each row's observed columns."""
    relative = relative_squares(residuals, scales)
    observed = ~np.isnan(relative)
    totals = np.where(observed, relative, 0.0).sum(axis=1)
    return np.sqrt(totals / np.maximum(observed.sum(axis=1), 1))


# ----------------------------------------------------------------------
# normalisation


def normalisers(terms):
    """Median and spread ``(T,)`` of out-of-fold terms ``(T, n)``.

    The spread is the interquartile range; where that vanishes (a term
    constant on most rows), the standard deviation; then 1. Always positive.
    """
    terms = np.atleast_2d(np.asarray(terms, dtype=np.float64))
    medians = np.median(terms, axis=1)
    iqr = np.subtract(*np.percentile(terms, [75, 25], axis=1))
    std = terms.std(axis=1)
    spreads = np.where(iqr > 1e-12, iqr, np.where(std > 1e-12, std, 1.0))
    return medians, spreads


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
