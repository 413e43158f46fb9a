"""Per-column scaling before the network: one exact path for training and inference.

Every ``scaling`` option is a per-column affine map ``X * scale + offset``.
It is read off the fitted scikit-learn scaler's own attributes (``scale_``,
``min_``, ``mean_``, ``center_``) and applied by :func:`scale` to training
rows and to every later input alike, and undone by :func:`unscale`.
"""

import warnings

import numpy as np
from sklearn.preprocessing import (
    FunctionTransformer,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)

__all__ = ["SCALERS", "affine_map", "fit_scaler", "scale", "unscale"]

SCALERS = {
    "standard": StandardScaler,
    "minmax": MinMaxScaler,
    "robust": RobustScaler,
    "uniform": StandardScaler,  # with one common scale, set in fit_scaler
}

# Scaled training values beyond this magnitude make the network's first
# activations overflow or its gradients explode: refuse them at fit time,
# naming the column, instead of reporting a diverged loss later.
_LARGEST_SCALED = 1e6


def fit_scaler(scaling, X, sample_weight=None):
    """The scaler named by ``scaling`` (identity for None), fitted on ``X``.

    ``"uniform"`` is a ``StandardScaler`` whose ``scale_`` is one value for
    every column.

    Rows of zero weight must already be dropped: then min-max and robust
    scaling, which ignore repetitions, honour integer weights too.
    """
    if scaling is None:
        scaler = FunctionTransformer()
    else:
        scaler = SCALERS[scaling]()
    # Internal scalers return arrays whatever the global set_output says.
    scaler.set_output(transform="default")
    with warnings.catch_warnings():
        # Columns without any observed value: refused, by name, by fill_values.
        warnings.simplefilter("ignore", RuntimeWarning)
        if not isinstance(scaler, StandardScaler):
            return scaler.fit(X)
        scaler.fit(X, sample_weight=sample_weight)
    if scaling == "uniform":
        # Centre each column, divide all by one scale (the root mean column
        # variance): columns keep their relative weights in the loss, as in PCA.
        observed = scaler.var_[~np.isnan(scaler.var_)]  # all-NaN columns are refused later
        common = float(np.sqrt(np.mean(observed))) if observed.size else 1.0
        scaler.scale_ = np.full_like(scaler.scale_, common if common > 0 else 1.0)
    # A constant column's mean is its value, but summed up it can round off
    # (1e26 becomes 1e26 + 1e10), and the column would scale far from 0.
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: refused later
        low, high = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
    constant = low == high
    scaler.mean_[constant] = low[constant]
    return scaler


def affine_map(scaler, n_features):
    """``(scale, offset)``, float64, with ``scaler.transform(X) == X * scale + offset``.

    Exact, from the fitted attributes: no probing of ``transform``.
    """
    ones, zeros = np.ones(n_features), np.zeros(n_features)
    if isinstance(scaler, MinMaxScaler):
        return scaler.scale_.astype(np.float64), scaler.min_.astype(np.float64)
    if isinstance(scaler, StandardScaler):
        scale = ones if scaler.scale_ is None else 1.0 / scaler.scale_
        offset = zeros if scaler.mean_ is None else -scaler.mean_ * scale
        return scale, offset
    if isinstance(scaler, RobustScaler):
        scale = ones if scaler.scale_ is None else 1.0 / scaler.scale_
        offset = zeros if scaler.center_ is None else -scaler.center_ * scale
        return scale, offset
    return ones, zeros  # the identity


def scale(X, affine, dtype="float32"):
    """``X`` scaled into the network's float32 (NaN stays NaN); raises if it leaves that range."""
    factor, offset = affine
    with np.errstate(over="ignore", invalid="ignore"):
        if np.all(factor == 1) and not np.any(offset):  # the identity (scaling=None)
            scaled = X.astype(dtype)  # a copy, never the caller's array
        else:
            scaled = (X * factor + offset).astype(dtype)
    if np.isinf(scaled).any():
        raise ValueError(
            "X holds values so far outside the range seen in fit that the input "
            "scaling takes them beyond the float32 range of the network. Check "
            "the units of X, or refit on data that covers this range."
        )
    return scaled


def unscale(outputs, affine):
    """Network outputs mapped back to the input's units, as float64."""
    factor, offset = affine
    return (np.asarray(outputs, dtype=np.float64) - offset) / factor


def fill_values(scaled, feature_names=None):
    """Each scaled column's mean over its observed cells: what fills a missing cell.

    Raises a ``ValueError`` naming the columns without any observed value.
    """
    observed = ~np.isnan(scaled)
    if observed.all():  # the same sums, without a masked copy of the rows
        return scaled.sum(axis=0) / observed.sum(axis=0)
    empty = np.flatnonzero(~observed.any(axis=0))
    if empty.size:
        names = [str(feature_names[i]) if feature_names is not None else str(i) for i in empty]
        raise ValueError(
            f"Column(s) {names[:5]} hold no observed value (all NaN) in the training "
            "data: drop them, or fill them in, before fitting."
        )
    return np.where(observed, scaled, 0.0).sum(axis=0) / observed.sum(axis=0)


def column_peaks(scaled):
    """Each column's largest magnitude over its observed cells (0 for none).

    ``np.nanmax(np.abs(scaled), axis=0, initial=0.0)`` without the copy that
    ``abs`` makes: a third of a second on MNIST's 60,000 x 784.
    """
    highest = np.fmax.reduce(scaled, axis=0, initial=0.0)
    lowest = np.fmin.reduce(scaled, axis=0, initial=0.0)
    return np.maximum(highest, -lowest)


def check_scaled_training_data(scaled, scaling, feature_names=None):
    """Refuse training data whose scaled columns the network cannot learn from.

    Raises a ``ValueError`` naming the columns whose scaled values exceed
    ``1e6`` in magnitude (a column with a huge range under ``scaling=None``,
    or with huge outliers over a zero interquartile range under
    ``"robust"``).
    """
    peaks = column_peaks(scaled)
    bad = np.flatnonzero(~(peaks <= _LARGEST_SCALED))
    if not bad.size:
        return
    names = [str(feature_names[i]) if feature_names is not None else str(i) for i in bad]
    advice = (
        "pass scaling='standard' or 'minmax'"
        if scaling in (None, "robust")
        else "transform those columns first (e.g. take logarithms)"
    )
    raise ValueError(
        f"With scaling={scaling!r}, column(s) {names[:5]}{' ...' if len(names) > 5 else ''} "
        f"reach {peaks[bad].max():.3g} in magnitude once scaled, too large for the "
        f"network to train on; {advice}."
    )
