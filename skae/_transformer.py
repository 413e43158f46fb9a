"""AutoencoderTransformer: a non-linear drop-in replacement for PCA."""

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import _validation
from ._base import _atomic_fit, _BaseAutoencoder
from ._io import register_estimator


@register_estimator
class AutoencoderTransformer(TransformerMixin, _BaseAutoencoder):
    """Autoencoder as a scikit-learn transformer: codes in, reconstructions out.

    Use it where you would use :class:`~sklearn.decomposition.PCA`:
    ``transform`` returns a ``latent_dim``-wide code learned by a neural
    encoder, ``inverse_transform`` maps codes back to the input space with the
    decoder. Unlike PCA the maps are non-linear, so data lying on a curved
    low-dimensional surface can be coded with fewer dimensions.

    By default the network starts as PCA and can only improve on it: the
    code is a linear map (started at PCA's) plus a learned non-linear
    correction, the reconstruction likewise, and both corrections start at
    zero, so training starts from PCA's error.
    Training holds out ``validation_fraction`` of the rows, keeps the epoch
    that reconstructs them best, and falls back to PCA's solution if no epoch
    beat it there (``pca_fallback_``). Like PCA, it minimises the squared
    error in the input's own units (``scaling="uniform"``): put a
    ``StandardScaler`` in front for columns in different units, as you would
    for PCA.

    Parameters
    ----------
    latent_dim : int or float, default=8
        Width of the code, the analogue of PCA's ``n_components``. A float in
        (0, 1) asks for the narrowest code with which PCA keeps that fraction
        of the (scaled) training data's variance, as ``PCA(n_components=0.95)``
        does; started as PCA, the autoencoder keeps at least as much. The
        width chosen is ``latent_dim_``. An int is at most the number of
        columns, as PCA's ``n_components`` is (a wider code could copy the
        input), unless ``l1 > 0`` asks for a sparse, overcomplete code.
    architecture : {"dense", "conv"}, default="dense"
        ``"dense"``: fully connected layers (``hidden_layer_sizes``).
        ``"conv"``: for images arriving flattened as rows of
        ``height * width * channels`` values; the network reshapes them to
        ``image_shape``, encodes with stride-2 3x3 convolutions (``filters``)
        and a dense code, decodes with transposed convolutions, and returns
        flat rows again. Any image size works (8x8, 28x28, ...).
    image_shape : tuple of int or None, default=None
        ``(height, width)`` or ``(height, width, channels)`` of one image, for
        ``architecture="conv"``. Rows are read in C order (as
        ``images.reshape(n, -1)`` makes them).
    filters : sequence of int, default=(32, 64)
        Channels of the convolution blocks for ``architecture="conv"``; each
        block halves the image's height and width. Unused by ``"dense"``.
    hidden_layer_sizes : int or sequence of int, default=(128, 64)
        Widths of the encoder's hidden layers; the decoder mirrors them. An int
        is one hidden layer; an empty tuple gives an autoencoder with no hidden
        layer. Unused by ``architecture="conv"``.
    activation : str, default="relu"
        Keras activation of the hidden layers. The code layer is linear.
    output_activation : str, default="linear"
        Keras activation of the reconstruction layer. Use ``"sigmoid"``
        (often with ``scaling=None`` or ``"minmax"`` and
        ``loss="binary_crossentropy"``) for data in [0, 1] such as images.
    dropout : float, default=0.0
        Dropout rate after each encoder hidden layer, in training only.
    l1 : float, default=0.0
        L1 activity penalty on the code, for a sparse autoencoder: adds
        ``l1 * mean over rows of sum(|code|)`` to the loss.
    scaling : {"uniform", "minmax", "standard", "robust"} or None, default="uniform"
        Scaling fitted on the training data and applied before the network;
        outputs are mapped back, so ``inverse_transform`` and the
        reconstruction errors are in the input's units. ``"uniform"`` centres
        each column and divides all of them by one common scale (the root mean
        column variance), so every column keeps its weight in the loss, as in
        PCA. ``"minmax"``, ``"standard"`` and ``"robust"`` scale each column on
        its own (``MinMaxScaler``, ``StandardScaler``, ``RobustScaler``), which
        makes every column weigh about the same in the loss. ``None`` feeds
        the data as is, e.g. for images already in [0, 1].
    init : {"auto", "pca", "random"}, default="auto"
        ``"pca"``: the dense network starts as PCA of the scaled training rows
        and learns non-linear corrections on top (see above), and training
        keeps the start unless it beats it on the held-out rows (on the
        training rows when ``early_stopping=False``). ``"random"``: a plain
        autoencoder with randomly initialised weights. ``"auto"``: ``"pca"``
        for ``architecture="dense"`` with ``output_activation="linear"`` and
        ``loss="mse"``, else ``"random"``.
    loss : str or keras.losses.Loss, default="mse"
        Training loss, measured between the scaled input and its reconstruction.
    optimizer : str, type or keras.optimizers.Optimizer, default="adam"
        Keras optimizer. A name or class gets ``learning_rate`` and any routed
        ``optimizer__*`` parameter; an instance is used as given.
    learning_rate : float or keras.optimizers.schedules.LearningRateSchedule, default=3e-3
        Initial learning rate of the optimizer.
    lr_schedule : {"plateau", "cosine"} or None, default="plateau"
        ``"plateau"`` halves the learning rate when the monitored loss (the
        validation loss with ``early_stopping``, else the training loss) has
        not improved by ``tol`` for ``max(1, n_iter_no_change // 2)`` epochs.
        ``"cosine"`` lowers it from ``learning_rate`` towards zero along half
        a cosine over ``epochs`` epochs (set once per epoch), for a fixed
        budget of epochs with ``early_stopping=False`` (the README's image
        recipe); each fit, warm started or not, anneals again from
        ``learning_rate``. ``None`` keeps
        ``learning_rate`` as given. ``partial_fit`` applies no schedule.
    epochs : int, default=200
        Maximum number of passes over the training data.
    batch_size : int, default=64
        Rows per gradient step.
    shuffle : bool, default=True
        Whether to visit the rows in a new random order in each epoch.
    early_stopping : bool, default=True
        If True, hold out ``validation_fraction`` of the rows, stop when the
        validation loss has not improved by ``tol`` for ``n_iter_no_change``
        epochs, and restore the weights of the best epoch. If False, training
        stops when the training loss stops improving in the same way.
    validation_fraction : float, default=0.1
        Fraction of rows held out when ``early_stopping`` is True.
    n_iter_no_change : int or None, default=20
        Patience, in epochs, of the stopping rule. ``None`` always trains for
        ``epochs`` epochs.
    tol : float, default=1e-4
        Smallest decrease of the monitored loss that counts as an improvement.
    metrics : list or None, default=None
        Extra Keras metrics to record in ``history_``.
    callbacks : list of keras.callbacks.Callback or None, default=None
        Extra Keras callbacks for training.
    warm_start : bool, default=False
        If True, ``fit`` continues from the current weights and scaling
        instead of building a new model.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, dropout, validation split and shuffling. An int
        gives bit-identical results from one fit to the next on CPU.
    verbose : int, default=0
        Keras' progress output: 0 silent, 1 progress bar, 2 one line per epoch.
    **kwargs
        scikeras' routed parameters: ``model__*`` (passed to the model builder,
        e.g. ``model__kernel_initializer="he_normal"``), ``optimizer__*``,
        ``loss__*``, ``fit__*`` and ``callbacks__*``.

    Attributes
    ----------
    model_ : keras.Model
        The trained autoencoder (scaled input to scaled reconstruction).
    encoder_ : keras.Model
        The encoder, sharing its layers with ``model_``.
    decoder_ : keras.Model
        The decoder, sharing its layers with ``model_``.
    history_ : dict of str to list of float
        Loss (and validation loss, learning rate, metrics) per epoch.
    n_iter_ : int
        Number of epochs in ``history_``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen during ``fit``, when ``X`` had string column names.
    latent_dim_ : int
        Width of the code.
    reconstruction_r2_ : float
        Fraction of the training data's variance that the reconstructions
        keep, ``1 - SSE / SST`` in the input's units (PCA's counterpart is
        ``explained_variance_ratio_.sum()``); after ``partial_fit``, of the
        last batch.
    pca_fallback_ : bool
        Only for a network started as PCA: True when training did not beat
        PCA on the held-out rows, so the model is PCA's solution.
    scaler_ : transformer
        The fitted input scaling (see ``scaling``): a ``MinMaxScaler``,
        ``StandardScaler``, ``RobustScaler``, or an identity
        ``FunctionTransformer`` for ``scaling=None``. (``feature_encoder_``
        and ``target_encoder_``, scikeras' names for it, are deprecated.)

    See Also
    --------
    sklearn.decomposition.PCA : The linear counterpart, with a closed-form fit.
    sklearn.neural_network.MLPRegressor : Source of the training parameter names.

    Notes
    -----
    Training uses Keras on the backend it is configured with (TensorFlow,
    JAX or PyTorch), in float32. ``transform`` and ``inverse_transform``
    return float32 for float32 input and float64 otherwise. Results with an
    int ``random_state`` are bit-identical on CPU within one backend; other
    backends and GPUs may differ in the last bits.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> X, _ = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(latent_dim=8, epochs=5, random_state=0)
    >>> codes = ae.fit_transform(X)
    >>> codes.shape
    (1797, 8)
    >>> ae.inverse_transform(codes).shape
    (1797, 64)
    >>> ae.get_feature_names_out()[:2]
    array(['autoencodertransformer0', 'autoencodertransformer1'], dtype=object)
    """

    _pca_init_by_default = True
    _fitted_attributes = {
        **_BaseAutoencoder._fitted_attributes,
        "reconstruction_r2_": "float",
    }
    # The denoiser, a subclass, does not measure it.
    _optional_attributes = _BaseAutoencoder._optional_attributes | {"reconstruction_r2_"}

    def __init__(
        self,
        latent_dim=8,
        *,
        architecture="dense",
        image_shape=None,
        filters=(32, 64),
        hidden_layer_sizes=(128, 64),
        activation="relu",
        output_activation="linear",
        dropout=0.0,
        l1=0.0,
        scaling="uniform",
        init="auto",
        loss="mse",
        optimizer="adam",
        learning_rate=3e-3,
        lr_schedule="plateau",
        epochs=200,
        batch_size=64,
        shuffle=True,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @_atomic_fit
    def fit(self, X, y=None, sample_weight=None):
        """Train the autoencoder to reconstruct ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (numpy array or pandas DataFrame, numeric).
        y : None
            Ignored; present so the transformer fits in a Pipeline.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the training loss.

        Returns
        -------
        self : AutoencoderTransformer
            The fitted estimator.
        """
        scaled = self._fit_autoencoder(X, None, sample_weight, seed=self._fit_seed())
        self.reconstruction_r2_ = self._r2(scaled)
        return self

    @_atomic_fit
    def partial_fit(self, X, y=None, sample_weight=None):
        """Train for one more epoch on ``X``, keeping weights and history.

        The first call builds the model and fits the input scaling on this
        first batch; later calls reuse both. Early stopping, the learning
        rate schedule and the fallback to PCA do not apply to single epochs;
        ``reconstruction_r2_`` is measured on the batch.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A batch of training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the loss.

        Returns
        -------
        self : AutoencoderTransformer
            The estimator, trained for one more epoch.
        """
        scaled = self._fit_autoencoder(
            X, None, sample_weight, seed=self._fit_seed(), single_epoch=True
        )
        self.reconstruction_r2_ = self._r2(scaled)
        return self

    def _r2(self, scaled):
        """``1 - SSE / SST`` of scaled rows, both in the input's units.

        Per column in the scaled units, each weighed by ``1 / scale**2`` (the
        affine map's factor): the same sums as in the input's units, without
        unscaling every row. Missing cells count in neither.
        """
        residuals = self._run(self.model_, scaled) - scaled
        weights = 1.0 / np.square(self._affine()[0])
        if np.isnan(residuals).any():  # missing cells (NaN in both)
            centred = scaled - np.nanmean(scaled, axis=0)
            sse = np.nansum(np.square(residuals, dtype=np.float64), axis=0) @ weights
            sst = np.nansum(np.square(centred, dtype=np.float64), axis=0) @ weights
        else:
            # The same float64 sums without NaN-aware copies: 30x faster on
            # MNIST's 60,000 x 784, where they took longer than an epoch.
            centred = scaled - scaled.mean(axis=0)
            sse = np.einsum("ij,ij->j", residuals, residuals, dtype=np.float64) @ weights
            sst = np.einsum("ij,ij->j", centred, centred, dtype=np.float64) @ weights
        return float(1 - sse / sst) if sst > 0 else 1.0

    def transform(self, X):
        """Encode ``X`` into its ``latent_dim``-wide code.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        codes : ndarray of shape (n_samples, latent_dim)
            Float32 for float32 input, float64 otherwise.
        """
        check_is_fitted(self)
        X_checked = self._check_X(X)
        codes = self._encode(self._scale(X_checked))
        return codes.astype(X_checked.dtype, copy=False)

    def _encode(self, scaled):
        """Codes of scaled rows."""
        return self._run(self.encoder_, scaled)

    def inverse_transform(self, X):
        """Decode codes back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, latent_dim)
            Codes, e.g. from :meth:`transform`.

        Returns
        -------
        X_original : ndarray or DataFrame of shape (n_samples, n_features_in_)
            Reconstructions in the units of the training data, in the same
            container as :meth:`predict`'s: the one ``set_output`` names (as
            for :meth:`transform`), else the codes' own (a DataFrame of codes
            gives a DataFrame), with the training data's column names.
        """
        check_is_fitted(self)
        codes = self._check_codes(X)
        reconstruction = self._unscale(self._run(self.decoder_, codes.astype("float32")))
        return _validation.like_input(reconstruction.astype(codes.dtype, copy=False), X, self)

    def _check_codes(self, Z):
        codes = _validation.check_array_like(Z, "X", type(self).__name__)
        if codes.shape[1] != self.latent_dim_:
            raise ValueError(
                f"X has {codes.shape[1]} features, but inverse_transform expects "
                f"codes of width {self.latent_dim_}, as transform returns them."
            )
        return codes
