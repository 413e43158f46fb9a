"""Hostile model files, crafted as their author would: from the documented format, not from skae.

A skae model file is a zip of ``skae.json`` (plain JSON with SHA-256
checksums of its own canonical body and of ``model.keras``) and
``model.keras`` (Keras' zip of ``config.json``, ``metadata.json`` and
``model.weights.h5``). Anyone can recompute the checksums (:func:`seal`), so
every crafted file here fails, or loads, for its own reason. Nothing here
imports skae's private modules: the attacks use only what a file's author
has, and the fuzz harness (:func:`mutate`) is shared by ``test_fuzz_files.py``
and ``benchmarks/fuzz_model_files.py``.
"""

import hashlib
import io
import json
import math
import random
import stat
import warnings
import zipfile
from pathlib import Path

import numpy as np

META, MODEL = "skae.json", "model.keras"
CONFIG, WEIGHTS = "config.json", "model.weights.h5"


# ---------------------------------------------------------------------------
# Archives and checksums


def members(source):
    """The members of the zip in ``source`` (a path, bytes or a file), by name."""
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    with zipfile.ZipFile(source) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zip_bytes(items):
    """A zip of ``items``: a dict, or (name or ZipInfo, data) pairs (duplicates allowed)."""
    items = items.items() if isinstance(items, dict) else items
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of duplicate names
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in items:
                archive.writestr(name, data)
    return buffer.getvalue()


def canonical(value):
    """The canonical JSON bytes the format checksums (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, allow_nan=False, separators=(",", ":")).encode()


def seal(meta, outer, meta_bytes=None):
    """``outer`` with ``meta`` written into it and both checksums recomputed, as anyone can."""
    outer = dict(outer)
    body = {key: value for key, value in meta.items() if key != "sha256"}
    model = outer.get(MODEL)
    meta["sha256"] = {
        META: hashlib.sha256(canonical(body)).hexdigest(),
        MODEL: None if model is None else hashlib.sha256(model).hexdigest(),
    }
    outer[META] = json.dumps(meta).encode() if meta_bytes is None else meta_bytes(meta)
    return outer


def craft(source, edit_meta=None, edit_config=None, edit_inner=None):
    """The bytes of the model file ``source`` with its parts edited and its checksums resealed.

    ``edit_meta(meta)`` edits the header in place; ``edit_config(config)`` the
    network's configuration in place; ``edit_inner(inner)`` the members of
    ``model.keras`` (a dict of bytes) in place.
    """
    outer = members(source)
    meta = json.loads(outer[META])
    if edit_meta is not None:
        edit_meta(meta)
    if edit_config is not None or edit_inner is not None:
        inner = members(outer[MODEL])
        if edit_config is not None:
            config = json.loads(inner[CONFIG])
            edit_config(config)
            inner[CONFIG] = json.dumps(config).encode()
        if edit_inner is not None:
            edit_inner(inner)
        outer[MODEL] = zip_bytes(inner)
    return zip_bytes(seal(meta, outer))


def find_layer(config, class_name):
    """The first layer configuration of ``class_name`` anywhere in a network's configuration."""
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("class_name") == class_name:
                return item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(reversed(item))
    raise AssertionError(f"no {class_name} layer")


def symlink_member(name, target):
    """A zip member that declares itself a symbolic link to ``target``."""
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


# ---------------------------------------------------------------------------
# Fuzzing: random damage and random edits, resealed or not


def _random_json(rng, depth=0):
    choices = [
        None,
        True,
        False,
        0,
        -1,
        1,
        2**70,
        1e308,
        5e-324,
        1e-320,
        -0.0,
        "",
        "x",
        "__skae__",
        [],
        {},
    ]
    if depth < 3 and rng.random() < 0.3:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 3 and rng.random() < 0.2:
        kind = rng.choice(["tuple", "dict", "ndarray", "keras", "scalar", "float", "x"])
        key = rng.choice(["items", "value", "config", "dtype"])
        return {"__skae__": kind, key: _random_json(rng, depth + 1)}
    return rng.choice(choices)


def _json_paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _json_paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value[:20]):
            yield from _json_paths(item, (*path, i))


def _edit_number(rng, value):
    edited = _any_number(rng, value)
    return edited if math.isfinite(edited) else 1e308  # JSON (and the checksum) holds no inf


def _any_number(rng, value):
    return rng.choice(
        [
            value * 2,
            -value,
            value + 1,
            0,
            1e300,
            1e-320,
            5e-324,
            value * 1e-300,
            value * 1e200,
        ]
    )


