"""The outlier detector: estimator, statistics, calibration and explanations.

- :mod:`._estimator`: :class:`AutoencoderOutlierDetector`, IsolationForest's
  contract over an ensemble of autoencoders (fit, scores, threshold);
- :mod:`._statistics`: the per-member terms and their normalisation (NumPy
  and scikit-learn), and :func:`benjamini_hochberg`;
- :mod:`._calibration`: the threshold, held-out calibration rows and
  conformal p-values, as functions;
- :mod:`._explain`: a row's anomaly split over its columns.
"""

from ._estimator import AutoencoderOutlierDetector
from ._statistics import benjamini_hochberg

__all__ = ["AutoencoderOutlierDetector", "benjamini_hochberg"]
