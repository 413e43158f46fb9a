"""The detector's threshold and its calibration: ``offset_``, ``calibrate``, ``p_values``.

:class:`CalibrationMixin`, inherited by
:class:`skae.AutoencoderOutlierDetector`, turns the detector's scores into
decisions: the threshold ``offset_`` from ``contamination`` (a fraction of
rows, or Tukey's fence), the calibration rows held out of training by
``calibration_fraction`` or given to :meth:`~CalibrationMixin.calibrate`, and
the split-conformal p-values computed against them. It reads the detector's
``score_samples`` and parameters; it is not meant to be used on its own.
:func:`skae.benjamini_hochberg` (skae/_outlier_scores.py) turns the p-values
into flags.
"""

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _validation

__all__ = ["CalibrationMixin"]


class CalibrationMixin:
    """``offset_`` from ``contamination``, calibration rows, and conformal p-values.

    Mixed into :class:`skae.AutoencoderOutlierDetector` right of
    scikit-learn's mixins, left of :class:`skae.BaseAutoencoder`.
    """

    def calibrate(self, X):
        """Calibrate :meth:`p_values` on rows that were not used to fit.

        Split conformal prediction: the ``score_samples`` of these rows are
        kept (``calibration_scores_``) as the reference a new row is compared
        with, and ``offset_`` is set anew from them (``contamination`` of
        these rows below it, or Tukey's fence), which holds better for new
        rows than the training rows' scores: the network fits its training
        rows more closely than rows it has not seen. ``calibration_fraction``
        does this in ``fit`` with held-out training rows.

        Parameters
        ----------
        X : array-like of shape (n_calibration, n_features)
            Rows like the data to test, not used in ``fit``. Outliers among
            them make the p-values conservative (larger), never invalid.

        Returns
        -------
        self : AutoencoderOutlierDetector
            The detector, with ``calibration_scores_`` set.
        """
        check_is_fitted(self)
        self.calibration_scores_ = np.sort(self.score_samples(X))
        self.offset_ = self._threshold(self.calibration_scores_)
        return self

    def p_values(self, X):
        """Conformal p-value of each row: how unusual it is among the calibration rows.

        ``p = (1 + #{calibration rows scoring at most the row's score}) / (1 +
        n_calibration)``. If the calibration rows and an inlier are
        exchangeable (drawn alike, and not used in ``fit``), then for every
        ``a``, ``P(p <= a) <= a``: a p-value below 0.01 happens to at most 1% of
        inliers. Outliers in the calibration rows make the p-values larger
        (conservative). :func:`skae.benjamini_hochberg` turns them into flags
        with the false discovery rate controlled.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to test.

        Returns
        -------
        p_values : ndarray of shape (n_samples,)
            Float64 in (0, 1]; small means unusual.

        Examples
        --------
        >>> import numpy as np
        >>> from skae import AutoencoderOutlierDetector, benjamini_hochberg
        >>> rng = np.random.RandomState(0)
        >>> X = rng.normal(size=(400, 4))
        >>> detector = AutoencoderOutlierDetector(calibration_fraction=0.25, random_state=0)
        >>> p = detector.fit(X).p_values(np.vstack([X[:5], [[9.0, -9.0, 9.0, -9.0]]]))
        >>> bool(p[-1] < 0.01), benjamini_hochberg(p, alpha=0.1).tolist()[-1]
        (True, True)
        """
        check_is_fitted(self)
        if not len(self.calibration_scores_):
            raise ValueError(
                "p_values needs calibration rows that fit did not train on: fit with "
                "calibration_fraction=0.2 (say), or call calibrate(X_calibration) first."
            )
        below = np.searchsorted(self.calibration_scores_, self.score_samples(X), side="right")
        return (1.0 + below) / (1.0 + len(self.calibration_scores_))

    def _hold_out_calibration(self, X, sample_weight):
        """``(training rows, calibration rows or None, training weights)``."""
        if not self.calibration_fraction:
            return X, None, sample_weight
        n = _validation.n_rows(X)
        n_held = int(round(self.calibration_fraction * n))
        if n_held < 1 or n - n_held < 2:
            raise ValueError(
                f"calibration_fraction={self.calibration_fraction} of {n} rows leaves "
                "no calibration row or fewer than 2 training rows."
            )
        order = check_random_state(self._fit_seed()).permutation(n)
        held, kept = np.sort(order[:n_held]), np.sort(order[n_held:])
        weights = None if sample_weight is None else np.asarray(sample_weight)[kept]
        return _validation.take_rows(X, kept), _validation.take_rows(X, held), weights

    def _threshold(self, normality):
        """``offset_`` from rows' normality: ``contamination`` of them below, or Tukey's fence."""
        if self.contamination == "auto":
            anomaly = -normality
            q1, q3 = np.percentile(anomaly, [25, 75])
            return float(-(q3 + 1.5 * (q3 - q1)))
        return float(np.percentile(normality, 100 * self.contamination))
