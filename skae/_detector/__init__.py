"""The outlier detector: estimator, statistics, calibration and explanations.

- :mod:`._estimator`: :class:`AutoencoderOutlierDetector`, IsolationForest's
  contract over an ensemble of autoencoders (fit, scores, threshold);
- :mod:`._statistics`: the per-member terms and their normalisation (NumPy
  and scikit-learn), and :func:`benjamini_hochberg`;
- :mod:`._calibration`: the threshold, held-out calibration rows and
  conformal p-values, as functions;
- :mod:`._explain`: a row's anomaly split over its columns.
"""

from .._quiet import import_tensorflow

# Before the estimator's Keras imports TensorFlow, as in skae/_base.py: its
# start-up notes filtered, a Dask worker unpickling a detector included.
import_tensorflow()

from ._estimator import AutoencoderOutlierDetector  # noqa: E402
from ._statistics import benjamini_hochberg  # noqa: E402

__all__ = ["AutoencoderOutlierDetector", "benjamini_hochberg"]
