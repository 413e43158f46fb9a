"""Plain values <-> JSON for skae's model files, read as untrusted input.

:func:`encode_value`/:func:`decode_value` for parameters (plain JSON, with
tagged objects ``{"__skae__": kind, ...}`` for tuples, dicts, non-finite
floats, NumPy scalars and arrays, a ``RandomState`` and, where the caller
allows them, Keras objects), and :func:`encode_kind`/:func:`decode_kind` for
fitted attributes, whose kind the estimator class declares
(``_fitted_attributes``): the file never chooses what a value becomes. The
bytes themselves are parsed by the bounded reader of :mod:`._json`.

Every refusal raises :class:`~._json.Refused`, a ``ValueError`` whose message
says what is wrong without naming the file; :mod:`._persistence` adds the
path. Decoding never calls anything the file names: Keras objects are handed
to a callback that the caller provides (:mod:`._keras_policy`'s safe
resolver).
"""

import math

import numpy as np

from ._json import Refused

__all__ = ["decode_kind", "decode_value", "encode_kind", "encode_value"]

# Largest array (values) and integer the codec reads.
MAX_ARRAY_SIZE = 1 << 28
MAX_INT = (1 << 63) - 1
_TAG = "__skae__"
_KINDS = ("int", "float", "bool", "array", "names", "scaler", "history")


# ----------------------------------------------------------------------
# parameters: plain values, tagged where JSON has no type for them


def encode_value(value, where, keras_object=None):
    """``value`` as JSON.

    ``keras_object(value, where)`` encodes a Keras object; None refuses them.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.ndarray):
        return _encode_array(value, where)
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"save() cannot store {where}: a NumPy scalar of dtype {value.dtype}.")
        return {_TAG: "scalar", "dtype": value.dtype.str, "value": _encode_number(value.item())}
    if isinstance(value, (int, float)):
        return _encode_number(value)
    if isinstance(value, list):
        return [encode_value(item, f"{where}[{i}]", keras_object) for i, item in enumerate(value)]
    if isinstance(value, tuple):
        return {_TAG: "tuple", "items": [encode_value(item, where, keras_object) for item in value]}
    if isinstance(value, (set, frozenset)):
        if not all(isinstance(item, (str, int, float)) for item in value):
            raise TypeError(
                f"save() cannot store {where}: a set of other than strings and numbers."
            )
        items = [encode_value(item, where) for item in sorted(value, key=repr)]
        return {_TAG: "set", "items": items}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        items = {
            key: encode_value(item, f"{where}.{key}", keras_object) for key, item in value.items()
        }
        return {_TAG: "dict", "items": items}
    if isinstance(value, np.random.RandomState):
        _, key, pos, has_gauss, cached = value.get_state(legacy=True)
        return {
            _TAG: "random_state",
            "key": [int(v) for v in key],
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": _encode_number(float(cached)),
        }
    if keras_object is not None:
        encoded = keras_object(value, where)
        if encoded is not None:
            return {_TAG: "keras", "config": encoded}
    raise TypeError(
        f"save() cannot store {where} = {value!r} ({type(value).__name__}) without "
        "pickle. Use strings, numbers or built-in Keras objects for parameters, or "
        "pickle/joblib for estimators holding other Python objects."
    )


def _encode_number(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise TypeError(f"save() cannot store the integer {value}: beyond 64 bits.")
        return value
    if not math.isfinite(value):
        return {_TAG: "float", "value": repr(float(value))}
    return float(value)


def _encode_array(array, where):
    if array.dtype.kind not in "biuf":
        raise TypeError(f"save() cannot store {where}: an array of dtype {array.dtype}.")
    values = [_encode_number(v) for v in array.ravel().tolist()]
    return {_TAG: "ndarray", "dtype": array.dtype.str, "shape": list(array.shape), "values": values}


def decode_value(value, where, keras_object=None):
    """The Python value that :func:`encode_value` encoded.

    ``keras_object(config, where)`` resolves Keras objects; None refuses them.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return _check_int(value, where)
    if isinstance(value, float):
        return _check_finite(value, where)
    if isinstance(value, list):
        return [decode_value(item, f"{where}[{i}]", keras_object) for i, item in enumerate(value)]
    if not isinstance(value, dict):
        raise Refused(f"{where} is a {type(value).__name__}.")
    kind = value.get(_TAG)
    if kind == "tuple":
        _keys(value, where, "items")
        items = _list(value["items"], where)
        return tuple(decode_value(item, where, keras_object) for item in items)
    if kind == "dict":
        _keys(value, where, "items")
        items = value["items"]
        if not isinstance(items, dict):
            raise Refused(f"{where} is a dict without items.")
        return {
            key: decode_value(item, f"{where}.{key}", keras_object) for key, item in items.items()
        }
    if kind == "set":
        _keys(value, where, "items")
        items = [decode_value(item, where) for item in _list(value["items"], where)]
        if not all(isinstance(item, (str, int, float)) for item in items):
            raise Refused(f"{where} is a set of other than strings and numbers.")
        return set(items)
    if kind == "float":
        _keys(value, where, "value")
        return _decode_special_float(value["value"], where)
    if kind == "scalar":
        _keys(value, where, "dtype", "value")
        dtype = _numeric_dtype(value["dtype"], where)
        number = value["value"]
        if isinstance(number, dict):
            if dtype.kind != "f":
                raise Refused(f"{where} is an integer scalar that is not an integer.")
            special = number.get("value") if number.get(_TAG) == "float" else None
            number = _decode_special_float(special, where)
        elif not isinstance(number, (int, float)):
            raise Refused(f"{where} is a scalar that is not a number.")
        try:
            return _exact_scalar(dtype, number)
        except (OverflowError, ValueError, TypeError) as error:
            raise Refused(f"{where}: {number!r} is not a {dtype} value.") from error
    if kind == "ndarray":
        _keys(value, where, "dtype", "shape", "values")
        dtype = _numeric_dtype(value["dtype"], where)
        shape = _shape(value["shape"], where)
        values = []
        for item in _list(value["values"], where):
            if isinstance(item, dict) and item.get(_TAG) == "float" and dtype.kind == "f":
                _keys(item, where, "value")
                values.append(_decode_special_float(item["value"], where))
            elif isinstance(item, (int, float)):
                values.append(item)
            else:
                raise Refused(f"{where} holds a value that is not a number.")
        return _array(values, dtype, shape, where)
    if kind == "random_state":
        return _decode_random_state(value, where)
    if kind == "keras":
        _keys(value, where, "config")
        if keras_object is None:
            raise Refused(f"{where} holds a Keras object, which is not allowed there.")
        return keras_object(value["config"], where)
    raise Refused(f"{where} holds an unknown value kind {kind!r}.")


