"""VariationalAutoencoder: a generative autoencoder with a Gaussian code."""

from numbers import Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._io import register_estimator
from ._nn import Sampling, assemble, kl_divergence
from ._sklearn_compat import Interval, StrOptions
from ._transformer import AutoencoderTransformer

# Per-row negative log-likelihood of the (scaled) row given its decoding, by loss.
_LOG_2PI = np.log(2 * np.pi)
_LOWEST = -np.finfo(np.float64).max  # the ELBO of a row beyond float64


@register_estimator
class VariationalAutoencoder(AutoencoderTransformer):
    """Variational autoencoder: latent means as codes, and new rows from ``sample``.

    The encoder outputs the mean and log-variance of a Gaussian code; in
    training a :class:`~skae._nn.Sampling` layer draws the code
    with the reparameterization trick (seeded by ``random_state``) and adds
    ``beta`` times its KL divergence from the standard normal prior to the
    loss. The model is trained to maximise the evidence lower bound (ELBO) of
    the scaled rows under a Gaussian (``loss="mse"``, unit variance) or
    Bernoulli (``loss="binary_crossentropy"``) likelihood.

    Parameters
    ----------
    latent_dim : int, default=2
        Width of the code, at most the number of columns (unless ``l1 > 0``).
    beta : float, default=1.0
        Weight of the KL term (``beta > 1`` is the beta-VAE, which trades
        reconstruction for a more regular code).
    loss : {"mse", "binary_crossentropy"}, default="mse"
        Likelihood of a scaled row given its code: Gaussian with unit variance
        per column, or Bernoulli (for data in [0, 1], e.g. with
        ``scaling="minmax"`` or ``None`` and ``output_activation="sigmoid"``).
    scaling : {"standard", "minmax", "robust"} or None, default="standard"
        Per-column scaling before the network. The default gives every column
        unit variance, which matches the Gaussian likelihood.
    init : {"auto", "random"}, default="auto"
        Random initial weights (the encoder outputs means and log-variances,
        which PCA does not give).
    learning_rate : float or LearningRateSchedule, default=1e-3
        Initial learning rate of the optimizer.
    early_stopping : bool, default=False
        As in :class:`AutoencoderTransformer`; without it, training stops
        when the training loss stalls.
    n_iter_no_change : int or None, default=10
        Patience, in epochs, of the stopping rule.
    architecture, image_shape, filters, hidden_layer_sizes, activation, \
output_activation, dropout, l1, optimizer, lr_schedule, epochs, batch_size, \
shuffle, validation_fraction, tol, metrics, callbacks, warm_start, random_state, \
verbose, **kwargs
        As in :class:`AutoencoderTransformer`.

    Attributes
    ----------
    model_, encoder_, decoder_, history_, n_iter_, n_features_in_, feature_names_in_
        As in :class:`AutoencoderTransformer`; ``encoder_`` outputs the
        means then the log-variances of the code (``2 * latent_dim`` values).

    See Also
    --------
    AutoencoderTransformer : The deterministic autoencoder.
    sklearn.decomposition.PCA : Whose probabilistic version (``score_samples``)
        is the linear counterpart.

    Notes
    -----
    The training loss is the negative ELBO divided by ``n_features`` (Gaussian:
    also by 1/2, and without its constant), so ``history_["loss"]`` is on the
    scale of a mean squared error. ``score_samples`` returns the ELBO itself,
    in nats, for the scaled rows: it differs from the log-likelihood of the
    raw rows by the scaling's constant log-Jacobian, so it ranks rows exactly
    as that would. It uses the posterior mean for the reconstruction term (a
    deterministic one-point estimate) and the exact KL term.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VariationalAutoencoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> vae = VariationalAutoencoder(latent_dim=2, epochs=5, random_state=0).fit(X)
    >>> vae.transform(X).shape
    (1797, 2)
    >>> vae.sample(3, random_state=0).shape
    (3, 64)
    >>> vae.score_samples(X[:4]).shape
    (4,)
    """

    # The network's layers, as model files check them (skae/_io).
    _network_layers = {**AutoencoderTransformer._network_layers, "sampling": Sampling}

    _parameter_constraints = {
        **AutoencoderTransformer._parameter_constraints,
        "beta": [Interval(Real, 0, None, closed="left")],
        "loss": [StrOptions({"mse", "binary_crossentropy"})],
        "init": [StrOptions({"auto", "random"})],
    }

    def __init__(
        self,
        latent_dim=2,
        *,
        beta=1.0,
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
        self.beta = beta

    def sample(self, n_samples=1, random_state=None):
        """Generate new rows: decode codes drawn from the standard normal prior.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seeds the codes.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_in_)
            Generated rows, in the units of the training data.
        """
        check_is_fitted(self)
        # bool is an int to Python, but sample(True) is surely a mistake.
        is_int = isinstance(n_samples, (int, np.integer)) and not isinstance(n_samples, bool)
        if not is_int or n_samples < 1:
            raise ValueError(
                f"n_samples must be a positive int, the number of rows to generate; "
                f"got {n_samples!r}."
            )
        rng = check_random_state(random_state)
        codes = rng.standard_normal((n_samples, self.latent_dim_)).astype("float32")
        return self._unscale(self._run(self.decoder_, codes)).astype(np.float64)

    def score_samples(self, X):
        """Evidence lower bound (ELBO) of each row, in nats: higher is more likely.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        elbo : ndarray of shape (n_samples,)
            Float64 lower bound of each scaled row's log-likelihood, usable as
            a likelihood-based outlier score (low = unusual). A row whose bound
            is below float64's range (one thousands of standard deviations
            out) gets the lowest finite float64, ``-np.finfo(np.float64).max``.
        """
        check_is_fitted(self)
        scaled = self._scale(self._check_X(X))
        moments = self._run(self.encoder_, scaled)
        reconstruction = self._run(self.decoder_, moments[:, : self.latent_dim_])
        kl = np.asarray(kl_divergence(moments.astype(np.float64)))
        elbo = -(self._negative_log_likelihood(scaled, reconstruction) + kl)
        # A row thousands of standard deviations out (or scaled by absurd
        # statistics) has a code variance whose exp overflows: its ELBO is
        # below float64's range. It gets the lowest finite score, not -inf,
        # and still ranks as the most unusual.
        return np.maximum(elbo, _LOWEST)

    def score(self, X, y=None, sample_weight=None):
        """Mean ELBO of ``X`` (higher is better).

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

    # ------------------------------------------------------------------

    _pca_init_by_default = False  # the encoder outputs moments, not a PCA score

    def _code_width(self):
        return 2 * self.latent_dim_  # means, then log-variances

    def _assemble(self, encoder, decoder, seed):
        # The compiled loss averages over columns (mse, or binary
        # cross-entropy); scaling the KL by the same 1/n_features (and the
        # Gaussian's 1/2) keeps loss = -ELBO / n_features up to a constant.
        per_column = 2.0 if self.loss == "mse" else 1.0
        kl_weight = per_column * self.beta / self.n_features_in_
        # The builders seed their layers with seed, seed + 1, ...: stay clear.
        seed = None if seed is None else seed + 1000
        sampling = Sampling(kl_weight=kl_weight, seed=seed, name="sampling")
        return assemble(encoder, decoder, between=sampling)

    def _encode(self, scaled):
        return self._run(self.encoder_, scaled)[:, : self.latent_dim_]

    def _negative_log_likelihood(self, scaled, reconstruction):
        """Per row, over its observed cells (a missing cell has no likelihood term)."""
        scaled = scaled.astype(np.float64)
        reconstruction = reconstruction.astype(np.float64)
        if self.loss == "mse":
            squares = np.nansum((scaled - reconstruction) ** 2, axis=1)
            return 0.5 * squares + 0.5 * (~np.isnan(scaled)).sum(axis=1) * _LOG_2PI
        p = np.clip(reconstruction, 1e-7, 1 - 1e-7)
        return -np.nansum(scaled * np.log(p) + (1 - scaled) * np.log1p(-p), axis=1)
