"""Save and load fitted estimators without pickle, treating every byte of a file as untrusted.

A skae model file (format 2) is a zip archive of these members, and no others:

``skae.json``
    Plain JSON: the format name and version, the versions of skae, Keras,
    scikit-learn and NumPy that wrote it, the estimator's class name, its
    parameters, its fitted attributes (those the class declares in
    ``_fitted_attributes``, each encoded as its declared kind), the counters
    of the network's random layers, and SHA-256 checksums.
``model.keras``
    The fitted network in Keras' native archive (architecture, weights,
    optimizer state); absent for an unfitted estimator.
``skae.hmac``
    Only in a file saved with a ``key``: an HMAC-SHA256 of the two members
    above under that key.

The checksums detect accidents (a truncated copy, a flipped bit), not
tampering: anyone can recompute them. What protects a reader from a hostile
file is the validation :func:`load` performs, in this order, before and while
it builds anything:

1. the archive: a regular file, at most 16 members and a small central
   directory, only the members above, each once, no links, folders or paths,
   no encryption, declared sizes capped (64 MiB of JSON, 1.875 GiB of
   network) and at most 200:1 compressed beyond 1 MiB, read in bounded
   chunks; the HMAC, when a key is given, before anything is parsed;
2. the JSON: depth at most 64 (checked on the bytes before decoding), no
   NaN literals, no repeated keys, exactly the expected header;
3. the estimator: a class among skae's estimators; parameters named as that
   class names them (or routed ``model__``/``optimizer__``/... names),
   plain values or Keras optimizers, losses, metrics and schedules resolved
   through skae/_keras_policy.py, then the class' own ``_validate_params``;
   fitted attributes only those the class declares, each of its kind, finite,
   of consistent shapes; scalers rebuilt from their fitted arrays, of the
   class that ``scaling`` names;
4. the network: the inner ``.keras`` archive checked like the outer one;
   every object of its configuration resolved by name in Keras' public
   namespaces or among skae's own registered layers and losses (no module
   the file names is imported);
   sizes bounded; read by Keras with ``safe_mode=True``; then its structure
   (an ``autoencoder`` of an ``encoder`` and a ``decoder``, with the
   ``corruption`` or ``sampling`` layer exactly when the class needs one),
   its widths against the JSON, and one forward pass of a row of zeros.

Any failure raises :class:`ModelFileError` naming the file, with the cause
chained; a missing path raises ``FileNotFoundError`` as ``open`` does.
"""

import errno
import hashlib
import hmac
import io
import math
import os
import stat
import struct
import tempfile
import threading
import time
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

from . import _keras_policy
from ._codec import (
    Refused,
    canonical,
    decode_kind,
    decode_value,
    dump_json,
    encode_kind,
    encode_value,
    read_json,
)

__all__ = ["InconsistentVersionWarning", "ModelFileError", "load", "save_estimator", "versions"]

FORMAT = "skae-model"
FORMAT_VERSION = 2
_META, _MODEL, _HMAC = "skae.json", "model.keras", "skae.hmac"
_HEADER = ("format", "format_version", "versions", "estimator", "params", "state", "seed_states", "sha256")

_MiB = 1 << 20
_MAX_JSON = 64 * _MiB
# Below 2 GiB by a margin, so that no archive needs zip64 records.
_MAX_NETWORK = (1 << 31) - (128 * _MiB)
_MAX_FILE = (1 << 31) - 1
_MAX_RATIO, _RATIO_FLOOR = 200, _MiB
_MAX_ENTRIES, _MAX_DIRECTORY = 16, 64 * 1024
_OUTER_MEMBERS = {_META: _MAX_JSON, _MODEL: _MAX_NETWORK, _HMAC: 1024}
_KERAS_MEMBERS = {"config.json": _MAX_JSON, "metadata.json": _MiB, "model.weights.h5": _MAX_NETWORK}
# Integers in a network's configuration (units, shapes, filters) are at most
# this; seeds and object ids excepted.
_MAX_CONFIG_INT = 1 << 24
_UNBOUNDED_CONFIG_KEYS = {"seed", "shared_object_id"}
# Temporaries of saves killed this long ago are removed by the next save.
_STALE_SECONDS = 3600
_TEMPORARY_SUFFIX = ".skae-tmp"