def _exact_scalar(dtype, number):
    if dtype.kind in "iub":
        if isinstance(number, float) or isinstance(number, bool) != (dtype.kind == "b"):
            raise ValueError("not an integer")
        info = np.iinfo(dtype) if dtype.kind != "b" else None
        if info is not None and not info.min <= number <= info.max:
            raise OverflowError("out of range")
        return dtype.type(number)
    return dtype.type(number)


def _decode_random_state(value, where):
    _keys(value, where, "key", "pos", "has_gauss", "cached_gaussian")
    key = _list(value["key"], where)
    if len(key) != 624 or not all(type(v) is int and 0 <= v < 1 << 32 for v in key):
        raise Refused(f"{where} is not a Mersenne Twister state (624 unsigned 32-bit integers).")
    pos, has_gauss, cached = value["pos"], value["has_gauss"], value["cached_gaussian"]
    if (
        type(pos) is not int
        or not 0 <= pos <= 624
        or has_gauss not in (0, 1)
        or type(has_gauss) is not int
    ):
        raise Refused(f"{where} is not a valid random state.")
    if isinstance(cached, dict) or type(cached) not in (int, float) or not math.isfinite(cached):
        raise Refused(f"{where} is not a valid random state.")
    random_state = np.random.RandomState()
    random_state.set_state(
        ("MT19937", np.array(key, dtype=np.uint32), pos, has_gauss, float(cached))
    )
    return random_state


# ----------------------------------------------------------------------
# fitted attributes, by the kind the estimator class declares


def encode_kind(kind, value, where, scaler_encoder=None):
    """A fitted attribute of ``kind`` as JSON; raises ``TypeError`` if it is not of that kind."""
    if kind == "int":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(
                f"save() cannot store {where}: an int was expected, got {type(value).__name__}."
            )
        return _encode_number(int(value))
    if kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(
                f"save() cannot store {where}: a bool was expected, got {type(value).__name__}."
            )
        return bool(value)
    if kind == "float":
        number = isinstance(value, (int, float, np.integer, np.floating))
        if isinstance(value, (bool, np.bool_)) or not number:
            raise TypeError(
                f"save() cannot store {where}: a float was expected, got {type(value).__name__}."
            )
        value = float(value)
        if not math.isfinite(value):
            raise TypeError(f"save() cannot store {where} = {value}: not finite.")
        return value
    if kind == "array":
        if not isinstance(value, np.ndarray) or value.dtype != np.float64:
            raise TypeError(f"save() cannot store {where}: a float64 array was expected.")
        if not np.isfinite(value).all():
            raise TypeError(f"save() cannot store {where}: it holds NaN or infinity.")
        return {"shape": list(value.shape), "values": value.ravel().tolist()}
    if kind == "names":
        array = np.asarray(value)
        if array.ndim != 1 or not all(isinstance(item, str) for item in array.tolist()):
            raise TypeError(f"save() cannot store {where}: a 1-D array of str was expected.")
        return [str(item) for item in array.tolist()]
    if kind == "history":
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            raise TypeError(f"save() cannot store {where}: a dict of str to lists was expected.")
        return {key: [_encode_number(float(v)) for v in values] for key, values in value.items()}
    if kind == "scaler":
        return scaler_encoder(value, where)
    raise TypeError(f"save() cannot store {where}: unknown kind {kind!r} in _fitted_attributes.")


