"""The detector's threshold and its calibration, as functions of arrays.

The threshold ``offset_`` from ``contamination`` (a fraction of rows, or
the far fence ``Q3 + 3 IQR``: :func:`threshold`), the calibration rows held out of training
by ``calibration_fraction`` (:func:`hold_out`), and the split-conformal
p-values computed against the calibration rows' scores
(:func:`conformal_p_values`). :class:`skae.AutoencoderOutlierDetector`'s
``calibrate`` and ``p_values`` call them; :func:`skae.benjamini_hochberg`
(:mod:`._statistics`) turns the p-values into flags.
"""

import numpy as np
from sklearn.utils import check_random_state

from .. import _validation

__all__ = ["conformal_p_values", "hold_out", "threshold"]


def conformal_p_values(calibration_scores, scores):
    """``(1 + #{calibration scores <= score}) / (1 + n_calibration)`` of each score."""
    if not len(calibration_scores):
        raise ValueError(
            "p_values needs calibration rows that fit did not train on: fit with "
            "calibration_fraction=0.2 (say), or call calibrate(X_calibration) first."
        )
    below = np.searchsorted(calibration_scores, scores, side="right")
    return (1.0 + below) / (1.0 + len(calibration_scores))


def hold_out(X, sample_weight, fraction, seed):
    """``(training rows, calibration rows or None, training weights)``: ``fraction`` held out."""
    if not fraction:
        return X, None, sample_weight
    n = _validation.n_rows(X)
    n_held = int(round(fraction * n))
    if n_held < 1 or n - n_held < 2:
        raise ValueError(
            f"calibration_fraction={fraction} of {n} rows leaves "
            "no calibration row or fewer than 2 training rows."
        )
    order = check_random_state(seed).permutation(n)
    held, kept = np.sort(order[:n_held]), np.sort(order[n_held:])
    weights = None if sample_weight is None else np.asarray(sample_weight)[kept]
    return _validation.take_rows(X, kept), _validation.take_rows(X, held), weights


def threshold(normality, contamination):
    """``offset_`` from rows' normality: ``contamination`` of them below, or ``Q3 + 3 IQR``.

    The far fence (3 IQR, not Tukey's 1.5) for ``"auto"``: a default that
    flags few normal rows where no share of outliers is assumed.
    """
    if contamination == "auto":
        anomaly = -normality
        q1, q3 = np.percentile(anomaly, [25, 75])
        return float(-(q3 + 3.0 * (q3 - q1)))
    return float(np.percentile(normality, 100 * contamination))
