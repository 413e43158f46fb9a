"""_BaseAutoencoder: the estimator contract, owned by skae (no scikeras base class).

Every estimator in skae subclasses :class:`_BaseAutoencoder` (public alias
``skae.BaseAutoencoder``), a scikit-learn ``BaseEstimator``. ``fit`` reads top
to bottom (:meth:`_BaseAutoencoder._fit_autoencoder`): validate, fit the input
scaling, build the network (or keep it, on a warm start), train, record. The
routed parameters (``model__*``, ``optimizer__*``, ``loss__*``, ``fit__*``,
``callbacks__*``) are scikeras' routing, called as functions from
:mod:`skae._params`. Training and inference run in :mod:`skae._engine`, the
network is built by :mod:`skae._nn`, and ``save`` and pickling go through
:mod:`skae._io`.

Length (about 800 lines, past the ~450 of the house style): this is one
class, whose public methods every estimator shares (``partial_fit``,
``initialize``, ``predict``, ``reconstruction_error``, ``score``, ``save``,
``get_feature_names_out``) with their numpydoc docstrings, and whose private
methods are the hooks the estimators override; splitting it across files is
what the mixins did. What is not the class lives elsewhere: routing in
:mod:`skae._params`, builders in :mod:`skae._nn`, training in
:mod:`skae._engine`, the file format in :mod:`skae._io`.

scikeras defects worked around (each with a regression test in
tests/test_base.py):

1. scikeras puts its mixins right of ``BaseEstimator``, so on scikit-learn
   >= 1.6 the mixins' tags are lost. skae puts mixins left and declares
   ``__sklearn_tags__``.
2. scikeras' ``tensorflow_random_state`` sets ``TF_DETERMINISTIC_OPS`` and
   never switches it off again. skae seeds its layers and its row orders
   itself and never touches op determinism or any global random state.
3. ``BaseWrapper.fit(X, y)`` requires ``y``; an autoencoder in a Pipeline is
   called as ``fit(X, y=None, sample_weight=None)``.
"""

import functools
import warnings
from dataclasses import replace
from numbers import Integral, Real

from ._quiet import import_tensorflow

# Before Keras imports TensorFlow: its start-up notes filtered (skae._quiet)
# wherever skae is first imported from, a Dask worker unpickling an estimator
# included (it imports this module, not skae's public names).
import_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.base import BaseEstimator  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402
from sklearn.utils.validation import check_is_fitted  # noqa: E402

from . import _engine, _io, _params, _pca, _scaling, _validation  # noqa: E402
from ._nn import (  # noqa: E402
    MaskedBinaryCrossentropy,
    MaskedMeanSquaredError,
    assemble,
    build_conv_autoencoder,
    build_dense_autoencoder,
    build_pca_residual_autoencoder,
    image_shape_3d,
    keras_array_warnings_ignored,
    split_autoencoder,
)
from ._sklearn_compat import (  # noqa: E402
    CallbackSupportMixin,
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    _generate_get_feature_names_out,
)

# fit__* arguments that skae's own parameters already say (a routed value,
# e.g. fit__epochs, wins over the plain parameter, as in scikeras).
_OWN_FIT_ARGS = ("epochs", "batch_size", "shuffle", "verbose")

# Losses named by a string that skip missing (NaN) cells of the target.
_MASKED_LOSSES = {"mse": MaskedMeanSquaredError, "binary_crossentropy": MaskedBinaryCrossentropy}


