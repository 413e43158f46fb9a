"""The one check of an estimator's state, wherever the state enters.

A model file (:func:`skae.load`), a pickle and a skops file all end in an
estimator's ``__dict__``; all three go through this module, so that a state
that ``skae.load`` would refuse cannot come in by another door:

- :func:`check_fitted`: the fitted attributes, already decoded, against what
  the estimator's class declares (``_fitted_attributes``,
  ``_optional_attributes``, ``_array_shapes``, ``_positive_attributes``) and
  its parameters: every name declared and none missing, each value of its
  kind and shape, finite and at most ``MAX_MAGNITUDE`` in magnitude, and
  the divisors (``_positive_attributes``, a scaler's factors) positive and
  *normal*: at least the smallest normal float64 (``np.finfo(np.float64).tiny``),
  since dividing by a subnormal overflows to infinity;
- :func:`check_outputs`: a first run of the loaded estimator on a probe batch
  (rows that its scaler maps to 0, +-1, +-3 and standard normal noise), whose
  every output must be finite: a state that passes every check above and
  still breaks the model fails here, at load, not on first use;
- :func:`check_names`: every name of an unpickled ``__dict__``: a parameter,
  a declared fitted attribute or ``model_``, or one of the few private
  attributes scikit-learn and skae set (each of its type); never a name the
  class defines (a method such as ``_scale``, a declaration such as
  ``_fitted_attributes``), never a callable outside the parameters.

Every refusal raises :class:`~skae._io._json.Refused`; the callers name the
file or pickle.
"""

import inspect
import math
import warnings

import keras
import numpy as np
from sklearn.preprocessing import FunctionTransformer

from .. import _scaling
from ._json import Refused

__all__ = [
    "MAX_MAGNITUDE",
    "MAX_WIDTH",
    "SCALER_FITTED",
    "TINY",
    "check_fitted",
    "check_names",
    "check_outputs",
    "parameter_names",
]

# Fitted numbers, and the input-unit values a scaler maps to [-1e3, 1e3], are
# at most this in magnitude: their squares and products stay finite.
MAX_MAGNITUDE = 1e150
# The smallest positive normal float64: a divisor below it overflows.
TINY = float(np.finfo(np.float64).tiny)
# Widths (n_features_in_, latent_dim_) are at most this.
MAX_WIDTH = 1 << 24
# The scalers a state may hold, by class name: skae's, and scaling=None's identity.
SCALERS = {cls.__name__: cls for cls in (FunctionTransformer, *_scaling.SCALERS.values())}
# Fitted attributes of each scaler: "int" (n_features_in_), "count" (a number,
# or one per column), "vector" (one float per column), "vector?" (or None).
SCALER_FITTED = {
    "FunctionTransformer": {"n_features_in_": "int"},
    "MinMaxScaler": {
        "n_features_in_": "int",
        "n_samples_seen_": "count",
        "scale_": "vector",
        "min_": "vector",
        "data_min_": "vector",
        "data_max_": "vector",
        "data_range_": "vector",
    },
    "StandardScaler": {
        "n_features_in_": "int",
        "n_samples_seen_": "count",
        "mean_": "vector?",
        "var_": "vector?",
        "scale_": "vector?",
    },
    "RobustScaler": {"n_features_in_": "int", "center_": "vector?", "scale_": "vector?"},
}


# ----------------------------------------------------------------------
# fitted attributes


