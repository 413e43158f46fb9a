"""AutoencoderOutlierDetector: IsolationForest's contract, scored by an autoencoder."""

from numbers import Real

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, OutlierMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import _validation
from ._base import BaseAutoencoder, _atomic_fit
from ._sklearn_compat import Interval


class AutoencoderOutlierDetector(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, OutlierMixin, BaseAutoencoder
):
    """Unsupervised outlier detection with an autoencoder, shaped like IsolationForest.

    The autoencoder learns to reconstruct the training rows (outliers
    included, no labels needed). A row is then scored by two statistics that
    process-monitoring practice pairs with PCA, here computed with the
    autoencoder instead:

    - Q, how badly the row is reconstructed: its squared error per column,
      divided by that column's mean error on the training rows, averaged over
      columns (rows that do not fit the learned structure);
    - T², the squared Mahalanobis distance of the row's code from the
      training codes (rows that fit the structure but sit far out along it).

    Each is divided by its mean on the training rows, and ``score_samples`` is
    minus their average, so that, as for
    :class:`~sklearn.ensemble.IsolationForest`, higher means more normal.

    Parameters
    ----------
    latent_dim : int, default=8
        Width of the code.
    contamination : float in (0, 0.5], default=0.1
        Expected fraction of outliers in the training data: ``offset_`` is set
        so that this fraction of the training rows is predicted -1.
    scaling : {"standard", "minmax", "robust"} or None, default="standard"
        Per-column scaling before the network (see
        :class:`AutoencoderTransformer`); errors are measured in the scaled
        units, so columns in different units weigh the same.
    epochs : int, default=50
        Maximum number of passes over the training data.
    architecture, image_shape, filters, hidden_layer_sizes, activation, \
output_activation, dropout, l1, loss, optimizer, learning_rate, lr_schedule, \
batch_size, shuffle, early_stopping, validation_fraction, n_iter_no_change, tol, \
metrics, callbacks, warm_start, random_state, verbose, **kwargs
        As in :class:`AutoencoderTransformer`.

    Attributes
    ----------
    offset_ : float
        Threshold on ``score_samples``: ``decision_function`` is
        ``score_samples - offset_`` and rows below 0 are outliers.
    feature_error_scale_ : ndarray of shape (n_features_in_,)
        Mean squared reconstruction error of each column on the training rows.
    code_mean_ : ndarray of shape (latent_dim,)
        Mean training code.
    code_precision_ : ndarray of shape (latent_dim, latent_dim)
        Pseudo-inverse of the covariance of the training codes.
    q_scale_, t2_scale_ : float
        Mean Q and mean T² of the training rows, by which each is divided.
    model_, encoder_, decoder_, history_, n_iter_, n_features_in_, feature_names_in_
        As in :class:`AutoencoderTransformer`.

    See Also
    --------
    sklearn.ensemble.IsolationForest : The tree-based detector this one replaces.
    sklearn.neighbors.LocalOutlierFactor : Density-based detection.

    Notes
    -----
    ``sample_weight`` weighs rows in the training loss; rows of weight 0 are
    left out altogether. The statistics behind ``offset_`` count every other
    training row once.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import AutoencoderOutlierDetector
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.normal(size=(200, 4)), [[8.0, -8.0, 8.0, -8.0]]])
    >>> detector = AutoencoderOutlierDetector(contamination=0.01, epochs=20, random_state=0)
    >>> labels = detector.fit_predict(X)
    >>> labels[-1], sorted(set(labels))
    (np.int64(-1), [np.int64(-1), np.int64(1)])
    """

    _parameter_constraints = {
        **BaseAutoencoder._parameter_constraints,
        "contamination": [Interval(Real, 0, 0.5, closed="right")],
    }
    _fitted_attributes = {
        **BaseAutoencoder._fitted_attributes,
        "feature_error_scale_": "array",
        "code_mean_": "array",
        "code_precision_": "array",
        "q_scale_": "float",
        "t2_scale_": "float",
        "offset_": "float",
    }

    def __init__(
        self,
        latent_dim=8,
        *,
        contamination=0.1,
        architecture="dense",
        image_shape=None,
        filters=(32, 64),
        hidden_layer_sizes=(128, 64),
        activation="relu",
        output_activation="linear",
        dropout=0.0,
        l1=0.0,
        scaling="standard",
        init="auto",
        loss="mse",
        optimizer="adam",
        learning_rate=1e-3,
        lr_schedule="plateau",
        epochs=50,
        batch_size=64,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        metrics=None,
        callbacks=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        super().__init__(
            latent_dim,
            architecture=architecture,
            image_shape=image_shape,
            filters=filters,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            output_activation=output_activation,
            dropout=dropout,
            l1=l1,
            scaling=scaling,
            init=init,
            loss=loss,
            optimizer=optimizer,
            learning_rate=learning_rate,
            lr_schedule=lr_schedule,
            epochs=epochs,
            batch_size=batch_size,
            shuffle=shuffle,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            metrics=metrics,
            callbacks=callbacks,
            warm_start=warm_start,
            random_state=random_state,
            verbose=verbose,
            **kwargs,
        )
        self.contamination = contamination

    @_atomic_fit
    def fit(self, X, y=None, sample_weight=None):
        """Train on ``X`` (labels unused) and set the threshold ``offset_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows, outliers included.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the training loss.

        Returns
        -------
        self : AutoencoderOutlierDetector
            The fitted detector.
        """
        self._fit_statistics(self._fit_autoencoder(X, None, sample_weight))
        return self

    @_atomic_fit
    def partial_fit(self, X, y=None, sample_weight=None):
        """Train one more epoch on ``X`` and refit the statistics and threshold on it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A batch of training rows.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the training loss.

        Returns
        -------
        self : AutoencoderOutlierDetector
            The detector, trained for one more epoch.
        """
        scaled = self._fit_autoencoder(X, None, sample_weight, single_epoch=True)
        self._fit_statistics(scaled)
        return self

    def score_samples(self, X):
        """Normality of each row: minus the average of its scaled Q and T².

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Float64; higher means more normal, about -1 for a typical
            training row.
        """
        check_is_fitted(self)
        return self._score_samples(self._scale(self._check_X(X)))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            Float64; below 0 means outlier.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label each row: -1 for an outlier, +1 for an inlier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Integers in {-1, +1}.
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    def transform(self, X):
        """Encode ``X`` into the detector's codes (those behind T²).

        The codes can be plotted (``skae.plotting``) or passed on in a
        Pipeline; ``get_feature_names_out`` names them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to encode.

        Returns
        -------
        codes : ndarray of shape (n_samples, latent_dim_)
            Float32 for float32 input, float64 otherwise.
        """
        check_is_fitted(self)
        X_checked = self._check_X(X)
        codes = self._run(self.encoder_, self._scale(X_checked))
        return codes.astype(X_checked.dtype, copy=False)

    def score(self, X, y=None, sample_weight=None):
        """Mean ``score_samples`` of ``X`` (higher: the rows look more normal).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the mean.

        Returns
        -------
        score : float
            Weighted mean of ``score_samples(X)``.
        """
        return float(np.average(self.score_samples(X), weights=sample_weight))

    def reconstruction_error(self, X, per_feature=False):
        """Reconstruction error relative to each column's typical error.

        Each cell's squared error (after ``scaling``) is divided by that
        column's mean squared error on the training rows, so 1 means "as well
        reconstructed as usual" and columns in different units compare. With
        ``per_feature=True`` the cells show which columns made a row an
        outlier; the row means are the Q statistic behind ``score_samples``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to reconstruct.
        per_feature : bool, default=False
            If True, return each cell's relative error (a DataFrame with
            ``X``'s index and columns when ``X`` is one) instead of each row's
            mean.

        Returns
        -------
        errors : ndarray of shape (n_samples,) or (n_samples, n_features)
            Float64 relative squared errors.
        """
        check_is_fitted(self)
        errors, _ = self._forward(self._scale(self._check_X(X)))
        cells = errors / self.feature_error_scale_
        if per_feature:
            return _validation.like_input(cells, X, self)
        return _validation.observed_mean(cells)

    # ------------------------------------------------------------------

    def _forward(self, scaled):
        """Squared cell errors and codes of scaled rows, from one pass of the network."""
        codes, reconstruction = self._run(self.model_, scaled, "code_and_reconstruction")
        errors = (scaled.astype(np.float64) - reconstruction) ** 2
        return errors, codes.astype(np.float64)

    def _statistics(self, errors, codes):
        """Q (relative reconstruction error) and T² (code distance) per row."""
        q = _validation.observed_mean(errors / self.feature_error_scale_)
        centred = codes - self.code_mean_
        t2 = np.einsum("ij,jk,ik->i", centred, self.code_precision_, centred)
        return q, t2 / self.latent_dim_

    def _combine(self, q, t2):
        return -(q / self.q_scale_ + t2 / self.t2_scale_) / 2

    def _score_samples(self, scaled):
        """``score_samples`` of scaled, validated rows."""
        return self._combine(*self._statistics(*self._forward(scaled)))

    def _fit_statistics(self, scaled):
        """Fit the normalisations of Q and T² and the threshold on scaled training rows."""
        errors, codes = self._forward(scaled)
        # A column reconstructed perfectly everywhere must not divide by zero.
        mean_errors = np.nanmean(errors, axis=0)  # over observed cells
        self.feature_error_scale_ = np.maximum(mean_errors, 1e-12 + 1e-6 * mean_errors.max())
        self.code_mean_ = codes.mean(axis=0)
        covariance = np.atleast_2d(np.cov(codes, rowvar=False)) if len(codes) > 1 else None
        self.code_precision_ = (
            np.linalg.pinv(covariance) if covariance is not None
            else np.zeros((self.latent_dim_, self.latent_dim_))
        )
        q, t2 = self._statistics(errors, codes)
        # Training rows reconstructed exactly (one row, constant columns) give
        # means of 0; dividing by the smallest float would score others -inf.
        self.q_scale_ = max(q.mean(), np.finfo(float).eps)
        self.t2_scale_ = max(t2.mean(), np.finfo(float).eps)
        self.offset_ = float(np.percentile(self._combine(q, t2), 100 * self.contamination))
