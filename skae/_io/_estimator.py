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

from sklearn.preprocessing import FunctionTransformer

from .. import _scaling
from . import _keras_policy
from ._codec import decode_kind, decode_value, encode_kind, encode_value
from ._json import Refused
from ._registry import estimator_class
from ._state import MAX_WIDTH, SCALER_FITTED, check_fitted

__all__ = ["build_estimator", "decode_state", "encode_params", "encode_state"]

# The scalers a file may hold, by class name: skae's (skae/_scaling.py), and
# the identity of scaling=None.
_SCALERS = {cls.__name__: cls for cls in (FunctionTransformer, *_scaling.SCALERS.values())}
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
    schema = SCALER_FITTED[name]
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
    """The fitted attributes in ``encoded``, decoded by their declared kinds, then checked
    against ``estimator``'s class and params by the one validator (:mod:`._state`)."""
    cls = type(estimator)
    kinds = cls._fitted_attributes
    unknown = sorted(set(encoded) - set(kinds))
    if unknown:
        raise Refused(
            f"it holds the attribute(s) {unknown[:10]}, which {cls.__name__} does not have."
        )
    if kinds.get("n_features_in_") != "int" or "n_features_in_" not in encoded:
        raise Refused(f"it lacks the fitted attribute n_features_in_ of {cls.__name__}.")
    n = decode_kind("int", encoded["n_features_in_"], "n_features_in_")
    if not 1 <= n <= MAX_WIDTH:
        raise Refused(f"its n_features_in_ is {n}.")
    state = {}
    for name, value in encoded.items():
        if kinds[name] == "scaler":
            state[name] = _decode_scaler(value, name, estimator.scaling, n)
        else:
            state[name] = decode_kind(kinds[name], value, name)
    check_fitted(estimator, state)
    return state


def _decode_scaler(value, where, scaling, n):
    """The scaler in ``value``, of the class ``scaling`` makes (its values checked later)."""
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
    scaler.set_output(transform="default")
    schema = SCALER_FITTED[cls.__name__]
    if set(fitted) - {"feature_names_in_"} != set(schema):
        raise Refused(
            f"its {where} has the fitted attributes {sorted(fitted)[:10]}, "
            f"expected {sorted(schema)}."
        )
    for attr, encoded in fitted.items():
        label = f"{where}.{attr}"
        if attr == "feature_names_in_":
            setattr(scaler, attr, decode_kind("names", encoded, label))
        else:
            setattr(scaler, attr, decode_value(encoded, label))
    return scaler