def check_fitted(estimator, state):
    """Refuse the fitted attributes ``state`` (name -> decoded value) unless ``estimator``'s
    class declares them all, each of its kind, shape and range, given its parameters."""
    cls = type(estimator)
    kinds = cls._fitted_attributes
    unknown = sorted(set(state) - set(kinds))
    if unknown:
        raise Refused(
            f"it holds the attribute(s) {unknown[:10]}, which {cls.__name__} does not have."
        )
    missing = sorted(set(kinds) - set(state) - set(cls._optional_attributes))
    if missing:
        raise Refused(f"it lacks the fitted attribute(s) {missing[:10]} of {cls.__name__}.")
    sizes = _sizes(estimator, state)
    n = sizes["n_features_in_"]
    for name, value in state.items():
        _check_value(name, kinds[name], value, sizes, cls._array_shapes.get(name))
        if kinds[name] == "scaler":
            _check_scaler(value, name, estimator.scaling, n)
        if name in cls._positive_attributes:
            _check_normal(name, value)
    if estimator.architecture == "conv":
        shape = estimator.image_shape
        if not (
            isinstance(shape, (tuple, list))
            and len(shape) in (2, 3)
            and all(type(v) is int and v > 0 for v in shape)
            and math.prod(shape) == n
        ):
            raise Refused(f"its image_shape {shape!r} does not hold n_features_in_ = {n} values.")


def _sizes(estimator, state):
    """The sizes that ``_array_shapes`` names: the widths, and the class' ``_array_sizes()``."""
    sizes = {}
    for name in ("n_features_in_", "latent_dim_"):
        if name in state:
            value = state[name]
            if not _is_int(value) or not 1 <= value <= MAX_WIDTH:
                raise Refused(f"its {name} is {value!r}, not an int in [1, {MAX_WIDTH}].")
            sizes[name] = int(value)
    if "n_features_in_" not in sizes:
        raise Refused(f"{type(estimator).__name__} declares no n_features_in_.")
    sizes["latent_dim"] = sizes.get("latent_dim_", estimator.latent_dim)
    if type(sizes["latent_dim"]) is not int:
        raise Refused("it holds no latent_dim_ and its latent_dim is not an int.")
    sizes[None] = None
    sizes.update(estimator._array_sizes())  # e.g. the outlier detector's ensemble
    return sizes


def _check_value(name, kind, value, sizes, shape=None):
    """``value`` is of ``kind``, finite and bounded, and of its declared ``shape`` (arrays)."""
    n = sizes["n_features_in_"]
    if kind == "int":
        if not _is_int(value) or not 0 <= value <= (1 << 63) - 1:
            raise Refused(f"its {name} is not a non-negative int.")
    elif kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise Refused(f"its {name} is not a bool.")
    elif kind == "float":
        number = isinstance(value, (float, np.floating)) or _is_int(value)
        if not number or not abs(value) <= MAX_MAGNITUDE:  # NaN fails too
            raise Refused(f"its {name} is beyond {MAX_MAGNITUDE:g} in magnitude, or not a number.")
    elif kind == "array":
        if not (isinstance(value, np.ndarray) and value.dtype == np.float64):
            raise Refused(f"its {name} is not a float64 array.")
        if not np.all(np.abs(value) <= MAX_MAGNITUDE):  # NaN fails too
            raise Refused(f"its {name} is beyond {MAX_MAGNITUDE:g} in magnitude, or NaN.")
        _check_shape(name, value.shape, shape, sizes)
    elif kind == "names":
        if not (
            isinstance(value, np.ndarray)
            and value.shape == (n,)
            and all(isinstance(item, str) for item in value.tolist())
        ):
            raise Refused(f"its {name} is not {n} names, one per feature.")
    elif kind == "history":
        if not isinstance(value, dict) or not all(
            isinstance(key, str)
            and isinstance(values, list)
            and all(isinstance(v, float) for v in values)
            for key, values in value.items()
        ):
            raise Refused(f"its {name} is not a dict of str to lists of floats.")
    elif kind != "scaler":
        raise Refused(f"its {name} has the unknown kind {kind!r}.")


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_shape(name, found, shape, sizes):
    """``found`` matches ``shape``, a tuple of size names (None: any shape; a None size: any)."""
    if shape is None:
        return
    expected = tuple(sizes[size] for size in shape)
    if len(found) != len(expected) or any(
        e is not None and e != a for e, a in zip(expected, found, strict=True)
    ):
        raise Refused(
            f"its {name} has the shape {found}, expected {expected} "
            f"({', '.join(str(size) for size in shape)})."
        )


