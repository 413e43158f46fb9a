"""BaseAutoencoder: the seam between scikit-learn, scikeras and Keras.

This is the only module that imports scikeras. Every estimator in skae
subclasses :class:`BaseAutoencoder`, which keeps scikeras' routing of
``model__*``, ``optimizer__*``, ``fit__*`` and ``callbacks`` parameters and
fixes, here and only here, the scikeras defects that bite an autoencoder:

1. scikeras puts its mixins right of ``BaseEstimator``, so on scikit-learn
   >= 1.6 the mixins' tags are lost. skae puts mixins left and declares
   ``__sklearn_tags__``.
2. scikeras' ``tensorflow_random_state`` sets ``TF_DETERMINISTIC_OPS`` before
   asking whether op determinism was on, so it never switches it off again:
   after one seeded fit, any unseeded random op in the process fails with
   "Random ops require a seed ...". skae seeds its layers and the fit itself
   (:func:`_seeded`) and never touches op determinism.
3. ``Model.predict`` costs tens of milliseconds per call even for ten rows.
   skae runs inference through a compiled forward pass in fixed-size chunks,
   and trains through a compiled loop per epoch (``skae/_training.py``).
4. ``BaseWrapper.fit(X, y)`` requires ``y``; an autoencoder in a Pipeline is
   called as ``fit(X, y=None, sample_weight=None)``.
"""

import copy
import functools
import random
from contextlib import contextmanager
from numbers import Integral, Real