_SCALERS = {cls.__name__: cls for cls in (FunctionTransformer, MinMaxScaler, RobustScaler, StandardScaler)}
# Fitted attributes of each scaler: "int", "count" (a number, or one per
# column), "vector" (one float per column), "vector?" (or None).
_SCALER_FITTED = {
    "FunctionTransformer": {"n_features_in_": "int"},
    "MinMaxScaler": {
        "n_features_in_": "int", "n_samples_seen_": "count", "scale_": "vector", "min_": "vector",
        "data_min_": "vector", "data_max_": "vector", "data_range_": "vector",
    },
    "StandardScaler": {
        "n_features_in_": "int", "n_samples_seen_": "count",
        "mean_": "vector?", "var_": "vector?", "scale_": "vector?",
    },
    "RobustScaler": {"n_features_in_": "int", "center_": "vector?", "scale_": "vector?"},
}
# Shapes of fitted arrays, in terms of n_features_in_ and latent_dim; values
# that must be positive.
_ARRAY_SHAPES = {
    "feature_error_scale_": ("n_features_in_",),
    "fill_value_": ("n_features_in_",),
    "code_mean_": ("latent_dim",),
    "code_precision_": ("latent_dim", "latent_dim"),
}
_POSITIVE = {"feature_error_scale_", "q_scale_", "t2_scale_"}
# Fitted numbers, and the input-unit values a scaler maps to [-1e3, 1e3], are
# at most this in magnitude: their squares and products stay finite.
_MAX_MAGNITUDE = 1e150
# Parameters that a saved estimator cannot hold (callbacks are Python objects).
_EMPTY_ONLY = ("callbacks", "fit__callbacks")
_ROUTING_PREFIXES = {"model", "optimizer", "fit", "loss", "callbacks", "compile", "predict", "metrics"}

_umask_lock = threading.Lock()


class ModelFileError(ValueError):
    """A file that :func:`skae.load` refuses: damaged, crafted, or not a skae model.

    Raised whatever is wrong with the file (a broken zip, invalid JSON, an
    unexpected member, a checksum or HMAC mismatch, an object outside Keras'
    and skae's allow-list, an inconsistent network, ...), with the underlying
    error chained as ``__cause__``. A ``ValueError``, so that code catching
    ``ValueError`` keeps working.

    Attributes
    ----------
    path : str or None
        The file.
    """

    def __init__(self, message, path=None):
        super().__init__(message)
        self.path = None if path is None else str(path)


class InconsistentVersionWarning(UserWarning):
    """A model file was written by another version of skae or Keras.

    Loading goes on: the format is the same, but outputs may differ slightly
    and the combination is untested. Refit, or load with the versions the
    warning names, when results must match exactly.
    """


# ----------------------------------------------------------------------
# saving


def save_estimator(estimator, path, key=None):
    """Write ``estimator`` to ``path`` (see :meth:`skae.BaseAutoencoder.save`).

    ``key`` (bytes or str), when given, adds an HMAC-SHA256 that
    ``load(path, key=key)`` checks. The file is written to a unique temporary
    file next to the target, flushed to disk and renamed over it: readers see
    the old file or the new one, never a mix. A symbolic link is written
    through (its target is replaced). An existing file keeps its permission
    bits; a new one gets the usual ``0o666 & ~umask``.
    """
    key = _key_bytes(key)
    meta, model_bytes = _serialize(estimator)
    meta_bytes = dump_json(meta)
    members = [(_META, meta_bytes)]
    if model_bytes is not None:
        members.append((_MODEL, model_bytes))
    if key is not None:
        members.append((_HMAC, _hmac(key, meta_bytes, model_bytes).encode()))
    return _write_atomically(path, members)


def _serialize(estimator):
    cls = type(estimator)
    params = estimator.get_params(deep=False)
    encoded_params = {
        name: encode_value(value, f"parameter {name}", _keras_policy.serialize)
        for name, value in params.items()
    }
    model = getattr(estimator, "model_", None)
    state, seed_states, model_bytes = {}, [], None
    if model is not None:
        state = _encode_state(estimator, params)
        seed_states = [encode_value(v.numpy(), "seed state") for v in _seed_variables(model)]
        model_bytes = _keras_bytes(model)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": versions(),
        "estimator": cls.__name__,
        "params": encoded_params,
        "state": state,
        "seed_states": seed_states,
    }
    meta["sha256"] = {
        _META: _digest(canonical(meta)),
        _MODEL: None if model_bytes is None else _digest(model_bytes),
    }
    return meta, model_bytes