def _atomic_fit(method):
    """Decorate a public ``fit``/``partial_fit``: validate parameters, and undo a failed call.

    Validation is scikit-learn's ``_fit_context``. If the call raises anything,
    a diverged loss, a bad input or Ctrl-C (``KeyboardInterrupt``) included,
    the estimator is put back as it was before the call: unfitted after a
    first fit, and with its former weights, optimizer state and history after
    ``partial_fit`` or a warm start. Never half-fitted. The call runs under
    :func:`skae._engine.fit_threads`, so that its results do not depend on
    the machine's thread settings.
    """

    @functools.wraps(method)
    def atomic(self, *args, **kwargs):
        state = dict(vars(self))
        weights = _engine.snapshot(state.get("model_"))
        try:
            # The same bits whatever the thread settings (see _engine._threads).
            with _engine.fit_threads():
                return method(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(state)
            _engine.restore(state.get("model_"), weights)
            raise

    return _fit_context(prefer_skip_nested_validation=True)(atomic)


def _is_lr_schedule(value):
    return isinstance(value, keras.optimizers.schedules.LearningRateSchedule)


# Rows per compiled forward call: small inputs go in one call, large ones are
# cut so that only one chunk of intermediate activations is alive at a time.
_INFERENCE_CHUNK = 8192


class _BaseAutoencoder(CallbackSupportMixin, BaseEstimator):
    """Base class of skae's estimators (public alias ``skae.BaseAutoencoder``).

    Not meant to be used directly: use :class:`skae.AutoencoderTransformer`
    or another public estimator. Subclasses set the scikit-learn mixins on the
    left of this class, implement the public methods of their role, and may
    change how the network is put together through two hooks:
    :meth:`_assemble` (layers before or between the encoder and decoder) and
    :meth:`_set_training_mode` (per-fit switches, such as the denoiser's
    corruption).

    Parameters are documented on the public estimators.
    """

    # What skae's model files need of a class (read by skae/_io, which
    # imports no estimator module). Fitted attributes besides ``model_``,
    # with their kinds, as model files store and check them: "int", "float",
    # "array" (float64 ndarray), "names" (1-D array of str), "scaler" (a
    # fitted scikit-learn scaler of skae/_scaling.py), "history" (dict of
    # str to list of float). Subclasses extend it.
    _fitted_attributes = {
        "n_features_in_": "int",
        "latent_dim_": "int",
        "feature_names_in_": "names",
        "scaler_": "scaler",
        "fill_value_": "array",
        "history_": "history",
        "pca_fallback_": "bool",
    }
    # Those of them that may be absent from a fitted estimator.
    _optional_attributes = frozenset({"feature_names_in_", "pca_fallback_"})
    # Shapes of fitted arrays, in terms of n_features_in_, latent_dim and the
    # sizes of _array_sizes() (None: any length); attributes that must be > 0.
    _array_shapes = {"fill_value_": ("n_features_in_",)}
    _positive_attributes = frozenset()
    # Private attributes that pickles and copies leave out: caches rebuilt on
    # first use (model files hold only the declared fitted attributes).
    _transient_attributes = frozenset()
    # The network's layers (name -> class) besides its inputs.
    _network_layers = {"encoder": keras.Model, "decoder": keras.Model}
    # Whether init="auto" starts a dense network with a linear output as PCA.
    _pca_init_by_default = False

    _parameter_constraints = {
        "latent_dim": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="neither"),
        ],
        "architecture": [StrOptions({"dense", "conv"})],
        "image_shape": [tuple, list, None],
        "filters": ["array-like"],
        "hidden_layer_sizes": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "activation": [str],
        "output_activation": [str],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "l1": [Interval(Real, 0, None, closed="left")],
        "scaling": [StrOptions(set(_scaling.SCALERS)), None],
        "init": [StrOptions({"auto", "pca", "random"})],
        "loss": [str, callable, HasMethods("call")],
        "optimizer": [str, type, HasMethods("apply_gradients")],
        "learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            HasMethods("get_config"),
        ],
        "lr_schedule": [StrOptions({"plateau", "cosine"}), None],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "metrics": [list, None],
        "callbacks": [list, dict, HasMethods("on_epoch_end"), None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

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
        self.latent_dim = latent_dim
        self.architecture = architecture
        self.image_shape = image_shape
        self.filters = filters
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output_activation = output_activation
        self.dropout = dropout
        self.l1 = l1
        self.scaling = scaling
        self.init = init
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.metrics = metrics
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        # scikeras' routed parameters (model__*, optimizer__*, fit__*, ...)
        _params.check_routed_names(type(self), kwargs)
        vars(self).update(kwargs)
        if kwargs:
            self._user_params = set(kwargs)

    def _get_param_names(self):
        # scikit-learn's parameters are the signature's; here also the routed
        # names given to the constructor or set_params.
        own = BaseEstimator._get_param_names.__func__(type(self))
        return sorted({*own, *getattr(self, "_user_params", ())})

    def set_params(self, **params):
        routed = {name for name in params if _params.is_routed(name)}
        _params.check_routed_names(type(self), {n: v for n, v in params.items() if "__" in n})
        for name in routed:  # a routed parameter is set as is, as scikeras sets it
            setattr(self, name, params[name])
        if routed:
            self._user_params = {*getattr(self, "_user_params", ()), *routed}
        plain = {name: value for name, value in params.items() if name not in routed}
        hint = _params.other_name_hint(set(plain) - set(self.get_params(deep=False)))
        if hint:  # scikit-learn's message, plus the name skae uses
            raise ValueError(
                f"Invalid parameter(s) {sorted(set(plain) - set(self.get_params(deep=False)))} "
                f"for estimator {type(self).__name__}{hint}."
            )
        if plain:
            super().set_params(**plain)
        return self

    # ------------------------------------------------------------------
    # scikit-learn surface shared by every estimator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.input_tags.allow_nan = True  # NaN cells are missing: skipped by loss and scores
        tags.input_tags.sparse = True  # made dense (the network takes dense rows)
        tags.non_deterministic = False  # bit-identical on CPU with an int random_state
        return tags

    def _validate_params(self):
        unknown = sorted(name for name in getattr(self, "_user_params", ()) if "__" not in name)
        if unknown:
            raise ValueError(
                f"Unknown parameter(s) {unknown} for {type(self).__name__}. Routed "
                "parameters need a prefix such as 'model__', 'optimizer__' or 'fit__'."
            )
        super()._validate_params()
        sizes = () if self.hidden_layer_sizes == "auto" else self._hidden_sizes()
        if not all(isinstance(units, Integral) and units >= 1 for units in sizes):
            raise ValueError(
                "hidden_layer_sizes must be a sequence of positive ints (it may be "
                f"empty), got {self.hidden_layer_sizes!r}."
            )
        filters = tuple(self.filters)
        if not filters or not all(isinstance(f, Integral) and f >= 1 for f in filters):
            raise ValueError(
                f"filters must be a non-empty sequence of positive ints, got {self.filters!r}."
            )
        if self.init == "pca" and self.architecture != "dense":
            raise ValueError(
                "init='pca' starts a dense network as PCA; with architecture='conv' "
                "pass init='random' (or 'auto')."
            )
        if self.lr_schedule is not None and _is_lr_schedule(self.learning_rate):
            raise ValueError(
                f"lr_schedule={self.lr_schedule!r} changes a float learning_rate; with a "
                "Keras LearningRateSchedule as learning_rate, pass lr_schedule=None."
            )

    def _check_X(self, X, reset=False):
        """Validate ``X`` (against what ``fit`` saw unless ``reset``)."""
        return _validation.check_X(self, X, reset)

    # ------------------------------------------------------------------
    # fit, top to bottom

    def _fit_autoencoder(
        self, X, target, sample_weight, *, seed, single_epoch=False, validated=False
    ):
        """Train to reconstruct ``target`` (``X`` itself when None) from ``X``.

        validate -> fit the scaling -> build the network (or keep it) ->
        train -> record. The network and scaling are kept by ``partial_fit``
        (``single_epoch``) and by a warm start, once they exist. Returns the
        scaled training rows (those of positive weight), for statistics that
        subclasses fit on them. ``seed`` is the fit's seed (:meth:`_fit_seed`),
        drawn once by the public method and passed to every step that needs it.
        ``validated``: ``X`` is already the output of :meth:`_check_X` (a
        subclass that needs the validated rows before training).
        """
        keep = self._keeps_network(single_epoch)
        if not validated:
            X = self._check_X(X, reset=not keep)
        target_given = target is not None
        if target_given:
            target = _validation.check_target(target, X, type(self).__name__)
        X, target, weights = _validation.drop_weightless(X, target, sample_weight)
        if not keep:
            self.scaler_ = _scaling.fit_scaler(self.scaling, X, weights)
        x = self._scale(X)
        names = getattr(self, "feature_names_in_", None)
        _scaling.check_scaled_training_data(x, self.scaling, names)
        if not keep:
            self.fill_value_ = _scaling.fill_values(x, names)
        y = x if target is None else self._scale(target)
        self._check_loss_skips_missing(y)
        epoch = self.n_iter_ if keep else 0
        if not keep:
            self.latent_dim_ = self._resolve_latent_dim(self._filled(x), weights)
            self.model_ = self._build_model(self._filled(x), seed, weights)
        self._set_training_mode(target_given=target_given)
        guard = self._starts_as_pca() and not single_epoch
        options = self._training_options(len(x))
        root = self._epoch_tasks_root(X, 1 if single_epoch else options.epochs)
        if root is not None:
            epoch_tasks = _engine.EpochTasks(root, self, X)
            options = replace(options, callbacks=[*options.callbacks, epoch_tasks])
        logs, kept_start = _engine.train(
            self.model_,
            self._filled(x),
            y,
            weights,
            options,
            seed=None if seed is None else seed + epoch,
            initial_epoch=epoch,
            single_epoch=single_epoch,
            keep_start_unless_beaten=guard,
        )
        self.history_ = _engine.extend_history(
            self.history_ if keep else None, logs, float(_scaling.column_peaks(x).max(initial=0.0))
        )
        if guard:
            self.pca_fallback_ = kept_start
        if root is not None:
            root.call_on_fit_task_end(estimator=self, X=X)
        return x

    def _keeps_network(self, single_epoch=False):
        """Whether this fit trains on the network and scaling it has (partial_fit, warm start)."""
        return hasattr(self, "model_") and (single_epoch or self.warm_start)

    def _epoch_tasks_root(self, X, max_epochs):
        """scikit-learn's callback context of this fit (>= 1.9), its epochs as sub-tasks."""
        if not hasattr(self, "_init_callback_context"):
            return None
        # Stopping rules may end training early: the epoch count is an upper bound.
        root = self._init_callback_context(task_name="fit", max_subtasks=max_epochs)
        root.call_on_fit_task_begin(estimator=self, X=X)
        return root

    @_atomic_fit
    def partial_fit(self, X, y=None, sample_weight=None):
        """Train for one more epoch on ``X``, keeping weights and history.

        The first call builds the model and fits the input scaling on this
        first batch; later calls reuse both. Early stopping and the learning
        rate schedule do not apply to single epochs.

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
        self : object
            The estimator, trained for one more epoch.
        """
        self._fit_autoencoder(X, None, sample_weight, seed=self._fit_seed(), single_epoch=True)
        return self

    def initialize(self, X, y=None):
        """Fit the input scaling and build the network, without training.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data whose columns set the scaling.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The estimator, with an untrained network and an empty ``history_``.
        """
        self._validate_params()
        X = self._check_X(X, reset=True)
        self.scaler_ = _scaling.fit_scaler(self.scaling, X)
        x = self._scale(X)
        self.fill_value_ = _scaling.fill_values(x, getattr(self, "feature_names_in_", None))
        self.latent_dim_ = self._resolve_latent_dim(self._filled(x))
        self.model_ = self._build_model(self._filled(x), self._fit_seed())
        self.history_ = {}
        return self

    def _fit_seed(self):
        """The seed of one fit: the same for an int ``random_state``, fresh for None."""
        if self.random_state is None:
            return None
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _training_options(self, n_rows):
        """:class:`~skae._engine.TrainingOptions` for a fit on ``n_rows`` rows."""
        fit_args = _params.fit_args(self.get_params())
        own = {name: fit_args.pop(name) for name in _OWN_FIT_ARGS if name in fit_args}
        for name in ("initial_epoch", "sample_weight", "callbacks"):
            fit_args.pop(name, None)
        return _engine.TrainingOptions(
            epochs=own.get("epochs", self.epochs),
            # No batch larger than the data: 2**62 would overflow TensorFlow's int32.
            batch_size=min(own.get("batch_size", self.batch_size), max(1, n_rows)),
            shuffle=own.get("shuffle", self.shuffle),
            verbose=own.get("verbose", self.verbose),
            early_stopping=self.early_stopping,
            validation_fraction=self.validation_fraction,
            n_iter_no_change=self.n_iter_no_change,
            tol=self.tol,
            lr_schedule=self.lr_schedule,
            callbacks=self._routed_callbacks(),
            fit_args=fit_args,
        )

    def _routed_callbacks(self):
        """``callbacks`` and ``fit__callbacks`` as one flat list (scikeras' routing)."""
        return _params.callbacks(self.get_params())

    # ------------------------------------------------------------------
    # inference on a fitted estimator

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
        per model (see :func:`skae._engine.predict_arrays`). Inputs are then
        finite, so inf or NaN out means the network overflowed.
        """
        if inputs.shape[1] == self.n_features_in_:
            inputs = self._filled(inputs)
        results = _engine.predict_arrays(model, inputs, _INFERENCE_CHUNK, outputs)
        for result in results if isinstance(results, tuple) else (results,):
            if not np.isfinite(result).all():
                raise ValueError(
                    "The network overflowed float32 on some rows, whose values lie far "
                    "outside the range seen in fit. Check the units of the input, or "
                    "refit on data that covers this range."
                )
        return results

    # ------------------------------------------------------------------
    # saving and pickling

    def save(self, path, *, key=None):
        """Save the estimator to one file, without pickle.

        The file is a zip archive holding the network in Keras' native
        ``.keras`` format and the parameters and fitted attributes as plain
        JSON, with checksums. :func:`skae.load` reads it back with Keras'
        safe mode and runs nothing stored in it. Pickle and joblib work too,
        but only load pickles you trust.

        Parameters
        ----------
        path : str or path-like
            Where to write; the ``.skae`` extension is a good choice. An
            existing file is replaced only once the new one is complete, and
            keeps its permission bits. Only the path itself is replaced: a
            symbolic link there is replaced by the file (its target is left
            as it is, never written through); a FIFO, socket, device or
            folder there raises ``FileExistsError``.
        key : bytes or str, default=None
            A secret: adds an HMAC-SHA256 of the file that
            ``skae.load(path, key=key)`` checks, so that a file shipped
            between machines is known to come from someone holding the key.

        Returns
        -------
        path : pathlib.Path
            The file written.

        Raises
        ------
        TypeError
            If a parameter holds an object that plain JSON and Keras' safe
            format cannot describe (a Keras callback, a custom loss
            function, ...). Use pickle or joblib for such estimators.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> import skae
        >>> X = np.random.RandomState(0).normal(size=(100, 4))
        >>> detector = skae.AutoencoderOutlierDetector(epochs=2, random_state=0).fit(X)
        >>> path = detector.save(os.path.join(tempfile.mkdtemp(), "detector.skae"))
        >>> bool(np.array_equal(skae.load(path).score_samples(X), detector.score_samples(X)))
        True
        """
        return _io.save_estimator(self, path, key=key)

    def __getstate__(self):
        # A fitted estimator pickles as its model file (skae/_io/_pickling.py).
        return _io.getstate(self, super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(_io.setstate(type(self), state))

    # ------------------------------------------------------------------
    # the network

    def _starts_as_pca(self):
        """Whether the network starts as PCA (``init``, resolved)."""
        if self.init == "random":
            return False
        if self.init == "pca":
            return True
        plain = self.output_activation == "linear" and self.loss == "mse"
        return self._pca_init_by_default and self.architecture == "dense" and plain

    def _build_model(self, x, seed, weights=None):
        """Build and compile the autoencoder; ``model__*`` parameters reach the builder.

        ``x`` holds the scaled training rows, ``weights`` their weights (for a
        network started as PCA).
        """
        options = dict(
            activation=self.activation,
            output_activation=self.output_activation,
            dropout=self.dropout,
            l1=self.l1,
            code_width=self._code_width(),
            seed=seed,
        )
        build, args, extra = self._builder(x, weights, seed)
        routed = _params.model_args(self.get_params(), getattr(self, "_user_params", set()))
        encoder, decoder = build(*args, **{**options, **extra, **routed})
        model = self._assemble(encoder, decoder, seed)
        model.compile(**self._compile_arguments())
        return model

    def _builder(self, x, weights, seed):
        """``(builder, positional arguments, options)`` of the network (a hook for subclasses)."""
        if self.architecture == "conv":
            shape = image_shape_3d(self.image_shape, x.shape[1])
            filters = {"filters": tuple(self.filters)}
            return build_conv_autoencoder, (shape, self.latent_dim_), filters
        options = {"hidden_layer_sizes": self._hidden_sizes()}
        if self._starts_as_pca():
            start = _pca.pca_start(x, self.latent_dim_, weights)
            return build_pca_residual_autoencoder, start, options
        return build_dense_autoencoder, (x.shape[1], self.latent_dim_), options

    def _code_width(self):
        """Width of the encoder's output: the code itself here."""
        return self.latent_dim_

    def _decoder_width(self):
        """Width of the decoder's input (the code, or its samples for the VAE)."""
        return self.latent_dim_

    def _output_width(self):
        """Width of the network's output: one reconstruction per row."""
        return self.n_features_in_

    def _network_widths(self):
        """Widths of the code, the decoder's input and the output (what a model file checks)."""
        return {
            "code": self._code_width(),
            "decoder_input": self._decoder_width(),
            "output": self._output_width(),
        }

    def _array_sizes(self):
        """Sizes named in ``_array_shapes`` besides the widths (a hook: none here)."""
        return {}

    def get_feature_names_out(self, input_features=None):
        """Names of ``transform``'s output columns: the class name, lowercased, and a number.

        As scikit-learn's ``ClassNamePrefixFeaturesOutMixin`` names them (an
        ``AutoencoderTransformer`` with 2 codes: ``autoencodertransformer0``,
        ``autoencodertransformer1``); a method here rather than one more base
        class.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only used to check the names against those seen in ``fit``.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self, "_n_features_out")
        return _generate_get_feature_names_out(
            self, self._n_features_out, input_features=input_features
        )

    @property
    def _n_features_out(self):
        """Width of ``transform``'s output, for ``get_feature_names_out``."""
        return self.latent_dim_

    def _resolve_latent_dim(self, x, weights=None):
        """``latent_dim``, or for a float, the fewest PCA components keeping that variance."""
        if isinstance(self.latent_dim, Integral):
            self._check_code_width(x.shape[1])
            return int(self.latent_dim)
        return _pca.width_for_variance(x, self.latent_dim, weights)

    # A code wider than the input can copy it unchanged, unless training
    # forbids that: a sparsity penalty (l1 > 0) or corrupted inputs (the
    # denoiser sets this to True).
    _overcomplete_code_allowed = False

    def _check_code_width(self, n_features):
        """Refuse an int ``latent_dim`` wider than the input, as PCA refuses ``n_components``."""
        if self.latent_dim <= n_features or self.l1 > 0 or self._overcomplete_code_allowed:
            return
        raise ValueError(
            f"latent_dim={self.latent_dim} must be at most n_features={n_features}: a code "
            "wider than the input can copy it, as PCA's n_components must be at most "
            "min(n_samples, n_features). Use a narrower code, or l1 > 0 for a sparse, "
            "overcomplete one."
        )

    def _assemble(self, encoder, decoder, seed):
        """Chain encoder and decoder into the autoencoder (a hook for subclasses)."""
        return assemble(encoder, decoder)

    def _set_training_mode(self, target_given):
        """Switch the network for one fit (a hook): ``target_given`` when pairs are given."""

    def _compile_arguments(self):
        """``Model.compile`` arguments: scikeras' routing, with our learning rate."""
        kwargs = _params.compile_args(self.get_params())
        routed_lr = "optimizer__learning_rate" in self.get_params()
        if not isinstance(self.optimizer, keras.optimizers.Optimizer) and not routed_lr:
            # scikeras built the optimizer from its name or class: give it our rate.
            optimizer = kwargs["optimizer"]
            with keras_array_warnings_ignored():  # Keras reads its rate variable
                config = {**optimizer.get_config(), "learning_rate": self.learning_rate}
            kwargs["optimizer"] = type(optimizer).from_config(config)
        if isinstance(self.loss, str) and self.loss in _MASKED_LOSSES:
            kwargs["loss"] = _MASKED_LOSSES[self.loss]()  # NaN in the target: missing cells
        return kwargs

    def _check_loss_skips_missing(self, target):
        masked = isinstance(self.loss, str) and self.loss in _MASKED_LOSSES
        if not masked and np.isnan(target).any():
            raise ValueError(
                f"The training data have missing values (NaN), which loss={self.loss!r} "
                f"cannot skip; use loss='mse' or 'binary_crossentropy', or fill them in "
                "first (e.g. with SimpleImputer)."
            )

    def _hidden_sizes(self):
        """``hidden_layer_sizes`` as a tuple; a single int means one layer, as in MLP."""
        if isinstance(self.hidden_layer_sizes, Integral):
            return (self.hidden_layer_sizes,)
        return tuple(self.hidden_layer_sizes)

    @property
    def encoder_(self):
        """keras.Model: the fitted encoder, mapping scaled inputs to codes."""
        return split_autoencoder(self.model_)[0]

    @property
    def decoder_(self):
        """keras.Model: the fitted decoder, mapping codes to scaled reconstructions."""
        return split_autoencoder(self.model_)[1]

    @property
    def n_iter_(self):
        """int: number of epochs trained, the length of ``history_["loss"]``."""
        return len(self.history_.get("loss", []))

    @property
    def feature_encoder_(self):
        """Deprecated alias of ``scaler_`` (scikeras' name)."""
        _deprecated("feature_encoder_", "scaler_")
        return self.scaler_

    @property
    def target_encoder_(self):
        """Deprecated alias of ``scaler_`` (scikeras' name)."""
        _deprecated("target_encoder_", "scaler_")
        return self.scaler_


def _deprecated(old, new):
    warnings.warn(
        f"{old} is deprecated and will be removed in skae 0.3; use {new}.",
        FutureWarning,
        stacklevel=3,
    )


# The public name (skae.BaseAutoencoder), as documented.
BaseAutoencoder = _BaseAutoencoder