def edit_json(rng, document):
    """One random edit of ``document`` (a dict holding the edited value under one key)."""
    paths = [p for p in _json_paths(document) if p]
    path = rng.choice(paths)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    op = rng.random() if len(path) > 1 else 0.0  # the root is only ever replaced
    if op < 0.45:
        parent[path[-1]] = _random_json(rng)
    elif op < 0.55 and isinstance(parent, dict):
        del parent[path[-1]]
    elif op < 0.65 and isinstance(parent, dict):
        key = rng.choice(["predict", "__class__", "module", "class_name", "extra_", "_scale"])
        parent[key] = _random_json(rng)
    else:
        value = parent[path[-1]]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            parent[path[-1]] = _edit_number(rng, value)
        elif isinstance(value, str):
            parent[path[-1]] = rng.choice(
                [
                    "os",
                    "keras.src.tree.torchtree_impl",
                    "Lambda",
                    "Embedding",
                    "encoder",
                    value + "x",
                    "",
                ]
            )
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        ):
            i = rng.randrange(len(value))
            value[i] = _edit_number(rng, value[i])
        else:
            parent[path[-1]] = _random_json(rng)


def weight_regions(source, weights):
    """Byte ranges of ``model.weights.h5`` that hold float32 values of ``weights`` (arrays)."""
    h5 = members(members(source)[MODEL])[WEIGHTS]
    regions = []
    for array in weights:
        raw = np.asarray(array, dtype=np.float32).tobytes()
        at = h5.find(raw) if len(raw) >= 16 else -1
        if at > 0:
            regions.append((at, at + len(raw)))
    return regions


MUTATIONS = (
    "flip",
    "flip",
    "truncate",
    "insert",
    "json",
    "json",
    "json",
    "state",
    "config",
    "config",
    "replace",
    "weights",
    "structure",
    "unsealed",
)


