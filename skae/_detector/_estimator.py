"""AutoencoderOutlierDetector: IsolationForest's contract, scored by an autoencoder ensemble.

Length (about 700 lines): one public estimator whose class docstring (the
user guide of its parameters and its scores) and eleven public methods'
numpydoc docstrings are most of it. Its statistics, calibration and
explanations are functions in :mod:`._statistics`, :mod:`._calibration` and
:mod:`._explain`.
"""

import math
from numbers import Integral, Real

import keras
import numpy as np
from sklearn.base import OutlierMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .. import _validation
from .._base import _atomic_fit, _BaseAutoencoder
from .._io import register_estimator
from .._nn import TrimmedMemberError, build_member_autoencoders
from .._sklearn_compat import Interval, StrOptions
from . import _statistics as scores
from ._calibration import conformal_p_values, hold_out, threshold
from ._explain import explain

# Gradient steps that epochs="auto" aims at, whatever the number of rows.
_AUTO_STEPS = 1500
# Share of the epochs trained on every row before the worst rows are trimmed.
_WARMUP = 0.2
# Most training rows kept as the neighbours' reference (a random sample beyond).
_MAX_REFERENCE = 20_000


@register_estimator
class AutoencoderOutlierDetector(
    TransformerMixin,
    OutlierMixin,
    _BaseAutoencoder,
):
    """Unsupervised outlier detection with an autoencoder ensemble, shaped like IsolationForest.

    ``n_members`` small autoencoders are trained side by side on the training
    rows (outliers included, no labels needed), each on a random subset of the
    columns (between half of them and all but one), with a trimmed loss: after
    a warm-up, each member ignores, in every batch, the ``trim_fraction`` of
    rows it reconstructs worst, so that outliers among the training rows do
    not pull the fit towards them. A row is then scored by three terms:

    - reconstruction (Q): its squared error on each member's columns, relative
      to each column's typical error, averaged;
    - code (T²): the robust Mahalanobis distance of each member's code from
      the bulk of the training codes;
    - neighbours: its distance to the ``n_neighbors``-th nearest training row
      (scaled), as kNN detectors score.

    Each term is centred by its median and divided by its interquartile
    range on the training rows; ``score_samples`` is minus their mean, so
    that, as for :class:`~sklearn.ensemble.IsolationForest`, higher means more
    normal. The sizes follow the data: each member has one hidden layer of
    ``min(64, max(16, 2 * n_features))`` units and a code of
    ``max(2, min(n_features // 2, 8))`` values, and ``epochs="auto"`` trains for
    about 1,500 gradient steps. These defaults were chosen on half of 25
    public tables and checked on the other half (see the README).

    Parameters
    ----------
    latent_dim : int or "auto", default="auto"
        Width of each member's code; ``"auto"`` follows the number of columns.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Sets ``offset_``. A float: the expected fraction of outliers in the
        training data, so that this fraction of the training rows is
        predicted -1. ``"auto"``: no fraction is assumed; a row is an outlier
        when its anomaly (``-score_samples``) lies beyond Tukey's upper fence
        of the training rows' anomalies, ``Q3 + 1.5 * IQR``. With calibration
        rows (``calibration_fraction``, :meth:`calibrate`), either rule is
        applied to them instead: the training rows are fitted more closely
        than new rows, so their scores set a threshold that flags more new
        rows than it should, the more so the fewer the training rows. On the
        25 benchmark tables ``"auto"`` flagged 13% of the test rows (15%
        were outliers) with precision 0.38 and recall 0.46, against 13%,
        0.37 and 0.46 for a fixed 0.1 (``benchmarks/bench_thresholds.py``).
    n_members : int, default=8
        Number of autoencoders in the ensemble. With 1, the single member
        sees every column.
    trim_fraction : float in [0, 0.5), default=0.1
        Share of each batch's rows that each member leaves out of its loss
        once the first fifth of the epochs is done.
    n_neighbors : int, default=5
        The neighbours term uses the distance to this nearest training row;
        0 leaves the term out. At most 20,000 training rows (a random sample
        beyond) are kept as neighbours.
    support_fraction : float in (0, 1], default=0.5
        Share of the training codes the robust code distance is fitted on
        (the half closest to the previous estimate, three times over).
    calibration_fraction : float in [0, 0.5), default=0.0
        Share of the training rows held out of training to calibrate
        :meth:`p_values` (split conformal); 0 trains on every row, and
        :meth:`calibrate` can then be given rows not used in fit.
    hidden_layer_sizes : "auto" or sequence of int, default="auto"
        Widths of each member's encoder layers; its decoder mirrors them.
    scaling : {"standard", "uniform", "minmax", "robust"} or None, default="standard"
        Per-column scaling before the network (see
        :class:`AutoencoderTransformer`); errors and distances are measured in
        the scaled units, so columns in different units weigh the same.
    init : {"auto", "random"}, default="auto"
        Random initial weights.
    learning_rate : float, default=3e-3
        Learning rate of the optimizer.
    lr_schedule : {"plateau", "cosine"} or None, default=None
        No schedule by default.
    epochs : int or "auto", default="auto"
        Passes over the training data; ``"auto"``: about 1,500 gradient steps.
    batch_size : int, default=128
        Rows per gradient step.
    n_iter_no_change : int or None, default=None
        No stopping rule by default: ``epochs`` epochs are trained.
    architecture, image_shape, filters, activation, output_activation, \
dropout, l1, loss, optimizer, shuffle, early_stopping, validation_fraction, tol, \
metrics, callbacks, warm_start, random_state, verbose, **kwargs
        As in :class:`AutoencoderTransformer`. ``architecture="conv"`` trains
        one convolutional member on every column.

    Attributes
    ----------
    offset_ : float
        Threshold on ``score_samples``: ``decision_function`` is
        ``score_samples - offset_`` and rows below 0 are outliers.
    member_masks_ : ndarray of shape (n_members, n_features_in_)
        Which columns each member sees (1) and reconstructs.
    column_error_scale_ : ndarray of shape (n_members, n_features_in_)
        Each member's mean squared training error per column.
    code_location_ : ndarray of shape (n_members, latent_dim_)
        Robust location of each member's training codes.
    code_precision_ : ndarray of shape (n_members, latent_dim_, latent_dim_)
        Inverse of the robust covariance of each member's training codes.
    reference_rows_ : ndarray of shape (n_reference, n_features_in_)
        The scaled training rows (at most 20,000) the neighbours term uses.
    term_median_, term_spread_ : ndarray of shape (n_terms, n_members)
        Median and interquartile range of each term and member on the
        training rows (terms: reconstruction, code, then neighbours).
    calibration_scores_ : ndarray of shape (n_calibration,)
        ``score_samples`` of the calibration rows, sorted (empty without
        calibration).
    latent_dim_, model_, encoder_, decoder_, history_, n_iter_, n_features_in_, \
feature_names_in_
        As in :class:`AutoencoderTransformer`; ``transform`` returns the
        members' codes side by side (``n_members * latent_dim_`` values).

    See Also
    --------
    sklearn.ensemble.IsolationForest : The tree-based detector this one replaces.
    sklearn.neighbors.LocalOutlierFactor : Density-based detection.

    Notes
    -----
    ``sample_weight`` weighs rows in the training loss; rows of weight 0 are
    left out altogether. The statistics count every other training row once.
    Missing values (NaN) are skipped: by the loss, by the reconstruction term
    (observed columns only), and filled with the column's training mean for
    the codes and the neighbours.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import AutoencoderOutlierDetector
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.normal(size=(200, 4)), [[8.0, -8.0, 8.0, -8.0]]])
    >>> detector = AutoencoderOutlierDetector(contamination=0.01, random_state=0)
    >>> labels = detector.fit_predict(X)
    >>> labels[-1], sorted(set(labels))
    (np.int64(-1), [np.int64(-1), np.int64(1)])
    """

    _parameter_constraints = {
        **_BaseAutoencoder._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "hidden_layer_sizes": [
            StrOptions({"auto"}),
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "init": [StrOptions({"auto", "random"})],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "n_members": [Interval(Integral, 1, None, closed="left")],
        "trim_fraction": [Interval(Real, 0, 0.5, closed="left")],
        "n_neighbors": [Interval(Integral, 0, None, closed="left")],
        "support_fraction": [Interval(Real, 0, 1, closed="right")],
        "calibration_fraction": [Interval(Real, 0, 0.5, closed="left")],
    }
    # The neighbour search over reference_rows_, rebuilt after loading.
    _transient_attributes = frozenset({"_neighbour_index"})
    # Shapes of the fitted arrays, as model files check them (skae/_io), in
    # terms of n_features_in_, latent_dim and n_members (``_array_sizes``).
    _array_shapes = {
        **_BaseAutoencoder._array_shapes,
        "member_masks_": ("n_members", "n_features_in_"),
        "column_error_scale_": ("n_members", "n_features_in_"),
        "code_location_": ("n_members", "latent_dim"),
        "code_precision_": ("n_members", "latent_dim", "latent_dim"),
        "reference_rows_": (None, "n_features_in_"),
        "term_median_": (None, "n_members"),
        "term_spread_": (None, "n_members"),
        "calibration_scores_": (None,),
    }
    _positive_attributes = frozenset({"column_error_scale_", "term_spread_"})
    _fitted_attributes = {
        **_BaseAutoencoder._fitted_attributes,
        "member_masks_": "array",
        "column_error_scale_": "array",
        "code_location_": "array",
        "code_precision_": "array",
        "reference_rows_": "array",
        "term_median_": "array",
        "term_spread_": "array",
        "calibration_scores_": "array",
        "offset_": "float",
    }

    def __init__(
        self,
        latent_dim="auto",
        *,
        contamination="auto",
        n_members=8,
        trim_fraction=0.1,
        n_neighbors=5,
        support_fraction=0.5,
        calibration_fraction=0.0,
        architecture="dense",
        image_shape=None,
        filters=(32, 64),
        hidden_layer_sizes="auto",
        activation="relu",
        output_activation="linear",
        dropout=0.0,
        l1=0.0,
        scaling="standard",
        init="auto",
        loss="mse",
        optimizer="adam",
        learning_rate=3e-3,
        lr_schedule=None,
        epochs="auto",
        batch_size=128,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=None,
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
        self.n_members = n_members
        self.trim_fraction = trim_fraction
        self.n_neighbors = n_neighbors
        self.support_fraction = support_fraction
        self.calibration_fraction = calibration_fraction

    # ------------------------------------------------------------------
    # fit

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
        seed = self._fit_seed()
        X, held_out, sample_weight = hold_out(X, sample_weight, self.calibration_fraction, seed)
        self._fit_statistics(self._fit_autoencoder(X, None, sample_weight, seed=seed), seed)
        self.calibration_scores_ = np.empty(0)
        if held_out is not None:
            self.calibrate(held_out)
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
        seed = self._fit_seed()
        scaled = self._fit_autoencoder(X, None, sample_weight, single_epoch=True, seed=seed)
        self._fit_statistics(scaled, seed)
        self.calibration_scores_ = np.empty(0)
        return self

    def _resolve_latent_dim(self, x, weights=None):
        if self.latent_dim == "auto":
            return max(2, min(x.shape[1] // 2, 8))
        return super()._resolve_latent_dim(x, weights)

    def _hidden_sizes(self):
        if self.hidden_layer_sizes == "auto":
            return (int(min(64, max(16, 2 * self.n_features_in_))),)
        return super()._hidden_sizes()

    def _code_width(self):
        return self._n_members() * self.latent_dim_

    def _decoder_width(self):
        return self._code_width()

    def _output_width(self):
        return self._n_members() * self.n_features_in_

    @property
    def _n_features_out(self):
        return self._code_width()

    def _n_members(self):
        return 1 if self.architecture == "conv" else self.n_members

    def _array_sizes(self):
        return {"n_members": self._n_members()}

    def _builder(self, x, weights, seed):
        self.member_masks_ = self._draw_masks(x.shape[1], seed)
        if self.architecture == "conv":
            return super()._builder(x, weights, seed)
        options = {"hidden_layer_sizes": self._hidden_sizes()}
        return build_member_autoencoders, (self.member_masks_, self.latent_dim_), options

    def _draw_masks(self, n_features, seed):
        """Each member's columns: between half of them and all but one, at random."""
        members = self._n_members()
        masks = np.ones((members, n_features))
        if members == 1 or n_features <= 2:
            return masks
        rng = check_random_state(seed)
        for mask in masks:
            size = rng.randint(max(1, n_features // 2), n_features)
            mask[:] = 0
            mask[rng.choice(n_features, size, replace=False)] = 1
        return masks

    def _compile_arguments(self):
        kwargs = super()._compile_arguments()
        if self.loss == "mse":  # the members' errors, trimmed
            kwargs["loss"] = TrimmedMemberError(self.member_masks_, self.trim_fraction)
        return kwargs

    def _training_options(self, n_rows):
        options = super()._training_options(n_rows)
        epochs = options.epochs
        if epochs == "auto":
            steps_per_epoch = max(1, n_rows // options.batch_size)
            epochs = max(1, math.ceil(_AUTO_STEPS / steps_per_epoch))
        callbacks = list(options.callbacks)
        loss = getattr(self.model_, "loss", None)
        if isinstance(loss, TrimmedMemberError) and self.trim_fraction > 0:
            callbacks.append(_TrimAfter(loss.trimming, int(_WARMUP * epochs)))
        return type(options)(**{**vars(options), "epochs": epochs, "callbacks": callbacks})

    def _fit_statistics(self, scaled, seed):
        """Fit the terms' statistics, their normalisation and the threshold on training rows."""
        errors, codes = self._errors_and_codes(scaled)
        self.column_error_scale_ = scores.column_scales(errors)
        self.code_location_, self.code_precision_ = scores.robust_codes(
            codes, self.support_fraction
        )
        filled = self._filled(scaled).astype(np.float64)
        if self.n_neighbors:
            rng = check_random_state(seed)
            keep = np.sort(rng.permutation(len(filled))[:_MAX_REFERENCE])
            self.reference_rows_ = filled[keep]
            in_reference = np.zeros(len(filled), dtype=bool)
            in_reference[keep] = True
        else:
            self.reference_rows_ = np.empty((0, filled.shape[1]))
            in_reference = None
        # One neighbour query of the training rows serves both of their terms below.
        nearest = self._nearest(filled)
        # Normalised as a new row is scored: a training row is not its own neighbour.
        terms = self._terms(errors, codes, nearest, in_reference)
        self.term_median_, self.term_spread_ = scores.normalisers(terms)
        # The threshold on the training rows' scores as score_samples gives them
        # (each its own nearest neighbour), so that ``contamination`` of the
        # training rows are predicted -1, as IsolationForest promises.
        if in_reference is not None:
            terms = self._terms(errors, codes, nearest)
        self.offset_ = threshold(self._combine(terms), self.contamination)

    # ------------------------------------------------------------------
    # scores

    def _errors_and_codes(self, scaled):
        """Squared errors ``(n, M, d)`` and codes ``(n, M, k)`` of scaled rows, in one pass."""
        codes, reconstructions = self._run(self.model_, scaled, "code_and_reconstruction")
        members = len(self.member_masks_)
        errors = scores.member_errors(scaled, reconstructions, self.member_masks_)
        return errors, codes.reshape(len(scaled), members, -1).astype(np.float64)

    def _nearest(self, filled):
        """Rows' sorted distances to their nearest reference rows; None without that term."""
        if not len(self.reference_rows_):
            return None
        return scores.nearest_distances(filled, self._reference_index(), self.n_neighbors)

    def _reference_index(self):
        """The neighbour search over ``reference_rows_``, kept between calls.

        Made by the fit that sets ``reference_rows_`` (or on first use after
        loading), and made anew whenever ``reference_rows_`` is another array
        (a refit, ``partial_fit``); never pickled, copied or saved.
        """
        index = getattr(self, "_neighbour_index", None)
        if index is None or index.rows is not self.reference_rows_:
            index = scores.ReferenceIndex(self.reference_rows_)
            self._neighbour_index = index
        return index

    def _terms(self, errors, codes, nearest, in_reference=None):
        """The raw terms ``(T, n, M)``: reconstruction, code, and neighbours if used."""
        terms = [
            scores.reconstruction_term(errors, self.column_error_scale_),
            scores.code_distances(codes, self.code_location_, self.code_precision_),
        ]
        if nearest is not None:
            distances = scores.neighbour_distances(
                nearest, len(self.reference_rows_), self.n_neighbors, in_reference
            )
            terms.append(np.repeat(distances, errors.shape[1], axis=1))
        return np.array(terms)

    def _combine(self, terms):
        """Normality of each row: minus the mean of the normalised terms."""
        normalised = (terms - self.term_median_[:, None]) / self.term_spread_[:, None]
        return -normalised.mean(axis=2).mean(axis=0)

    def _score_samples(self, scaled):
        """``score_samples`` of scaled, validated rows."""
        errors, codes = self._errors_and_codes(scaled)
        filled = self._filled(scaled).astype(np.float64)
        return self._combine(self._terms(errors, codes, self._nearest(filled)))

    def score_samples(self, X):
        """Normality of each row: minus the mean of its normalised terms.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Float64; higher means more normal, about 0 for a typical
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
        """Encode ``X`` into the members' codes, side by side.

        The codes can be plotted (``skae.plotting``) or passed on in a
        Pipeline; ``get_feature_names_out`` names them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to encode.

        Returns
        -------
        codes : ndarray of shape (n_samples, n_members * latent_dim_)
            Float32 for float32 input, float64 otherwise.
        """
        check_is_fitted(self)
        X_checked = self._check_X(X)
        codes = self._run(self.encoder_, self._scale(X_checked))
        return codes.astype(X_checked.dtype, copy=False)

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
        self.offset_ = threshold(self.calibration_scores_, self.contamination)
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
        return conformal_p_values(self.calibration_scores_, self.score_samples(X))

    def explain(self, X, top_k=3):
        """Each row's columns ranked by how much they make it an outlier.

        A row's anomaly (``-score_samples``) is a mean of terms, each
        normalised by its training median and spread; each term is split over
        the columns exactly or nearly so:

        - reconstruction: each column's relative squared error, as it enters
          the member's mean (exact);
        - code distance: integrated gradients of the distance along the
          straight line from the training rows' median to the row (the
          shares add up to the row's distance minus the median's);
        - neighbours: each column's share ``(x_j - n_j)^2 / d`` of the distance
          ``d`` to the neighbour ``n`` (exact).

        The constant parts (the medians) are not given to any column, so a
        row's contributions add up to its anomaly plus a constant.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to explain.
        top_k : int, default=3
            Columns to report per row (all of them if larger).

        Returns
        -------
        explanation : pandas.DataFrame
            One line per row and ranked column: ``row`` (the position in
            ``X``, or its index for a DataFrame), ``rank`` (1 = largest
            contribution), ``column``, ``contribution``, ``value`` (the
            row's value, input units) and ``expected`` (its reconstruction,
            input units).

        Examples
        --------
        >>> import numpy as np
        >>> from skae import AutoencoderOutlierDetector
        >>> rng = np.random.RandomState(0)
        >>> X = rng.normal(size=(300, 5))
        >>> detector = AutoencoderOutlierDetector(random_state=0).fit(X)
        >>> row = X[:1].copy(); row[0, 3] = 12.0
        >>> detector.explain(row, top_k=1)["column"].tolist()
        ['x3']
        """
        check_is_fitted(self)
        if not isinstance(top_k, Integral) or top_k < 1:
            raise ValueError(f"top_k must be a positive int, got {top_k!r}.")
        X_checked = self._check_X(X)
        return explain(self, X, X_checked, int(top_k))

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

        Each cell's squared error (after ``scaling``) is divided by the
        column's mean squared error on the training rows, and averaged over
        the members that see the column, so 1 means "as well reconstructed as
        usual". With ``per_feature=True`` the cells show which columns made a
        row an outlier (see also :meth:`explain`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to reconstruct.
        per_feature : bool, default=False
            If True, return each cell's relative error (NaN for a missing
            cell, or a column no member sees) instead of each row's mean.

        Returns
        -------
        errors : ndarray or DataFrame of shape (n_samples,) or (n_samples, n_features)
            Float64 relative squared errors (a DataFrame like ``X`` for
            ``per_feature``, see ``set_output``).
        """
        check_is_fitted(self)
        errors, _ = self._errors_and_codes(self._scale(self._check_X(X)))
        with scores._quiet():
            cells = np.nanmean(errors / self.column_error_scale_[None], axis=1)
        if per_feature:
            return _validation.like_input(cells, X, self)
        return _validation.observed_mean(cells)


class _TrimAfter(keras.callbacks.Callback):
    """Switch the trimmed loss on after ``warmup`` epochs of this training call."""

    def __init__(self, switch, warmup):
        super().__init__()
        self.switch, self.warmup, self.first = switch, warmup, None

    def on_epoch_begin(self, epoch, logs=None):
        self.first = epoch if self.first is None else self.first
        self.switch.assign(1.0 if epoch - self.first >= self.warmup else 0.0)
