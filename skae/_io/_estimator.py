"""The estimator in a skae model file: its class, parameters and fitted attributes.

Writing (:func:`encode_params`, :func:`encode_state`) stores what the
estimator holds and refuses, with a ``TypeError`` naming the cause, what the
format cannot describe: an attribute its class does not declare in
``_fitted_attributes``, a scaler that is not one of skae's, a parameter that
is neither a plain value nor a Keras object skae/_io/_keras_policy.py accepts.

Reading (:func:`estimator_class`, :func:`build_estimator`,
:func:`decode_state`) treats the JSON as untrusted: a class among skae's
public estimators; parameters named as that class names them (or routed
``model__``/``optimizer__``/... names), no callbacks, then the class' own
``_validate_params``; fitted attributes only those the class declares, each
decoded as its declared kind (the file never chooses what a value becomes),
finite, bounded in magnitude and of consistent shapes; scalers rebuilt from
their fitted arrays, of the class that ``scaling`` names, mapping every
column by a finite positive factor. Every refusal raises
:class:`skae._io._json.Refused`.
"""

import math

import numpy as np
from sklearn.preprocessing import FunctionTransformer

from .. import _scaling
from . import _keras_policy
from ._codec import decode_kind, decode_value, encode_kind, encode_value
from ._json import Refused
from ._registry import estimator_class

__all__ = ["build_estimator", "decode_state", "encode_params", "encode_state"]