def _check_normal(name, value):
    """Divisors: positive and normal (a subnormal divisor overflows to infinity)."""
    if not np.all(np.asarray(value, dtype=np.float64) >= TINY):  # NaN fails too
        raise Refused(
            f"its {name} is not positive and normal (at least {TINY:g}): dividing by it "
            "would overflow."
        )


# ----------------------------------------------------------------------
# the probe batch

# The public outputs a probe checks (those the estimator has).
PROBED = ("transform", "predict", "score_samples", "decision_function", "reconstruction_error")


def probe_batch(estimator, n_rows=64, seed=0):
    """Rows in the estimator's input units that its scaler maps to 0, +-1, +-3 and N(0, 1) noise."""
    n = estimator.n_features_in_
    factor, offset = _scaling.affine_map(estimator.scaler_, n)
    noise = np.random.RandomState(seed).normal(size=(n_rows - 5, n))
    steps = np.array([0.0, 1.0, -1.0, 3.0, -3.0])[:, None] * np.ones(n)
    scaled = np.vstack([steps, noise])
    return (scaled - offset) / factor


def check_outputs(estimator):
    """Refuse a loaded estimator unless every output it has is finite on :func:`probe_batch`."""
    X = probe_batch(estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. an array without the fitted feature names
        for method in PROBED:
            if not hasattr(estimator, method):
                continue
            try:
                output = np.asarray(getattr(estimator, method)(X), dtype=np.float64)
            except Exception as error:
                raise Refused(
                    f"its {method} fails on a probe batch ({type(error).__name__}: "
                    f"{str(error)[:200]})."
                ) from error
            if not np.isfinite(output).all():
                raise Refused(
                    f"its {method} gives non-finite values on a probe batch: its fitted "
                    "attributes or weights break the model."
                )


# ----------------------------------------------------------------------
# scalers


def _check_scaler(scaler, where, scaling, n):
    """``scaler`` is the class ``scaling`` makes, fitted on ``n`` columns it maps sanely."""
    expected = FunctionTransformer if scaling is None else _scaling.SCALERS.get(scaling)
    if expected is None or type(scaler) is not expected:
        raise Refused(
            f"its {where} is a {type(scaler).__name__}, but scaling={scaling!r} makes a "
            f"{getattr(expected, '__name__', None)}."
        )
    if isinstance(scaler, FunctionTransformer) and (
        scaler.func is not None or scaler.inverse_func is not None
    ):
        raise Refused(f"its {where} names functions.")
    schema = SCALER_FITTED[expected.__name__]
    fitted = {
        name for name, value in vars(scaler).items() if name.endswith("_") and not name[0] == "_"
    }
    if fitted - {"feature_names_in_"} != set(schema):
        raise Refused(
            f"its {where} has the fitted attributes {sorted(fitted)[:10]}, "
            f"expected {sorted(schema)}."
        )
    if "feature_names_in_" in fitted:
        _check_value(
            f"{where}.feature_names_in_", "names", scaler.feature_names_in_, {"n_features_in_": n}
        )
    for attr, kind in schema.items():
        _check_scaler_value(f"{where}.{attr}", kind, getattr(scaler, attr), n)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        factor, offset = _scaling.affine_map(scaler, n)
        if not (np.all(factor >= TINY) and np.isfinite(factor).all() and np.isfinite(offset).all()):
            raise Refused(
                f"its {where} does not scale every column by a finite, positive, normal, "
                "non-zero factor."
            )
        # Inputs that scale to [-1e3, 1e3]: their squared errors must be finite.
        reach = (np.abs(offset) + 1e3) / factor
        if not (np.all(reach <= MAX_MAGNITUDE) and np.all(factor <= MAX_MAGNITUDE)):
            raise Refused(f"its {where} maps its range beyond {MAX_MAGNITUDE:g} in magnitude.")


def _check_scaler_value(label, kind, value, n):
    if kind == "int":
        if type(value) is not int or value != n:
            raise Refused(f"its {label} is {value!r}, not n_features_in_ = {n}.")
    elif kind == "count":
        counts = np.asarray(value)
        if (
            isinstance(value, (bool, np.bool_))
            or counts.dtype.kind not in "iuf"
            or counts.shape not in ((), (n,))
            or not (np.isfinite(counts).all() and (counts >= 0).all())
        ):
            raise Refused(f"its {label} is not a count of rows.")
    elif not (value is None and kind == "vector?"):
        if not (isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.shape == (n,)):
            raise Refused(f"its {label} is not {n} floats, one per feature.")
        if not np.isfinite(value).all():
            raise Refused(f"its {label} holds NaN or infinity.")


# ----------------------------------------------------------------------
# the names of an unpickled __dict__


def _output_config(value):  # set_output's: {"transform": "pandas"}
    return isinstance(value, dict) and all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()
    )


