"""Save and load fitted estimators without pickle.

A skae model file is a zip archive of two members:

``skae.json``
    Plain JSON: the format name and version, the versions of skae, Keras,
    scikit-learn and NumPy that wrote it, the estimator's class name, its
    parameters, its fitted attributes (arrays as nested lists with their
    dtype), and SHA-256 checksums of both parts.
``model.keras``
    The fitted network in Keras' native archive (architecture, weights and
    optimizer state), absent for an unfitted estimator.

Loading reads data and nothing else: the class must be one of skae's
estimators, the scalers one of scikit-learn's (rebuilt from their fitted
arrays), every object the Keras configuration names must come from Keras or
skae, and the network is then read with Keras' ``safe_mode=True``. A file that
fails any of these checks, or whose checksums do not match, is refused with
a ``ValueError`` before any of it is deserialized.
"""

import hashlib
import io
import json
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import keras
import numpy as np
import sklearn
from sklearn.preprocessing import (
    FunctionTransformer,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)

FORMAT = "skae-model"
FORMAT_VERSION = 1
_META, _MODEL = "skae.json", "model.keras"
_SCALERS = {cls.__name__: cls for cls in (FunctionTransformer, MinMaxScaler, RobustScaler, StandardScaler)}
# Stored in model.keras, not in the JSON.
_DERIVED = {"model_"}
# The only non-Keras objects a stored network may name.
_SKAE_OBJECTS = {"skae>Corruption", "skae>Sampling"}


class InconsistentVersionWarning(UserWarning):
    """A model file was written by another version of skae or Keras.

    Loading goes on: the format is the same, but outputs may differ slightly
    and the combination is untested. Refit, or load with the versions the
    warning names, when results must match exactly.
    """


def save_estimator(estimator, path):
    """Write ``estimator`` to ``path`` (see :meth:`skae.BaseAutoencoder.save`)."""
    params = estimator.get_params(deep=False)
    state = {
        name: value
        for name, value in vars(estimator).items()
        if name not in params and name not in _DERIVED and name != "_user_params"
    }
    model = getattr(estimator, "model_", None)
    body = {
        "estimator": type(estimator).__name__,
        "params": _encode(params, "params"),
        "state": _encode(state, "state"),
        # Keras' archive omits the counters of random layers; keep them so that
        # training a loaded model goes on exactly as the original would.
        "seed_states": [] if model is None else [_encode(v.numpy(), "seed") for v in _seed_variables(model)],
    }
    model_bytes = None if model is None else _keras_bytes(model)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": versions(),
        **body,
        "sha256": {
            _META: _digest(_canonical(body)),
            _MODEL: None if model_bytes is None else _digest(model_bytes),
        },
    }
    path = Path(path)
    # Write next to the target and rename, so a failed save never leaves half
    # a file. (open(), unlike tempfile, gives the file the usual permissions.)
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_META, json.dumps(meta, indent=1, allow_nan=False))
            if model_bytes is not None:
                archive.writestr(_MODEL, model_bytes)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return path


def load(path):
    """Load an estimator written by ``estimator.save(path)``.

    Nothing in the file is executed: the estimator class must be one of
    skae's, its fitted attributes are plain arrays and numbers, and the
    network is read by Keras in safe mode after every object its
    configuration names has been checked to come from Keras or skae.

    Parameters
    ----------
    path : str or path-like
        A file written by :meth:`~skae.BaseAutoencoder.save`.

    Returns
    -------
    estimator : BaseAutoencoder
        The estimator, fitted as it was saved (or unfitted, if it was saved
        unfitted), giving the same outputs.

    Raises
    ------
    ValueError
        If the file is not a skae model file, was modified after it was
        saved, names a class or Keras object outside skae and Keras, or was
        written by a newer skae or another major version of Keras.

    Warns
    -----
    InconsistentVersionWarning
        If the file was written by another version of skae or Keras.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import skae
    >>> X = np.random.RandomState(0).normal(size=(100, 5))
    >>> ae = skae.AutoencoderTransformer(latent_dim=2, epochs=3, random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skae")
    >>> _ = ae.save(path)
    >>> loaded = skae.load(path)
    >>> bool(np.array_equal(loaded.transform(X), ae.transform(X)))
    True
    """
    meta, model_bytes = _read_archive(path)
    cls = _estimator_class(meta.get("estimator"))
    params = _decode(meta["params"])
    state = _decode(meta["state"])
    estimator = cls(**params)
    vars(estimator).update(state)
    if model_bytes is not None:
        estimator.model_ = _load_keras(model_bytes)
        for variable, value in zip(_seed_variables(estimator.model_), meta["seed_states"]):
            variable.assign(_decode(value))
    return estimator


