"""Per-column scaling before the network: one exact path for training and inference.

Every ``scaling`` option is a per-column affine map ``X * scale + offset``.
It is read off the fitted scikit-learn scaler's own attributes (``scale_``,
``min_``, ``mean_``, ``center_``) and applied by :func:`scale` to training
rows and to every later input alike, and undone by :func:`unscale`.
"""

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
    if not isinstance(scaler, StandardScaler):
        return scaler.fit(X)
    scaler.fit(X, sample_weight=sample_weight)
    if scaling == "uniform":
        # Centre each column, divide all by one scale (the root mean column
        # variance): columns keep their relative weights in the loss, as in PCA.
        common = float(np.sqrt(np.mean(scaler.var_))) if scaler.var_.size else 1.0
        scaler.scale_ = np.full_like(scaler.scale_, common if common > 0 else 1.0)
    # A constant column's mean is its value, but summed up it can round off
    # (1e26 becomes 1e26 + 1e10), and the column would scale far from 0.
    constant = (X.min(axis=0) == X.max(axis=0)) if len(X) else []
    scaler.mean_[constant] = X[0, constant]
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
    """``X`` scaled into the network's float32; raises if it leaves that range."""
    factor, offset = affine
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = (X * factor + offset).astype(dtype)
    if not np.isfinite(scaled).all():
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


def check_scaled_training_data(scaled, scaling, feature_names=None):
    """Refuse training data whose scaled columns the network cannot learn from.

    Raises a ``ValueError`` naming the columns whose scaled values exceed
    ``1e6`` in magnitude (a column with a huge range under ``scaling=None``,
    or with huge outliers over a zero interquartile range under
    ``"robust"``).
    """
    peaks = np.abs(scaled).max(axis=0) if len(scaled) else np.zeros(scaled.shape[1])
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