def _encode_state(estimator, params):
    cls = type(estimator)
    kinds = cls._fitted_attributes
    optional = getattr(cls, "_optional_attributes", frozenset())
    undeclared = sorted(
        name for name in vars(estimator)
        if name not in params and name not in kinds and name != "model_" and not name.startswith("_")
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
            raise TypeError(f"save() cannot store {where}: unknown fitted attribute {attr!r} of {name}.")
        else:
            fitted[attr] = encode_value(value, f"{where}.{attr}")
    return {"class": name, "params": {k: encode_value(v, f"{where}.{k}") for k, v in params.items()}, "fitted": fitted}


def _keras_bytes(model):
    with tempfile.TemporaryDirectory() as folder:
        model_path = os.path.join(folder, _MODEL)
        model.save(model_path)
        with open(model_path, "rb") as file:
            model_bytes = file.read()
    if len(model_bytes) > _MAX_NETWORK:
        raise ValueError(
            f"save() cannot store a network of {len(model_bytes)} bytes: skae model files "
            f"hold at most {_MAX_NETWORK} bytes. Use keras' own saving, or pickle/joblib."
        )
    # The checks load() will make, on what load() will read.
    try:
        config = read_json(_keras_members(model_bytes)["config.json"], "the network's config.json")
        _keras_policy.check_config(config)
    except Refused as error:
        raise TypeError(
            f"save() cannot store this network without pickle: {error} Use a built-in "
            "loss and optimizer, or pickle/joblib for custom objects."
        ) from None
    return model_bytes


def _write_atomically(path, members):
    """Write the zip of ``members`` to ``path`` through a unique temporary file."""
    user_path = path
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    folder = target.parent
    _remove_stale_temporaries(folder, target.name)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode) & 0o777
    except OSError:
        mode = 0o666 & ~_umask()
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=_TEMPORARY_SUFFIX, dir=folder)
    except OSError as error:
        raise _naming(error, user_path) from error
    try:
        with os.fdopen(fd, "wb") as file:
            if hasattr(os, "fchmod"):
                os.fchmod(file.fileno(), mode)
            with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name, data in members:
                    archive.writestr(name, data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise _naming(error, user_path) from error
        raise
    _fsync_folder(folder)
    return Path(user_path)


def _naming(error, path):
    """``error`` again, naming the user's ``path`` instead of a temporary."""
    if error.errno is not None:
        try:
            return type(error)(error.errno, f"Cannot save the model: {error.strerror}", str(path))
        except TypeError:
            pass
    return OSError(f"Cannot save the model to '{path}': {error}")


def _remove_stale_temporaries(folder, name):
    prefix, now = f".{name}.", time.time()
    try:
        entries = os.scandir(folder)
    except OSError:
        return
    with entries:
        for entry in entries:
            if not (entry.name.startswith(prefix) and entry.name.endswith(_TEMPORARY_SUFFIX)):
                continue
            if len(entry.name) <= len(prefix) + len(_TEMPORARY_SUFFIX):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(info.st_mode) and now - info.st_mtime > _STALE_SECONDS:
                    os.unlink(entry.path)
            except OSError:
                pass


def _umask():
    """The process' umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _fsync_folder(folder):
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ----------------------------------------------------------------------
# loading


def load(path, *, key=None):
    """Load an estimator written by ``estimator.save(path)``.

    Nothing in the file is executed or imported: every byte is treated as
    untrusted input and validated (archive layout and sizes, JSON schema,
    parameters, fitted attributes, and each object of the network's
    configuration against an allow-list of Keras' public classes), the
    network is read by Keras in safe mode, and the result is checked against
    the JSON and run once on a row of zeros.

    Parameters
    ----------
    path : str or path-like
        A file written by :meth:`~skae.BaseAutoencoder.save`.
    key : bytes or str, default=None
        The key the file was saved with: the file's HMAC-SHA256 must then
        match, which proves it was written by someone holding the key. A
        file saved without a key is then refused.

    Returns
    -------
    estimator : BaseAutoencoder
        The estimator, fitted as it was saved (or unfitted, if it was saved
        unfitted), giving the same outputs.

    Raises
    ------
    ModelFileError
        A ``ValueError``: the file is not a skae model file, is damaged,
        was modified after it was saved, fails its HMAC, holds anything
        outside what skae writes, or was written by a newer skae (or model
        format) or another major version of Keras. The cause is chained.
    FileNotFoundError
        If there is no file at ``path`` (other ``OSError`` of opening it,
        such as ``PermissionError``, pass through as well).

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
    key = _key_bytes(key)
    fd = _open_regular(path)
    try:
        with os.fdopen(fd, "rb") as file:
            return _load(file, key)
    except (ModelFileError, Warning, MemoryError):
        raise
    except Refused as error:
        raise ModelFileError(f"Cannot load '{path}': {error}", path) from error
    except Exception as error:
        raise ModelFileError(
            f"Cannot load '{path}': it is damaged or not a skae model file "
            f"({type(error).__name__}: {error}).",
            path,
        ) from error


def _open_regular(path):
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "No such model file", str(path)) from None
    try:
        info = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ModelFileError(f"Cannot load '{path}': it is not a regular file.", path)
    return fd


def _load(file, key):
    members = _read_outer(file)
    meta_bytes, model_bytes = members[_META], members.get(_MODEL)
    if key is not None:
        _check_hmac(key, meta_bytes, model_bytes, members.get(_HMAC))
    meta = read_json(meta_bytes, _META)
    _check_header(meta)
    _check_versions(meta["versions"])
    _check_digests(meta, model_bytes)
    cls = _estimator_class(meta["estimator"])
    estimator = _build_estimator(cls, meta["params"])
    if model_bytes is None:
        if meta["state"] or meta["seed_states"]:
            raise Refused("it holds fitted attributes but no network.")
        return estimator
    state = _decode_state(estimator, meta["state"])
    for name, value in state.items():  # the network's checks use them (_code_width)
        setattr(estimator, name, value)
    model = _load_network(model_bytes, estimator, state["n_features_in_"])
    _restore_seeds(model, meta["seed_states"])
    estimator.model_ = model
    return estimator


# ----------------------------------------------------------------------
# the archives


def _read_outer(file):
    size = os.fstat(file.fileno()).st_size
    if size > _MAX_FILE:
        raise Refused(f"it is {size} bytes long, more than a skae model file can be.")
    _check_zip_directory(file, size, "it")
    with zipfile.ZipFile(file) as archive:
        infos = _check_members(archive, _OUTER_MEMBERS, required={_META}, what="it")
        return {info.filename: _read_member(archive, info, _OUTER_MEMBERS[info.filename]) for info in infos}


def _keras_members(model_bytes, read=("config.json",)):
    """The checked inner archive's members named in ``read`` (bytes)."""
    buffer = io.BytesIO(model_bytes)
    _check_zip_directory(buffer, len(model_bytes), f"its {_MODEL}")
    with zipfile.ZipFile(buffer) as archive:
        infos = _check_members(archive, _KERAS_MEMBERS, required=set(_KERAS_MEMBERS), what=f"its {_MODEL}")
        sizes = {info.filename: info.file_size for info in infos}
        found = {
            info.filename: _read_member(archive, info, _KERAS_MEMBERS[info.filename])
            for info in infos if info.filename in read
        }
    return {**found, "sizes": sizes}


def _check_zip_directory(file, size, what):
    """Refuse before zipfile reads it a central directory too large or with too many entries."""
    tail_size = min(size, 22 + 0xFFFF)
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    file.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise Refused(f"{what} is not a skae model file (it is not a zip archive).")
    _, disk, directory_disk, disk_entries, entries, directory_size, _, _ = struct.unpack(
        "<4s4H2LH", tail[at:at + 22]
    )
    # zipfile would take a zip64 record's counts over these (skae never writes one).
    locator = size - tail_size + at - 20
    zip64 = False
    if locator >= 0:
        file.seek(locator)
        zip64 = file.read(4) == b"PK\x06\x07"
        file.seek(0)
    if zip64:
        raise Refused(f"{what} is not a skae model file: its zip directory has zip64 records, which skae never writes.")
    if disk or directory_disk or max(disk_entries, entries) > _MAX_ENTRIES or directory_size > _MAX_DIRECTORY:
        raise Refused(
            f"{what} is not a skae model file: its zip directory declares {entries} "
            f"members in {directory_size} bytes (or several disks)."
        )


def _check_members(archive, allowed, required, what):
    infos = archive.infolist()
    names = [info.filename for info in infos]
    if len(infos) > _MAX_ENTRIES:
        raise Refused(f"{what} holds {len(infos)} members.")
    for info in infos:
        name = info.filename
        if names.count(name) > 1:
            raise Refused(f"{what} holds the member {name!r} twice.")
        if "/" in name or "\\" in name or ".." in name or ":" in name or not name or info.is_dir():
            raise Refused(f"{what} holds the member {name!r}, a path or folder.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise Refused(f"{what} holds the member {name!r} as a symbolic link.")
    if not set(names) <= set(allowed) or not required <= set(names):
        raise Refused(
            f"{what} is not a skae model file: expected the members {sorted(allowed)} "
            f"({sorted(required)} at least), found {sorted(names)}."
        )
    for info in infos:
        name, cap = info.filename, allowed[info.filename]
        if info.flag_bits & 0x1:
            raise Refused(f"{what} holds the member {name!r} encrypted.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Refused(f"{what} holds the member {name!r} compressed by method {info.compress_type}.")
        if info.file_size > cap:
            raise Refused(
                f"{what} holds the member {name!r}, which declares {info.file_size} bytes, "
                f"more than the {cap} allowed."
            )
        if info.file_size > _RATIO_FLOOR and info.file_size > _MAX_RATIO * max(info.compress_size, 1):
            raise Refused(
                f"{what} holds the member {name!r}, which would expand {info.compress_size} "
                f"bytes to {info.file_size} (more than {_MAX_RATIO}:1): a decompression bomb."
            )
    return infos


def _read_member(archive, info, cap):
    chunks, total = [], 0
    with archive.open(info) as member:
        while True:
            chunk = member.read(min(_MiB, cap + 1 - total))
            if not chunk:
                break
            total += len(chunk)
            if total > info.file_size or total > cap:
                raise Refused(f"the member {info.filename!r} holds more than it declares.")
            chunks.append(chunk)
            if total == cap + 1:
                break
    if total != info.file_size:
        raise Refused(f"the member {info.filename!r} holds {total} bytes, not the {info.file_size} it declares.")
    return b"".join(chunks)


# ----------------------------------------------------------------------
# the header


def _check_header(meta):
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise Refused(f"it is not a skae model file (no '{FORMAT}' header).")
    version = meta.get("format_version")
    writer = meta.get("versions", {}).get("skae") if isinstance(meta.get("versions"), dict) else None
    if version != FORMAT_VERSION or type(version) is not int:
        if type(version) is int and version < FORMAT_VERSION:
            raise Refused(
                f"it uses skae model format {version}, which this skae ({versions()['skae']}) "
                f"no longer reads (it reads format {FORMAT_VERSION}): refit the estimator and "
                f"save it again, or load it with the skae that wrote it ({writer})."
            )
        raise Refused(
            f"it uses skae model format {version!r}; this skae ({versions()['skae']}) reads "
            f"format {FORMAT_VERSION}. Load it with a newer skae ({writer} wrote it)."
        )
    if set(meta) != set(_HEADER):
        raise Refused(f"its header has the keys {sorted(meta)}, expected {sorted(_HEADER)}.")
    found = meta["versions"]
    if not (
        isinstance(found, dict) and {"skae", "keras"} <= set(found)
        and set(found) <= {"skae", "keras", "scikit-learn", "numpy"}
        and all(isinstance(v, str) and len(v) <= 64 for v in found.values())
    ):
        raise Refused("its header's versions are not those skae writes.")
    for name, kind in (("params", dict), ("state", dict), ("seed_states", list), ("sha256", dict)):
        if not isinstance(meta[name], kind):
            raise Refused(f"its header's {name} is not a {kind.__name__}.")
    if set(meta["sha256"]) != {_META, _MODEL}:
        raise Refused("its header's checksums are not those skae writes.")


def _check_versions(saved, strict=True, stacklevel=4):
    """Refuse (``strict``) or warn about a file from other skae/Keras versions."""
    current = versions()
    saved = saved if isinstance(saved, dict) else {}
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
        raise Refused(" ".join(errors))
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
            stacklevel=stacklevel,
        )


def _check_digests(meta, model_bytes):
    expected = meta["sha256"]
    body = {name: value for name, value in meta.items() if name != "sha256"}
    found = {
        _META: _digest(canonical(body)),
        _MODEL: None if model_bytes is None else _digest(model_bytes),
    }
    for member in (_META, _MODEL):
        if expected.get(member) != found[member]:
            raise Refused(
                f"it was modified after it was saved, or damaged: the checksum of {member} "
                "does not match."
            )


def _check_hmac(key, meta_bytes, model_bytes, stored):
    if stored is None:
        raise Refused(
            "a key was given, but the file carries no HMAC: it was saved without a key, "
            "or its HMAC was removed."
        )
    expected = _hmac(key, meta_bytes, model_bytes).encode()
    if not hmac.compare_digest(expected, stored):
        raise Refused(
            "its HMAC does not match the key: it was modified, or saved with another key."
        )


def _hmac(key, meta_bytes, model_bytes):
    mac = hmac.new(key, b"skae-model hmac-sha256 v2\0", hashlib.sha256)
    for name, data in ((_META, meta_bytes), (_MODEL, model_bytes)):
        mac.update(name.encode() + b"\0")
        if data is None:
            mac.update(b"\1")
        else:
            mac.update(b"\2" + len(data).to_bytes(8, "big"))
            mac.update(data)
    return mac.hexdigest()


def _key_bytes(key):
    if key is None:
        return None
    if isinstance(key, str):
        key = key.encode()
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(f"key must be bytes or str, got {type(key).__name__}.")
    if not key:
        raise ValueError("key must not be empty.")
    return bytes(key)


# ----------------------------------------------------------------------
# the estimator: class, parameters, fitted attributes


def _estimator_class(name):
    import skae

    from ._base import BaseAutoencoder

    public = getattr(skae, "_PUBLIC", {})
    cls = getattr(skae, name) if isinstance(name, str) and name in public else None
    if not (isinstance(cls, type) and issubclass(cls, BaseAutoencoder) and cls is not BaseAutoencoder):
        raise Refused(f"it names the class {str(name)[:100]!r}, which is not a skae estimator.")
    return cls


def _build_estimator(cls, encoded):
    defaults = set(cls().get_params(deep=False))
    prefixes = _ROUTING_PREFIXES | set(getattr(cls, "_routing_prefixes", ()))
    unknown = sorted(
        name for name in encoded
        if name not in defaults and not ("__" in name and name.split("__", 1)[0] in prefixes)
    )
    if unknown:
        raise Refused(f"it holds the parameter(s) {unknown[:10]}, which {cls.__name__} does not have.")
    missing = sorted(defaults - set(encoded))
    if missing:
        raise Refused(f"it lacks the parameter(s) {missing[:10]} of {cls.__name__}.")
    params = {
        name: decode_value(value, f"parameter {name}", _keras_policy.deserialize)
        for name, value in encoded.items()
    }
    for name, value in params.items():
        if (name in _EMPTY_ONLY or name.startswith("callbacks__")) and not (value is None or (isinstance(value, (list, dict)) and not value)):
            raise Refused(f"its parameter {name} holds callbacks, which skae files cannot hold.")
    estimator = cls(**params)
    try:
        estimator._validate_params()
    except (ValueError, TypeError) as error:
        raise Refused(f"its parameters are not valid for {cls.__name__}: {error}") from error
    return estimator


def _decode_state(estimator, encoded):
    cls = type(estimator)
    kinds = cls._fitted_attributes
    optional = getattr(cls, "_optional_attributes", frozenset())
    unknown = sorted(set(encoded) - set(kinds))
    if unknown:
        raise Refused(f"it holds the attribute(s) {unknown[:10]}, which {cls.__name__} does not have.")
    missing = sorted(set(kinds) - set(encoded) - set(optional))
    if missing:
        raise Refused(f"it lacks the fitted attribute(s) {missing[:10]} of {cls.__name__}.")
    if kinds.get("n_features_in_") != "int":
        raise Refused(f"{cls.__name__} declares no n_features_in_.")
    sizes = {}
    for name in ("n_features_in_", "latent_dim_"):
        if name in encoded and kinds.get(name) == "int":
            sizes[name] = decode_kind("int", encoded[name], name)
            if not 1 <= sizes[name] <= _MAX_CONFIG_INT:
                raise Refused(f"its {name} is {sizes[name]}.")
    n = sizes["n_features_in_"]
    sizes["latent_dim"] = sizes.get("latent_dim_", estimator.latent_dim)
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
            shape = _ARRAY_SHAPES.get(name)
            if shape is not None and decoded.shape != tuple(sizes[s] for s in shape):
                raise Refused(
                    f"its {name} has the shape {decoded.shape}, expected "
                    f"{tuple(sizes[s] for s in shape)} ({', '.join(shape)})."
                )
        if name in _POSITIVE and not np.all(np.asarray(decoded) > 0):
            raise Refused(f"its {name} is not positive.")
        if kind in ("float", "array") and not np.all(np.abs(decoded) <= _MAX_MAGNITUDE):
            raise Refused(f"its {name} is beyond {_MAX_MAGNITUDE:g} in magnitude.")
        state[name] = decoded
    if estimator.architecture == "conv":
        shape = estimator.image_shape
        if not (
            isinstance(shape, (tuple, list)) and len(shape) in (2, 3)
            and all(type(v) is int and v > 0 for v in shape) and math.prod(shape) == n
        ):
            raise Refused(f"its image_shape {shape!r} does not hold n_features_in_ = {n} values.")
    return state


def _decode_scaler(value, where, scaling, n):
    from . import _scaling

    expected = FunctionTransformer if scaling is None else _scaling.SCALERS.get(scaling)
    if not isinstance(value, dict) or set(value) != {"class", "params", "fitted"}:
        raise Refused(f"its {where} is not a scaler as skae writes one.")
    if expected is None or value["class"] != expected.__name__ or _SCALERS.get(value["class"]) is not expected:
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
    if isinstance(scaler, FunctionTransformer) and (scaler.func is not None or scaler.inverse_func is not None):
        raise Refused(f"its {where} names functions.")
    scaler.set_output(transform="default")
    schema = _SCALER_FITTED[cls.__name__]
    if set(fitted) - {"feature_names_in_"} != set(schema):
        raise Refused(f"its {where} has the fitted attributes {sorted(fitted)[:10]}, expected {sorted(schema)}.")
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
            if isinstance(decoded, (bool, np.bool_)) or counts.dtype.kind not in "iuf" or counts.shape not in ((), (n,)):
                raise Refused(f"its {label} is not a count of rows.")
            if not (np.isfinite(counts).all() and (counts >= 0).all()):
                raise Refused(f"its {label} is not a count of rows.")
        elif not (decoded is None and kind == "vector?"):
            if not (isinstance(decoded, np.ndarray) and decoded.dtype.kind == "f" and decoded.shape == (n,)):
                raise Refused(f"its {label} is not {n} floats, one per feature.")
            if not np.isfinite(decoded).all():
                raise Refused(f"its {label} holds NaN or infinity.")
        setattr(scaler, attr, decoded)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        factor, offset = _scaling.affine_map(scaler, n)
        if not (np.isfinite(factor).all() and np.isfinite(offset).all() and np.all(factor > 0)):
            raise Refused(f"its {where} does not scale every column by a finite, positive, non-zero factor.")
        # Inputs that scale to [-1e3, 1e3]: their squared errors must be finite.
        reach = (np.abs(offset) + 1e3) / factor
        if not (np.all(reach <= _MAX_MAGNITUDE) and np.all(factor <= _MAX_MAGNITUDE)):
            raise Refused(f"its {where} maps its range beyond {_MAX_MAGNITUDE:g} in magnitude.")
    return scaler


# ----------------------------------------------------------------------
# the network


def _load_network(model_bytes, estimator, n_features):
    members = _keras_members(model_bytes, read=("config.json", "metadata.json"))
    config = read_json(members["config.json"], f"{_MODEL}/config.json")
    metadata = read_json(members["metadata.json"], f"{_MODEL}/metadata.json")
    if not isinstance(metadata, dict):
        raise Refused(f"its {_MODEL}/metadata.json is not an object.")
    _keras_policy.check_config(config)
    _check_network_config(config, members["sizes"]["model.weights.h5"])
    with tempfile.TemporaryDirectory() as folder:
        model_path = os.path.join(folder, _MODEL)
        with open(model_path, "wb") as file:
            file.write(model_bytes)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = keras.saving.load_model(model_path, compile=True, safe_mode=True)
    skipped = [str(w.message) for w in caught if "Skipping variable loading" in str(w.message)]
    if skipped:
        raise Refused(f"its weights do not fit its network: {skipped[0]}")
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    _check_network(model, estimator, n_features)
    return model


def _check_network_config(config, weights_size):
    """Bound what Keras will allocate: integers in the configuration, and the weights declared."""
    if not (isinstance(config, dict) and isinstance(config.get("config"), dict)):
        raise Refused("its network's configuration is not a model.")
    if config.get("class_name") != "Functional" or config["config"].get("name") != "autoencoder":
        raise Refused("its network is not a functional model named 'autoencoder'.")
    declared, stack = 0, [(None, config)]
    while stack:
        key, item = stack.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, int):
            if key not in _UNBOUNDED_CONFIG_KEYS and abs(item) > _MAX_CONFIG_INT:
                raise Refused(f"its network's configuration holds {key} = {item}, beyond {_MAX_CONFIG_INT}.")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise Refused(f"its network's configuration holds {key} = {item}.")
        elif isinstance(item, list):
            stack.extend((key, value) for value in item)
        elif isinstance(item, dict):
            declared += _declared_weights(item)
            stack.extend(item.items())
    # float32 weights: 4 bytes each, all stored in model.weights.h5.
    if 4 * declared > weights_size + _MiB:
        raise Refused(
            f"its network declares {declared} weights but stores {weights_size} bytes of them."
        )


def _declared_weights(item):
    """Weights a Dense or convolution layer's configuration makes Keras allocate (0 for others)."""
    name, layer = item.get("class_name"), item.get("config")
    if name not in ("Dense", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"):
        return 0
    build = item.get("build_config")
    shape = build.get("input_shape") if isinstance(build, dict) else None
    if not (isinstance(layer, dict) and isinstance(shape, list) and shape and type(shape[-1]) is int):
        raise Refused(f"its network's {name} layer does not say its input shape.")
    units = layer.get("units") if name == "Dense" else layer.get("filters")
    kernel = layer.get("kernel_size", [1]) if name != "Dense" else [1]
    kernel = kernel if isinstance(kernel, list) else [kernel]
    if type(units) is not int or not all(type(k) is int and k >= 0 for k in kernel):
        raise Refused(f"its network's {name} layer has no valid size.")
    channels = shape[-1] if layer.get("data_format", "channels_last") != "channels_first" else shape[1]
    if type(channels) is not int:
        raise Refused(f"its network's {name} layer does not say its input shape.")
    return abs(channels) * abs(units) * math.prod(kernel) + abs(units)


def _check_network(model, estimator, n_features):
    from ._architectures import Corruption, Sampling
    from ._denoising import DenoisingAutoencoder
    from ._variational import VariationalAutoencoder

    cls = type(estimator)
    if not isinstance(model, keras.Model) or model.name != "autoencoder":
        raise Refused("its network is not a model named 'autoencoder'.")
    needs = {"encoder": keras.Model, "decoder": keras.Model}
    if issubclass(cls, DenoisingAutoencoder):
        needs["corruption"] = Corruption
    if issubclass(cls, VariationalAutoencoder):
        needs["sampling"] = Sampling
    layers = {layer.name: layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)}
    if set(layers) != set(needs):
        raise Refused(
            f"its network has the layers {sorted(layers)}, but a {cls.__name__} has "
            f"{sorted(needs)}: the file does not hold a {cls.__name__}."
        )
    for name, kind in needs.items():
        if not isinstance(layers[name], kind):
            raise Refused(f"its network's {name} is not a {kind.__name__}.")
    encoder, decoder = layers["encoder"], layers["decoder"]
    for inner in (encoder, decoder):
        if any(isinstance(layer, (keras.Model, Corruption, Sampling)) for layer in inner.layers):
            raise Refused(f"its network's {inner.name} holds models or skae layers of its own.")
    width = estimator._code_width()
    shapes = {
        "the network's input": (_single_shape(model.inputs), n_features),
        "the network's output": (_single_shape(model.outputs), n_features),
        "the encoder's input": (_single_shape(encoder.inputs), n_features),
        "the encoder's output": (_single_shape(encoder.outputs), width),
        "the decoder's input": (_single_shape(decoder.inputs), _latent_dim(estimator)),
        "the decoder's output": (_single_shape(decoder.outputs), n_features),
    }
    for label, (shape, expected) in shapes.items():
        if shape != (None, expected):
            raise Refused(f"{label} has the shape {shape}, expected (None, {expected}).")
    if not getattr(model, "compiled", False) or not isinstance(model.optimizer, keras.optimizers.Optimizer):
        raise Refused("its network was not saved compiled (no optimizer).")
    zeros = np.zeros((1, n_features), dtype=np.float32)
    for label, network, expected in (("network", model, n_features), ("encoder", encoder, width)):
        output = network(zeros, training=False)
        if isinstance(output, (list, tuple)) or not hasattr(output, "shape"):
            raise Refused(f"its {label} does not give one output.")
        output = keras.ops.convert_to_numpy(output)
        if output.shape != (1, expected) or not np.isfinite(output).all():
            raise Refused(f"its {label} does not give {expected} finite values for a row of zeros.")


def _latent_dim(estimator):
    return getattr(estimator, "latent_dim_", estimator.latent_dim)


def _single_shape(tensors):
    if len(tensors) != 1:
        return None
    return tuple(tensors[0].shape)


def _restore_seeds(model, encoded):
    variables = _seed_variables(model)
    if len(encoded) != len(variables):
        raise Refused(f"it holds {len(encoded)} random-layer states for {len(variables)} random layers.")
    values = []
    for variable, value in zip(variables, encoded):
        decoded = decode_value(value, "seed state")
        expected = np.dtype(variable.dtype)
        if not (isinstance(decoded, np.ndarray) and decoded.dtype == expected and decoded.shape == tuple(variable.shape)):
            raise Refused(f"a random-layer state is not {expected} of shape {tuple(variable.shape)}.")
        values.append(decoded)
    for variable, value in zip(variables, values):
        variable.assign(value)


def _seed_variables(model):
    return [v for v in model.non_trainable_variables if "seed_generator_state" in v.path]


# ----------------------------------------------------------------------
# versions and checksums


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
        digits = "".join(ch for ch in part if ch.isdigit())[:9]
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _digest(data):
    return hashlib.sha256(data).hexdigest()


def _canonical(value):
    """The canonical bytes of a JSON value (kept for tests and tools)."""
    return canonical(value)