def mutate(rng, data, other_model, regions):
    """``(kind, bytes)``: one random mutation of the model file ``data``.

    ``other_model`` is another estimator's ``model.keras`` to swap in;
    ``regions`` are the byte ranges of weight values in ``model.weights.h5``
    (see :func:`weight_regions`). Edits of the JSON, the configuration and
    the weights are resealed (the checksums made to match), as an attacker
    would; ``flip``, ``truncate``, ``insert`` and ``unsealed`` are accidents.
    """
    kind = rng.choice(MUTATIONS)
    if kind == "flip":
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            mutated[rng.randrange(len(mutated))] ^= 1 << rng.randrange(8)
        return kind, bytes(mutated)
    if kind == "truncate":
        return kind, data[: rng.randrange(len(data))]
    if kind == "insert":
        at = rng.randrange(len(data))
        inserted = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        return kind, data[:at] + inserted + data[at:]
    outer = members(data)
    meta = json.loads(outer[META])
    if kind in ("json", "unsealed"):
        document = {"meta": meta}
        for _ in range(rng.randint(1, 3)):
            edit_json(rng, document)
        meta = document["meta"]
        if kind == "unsealed" or not isinstance(meta, dict):
            outer[META] = json.dumps(meta).encode()
            return kind, zip_bytes(outer)
        return kind, zip_bytes(seal(meta, outer))
    if kind == "state":  # the fitted attributes only: values that pass a schema
        document = {"state": meta["state"]}
        for _ in range(rng.randint(1, 2)):
            edit_json(rng, document)
        meta["state"] = document["state"]
        return kind, zip_bytes(seal(meta, outer))
    inner = members(outer[MODEL])
    if kind == "config":
        document = {"config": json.loads(inner[CONFIG])}
        for _ in range(rng.randint(1, 3)):
            edit_json(rng, document)
        inner[CONFIG] = json.dumps(document["config"]).encode()
    elif kind == "replace":
        choice = rng.choice(["random", "other", "empty"])
        outer[MODEL] = {
            "random": bytes(rng.randrange(256) for _ in range(200)),
            "other": other_model,
            "empty": b"",
        }[choice]
        return kind, zip_bytes(seal(meta, outer))
    elif kind == "weights":
        weights = bytearray(inner[WEIGHTS])
        choice = rng.random()
        if choice < 0.3:
            weights = weights[: rng.randrange(len(weights))]
        elif choice < 0.5:
            for _ in range(rng.randint(1, 8)):
                weights[rng.randrange(len(weights))] ^= 1 << rng.randrange(8)
        else:  # the weights' values only (not HDF5's own structures)
            for _ in range(rng.randint(1, 4)):
                start, stop = rng.choice(regions)
                at = start + 4 * rng.randrange((stop - start) // 4)
                weights[at : at + 4] = rng.choice(
                    [
                        b"\x00\x00\x80\x7f",
                        b"\x00\x00\xc0\x7f",
                        b"\x00\x00\x80\xff",
                        b"\x01\x00\x00\x00",
                        b"\xff\xff\x7f\x7f",  # a subnormal; float32's largest
                    ]
                )
        inner[WEIGHTS] = bytes(weights)
    else:  # structure
        choice = rng.choice(["duplicate", "extra", "missing", "link", "swap"])
        pairs = list(inner.items())
        if choice == "duplicate":
            pairs.append(rng.choice(pairs))
        elif choice == "extra":
            pairs.append((rng.choice(["assets/x", "../x", "x.py"]), b"x"))
        elif choice == "missing":
            pairs.pop(rng.randrange(len(pairs)))
        elif choice == "swap":  # two members' contents exchanged
            i, j = rng.sample(range(len(pairs)), 2)
            (a, x), (b, y) = pairs[i], pairs[j]
            pairs[i], pairs[j] = (a, y), (b, x)
        else:
            name = rng.choice([n for n, _ in pairs])
            pairs = [(n, d) for n, d in pairs if n != name]
            pairs.append(symlink_member(name, b"/etc/passwd"))
        outer[MODEL] = zip_bytes(pairs)
        return kind, zip_bytes(seal(meta, outer))
    outer[MODEL] = zip_bytes(inner)
    return kind, zip_bytes(seal(meta, outer))


def new_rng(seed):
    return random.Random(seed)


# ---------------------------------------------------------------------------
# The fuzz harness: base files of every kind, and what became of a mutant

KINDS = ("transformer", "denoiser", "detector", "variational", "conv")
METHODS = (
    "transform",
    "predict",
    "score_samples",
    "decision_function",
    "reconstruction_error",
)


def fit_bases(folder):
    """Small fitted estimators of every kind, saved in ``folder``.

    Returns ``{kind: (path, X)}``: the model file, and rows of the kind's
    data for a probe of its outputs.
    """
    import skae

    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 16))
    images = np.clip(rng.uniform(size=(60, 16)), 0, 1)
    small = {"hidden_layer_sizes": (4,), "latent_dim": 2, "epochs": 1, "random_state": 0}
    estimators = {
        "transformer": (skae.AutoencoderTransformer(**small), X),
        "denoiser": (skae.DenoisingAutoencoder(**small, noise="gaussian"), X),
        "detector": (skae.AutoencoderOutlierDetector(**small), X),
        "variational": (skae.VariationalAutoencoder(**small), X),
        "conv": (
            skae.AutoencoderTransformer(
                **small, architecture="conv", image_shape=(4, 4), filters=(2,)
            ),
            images,
        ),
    }
    bases = {}
    for kind, (estimator, data) in estimators.items():
        path = estimator.fit(data).save(Path(folder) / f"{kind}.skae")
        bases[kind] = (path, data)
    return bases


def outputs(estimator, X):
    """The estimator's outputs on ``X``, by method (the methods it has)."""
    found = {}
    for method in METHODS:
        if hasattr(estimator, method):
            found[method] = np.asarray(getattr(estimator, method)(X), dtype=float)
    return found


def outcome(path, X, expected=None, error_type=None):
    """What ``skae.load(path)`` made of a mutant: ``(result, detail)``.

    ``result`` is ``"refused"`` (``ModelFileError``), ``"loaded"`` (every
    output on the probe rows ``X`` finite; ``detail`` says whether they equal
    ``expected``, the base file's) or ``"other"`` (another exception, at load
    or first use, or non-finite outputs; ``detail`` describes it).
    """
    import skae

    error_type = error_type or skae.ModelFileError
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            estimator = skae.load(path)
        except error_type:
            return "refused", None
        except Exception as error:
            return "other", f"load: {type(error).__name__}: {str(error)[:200]}"
        try:
            found = outputs(estimator, X)
        except Exception as error:
            return "other", f"first use: {type(error).__name__}: {str(error)[:200]}"
    bad = [method for method, values in found.items() if not np.isfinite(values).all()]
    if bad:
        return "other", f"non-finite outputs of {bad}"
    same = expected is not None and all(
        np.array_equal(found[m], expected[m]) for m in expected if m in found
    )
    return "loaded", "same outputs" if same else "other outputs"