import keras
import numpy as np
import pandas as pd
from scikeras._utils import route_params
from scikeras.wrappers import BaseWrapper
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import (
    FunctionTransformer,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _persistence
from ._architectures import (
    build_conv_autoencoder,
    build_dense_autoencoder,
    split_autoencoder,
)
from ._sklearn_compat import HasMethods, Interval, StrOptions, _fit_context
from ._training import fit_model, predict_arrays

# Rows per compiled forward call: small inputs go in one call, large ones are
# cut so that only one chunk of intermediate activations is alive at a time.
_INFERENCE_CHUNK = 8192

_SCALERS = {
    "standard": StandardScaler,
    "minmax": MinMaxScaler,
    "robust": RobustScaler,
}

# Largest magnitude the float32 network can take in.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _reject_dates(X, who):
    """Dates and durations are not numbers to feed a network as they are."""
    dtypes = X.dtypes if isinstance(X, pd.DataFrame) else [getattr(X, "dtype", None)]
    if any(getattr(dtype, "kind", None) in ("m", "M") for dtype in dtypes):
        raise TypeError(
            f"{who} needs numeric input, but got dates or durations (datetime64 or "
            "timedelta64). Convert them to numbers first, e.g. seconds since a "
            "reference time, or calendar features such as the hour or the weekday."
        )


@contextmanager
def _explained_errors(who, input_name="X"):
    """Reword the validation errors of numpy and scikit-learn that do not say what to do."""
    try:
        yield
    except (ValueError, TypeError, OverflowError) as error:
        message = str(error)
        if "could not convert" in message or "float() argument" in message:
            raise (ValueError if isinstance(error, ValueError) else TypeError)(
                f"{who} needs numeric input, but got values that are not numbers "
                f"({message}). Encode text or categorical columns first, e.g. with "
                "OneHotEncoder in a ColumnTransformer, and fill in missing values "
                "(None, pd.NA), e.g. with SimpleImputer."
            ) from error
        if message.startswith("Complex data not supported"):
            # scikit-learn's message goes on to print the whole array; its
            # first words stay, as its estimator checks look for them.
            raise ValueError(
                f"Complex data not supported: {who} needs real numbers, but "
                f"{input_name} is complex. Pass the part that matters "
                f"({input_name}.real or np.abs({input_name})), or both parts as "
                f"columns: np.hstack([{input_name}.real, {input_name}.imag])."
            ) from error
        if "setting an array element with a sequence" in message:
            raise ValueError(
                f"{who} needs {input_name} as a 2-D table of numbers, but its rows "
                f"differ in length or its cells hold sequences ({message})."
            ) from error
        if "too large to convert" in message:  # Python ints beyond float64
            raise ValueError(
                f"{input_name} holds a number too large for a float ({message}). "
                "Rescale it first, e.g. divide by a power of ten or take logarithms."
            ) from error
        raise


def _within_float32(X, who, input_name="X"):
    """``X``, once checked to hold no value beyond the float32 range of the network."""
    if X.dtype == np.float64 and X.size:
        peak = max(-X.min(), X.max())
        if peak > _FLOAT32_MAX:
            raise ValueError(
                f"{input_name} holds values up to {peak:.3g} in magnitude, beyond the "
                f"float32 range (+-{_FLOAT32_MAX:.2g}) in which {who} computes. "
                "Rescale it first, e.g. divide by a power of ten or take logarithms."
            )
    return X


@contextmanager
def _seeded(seed):
    """Seed Python and NumPy for a block, then restore them.

    Python's seed drives Keras' default seeds. TensorFlow's global seed, which
    drives the shuffling, goes to :func:`skae._training.fit_model` instead:
    setting it clears TensorFlow's kernel caches, which cost every
    ``partial_fit`` a fresh start of its compiled epoch. Op determinism is
    left alone (defect 2).
    """
    if seed is None:
        yield
        return
    python_state, numpy_state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def _affine_map(scaler, n_features):
    """``(scale, offset)`` with ``scaler.transform(X) == X * scale + offset``.

    True of every ``scaling`` option (min-max, standard, robust, identity).
    The map is read off the raw values that scale to 0 and to ``2**32``
    (``inverse_transform``): a difference over so long a step keeps its
    precision for columns far from 0 (timestamps, values of 1e17), where
    ``transform(1) - transform(0)`` rounded the scale to 0 and the
    reconstructions to inf.
    """
    span = 2.0**32
    probes = np.stack([np.zeros(n_features), np.full(n_features, span)])
    at_zero, at_span = np.asarray(scaler.inverse_transform(probes), dtype=np.float64)
    scale = span / (at_span - at_zero)
    return scale, -at_zero * scale


def fit_method(method):
    """Decorate a public ``fit``/``partial_fit``: validate parameters, and undo a failed call.

    Validation is scikit-learn's ``_fit_context``. If the call raises anything,
    a diverged loss, a bad input or Ctrl-C (``KeyboardInterrupt``) included,
    the estimator is put back as it was before the call: unfitted after a
    first fit, and with its former weights, optimizer state and history after
    ``partial_fit`` or a warm start. Never half-fitted.
    """

    @functools.wraps(method)
    def atomic(self, *args, **kwargs):
        snapshot = self._snapshot()
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self._restore(snapshot)
            raise

    return _fit_context(prefer_skip_nested_validation=True)(atomic)


def _is_lr_schedule(value):
    return isinstance(value, keras.optimizers.schedules.LearningRateSchedule)


class BaseAutoencoder(BaseWrapper):
    """Base class of skae's estimators: a scikeras ``BaseWrapper`` for autoencoders.

    Not meant to be used directly: use :class:`skae.AutoencoderTransformer`
    or another public estimator. Subclasses set the scikit-learn mixins on the
    left of this class and implement the public methods of their role.

    Parameters are documented on the public estimators.
    """

    _parameter_constraints = {
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "architecture": [StrOptions({"dense", "conv"})],
        "image_shape": [tuple, list, None],
        "filters": ["array-like"],
        "hidden_layer_sizes": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "activation": [str],
        "output_activation": [str],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "l1": [Interval(Real, 0, None, closed="left")],
        "scaling": [StrOptions(set(_SCALERS)), None],
        "loss": [str, callable, HasMethods("call")],
        "optimizer": [str, type, HasMethods("apply_gradients")],
        "learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            HasMethods("get_config"),
        ],
        "lr_schedule": [StrOptions({"plateau"}), None],
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
        vars(self).update(kwargs)
        if kwargs:
            self._user_params = set(kwargs)

    # ------------------------------------------------------------------
    # scikit-learn surface shared by every estimator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False  # bit-identical on CPU with an int random_state
        return tags

    def __repr__(self, N_CHAR_MAX=700):
        # scikeras prints every parameter on its own line; scikit-learn's
        # repr shows only those that differ from their defaults.
        return super(BaseWrapper, self).__repr__(N_CHAR_MAX=N_CHAR_MAX)

    def _validate_params(self):
        unknown = sorted(
            name for name in getattr(self, "_user_params", ()) if "__" not in name
        )
        if unknown:
            raise ValueError(
                f"Unknown parameter(s) {unknown} for {type(self).__name__}. Routed "
                "parameters need a prefix such as 'model__', 'optimizer__' or 'fit__'."
            )
        super()._validate_params()
        sizes = self._hidden_sizes()
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
        if self.lr_schedule == "plateau" and _is_lr_schedule(self.learning_rate):
            raise ValueError(
                "lr_schedule='plateau' changes a float learning_rate; with a Keras "
                "LearningRateSchedule as learning_rate, pass lr_schedule=None."
            )

    def _fit_autoencoder(self, X, target, sample_weight):
        """Fit on ``X`` to reconstruct ``target`` (``X`` itself when None)."""
        self._fit(
            X,
            target,
            sample_weight=sample_weight,
            warm_start=self.warm_start,
            # scikeras' precedence: a routed fit__epochs beats epochs
            epochs=getattr(self, "fit__epochs", self.epochs),
            initial_epoch=0,
        )
        return self

    @fit_method
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
        initial_epoch = self.current_epoch if self.initialized_ else 0
        self._fit(
            X,
            None,
            sample_weight=sample_weight,
            warm_start=True,
            epochs=1,
            initial_epoch=initial_epoch,
            partial=True,
        )
        return self

    def save(self, path):
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
            existing file is replaced only once the new one is complete.

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
        return _persistence.save_estimator(self, path)

    def __getstate__(self):
        # Pickles carry the versions that wrote them, like skae's own files.
        return {**super().__getstate__(), "_skae_versions": _persistence.versions()}

    def __setstate__(self, state):
        saved = state.pop("_skae_versions", None)
        if saved is not None:
            _persistence._check_versions(saved, strict=False)
        super().__setstate__(state)

    def _snapshot(self):
        """What :func:`fit_method` needs to undo a failed call."""
        state = dict(vars(self))
        if "history_" in state:
            state["history_"] = copy.deepcopy(state["history_"])
        model = state.get("model_")
        if model is None or not model.built:
            return state, None, None
        optimizer = getattr(model, "optimizer", None)
        slots = [v.numpy() for v in optimizer.variables] if optimizer is not None else []
        return state, model.get_weights(), slots

    def _restore(self, snapshot):
        state, weights, slots = snapshot
        vars(self).clear()
        vars(self).update(state)
        if weights is None:
            return
        self.model_.set_weights(weights)
        variables = self.model_.optimizer.variables
        if len(variables) == len(slots):
            for variable, value in zip(variables, slots):
                variable.assign(value)

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
        """int: number of epochs in ``history_``."""
        return len(self.history_["loss"])

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
        reconstruction = self._run(self.model_, self._scale(X_checked))
        return self._like_input(
            self._unscale(reconstruction).astype(X_checked.dtype, copy=False), X
        )

    def reconstruction_error(self, X, per_feature=False):
        """Squared reconstruction error of each row, or of each cell.

        The error is measured in the input's own units (after undoing the
        scaling), like ``PCA.inverse_transform(PCA.transform(X))``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to reconstruct.
        per_feature : bool, default=False
            If False, return the mean squared error of each row. If True,
            return the squared error of each cell, a DataFrame with ``X``'s
            index and columns when ``X`` is a DataFrame.

        Returns
        -------
        errors : ndarray of shape (n_samples,) or (n_samples, n_features)
            Float64 errors (a DataFrame when ``per_feature`` and ``X`` is one).
        """
        check_is_fitted(self)
        X_checked = self._check_X(X).astype(np.float64)
        reconstruction = self._unscale(self._run(self.model_, self._scale(X_checked)))
        cell_errors = (X_checked - reconstruction.astype(np.float64)) ** 2
        if not per_feature:
            return cell_errors.mean(axis=1)
        return self._like_input(cell_errors, X)

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

    # ------------------------------------------------------------------
    # data in and out of the network

    def _check_X(self, X, reset=False):
        """Validate ``X`` (against what ``fit`` saw unless ``reset``)."""
        who = type(self).__name__
        _reject_dates(X, who)
        with _explained_errors(who):
            X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])
        return _within_float32(X, who)

    def _check_array(self, array, input_name):
        """Validate an array other than ``X`` (a clean target, codes) as ``_check_X`` does."""
        who = type(self).__name__
        _reject_dates(array, who)
        with _explained_errors(who, input_name):
            array = check_array(
                array, dtype=[np.float64, np.float32], input_name=input_name, estimator=who
            )
        return _within_float32(array, who, input_name)

    @staticmethod
    def _like_input(values, X):
        """``values`` as a DataFrame with ``X``'s index and columns when ``X`` is one."""
        if isinstance(X, pd.DataFrame):
            return pd.DataFrame(values, index=X.index, columns=X.columns)
        return values

    def _scale(self, X):
        # Every scaling option is a per-column affine map: applying it directly
        # skips the scaler re-validating rows that _check_X already checked.
        scale, offset = self._input_affine
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = (X * scale + offset).astype(keras.backend.floatx())
        if not np.isfinite(scaled).all():
            raise ValueError(
                "X holds values so far outside the range seen in fit that the input "
                "scaling takes them beyond the float32 range of the network. Check "
                "the units of X, or refit on data that covers this range."
            )
        return scaled

    def _unscale(self, outputs):
        scale, offset = self._output_affine
        return (outputs - offset) / scale

    @staticmethod
    def _run(model, inputs):
        """Run a Keras model without ``Model.predict``'s per-call overhead.

        One compiled forward pass per chunk of ``_INFERENCE_CHUNK`` rows,
        cached per model (see :func:`skae._training.predict_arrays`).
        Inputs are finite, so inf or NaN out means the network overflowed.
        """
        outputs = predict_arrays(model, inputs, _INFERENCE_CHUNK)
        if not np.isfinite(outputs).all():
            raise ValueError(
                "The network overflowed float32 on some rows, whose values lie far "
                "outside the range seen in fit. Check the units of the input, or "
                "refit on data that covers this range."
            )
        return outputs

    # ------------------------------------------------------------------
    # scikeras hooks

    def _check_model_param(self):
        # skae always builds its own model; scikeras' ``model``/``build_fn``
        # parameters do not exist here.
        return self._keras_build_fn

    def _make_scaler(self):
        if self.scaling is None:
            scaler = FunctionTransformer()
        else:
            scaler = _SCALERS[self.scaling]()
        # Internal scalers must return arrays whatever the global set_output.
        return scaler.set_output(transform="default")

    @property
    def feature_encoder(self):
        """Unfitted scaler applied to the network's input."""
        return self._make_scaler()

    @property
    def target_encoder(self):
        """Unfitted scaler applied to the reconstruction target."""
        return self._make_scaler()

    def _validate_data(self, X=None, y=None, reset=False):
        """Validate ``X`` (and a target of the same shape) for training."""
        X = self._check_X(X, reset=reset)
        if y is None:
            return X, X
        y = np.asarray(y, dtype=X.dtype)
        if y.shape != X.shape:
            raise ValueError(
                f"The target must have the shape of X {X.shape}, got {y.shape}."
            )
        if not np.isfinite(y).all():
            raise ValueError("The target contains NaN or infinity.")
        return X, y

    def _hidden_sizes(self):
        """``hidden_layer_sizes`` as a tuple; a single int means one layer, as in MLP."""
        if isinstance(self.hidden_layer_sizes, Integral):
            return (self.hidden_layer_sizes,)
        return tuple(self.hidden_layer_sizes)

    def _draw_seed(self):
        if self.random_state is None:
            return None
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _initialize(self, X, y=None):
        # scikeras seeds through its own context manager when _random_state is
        # set, which leaks op determinism (defect 2): keep it None and seed here.
        self._random_state = None
        self._seed = self._draw_seed()
        X, y = self._validate_data(X, y, reset=True)
        if self.architecture == "conv":
            self._image_shape(X.shape[1])  # a clear error before Keras sees it
        self.feature_encoder_ = self.feature_encoder.fit(X)
        self.target_encoder_ = self.target_encoder.fit(y)
        self._input_affine = _affine_map(self.feature_encoder_, X.shape[1])
        self._output_affine = _affine_map(self.target_encoder_, X.shape[1])
        self._n_features_out = self.latent_dim
        self.model_ = self._build_keras_model()
        return X, y

    def _keras_build_fn(self, meta, compile_kwargs, params, **model_kwargs):
        """Build and compile the autoencoder; ``model__*`` parameters land here."""
        options = dict(
            activation=self.activation,
            output_activation=self.output_activation,
            dropout=self.dropout,
            l1=self.l1,
            corruption=self._corruption_layer(),
            kl_weight=self._kl_weight(),
            seed=self._seed,
        )
        n_features = meta["n_features_in_"]
        if self.architecture == "conv":
            options["filters"] = tuple(self.filters)
            build, shape = build_conv_autoencoder, self._image_shape(n_features)
        else:
            options["hidden_layer_sizes"] = self._hidden_sizes()
            build, shape = build_dense_autoencoder, n_features
        autoencoder, _, _ = build(shape, self.latent_dim, **{**options, **model_kwargs})
        autoencoder.compile(**compile_kwargs)
        return autoencoder

    def _corruption_layer(self):
        """Training-only input corruption; none for a plain autoencoder."""
        return None

    def _kl_weight(self):
        """Weight of a variational KL term; None for a deterministic code."""
        return None

    def _image_shape(self, n_features):
        """``image_shape`` as ``(height, width, channels)``, checked against the data."""
        shape = self.image_shape
        if shape is None:
            raise ValueError(
                "architecture='conv' needs image_shape=(height, width) or "
                "(height, width, channels), e.g. image_shape=(28, 28) for MNIST."
            )
        shape = tuple(shape) if len(shape) == 3 else (*tuple(shape), 1)
        if len(shape) != 3 or not all(isinstance(v, Integral) and v > 0 for v in shape):
            raise ValueError(
                f"image_shape must be 2 or 3 positive ints, got {self.image_shape!r}."
            )
        if np.prod(shape) != n_features:
            raise ValueError(
                f"image_shape={self.image_shape!r} holds {int(np.prod(shape))} values per "
                f"image, but X has {n_features} features. Images must arrive "
                "flattened, one row of height * width * channels values each."
            )
        return shape

    def _get_compile_kwargs(self):
        kwargs = super()._get_compile_kwargs()
        routed_lr = "optimizer__learning_rate" in self.get_params()
        if not isinstance(self.optimizer, keras.optimizers.Optimizer) and not routed_lr:
            # scikeras built the optimizer from its name or class: give it our rate.
            optimizer = kwargs["optimizer"]
            config = {**optimizer.get_config(), "learning_rate": self.learning_rate}
            kwargs["optimizer"] = type(optimizer).from_config(config)
        return kwargs

    def _fit_keras_model(
        self, X, y, sample_weight, warm_start, epochs, initial_epoch, partial=False
    ):
        """Train ``model_`` with validation split, stopping and schedule set up.

        ``partial`` marks a one-epoch ``partial_fit`` step: no validation split,
        no stopping rule, and a seed that moves on with the epoch count.

        Training runs one compiled call per epoch
        (:func:`skae._training.fit_arrays`); routed ``fit__*`` arguments it
        does not know (``validation_freq``, ``class_weight``, ...) send it to
        ``Model.fit`` instead (:func:`skae._training.fit_model`).
        """
        floatx = keras.backend.floatx()
        X, y = np.asarray(X, dtype=floatx), np.asarray(y, dtype=floatx)
        # Callbacks are built here, for every call: scikeras built them only
        # with a new model, so callbacks set after a fit were ignored by
        # partial_fit and warm starts.
        self._initialize_callbacks()
        fit_args = route_params(
            self.get_params(), destination="fit", pass_filter=self._fit_kwargs
        )
        fit_args = {k: v for k, v in fit_args.items() if not k.startswith("callbacks")}
        validate = self.early_stopping and not partial
        if validate:
            X, y, sample_weight, validation_data = self._split_validation(
                X, y, sample_weight
            )
            fit_args["validation_data"] = validation_data
        fit_args.update(
            epochs=initial_epoch + epochs,
            initial_epoch=initial_epoch,
            sample_weight=sample_weight,
            callbacks=self._fit_callbacks + self._schedule_callbacks(validate, partial),
        )
        seed = None if self._seed is None else self._seed + initial_epoch
        with _seeded(seed):
            history = fit_model(self.model_, X, y, seed=seed, **fit_args)
        self._record_history(history.history, keep=warm_start and initial_epoch > 0)

    def _split_validation(self, X, y, sample_weight):
        arrays = [X, y] + ([] if sample_weight is None else [sample_weight])
        if len(X) < 2:
            raise ValueError(
                f"early_stopping=True holds out validation_fraction={self.validation_fraction} "
                f"of the rows, which needs at least 2 samples; got {len(X)}."
            )
        parts = train_test_split(
            *arrays,
            test_size=max(1, round(self.validation_fraction * len(X))),
            random_state=self._seed,
        )
        train, valid = parts[0::2], parts[1::2]
        if sample_weight is None:
            return train[0], train[1], None, (valid[0], valid[1])
        return train[0], train[1], train[2], tuple(valid)

    def _schedule_callbacks(self, validate, partial):
        monitor = "val_loss" if validate else "loss"
        callbacks = [keras.callbacks.TerminateOnNaN()]
        if partial or self.n_iter_no_change is None:
            return callbacks
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor,
                patience=self.n_iter_no_change,
                min_delta=self.tol,
                restore_best_weights=validate,
            )
        )
        if self.lr_schedule == "plateau":
            callbacks.append(
                keras.callbacks.ReduceLROnPlateau(
                    monitor=monitor,
                    factor=0.5,
                    patience=max(1, self.n_iter_no_change // 2),
                    min_delta=self.tol,
                    verbose=int(self.verbose > 0),
                )
            )
        return callbacks

    def _record_history(self, new_history, keep):
        if not keep or not hasattr(self, "history_"):
            self.history_ = {}
        for key, values in new_history.items():
            self.history_.setdefault(key, []).extend(float(v) for v in values)
        losses = self.history_.get("loss", [])
        if not losses or not np.isfinite(losses[-1]):
            raise ValueError(
                f"Training diverged: the loss became {losses[-1] if losses else 'undefined'} "
                f"at epoch {len(losses)}. Lower learning_rate or check the input scaling."
            )
