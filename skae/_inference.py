"""Inference on a fitted autoencoder: reconstructions, their error, the scaled units.

:class:`InferenceMixin` holds what every fitted estimator computes without
training: ``predict``, ``reconstruction_error`` and ``score``, and the helpers
that the estimators' own inference methods (``transform``,
``inverse_transform``, ``score_samples``, ``sample``...) are built from: the
exact scaling to and from the network's float32 units (:meth:`_scale`,
:meth:`_unscale`), missing cells filled with the training means
(:meth:`_filled`), and the forward pass (:meth:`_run`). The fit path scales
and fills its training rows through the same helpers, so that training and
inference see the same numbers.

The mixin reads the fitted state that :class:`skae.BaseAutoencoder` sets
(``model_``, ``scaler_``, ``fill_value_``, ``n_features_in_``) and its
``_check_X``; it is not meant to be used on its own.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from . import _scaling, _validation
from ._loops import predict_arrays

# Rows per compiled forward call: small inputs go in one call, large ones are
# cut so that only one chunk of intermediate activations is alive at a time.
_INFERENCE_CHUNK = 8192


class InferenceMixin:
    """Inference shared by every estimator: reconstruct, measure the error, run the network.

    Mixed into :class:`skae.BaseAutoencoder` left of scikeras' ``BaseWrapper``,
    whose ``predict`` and ``score`` these replace.
    """

    def predict(self, X):
        """Reconstruct ``X``: encode, decode, and undo the input scaling.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to reconstruct.

        Returns
        -------
        X_reconstructed : ndarray or DataFrame of shape (n_samples, n_features)
            Float32 for float32 input, float64 otherwise; a DataFrame with
            ``X``'s index and columns when ``X`` is one.
        """
        check_is_fitted(self)
        X_checked = self._check_X(X)
        reconstruction = self._unscale(self._run(self.model_, self._scale(X_checked)))
        return _validation.like_input(reconstruction.astype(X_checked.dtype, copy=False), X, self)

    def reconstruction_error(self, X, per_feature=False):
        """Squared reconstruction error of each row, or of each cell.

        The error is measured in the input's own units (after undoing the
        scaling), like ``PCA.inverse_transform(PCA.transform(X))``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to reconstruct.
        per_feature : bool, default=False
            If False, return the mean squared error of each row over its
            observed cells (0 for a row with none). If True, return the
            squared error of each cell (NaN for a missing one), a DataFrame
            with ``X``'s index and columns when ``X`` is a DataFrame.

        Returns
        -------
        errors : ndarray of shape (n_samples,) or (n_samples, n_features)
            Float64 errors (a DataFrame when ``per_feature`` and ``X`` is one).
        """
        check_is_fitted(self)
        X_checked = self._check_X(X).astype(np.float64)
        reconstruction = self._unscale(self._run(self.model_, self._scale(X_checked)))
        cell_errors = (X_checked - reconstruction) ** 2
        if not per_feature:
            return _validation.observed_mean(cell_errors)
        return _validation.like_input(cell_errors, X, self)

    def score(self, X, y=None, sample_weight=None):
        """Negative mean squared reconstruction error (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to reconstruct.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the mean.

        Returns
        -------
        score : float
            ``-average(reconstruction_error(X), weights=sample_weight)``.
        """
        errors = self.reconstruction_error(X)
        return -float(np.average(errors, weights=sample_weight))

    def _affine(self):
        return _scaling.affine_map(self.scaler_, self.n_features_in_)

    def _scale(self, X):
        """Validated rows in the network's scaled float32 units."""
        return _scaling.scale(X, self._affine())

    def _unscale(self, outputs):
        """Network outputs back in the input's units (float64)."""
        return _scaling.unscale(outputs, self._affine())

    def _filled(self, scaled):
        """Scaled rows with each missing cell set to its column's training mean."""
        missing = np.isnan(scaled)
        if not missing.any():
            return scaled
        return np.where(missing, self.fill_value_.astype(scaled.dtype), scaled)

    def _run(self, model, inputs, outputs="model"):
        """Run a Keras model without ``Model.predict``'s per-call overhead.

        Missing cells of scaled rows are filled first (:meth:`_filled`). One
        compiled forward pass per chunk of ``_INFERENCE_CHUNK`` rows, cached
        per model (see :func:`skae._loops.predict_arrays`). Inputs are then
        finite, so inf or NaN out means the network overflowed.
        """
        if inputs.shape[1] == self.n_features_in_:
            inputs = self._filled(inputs)
        results = predict_arrays(model, inputs, _INFERENCE_CHUNK, outputs)
        for result in results if isinstance(results, tuple) else (results,):
            if not np.isfinite(result).all():
                raise ValueError(
                    "The network overflowed float32 on some rows, whose values lie far "
                    "outside the range seen in fit. Check the units of the input, or "
                    "refit on data that covers this range."
                )
        return results