# ----------------------------------------------------------------------
# reading and checking a file


def _read_archive(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such model file: '{path}'.")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"'{path}' is not a skae model file (it is not a zip archive).")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if _META not in names or not names <= {_META, _MODEL}:
            raise ValueError(
                f"'{path}' is not a skae model file: expected the members "
                f"{[_META, _MODEL]}, found {sorted(names)}."
            )
        try:
            meta = json.loads(archive.read(_META))
        except ValueError as error:
            raise ValueError(f"'{path}' is damaged: {_META} is not valid JSON ({error}).") from None
        model_bytes = archive.read(_MODEL) if _MODEL in names else None
    _check_format(meta, path)
    _check_versions(meta["versions"])
    _check_digests(meta, model_bytes, path)
    return meta, model_bytes


def _check_format(meta, path):
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"'{path}' is not a skae model file (no '{FORMAT}' header).")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"'{path}' uses skae model format {meta.get('format_version')!r}; this "
            f"skae ({versions()['skae']}) reads format {FORMAT_VERSION}. Load it with "
            f"the skae version that wrote it ({meta.get('versions', {}).get('skae')})."
        )
    missing = {"versions", "estimator", "params", "state", "seed_states", "sha256"} - set(meta)
    if missing:
        raise ValueError(f"'{path}' is damaged: its header lacks {sorted(missing)}.")


def _check_versions(saved, strict=True):
    """Refuse (``strict``) or warn about a file from other skae/Keras versions."""
    current = versions()
    errors = []
    if _release(saved.get("skae")) > _release(current["skae"]):
        errors.append(
            f"This model was saved with skae {saved.get('skae')}, newer than the "
            f"installed skae {current['skae']}: upgrade skae to load it."
        )
    if _release(saved.get("keras"))[:1] != _release(current["keras"])[:1]:
        errors.append(
            f"This model was saved with Keras {saved.get('keras')}; the installed "
            f"Keras {current['keras']} is another major version and cannot read it."
        )
    if errors and strict:
        raise ValueError(" ".join(errors))
    differ = [
        f"{label} {saved.get(name)} (installed: {current[name]})"
        for name, label in (("skae", "skae"), ("keras", "Keras"))
        if saved.get(name) != current[name]
    ]
    if differ:
        warnings.warn(
            f"This model was saved with {' and '.join(differ)}. It loads, but "
            "outputs may differ slightly; refit or use the same versions when they "
            "must match exactly.",
            InconsistentVersionWarning,
            stacklevel=4,
        )


def _check_digests(meta, model_bytes, path):
    expected = meta["sha256"]
    body = {key: meta[key] for key in ("estimator", "params", "state", "seed_states")}
    found = {
        _META: _digest(_canonical(body)),
        _MODEL: None if model_bytes is None else _digest(model_bytes),
    }
    for member in (_META, _MODEL):
        if expected.get(member) != found[member]:
            raise ValueError(
                f"'{path}' was modified after it was saved: the checksum of {member} "
                "does not match. Refusing to load it."
            )