def _routed_names(value):  # the routed parameters given (model__*, optimizer__*, ...)
    return isinstance(value, (set, frozenset)) and all(
        isinstance(name, str) and "__" in name for name in value
    )


def _metadata_request(value):  # set_fit_request and the like: scikit-learn's own object
    cls = type(value)
    return cls.__name__ == "MetadataRequest" and cls.__module__.startswith("sklearn.")


def _version(value):
    return isinstance(value, str) and len(value) <= 64


# The prefixes of routed parameters (skae/_params.py, and callbacks__*).
ROUTING_PREFIXES = frozenset(
    {"model", "optimizer", "fit", "loss", "callbacks", "compile", "predict", "metrics"}
)
# Private attributes a state may hold (scikit-learn's and skae's), and the
# test of each value. Caches (_transient_attributes) are never pickled.
PRIVATE = {
    "_sklearn_output_config": _output_config,
    "_user_params": _routed_names,
    "_metadata_request": _metadata_request,
    "_sklearn_version": _version,
}


def parameter_names(cls, state):
    """The parameters of ``cls``: its signature's, and the routed names ``state`` lists."""
    signature = inspect.signature(cls.__init__).parameters.values()
    own = {
        p.name
        for p in signature
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    routed = state.get("_user_params", set())
    prefixes = ROUTING_PREFIXES | set(getattr(cls, "_routing_prefixes", ()))
    if _routed_names(routed):
        routed = {name for name in routed if name.split("__", 1)[0] in prefixes}
    else:
        routed = set()
    return own | routed


def check_names(cls, state):
    """Refuse an unpickled ``state`` (a ``__dict__``) that sets a name it may not.

    Every name must be a parameter of ``cls``, a fitted attribute it
    declares, ``model_`` (a Keras model), or one of :data:`PRIVATE` holding
    a value of its type; none may be a name ``cls`` defines (a method or a
    declaration: setting it would shadow it).
    """
    params = parameter_names(cls, state)
    for name, value in state.items():
        if not isinstance(name, str):
            raise Refused(f"it sets the attribute {name!r}, not named by a string.")
        if hasattr(cls, name):
            raise Refused(
                f"it sets {name}, which {cls.__name__} defines: it would replace "
                f"{cls.__name__}.{name}."
            )
        if name in PRIVATE:
            if not PRIVATE[name](value):
                raise Refused(
                    f"its {name} is a {type(value).__name__}, not what scikit-learn sets."
                )
        elif name.startswith("_"):
            raise Refused(f"it sets the private attribute {name}, which {cls.__name__} never has.")
        elif name == "model_":
            if not isinstance(value, keras.Model):
                raise Refused(f"its model_ is a {type(value).__name__}, not a Keras model.")
        elif name not in params and name not in cls._fitted_attributes:
            raise Refused(
                f"it sets {name}, neither a parameter nor a fitted attribute of {cls.__name__}."
            )