# The scalers a file may hold, by class name: skae's (skae/_scaling.py), and
# the identity of scaling=None.
_SCALERS = {cls.__name__: cls for cls in (FunctionTransformer, *_scaling.SCALERS.values())}
# Fitted attributes of each scaler: "int", "count" (a number, or one per
# column), "vector" (one float per column), "vector?" (or None).
_SCALER_FITTED = {
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
# Fitted numbers, and the input-unit values a scaler maps to [-1e3, 1e3], are
# at most this in magnitude: their squares and products stay finite.
_MAX_MAGNITUDE = 1e150
# Widths (n_features_in_, latent_dim_) are at most this.
MAX_WIDTH = 1 << 24
# Parameters that a saved estimator cannot hold (callbacks are Python objects).
_EMPTY_ONLY = ("callbacks", "fit__callbacks")
_ROUTING_PREFIXES = {
    "model",
    "optimizer",
    "fit",
    "loss",
    "callbacks",
    "compile",
    "predict",
    "metrics",
}


# ----------------------------------------------------------------------
# writing


def encode_params(estimator):
    """``(params, encoded)``: the estimator's parameters, and their JSON values."""
    params = estimator.get_params(deep=False)
    encoded = {
        name: encode_value(value, f"parameter {name}", _keras_policy.serialize)
        for name, value in params.items()
    }
    return params, encoded


def encode_state(estimator, params):
    """The JSON of the fitted attributes that ``type(estimator)._fitted_attributes`` declares."""
    cls = type(estimator)
    kinds = cls._fitted_attributes
    optional = getattr(cls, "_optional_attributes", frozenset())
    undeclared = sorted(
        name
        for name in vars(estimator)
        if name not in params
        and name not in kinds
        and name != "model_"
        and not name.startswith("_")
    )
    if undeclared:
        raise TypeError(
            f"save() cannot store {cls.__name__}'s attribute(s) {undeclared}: they are not "
            f"declared in {cls.__name__}._fitted_attributes."
        )
    state = {}
    for name, kind in kinds.items():
        if name not in vars(estimator):
            if name in optional:
                continue
            raise TypeError(
                f"save() cannot store this {cls.__name__}: it has a network but no {name}, "
                f"which {cls.__name__}._fitted_attributes declares and _optional_attributes "
                "does not list (fit it fully; or, if some fitting path leaves it unset, that "
                "list must name it)."
            )
        state[name] = encode_kind(kind, getattr(estimator, name), name, _encode_scaler)
    return state


def _encode_scaler(scaler, where):
    name = type(scaler).__name__
    if _SCALERS.get(name) is not type(scaler):
        raise TypeError(f"save() cannot store {where}: a {name} is not one of skae's scalers.")
    params = scaler.get_params(deep=False)
    schema = _SCALER_FITTED[name]
    fitted = {}
    for attr, value in vars(scaler).items():
        if attr in params or attr.startswith("_"):
            continue
        if attr == "feature_names_in_":
            fitted[attr] = encode_kind("names", value, f"{where}.{attr}")
        elif attr not in schema:
            raise TypeError(
                f"save() cannot store {where}: unknown fitted attribute {attr!r} of {name}."
            )
        else:
            fitted[attr] = encode_value(value, f"{where}.{attr}")
    return {
        "class": name,
        "params": {k: encode_value(v, f"{where}.{k}") for k, v in params.items()},
        "fitted": fitted,
    }


# ----------------------------------------------------------------------
# reading


def build_estimator(name, encoded):
    """An unfitted estimator of the class called ``name``, with the parameters in ``encoded``."""
    cls = estimator_class(name)
    if cls is None:
        raise Refused(f"it names the class {str(name)[:100]!r}, which is not a skae estimator.")
    defaults = set(cls().get_params(deep=False))
    prefixes = _ROUTING_PREFIXES | set(getattr(cls, "_routing_prefixes", ()))
    unknown = sorted(
        name
        for name in encoded
        if name not in defaults and not ("__" in name and name.split("__", 1)[0] in prefixes)
    )
    removed = sorted(set(unknown) & set(getattr(cls, "_removed_parameters", ())))
    if removed:
        # A file of an earlier design of the class: its fitted state means nothing now.
        raise Refused(
            f"it was written by an earlier skae whose {cls.__name__} had the parameter(s) "
            f"{removed}; the {cls.__name__}'s design and model file format have changed "
            "since: fit the estimator again and save it anew."
        )
    if unknown:
        raise Refused(
            f"it holds the parameter(s) {unknown[:10]}, which {cls.__name__} does not have."
        )
    missing = sorted(defaults - set(encoded))
    if missing:
        raise Refused(f"it lacks the parameter(s) {missing[:10]} of {cls.__name__}.")
    params = {
        name: decode_value(value, f"parameter {name}", _keras_policy.deserialize)
        for name, value in encoded.items()
    }
    for name, value in params.items():
        empty = value is None or (isinstance(value, (list, dict)) and not value)
        if (name in _EMPTY_ONLY or name.startswith("callbacks__")) and not empty:
            raise Refused(f"its parameter {name} holds callbacks, which skae files cannot hold.")
    estimator = cls(**params)
    try:
        estimator._validate_params()
    except (ValueError, TypeError) as error:
        raise Refused(f"its parameters are not valid for {cls.__name__}: {error}") from error
    return estimator


def decode_state(estimator, encoded):
    """The fitted attributes in ``encoded``, checked against ``estimator``'s class and params."""
    cls = type(estimator)
    kinds = cls._fitted_attributes
    optional = getattr(cls, "_optional_attributes", frozenset())
    unknown = sorted(set(encoded) - set(kinds))
    if unknown:
        raise Refused(
            f"it holds the attribute(s) {unknown[:10]}, which {cls.__name__} does not have."
        )
    missing = sorted(set(kinds) - set(encoded) - set(optional))
    if missing:
        raise Refused(f"it lacks the fitted attribute(s) {missing[:10]} of {cls.__name__}.")
    if kinds.get("n_features_in_") != "int":
        raise Refused(f"{cls.__name__} declares no n_features_in_.")
    sizes = {}
    for name in ("n_features_in_", "latent_dim_"):
        if name in encoded and kinds.get(name) == "int":
            sizes[name] = decode_kind("int", encoded[name], name)
            if not 1 <= sizes[name] <= MAX_WIDTH:
                raise Refused(f"its {name} is {sizes[name]}.")
    n = sizes["n_features_in_"]
    sizes["latent_dim"] = sizes.get("latent_dim_", estimator.latent_dim)
    sizes[None] = None
    sizes.update(estimator._array_sizes())  # e.g. the outlier detector's ensemble
    if type(sizes["latent_dim"]) is not int:
        raise Refused("it holds no latent_dim_ and its latent_dim is not an int.")
    state = {}
    for name, value in encoded.items():
        kind = kinds[name]
        if kind == "scaler":
            state[name] = _decode_scaler(value, name, estimator.scaling, n)
            continue
        decoded = decode_kind(kind, value, name)
        if kind == "names" and decoded.shape != (n,):
            raise Refused(f"its {name} holds {len(decoded)} names for {n} features.")
        if kind == "array":
            shape = cls._array_shapes.get(name)
            expected = None if shape is None else tuple(sizes[s] for s in shape)
            if expected is not None and (
                len(decoded.shape) != len(expected)
                or any(
                    e is not None and e != a for e, a in zip(expected, decoded.shape, strict=True)
                )
            ):
                raise Refused(
                    f"its {name} has the shape {decoded.shape}, expected "
                    f"{expected} ({', '.join(str(s) for s in shape)})."
                )
        if name in cls._positive_attributes and not np.all(np.asarray(decoded) > 0):
            raise Refused(f"its {name} is not positive.")
        if kind in ("float", "array") and not np.all(np.abs(decoded) <= _MAX_MAGNITUDE):
            raise Refused(f"its {name} is beyond {_MAX_MAGNITUDE:g} in magnitude.")
        state[name] = decoded
    if estimator.architecture == "conv":
        shape = estimator.image_shape
        if not (
            isinstance(shape, (tuple, list))
            and len(shape) in (2, 3)
            and all(type(v) is int and v > 0 for v in shape)
            and math.prod(shape) == n
        ):
            raise Refused(f"its image_shape {shape!r} does not hold n_features_in_ = {n} values.")
    return state


def _decode_scaler(value, where, scaling, n):
    expected = FunctionTransformer if scaling is None else _scaling.SCALERS.get(scaling)
    if not isinstance(value, dict) or set(value) != {"class", "params", "fitted"}:
        raise Refused(f"its {where} is not a scaler as skae writes one.")
    if (
        expected is None
        or value["class"] != expected.__name__
        or _SCALERS.get(value["class"]) is not expected
    ):
        raise Refused(
            f"its {where} is a {str(value['class'])[:100]!r}, but scaling={scaling!r} makes a "
            f"{getattr(expected, '__name__', None)}."
        )
    cls = expected
    params, fitted = value["params"], value["fitted"]
    if not isinstance(params, dict) or not isinstance(fitted, dict):
        raise Refused(f"its {where} is not a scaler as skae writes one.")
    allowed = set(cls().get_params(deep=False))
    if not set(params) <= allowed:
        raise Refused(f"its {where} has the parameter(s) {sorted(set(params) - allowed)[:10]}.")
    scaler = cls(**{name: decode_value(v, f"{where}.{name}") for name, v in params.items()})
    try:
        scaler._validate_params()
    except (ValueError, TypeError) as error:
        raise Refused(f"its {where} has invalid parameters: {error}") from error
    if isinstance(scaler, FunctionTransformer) and (
        scaler.func is not None or scaler.inverse_func is not None
    ):
        raise Refused(f"its {where} names functions.")
    scaler.set_output(transform="default")
    schema = _SCALER_FITTED[cls.__name__]
    if set(fitted) - {"feature_names_in_"} != set(schema):
        raise Refused(
            f"its {where} has the fitted attributes {sorted(fitted)[:10]}, "
            f"expected {sorted(schema)}."
        )
    for attr, encoded in fitted.items():
        label = f"{where}.{attr}"
        if attr == "feature_names_in_":
            names = decode_kind("names", encoded, label)
            if names.shape != (n,):
                raise Refused(f"its {label} holds {len(names)} names for {n} features.")
            setattr(scaler, attr, names)
            continue
        kind, decoded = schema[attr], decode_value(encoded, label)
        if kind == "int":
            if type(decoded) is not int or decoded != n:
                raise Refused(f"its {label} is {decoded!r}, not n_features_in_ = {n}.")
        elif kind == "count":
            counts = np.asarray(decoded)
            if (
                isinstance(decoded, (bool, np.bool_))
                or counts.dtype.kind not in "iuf"
                or counts.shape not in ((), (n,))
            ):
                raise Refused(f"its {label} is not a count of rows.")
            if not (np.isfinite(counts).all() and (counts >= 0).all()):
                raise Refused(f"its {label} is not a count of rows.")
        elif not (decoded is None and kind == "vector?"):
            if not (
                isinstance(decoded, np.ndarray)
                and decoded.dtype.kind == "f"
                and decoded.shape == (n,)
            ):
                raise Refused(f"its {label} is not {n} floats, one per feature.")
            if not np.isfinite(decoded).all():
                raise Refused(f"its {label} holds NaN or infinity.")
        setattr(scaler, attr, decoded)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        factor, offset = _scaling.affine_map(scaler, n)
        if not (np.isfinite(factor).all() and np.isfinite(offset).all() and np.all(factor > 0)):
            raise Refused(
                f"its {where} does not scale every column by a finite, positive, non-zero factor."
            )
        # Inputs that scale to [-1e3, 1e3]: their squared errors must be finite.
        reach = (np.abs(offset) + 1e3) / factor
        if not (np.all(reach <= _MAX_MAGNITUDE) and np.all(factor <= _MAX_MAGNITUDE)):
            raise Refused(f"its {where} maps its range beyond {_MAX_MAGNITUDE:g} in magnitude.")
    return scaler