def _estimator_class(name):
    import skae

    from ._base import BaseAutoencoder

    classes = {
        cls.__name__: cls
        for cls in (getattr(skae, attr) for attr in skae.__all__)
        if isinstance(cls, type) and issubclass(cls, BaseAutoencoder) and cls is not BaseAutoencoder
    }
    if name not in classes:
        raise ValueError(
            f"The model file names the class {name!r}, which is not a skae estimator "
            f"({sorted(classes)}). Refusing to load it."
        )
    return classes[name]


def _load_keras(model_bytes):
    _check_keras_config(_archive_config(model_bytes))
    with tempfile.TemporaryDirectory() as folder:
        model_path = os.path.join(folder, _MODEL)
        with open(model_path, "wb") as file:
            file.write(model_bytes)
        return keras.saving.load_model(model_path, compile=True, safe_mode=True)


def _archive_config(model_bytes):
    """The configuration (layers, compile arguments) inside a ``.keras`` archive."""
    with zipfile.ZipFile(io.BytesIO(model_bytes)) as archive:
        return json.loads(archive.read("config.json"))


def _check_keras_config(config):
    """Refuse a network configuration naming anything outside Keras and skae.

    Keras' safe mode refuses lambdas; this also refuses imports of other
    modules, which older Keras versions would perform while deserializing.
    """
    for item in _config_objects(config):
        module, registered = item.get("module"), item.get("registered_name")
        class_name = item.get("class_name")
        if class_name == "Lambda":
            raise ValueError("The model file holds a Lambda layer (arbitrary code). Refusing to load it.")
        if registered in _SKAE_OBJECTS or module is None:
            continue
        builtin_function = module == "builtins" and class_name == "function"
        if not (builtin_function or module == "keras" or module.startswith("keras.")):
            raise ValueError(
                f"The model file names {module}.{class_name}, which is neither part "
                "of Keras nor of skae. Refusing to load it."
            )


def _config_objects(config):
    if isinstance(config, dict):
        if "class_name" in config:
            yield config
        for value in config.values():
            yield from _config_objects(value)
    elif isinstance(config, list):
        for value in config:
            yield from _config_objects(value)


# ----------------------------------------------------------------------
# writing


def _keras_bytes(model):
    with tempfile.TemporaryDirectory() as folder:
        model_path = os.path.join(folder, _MODEL)
        model.save(model_path)
        with open(model_path, "rb") as file:
            model_bytes = file.read()
    # The check load() will make, on what load() will read.
    try:
        _check_keras_config(_archive_config(model_bytes))
    except ValueError as error:
        raise TypeError(
            f"save() cannot store this network without pickle: {error} Use a "
            "built-in loss and optimizer, or pickle/joblib for custom objects."
        ) from None
    return model_bytes


def _seed_variables(model):
    return [v for v in model.non_trainable_variables if "seed_generator_state" in v.path]


def versions():
    from . import __version__

    return {
        "skae": __version__,
        "keras": keras.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
    }


def _release(version):
    """``"3.15.1"`` -> ``(3, 15, 1)``; unparsable parts count as 0."""
    parts = []
    for part in str(version).split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _canonical(value):
    return json.dumps(value, sort_keys=True, allow_nan=False).encode()


def _digest(data):
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------
# plain values <-> JSON
#
# JSON keeps str/int/float/bool/None/list and str-keyed dicts; every other
# value becomes {"__skae__": kind, ...} so that decoding is unambiguous.