def decode_kind(kind, value, where):
    """The fitted attribute of ``kind`` that :func:`encode_kind` encoded.

    Not scalers: skae/_io/_estimator.py decodes those.
    """
    if kind == "int":
        if type(value) is not int or not 0 <= value <= MAX_INT:
            raise Refused(f"{where} is not a non-negative int.")
        return value
    if kind == "bool":
        if type(value) is not bool:
            raise Refused(f"{where} is not a bool.")
        return value
    if kind == "float":
        if type(value) not in (int, float) or not math.isfinite(value):
            raise Refused(f"{where} is not a finite number.")
        return float(value)
    if kind == "array":
        if not isinstance(value, dict) or set(value) != {"shape", "values"}:
            raise Refused(f"{where} is not an array (shape and values).")
        shape = _shape(value["shape"], where)
        values = _list(value["values"], where)
        if not all(type(v) in (int, float) for v in values):
            raise Refused(f"{where} holds a value that is not a number.")
        array = _array(values, np.dtype(np.float64), shape, where)
        if not np.isfinite(array).all():
            raise Refused(f"{where} holds NaN or infinity.")
        return array
    if kind == "names":
        names = _list(value, where)
        if not all(isinstance(name, str) for name in names):
            raise Refused(f"{where} holds a name that is not a string.")
        return np.array(names, dtype=object)
    if kind == "history":
        if not isinstance(value, dict):
            raise Refused(f"{where} is not a dict of lists.")
        history = {}
        for key, values in value.items():
            numbers = []
            for item in _list(values, f"{where}.{key}"):
                if isinstance(item, dict):
                    _keys(item, where, _TAG, "value")
                    if item[_TAG] != "float":
                        raise Refused(f"{where}.{key} holds a value that is not a number.")
                    numbers.append(_decode_special_float(item["value"], where))
                elif type(item) in (int, float):
                    numbers.append(float(item))
                else:
                    raise Refused(f"{where}.{key} holds a value that is not a number.")
            history[key] = numbers
        return history
    raise Refused(f"{where} has the unknown kind {kind!r}.")


# ----------------------------------------------------------------------
# checks shared by the decoders


def _keys(value, where, *expected):
    found = set(value) - {_TAG}
    if found != set(expected) - {_TAG}:
        raise Refused(
            f"{where} has the keys {sorted(found)}, expected {sorted(set(expected) - {_TAG})}."
        )


def _list(value, where):
    if not isinstance(value, list):
        raise Refused(f"{where} is not a list.")
    return value


def _check_int(value, where):
    if abs(value) > MAX_INT:
        raise Refused(f"{where} is an integer beyond 64 bits.")
    return value


def _check_finite(value, where):
    if not math.isfinite(value):
        raise Refused(f"{where} is not finite.")
    return value


def _decode_special_float(text, where):
    if text not in ("inf", "-inf", "nan"):
        raise Refused(f"{where} is a tagged float that is not inf, -inf or nan.")
    return float(text)


def _numeric_dtype(text, where):
    allowed = {"|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8"}
    if not isinstance(text, str) or text not in allowed:
        raise Refused(f"{where} has the dtype {text!r}, not a numeric one.")
    return np.dtype(text)


def _shape(shape, where):
    shape = _list(shape, where)
    if len(shape) > 8 or not all(type(n) is int and 0 <= n <= MAX_ARRAY_SIZE for n in shape):
        raise Refused(f"{where} has the shape {shape!r}.")
    if math.prod(shape) > MAX_ARRAY_SIZE:
        raise Refused(f"{where} has the shape {shape!r}, beyond the size limit.")
    return tuple(shape)


def _array(values, dtype, shape, where):
    if len(values) != math.prod(shape):
        raise Refused(f"{where} holds {len(values)} values for the shape {list(shape)}.")
    try:
        if dtype.kind in "iub":
            if not all(type(v) is (bool if dtype.kind == "b" else int) for v in values):
                raise ValueError("not integers")
            if dtype.kind != "b" and values:
                info = np.iinfo(dtype)
                if not info.min <= min(values) <= max(values) <= info.max:
                    raise OverflowError("out of range")
        return np.array(values, dtype=dtype).reshape(shape)
    except (OverflowError, ValueError, TypeError) as error:
        raise Refused(f"{where} holds values that are not {dtype}.") from error
