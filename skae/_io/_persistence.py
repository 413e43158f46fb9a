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
it builds anything, each step in its own module:

1. the archive (skae/_io/_archive.py): a regular file, only the members above,
   sizes and compression ratios capped, read in bounded chunks; the HMAC,
   when a key is given, before anything is parsed;
2. the JSON (skae/_io/_codec.py and _json.py, and the header here): bounded depth, no NaN
   literals or repeated keys, exactly the expected header, versions and
   checksums;
3. the estimator (skae/_io/_estimator.py): one of skae's classes, its
   parameters, its declared fitted attributes, each of its kind;
4. the network (skae/_io/_network.py): the inner ``.keras`` archive checked
   like the outer one, every object of its configuration resolved through an
   allow-list (skae/_io/_keras_policy.py: no module the file names is imported),
   read by Keras in safe mode, then checked against the JSON and run once.

Any failure raises :class:`ModelFileError` naming the file, with the cause
chained; a missing path raises ``FileNotFoundError`` as ``open`` does.

The same file travels as bytes (:func:`to_bytes`, :func:`from_bytes`): a
fitted estimator pickles, deep-copies and dumps with skops as its model file
(skae/_io/_pickling.py and the estimators' ``save``), loaded back
through the same validation.
"""

import io
import os
import warnings

import keras
import numpy as np
import sklearn

from . import _archive, _estimator, _network
from ._json import Refused, canonical, dump_json, read_json

__all__ = [
    "InconsistentVersionWarning",
    "ModelFileError",
    "from_bytes",
    "load",
    "save_estimator",
    "to_bytes",
    "versions",
]

FORMAT = "skae-model"
FORMAT_VERSION = 2
_META, _MODEL, _HMAC = "skae.json", _network.MODEL, "skae.hmac"
_HEADER = (
    "format",
    "format_version",
    "versions",
    "estimator",
    "params",
    "state",
    "seed_states",
    "sha256",
)
_OUTER_MEMBERS = {_META: _archive.MAX_JSON, _MODEL: _archive.MAX_NETWORK, _HMAC: 1024}


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
    return _archive.write_atomically(path, _members(estimator, _archive.key_bytes(key)))


def to_bytes(estimator, key=None):
    """The model file of ``estimator`` as bytes: what :func:`save_estimator` writes, in memory.

    Raises ``TypeError`` for what a file cannot hold, as ``save`` does.
    """
    return _archive.zip_bytes(_members(estimator, _archive.key_bytes(key)))


def _members(estimator, key):
    meta, model_bytes = _serialize(estimator)
    signed = [(_META, dump_json(meta)), (_MODEL, model_bytes)]
    members = [(name, data) for name, data in signed if data is not None]
    if key is not None:
        members.append((_HMAC, _archive.members_hmac(key, signed).encode()))
    return members


def _serialize(estimator):
    params, encoded_params = _estimator.encode_params(estimator)
    model = getattr(estimator, "model_", None)
    state, seeds, model_bytes = {}, [], None
    if model is not None:
        state = _estimator.encode_state(estimator, params)
        seeds = _network.seed_states(model)
        model_bytes = _network.keras_bytes(model)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": versions(),
        "estimator": type(estimator).__name__,
        "params": encoded_params,
        "state": state,
        "seed_states": seeds,
    }
    meta["sha256"] = {
        _META: _archive.digest(canonical(meta)),
        _MODEL: None if model_bytes is None else _archive.digest(model_bytes),
    }
    return meta, model_bytes


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
    key = _archive.key_bytes(key)
    try:
        fd = _archive.open_regular(path)
    except Refused as error:
        raise ModelFileError(f"Cannot load '{path}': {error}", path) from error
    with os.fdopen(fd, "rb") as file:
        return _guarded(f"'{path}'", path, _load_file, file, key)


def from_bytes(data, *, key=None):
    """The estimator in ``data``, a model file as bytes, validated exactly as :func:`load` does."""
    return _from_bytes(data, _archive.key_bytes(key), "these bytes")


def _from_bytes(data, key, label, warn_at=6):
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"A skae model file is bytes, not {type(data).__name__}.")
    return _guarded(label, None, _load, io.BytesIO(data), len(data), key, warn_at)


def _guarded(label, path, load_, *args):
    """``load_(*args)``, any failure raised as a :class:`ModelFileError` about ``label``."""
    try:
        return load_(*args)
    except (ModelFileError, Warning, MemoryError):
        raise
    except Refused as error:
        raise ModelFileError(f"Cannot load {label}: {error}", path) from error
    except Exception as error:
        raise ModelFileError(
            f"Cannot load {label}: it is damaged or not a skae model file "
            f"({type(error).__name__}: {error}).",
            path,
        ) from error


def _load_file(file, key):
    return _load(file, os.fstat(file.fileno()).st_size, key, warn_at=6)


def _load(file, size, key, warn_at):
    """The estimator in ``file``; ``warn_at``: a version warning's stack level (None: no check)."""
    members, _ = _archive.read_archive(file, size, _OUTER_MEMBERS, required={_META}, what="it")
    meta_bytes, model_bytes = members[_META], members.get(_MODEL)
    if key is not None:
        _archive.check_hmac(key, [(_META, meta_bytes), (_MODEL, model_bytes)], members.get(_HMAC))
    meta = read_json(meta_bytes, _META)
    _check_header(meta)
    if warn_at is not None:
        _check_versions(meta["versions"], stacklevel=warn_at)
    _check_digests(meta, model_bytes)
    estimator = _estimator.build_estimator(meta["estimator"], meta["params"])
    if model_bytes is None:
        if meta["state"] or meta["seed_states"]:
            raise Refused("it holds fitted attributes but no network.")
        return estimator
    state = _estimator.decode_state(estimator, meta["state"])
    for name, value in state.items():  # the network's checks use them (_code_width)
        setattr(estimator, name, value)
    model = _network.load_network(model_bytes, estimator, state["n_features_in_"])
    _network.restore_seeds(model, meta["seed_states"])
    estimator.model_ = model
    return estimator


# ----------------------------------------------------------------------
# the header, checksums and versions


def _check_header(meta):
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise Refused(f"it is not a skae model file (no '{FORMAT}' header).")
    version = meta.get("format_version")
    found = meta.get("versions")
    writer = found.get("skae") if isinstance(found, dict) else None
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
        isinstance(found, dict)
        and {"skae", "keras"} <= set(found)
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
        _META: _archive.digest(canonical(body)),
        _MODEL: None if model_bytes is None else _archive.digest(model_bytes),
    }
    for member in (_META, _MODEL):
        if expected.get(member) != found[member]:
            raise Refused(
                f"it was modified after it was saved, or damaged: the checksum of {member} "
                "does not match."
            )


def versions():
    from .._version import __version__

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


def _canonical(value):
    """The canonical bytes of a JSON value (kept for tests and tools)."""
    return canonical(value)