def _encode(value, where):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.ndarray):
        return _encode_array(value, where)
    if isinstance(value, np.generic):
        return {"__skae__": "scalar", "dtype": value.dtype.str, "value": _encode_float(value.item())}
    if isinstance(value, (int, float)):
        return _encode_float(value)
    if isinstance(value, list):
        return [_encode(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, (tuple, set)):
        items = sorted(value) if isinstance(value, set) else value
        kind = "set" if isinstance(value, set) else "tuple"
        return {"__skae__": kind, "items": [_encode(item, where) for item in items]}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        items = {key: _encode(item, f"{where}.{key}") for key, item in value.items()}
        return {"__skae__": "dict", "items": items}
    if type(value).__name__ in _SCALERS and type(value) is _SCALERS[type(value).__name__]:
        return {"__skae__": "scaler", "class": type(value).__name__, "state": _encode(vars(value), where)}
    if isinstance(value, np.random.RandomState):
        return {"__skae__": "random_state", "state": _encode(value.get_state(), where)}
    if _is_keras_object(value):
        config = keras.saving.serialize_keras_object(value)
        _check_keras_config(config)
        return {"__skae__": "keras", "config": _encode(config, where)}
    raise TypeError(
        f"save() cannot store {where} = {value!r} ({type(value).__name__}) without "
        "pickle. Use strings, numbers or built-in Keras objects for parameters, or "
        "pickle/joblib for estimators holding other Python objects."
    )


def _encode_float(value):
    if isinstance(value, float) and not np.isfinite(value):
        return {"__skae__": "float", "value": repr(value)}
    return value


def _encode_array(array, where):
    if array.dtype == object:
        if not all(isinstance(item, str) for item in array.flat):
            raise TypeError(f"save() cannot store {where}: an object array of non-strings.")
        values = array.ravel().tolist()
    elif array.dtype.kind in "biuf":
        values = [_encode_float(v) for v in array.ravel().tolist()]
    else:
        raise TypeError(f"save() cannot store {where}: an array of dtype {array.dtype}.")
    return {"__skae__": "ndarray", "dtype": array.dtype.str, "shape": list(array.shape), "values": values}


def _is_keras_object(value):
    saveable = (
        keras.optimizers.Optimizer,
        keras.losses.Loss,
        keras.metrics.Metric,
        keras.optimizers.schedules.LearningRateSchedule,
    )
    return isinstance(value, saveable)


def _decode(value):
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("__skae__")
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise ValueError(f"The model file holds an unknown value kind {kind!r}. Refusing to load it.")
    return decoder(value)


def _decode_array(value):
    dtype = np.dtype(value["dtype"])
    if dtype.kind not in "biufO":
        raise ValueError(f"The model file holds an array of dtype {dtype}. Refusing to load it.")
    values = [_decode(item) for item in value["values"]]
    if dtype.kind == "O" and not all(isinstance(item, str) for item in values):
        raise ValueError("The model file holds an object array of non-strings. Refusing to load it.")
    return np.array(values, dtype=dtype).reshape(value["shape"])


def _decode_scaler(value):
    cls = _SCALERS.get(value["class"])
    if cls is None:
        raise ValueError(f"The model file names the scaler {value['class']!r}. Refusing to load it.")
    scaler = cls.__new__(cls)
    vars(scaler).update(_decode(value["state"]))
    return scaler


def _decode_random_state(value):
    random_state = np.random.RandomState()
    random_state.set_state(_decode(value["state"]))
    return random_state


def _decode_keras(value):
    config = _decode(value["config"])
    _check_keras_config(config)
    return keras.saving.deserialize_keras_object(config, safe_mode=True)


def _decode_scalar(value):
    dtype = np.dtype(value["dtype"])
    if dtype.kind not in "biuf":
        raise ValueError(f"The model file holds a scalar of dtype {dtype}. Refusing to load it.")
    return dtype.type(_decode(value["value"]))


_DECODERS = {
    "scalar": _decode_scalar,
    "float": lambda v: float(v["value"]),
    "tuple": lambda v: tuple(_decode(item) for item in v["items"]),
    "set": lambda v: {_decode(item) for item in v["items"]},
    "dict": lambda v: {key: _decode(item) for key, item in v["items"].items()},
    "ndarray": _decode_array,
    "scaler": _decode_scaler,
    "random_state": _decode_random_state,
    "keras": _decode_keras,
}
