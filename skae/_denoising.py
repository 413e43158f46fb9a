"""DenoisingAutoencoder: learn to undo corruption, then clean data with predict."""

import warnings
from numbers import Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _validation
from ._base import _atomic_fit
from ._io import register_estimator
from ._nn import Corruption, assemble, to_numpy
from ._sklearn_compat import Interval, StrOptions
from ._transformer import AutoencoderTransformer

# Offset between the network's seeds and the corruption's, so the two never
# draw the same stream.
_CORRUPTION_SEED_OFFSET = 7919


@register_estimator
class DenoisingAutoencoder(AutoencoderTransformer):
    """Autoencoder trained to reconstruct clean rows from corrupted ones.

    By default it corrupts each training batch itself (Gaussian noise,
    masking or salt-and-pepper, drawn afresh at every step, seeded by
    ``random_state``) and learns to map it back to the original. Given pairs,
    ``fit(X_noisy, X_clean=X_clean)`` learns to map the first to the second and
    adds no corruption of its own; so does ``partial_fit(X_noisy,
    X_clean=X_clean)``, one epoch per batch, and each ``partial_fit`` call may
    give pairs or not. Corruption happens in training only: ``predict``
    returns the cleaned data, ``transform`` the codes, both deterministic.

    Parameters
    ----------
    latent_dim : int, default=8
        Width of the code. It may exceed the number of columns (an
        overcomplete code): the corruption keeps it from copying the input.
    noise : {"gaussian", "masking", "salt_and_pepper"}, default="gaussian"
        ``"gaussian"`` adds normal noise of standard deviation ``noise_level``;
        ``"masking"`` sets a fraction ``noise_level`` of the cells to 0;
        ``"salt_and_pepper"`` sets a fraction ``noise_level`` of the cells, half
        each, to the low and high bounds of ``clip`` (0 and 1 without ``clip``).
    noise_level : float, default=0.5
        Standard deviation of the Gaussian noise, or fraction of cells masked
        or flipped (at most 1).
    clip : tuple of (float, float) or None, default=None
        Bounds applied after the noise, e.g. ``(0, 1)`` as in the image
        tutorials.
    scaling : {"minmax", "uniform", "standard", "robust"} or None, default="minmax"
        As in :class:`AutoencoderTransformer`, with another default: each
        column is mapped to [0, 1], the range denoising tutorials train on.
        For images already in [0, 1], pass ``scaling=None`` with
        ``output_activation="sigmoid"`` and ``loss="binary_crossentropy"``.
    init : {"auto", "pca", "random"}, default="auto"
        As in :class:`AutoencoderTransformer`, but ``"auto"`` means
        ``"random"`` here: the held-out check of a PCA start measures clean
        reconstructions, not denoising.
    learning_rate : float or LearningRateSchedule, default=1e-3
        Initial learning rate of the optimizer.
    early_stopping : bool, default=False
        As in :class:`AutoencoderTransformer`; without it, training stops
        when the training loss stalls.
    n_iter_no_change : int or None, default=10
        Patience, in epochs, of the stopping rule.
    architecture, image_shape, filters, hidden_layer_sizes, activation, \
output_activation, dropout, l1, loss, optimizer, lr_schedule, epochs, \
batch_size, shuffle, validation_fraction, tol, metrics, callbacks, warm_start, \
random_state, verbose, **kwargs
        As in :class:`AutoencoderTransformer`.

    Attributes
    ----------
    model_ : keras.Model
        The trained autoencoder; its first layer is the training-only
        corruption (switched off while training on pairs).
    encoder_, decoder_, history_, n_iter_, n_features_in_, feature_names_in_
        As in :class:`AutoencoderTransformer`.

    See Also
    --------
    AutoencoderTransformer : The same network without corruption.
    sklearn.decomposition.PCA : Linear denoising by projection.

    Notes
    -----
    The corruption is defined in the data's own units, whatever ``scaling``
    does: ``noise_level=0.5`` on images in [0, 1] is half the pixel range, and
    ``clip=(0, 1)`` keeps corrupted pixels inside it, as in the tutorials.
    Inside the network it is applied to the scaled rows through the exact
    inverse of the (per-column affine) scaling.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenoisingAutoencoder
    >>> X = load_digits().data / 16
    >>> dae = DenoisingAutoencoder(noise_level=0.3, clip=(0, 1), epochs=5, random_state=0)
    >>> X_noisy = dae.fit(X).corrupt(X, random_state=0)
    >>> dae.predict(X_noisy).shape
    (1797, 64)
    """

    # Corrupted inputs keep a code wider than the input from copying it (an
    # overcomplete denoising autoencoder, as in Vincent et al., 2008).
    _overcomplete_code_allowed = True

    # The network's layers, as model files check them (skae/_io).
    _network_layers = {**AutoencoderTransformer._network_layers, "corruption": Corruption}

    _parameter_constraints = {
        **AutoencoderTransformer._parameter_constraints,
        "noise": [StrOptions({"gaussian", "masking", "salt_and_pepper"})],
        "noise_level": [Interval(Real, 0, None, closed="left")],
        "clip": [tuple, list, None],
    }

    def __init__(
        self,
        latent_dim=8,
        *,
        noise="gaussian",
        noise_level=0.5,
        clip=None,
        architecture="dense",
        image_shape=None,
        filters=(32, 64),
        hidden_layer_sizes=(128, 64),
        activation="relu",
        output_activation="linear",
        dropout=0.0,
        l1=0.0,
        scaling="minmax",
        init="auto",
        loss="mse",
        optimizer="adam",
        learning_rate=1e-3,
        lr_schedule="plateau",
        epochs=200,
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
        self.noise = noise
        self.noise_level = noise_level
        self.clip = clip

    def _validate_params(self):
        super()._validate_params()
        if self.noise != "gaussian" and self.noise_level > 1:
            raise ValueError(
                f"noise_level is the fraction of cells changed by noise={self.noise!r}, "
                f"so it must be at most 1; got {self.noise_level}."
            )
        if self.clip is not None and not (
            len(self.clip) == 2
            and all(isinstance(v, Real) for v in self.clip)
            and self.clip[0] < self.clip[1]
        ):
            raise ValueError(f"clip must be (low, high) with low < high; got {self.clip!r}.")

    @_atomic_fit
    def fit(self, X, y=None, sample_weight=None, *, X_clean=None):
        """Train to denoise ``X``, or to map the noisy ``X`` to ``X_clean``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Clean training data (corrupted during training), or the noisy half
            of given pairs.
        y : None
            Ignored, like the target a Pipeline passes to every step. (Clean
            data of ``X``'s shape given as ``y`` are still used as
            ``X_clean``, with a ``FutureWarning``: that spelling goes in skae 0.3.)
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the training loss.
        X_clean : array-like of shape (n_samples, n_features), default=None
            The clean counterpart of a noisy ``X``. In a Pipeline, route it
            with metadata routing: ``set_config(enable_metadata_routing=True)``,
            ``denoiser.set_fit_request(X_clean=True)``, then
            ``pipeline.fit(X, X_clean=...)``; a Pipeline never fills it by
            accident.

        Returns
        -------
        self : DenoisingAutoencoder
            The fitted estimator.
        """
        target = self._clean_target(X, y, X_clean)
        self._fit_autoencoder(X, target, sample_weight, seed=self._fit_seed())
        return self

    @_atomic_fit
    def partial_fit(self, X, y=None, sample_weight=None, *, X_clean=None):
        """Train for one more epoch on ``X``, or on the pairs ``X`` -> ``X_clean``.

        As :meth:`fit`, each call says what it trains on: ``X`` alone is
        corrupted during the epoch, given pairs are not. The first call builds
        the model and fits the input scaling on this first batch (on ``X``, the
        noisy half of pairs); later calls reuse both. Early stopping and the
        learning rate schedule do not apply to single epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A batch of clean training data (corrupted during the epoch), or the
            noisy half of given pairs.
        y : None
            Ignored (unlike :meth:`fit`, clean data given as ``y`` are not used).
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the loss.
        X_clean : array-like of shape (n_samples, n_features), default=None
            The clean counterpart of a noisy ``X``, as in :meth:`fit`.

        Returns
        -------
        self : DenoisingAutoencoder
            The estimator, trained for one more epoch.
        """
        target = self._clean_target(X, None, X_clean)
        self._fit_autoencoder(X, target, sample_weight, seed=self._fit_seed(), single_epoch=True)
        return self

    def predict(self, X):
        """Return the denoised ``X``: same shape, and same columns for a DataFrame.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Noisy data.

        Returns
        -------
        X_denoised : ndarray or DataFrame of shape (n_samples, n_features)
            The network's clean estimate, in the input's units.
        """
        return super().predict(X)

    def corrupt(self, X, random_state=None):
        """Corrupt ``X`` as training does, e.g. to make noisy examples.

        Works before ``fit`` too: the corruption depends only on ``noise``,
        ``noise_level`` and ``clip``, in the data's own units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Clean data.
        random_state : int, RandomState instance or None, default=None
            Seeds the corruption.

        Returns
        -------
        X_noisy : ndarray or DataFrame of shape (n_samples, n_features)
            The corrupted data, in the input's units (a DataFrame with ``X``'s
            index and columns when ``X`` is one).
        """
        if hasattr(self, "n_features_in_"):
            X_checked = self._check_X(X)
        else:  # the noise needs no fitted network
            X_checked = _validation.check_array_like(X, "X", type(self).__name__)
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
        noisy = self._make_corruption(seed).corrupt(X_checked.astype("float32"))
        noisy = to_numpy(noisy).astype(X_checked.dtype, copy=False)
        return _validation.like_input(noisy, X, self)

    def score(self, X, y=None, sample_weight=None, *, X_clean=None):
        """Denoising quality: minus the mean squared error to the clean data.

        With ``X_clean``, ``X`` is noisy: the score compares ``predict(X)``
        with ``X_clean``. Without, ``X`` is clean: it is corrupted as in
        training (with a fixed seed, so scores are comparable) and the score
        compares the denoised result with ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Noisy data (with ``X_clean``) or clean data (without).
        y : None
            Ignored (clean data of ``X``'s shape as ``y``: as in :meth:`fit`).
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the mean.
        X_clean : array-like of shape (n_samples, n_features), default=None
            Clean counterpart of ``X``.

        Returns
        -------
        score : float
            Higher is better; 0 is a perfect denoising.
        """
        check_is_fitted(self)
        target = self._clean_target(X, y, X_clean)
        if target is None:
            clean = self._check_X(X).astype(np.float64)
            denoised = super().predict(self.corrupt(X, random_state=0))
        else:
            clean = np.asarray(target, dtype=np.float64)
            denoised = super().predict(X)
        cells = (np.asarray(denoised, dtype=np.float64) - clean) ** 2
        errors = _validation.observed_mean(cells)  # missing cells do not count
        return -float(np.average(errors, weights=sample_weight))

    def _clean_target(self, X, y, X_clean):
        """The clean counterpart of ``X``: ``X_clean``, or (deprecated) a ``y`` of X's shape."""
        x_shape = _shape(X)
        y_shape = None if y is None else _shape(y)  # any array-like y
        if X_clean is None and x_shape is not None and y_shape == x_shape and len(x_shape) == 2:
            warnings.warn(
                "Passing the clean data as y is deprecated and will be ignored in skae "
                "0.3 (a Pipeline passes its target as y): pass X_clean=... instead.",
                FutureWarning,
                stacklevel=3,
            )
            X_clean = y
        if X_clean is None:
            return None
        X_clean = _validation.check_array_like(X_clean, "X_clean", type(self).__name__)
        # An X that is not 2-D gets its own, clearer error from _check_X.
        if x_shape is not None and len(x_shape) == 2 and X_clean.shape != x_shape:
            raise ValueError(
                f"X_clean must be the clean version of X, with its shape {x_shape}; "
                f"got {X_clean.shape}. Leave it out to let the estimator corrupt X itself."
            )
        return X_clean

    # The held-out check of a PCA start measures clean reconstructions, not
    # denoising: the denoiser starts from random weights.
    _pca_init_by_default = False

    def _assemble(self, encoder, decoder, seed):
        # The network sees scaled rows: corrupt them in the data's own units.
        scale, offset = self._affine()
        seed = None if seed is None else seed + _CORRUPTION_SEED_OFFSET
        corruption = self._make_corruption(seed, scale=scale, offset=offset)
        return assemble(encoder, decoder, before=corruption)

    def _set_training_mode(self, target_given):
        # Given pairs are corrupted already: no synthetic noise on top of them.
        self.model_.get_layer("corruption").set_enabled(not target_given)

    def _make_corruption(self, seed, scale=None, offset=None):
        low, high = (0.0, 1.0) if self.clip is None else self.clip
        return Corruption(
            noise=self.noise,
            level=self.noise_level,
            clip=self.clip,
            low=low,
            high=high,
            scale=scale,
            offset=offset,
            seed=seed,
            name="corruption",
        )


def _shape(array):
    """Shape of an array-like before validation; None if NumPy cannot tell (ragged)."""
    if hasattr(array, "shape"):
        return array.shape
    try:
        return np.asarray(array).shape
    except (ValueError, TypeError):  # validation gives the clear error later
        return None
