"""save() and skae.load(): round trips, durable writes, and files treated as untrusted input.

The refusal tests craft files as a deliberate attacker would: the checksums
are recomputed after each edit (anyone can), so every file below fails for
its own reason, not for a checksum mismatch.
"""

import copy
import io
import json
import os
import pickle
import random
import re
import stat
import sys
import tempfile
import threading
import time
import warnings
import zipfile

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_validate

import skae
import skae._version
from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    DenoisingAutoencoder,
    InconsistentVersionWarning,
    ModelFileError,
    VariationalAutoencoder,
)
from skae._io import _archive, _codec, _persistence
from skae._io import _network as _file_network
from tests.io.model_file_crafting import (
    craft,
    find_layer,
    mutate,
    seal,
    symlink_member,
    weight_regions,
    zip_bytes,
)
from tests.io.model_file_crafting import members as zip_members

FAST = {"hidden_layer_sizes": (16,), "latent_dim": 2, "epochs": 3, "batch_size": 32}

ESTIMATORS = {
    "transformer": lambda seed: AutoencoderTransformer(**FAST, random_state=seed),
    "transformer-conv": lambda seed: AutoencoderTransformer(
        **FAST, architecture="conv", image_shape=(8, 8), filters=(4,), random_state=seed
    ),
    "denoising": lambda seed: DenoisingAutoencoder(
        **FAST, noise="salt_and_pepper", clip=(0, 16), random_state=seed
    ),
    "detector": lambda seed: AutoencoderOutlierDetector(
        **FAST, contamination=0.05, random_state=np.random.RandomState(seed)
    ),
    "variational": lambda seed: VariationalAutoencoder(**FAST, random_state=seed),
}
METHODS = [
    "transform",
    "predict",
    "score_samples",
    "decision_function",
    "reconstruction_error",
]


@pytest.fixture
def seed():
    return 0


def _comparable(params):
    """Parameters with a RandomState replaced by its state, which can be compared."""
    return {
        key: repr(
            value.get_state(legacy=False) if isinstance(value, np.random.RandomState) else value
        )
        for key, value in params.items()
    }


def _outputs(estimator, X):
    return {
        name: np.asarray(getattr(estimator, name)(X))
        for name in METHODS
        if hasattr(estimator, name)
    }


# ---------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("name", ESTIMATORS)
def test_round_trip_gives_identical_outputs(name, digits, seed, tmp_path):
    X = pd.DataFrame(digits[0], columns=[f"pixel_{i}" for i in range(64)])
    estimator = ESTIMATORS[name](seed).fit(X)
    loaded = skae.load(estimator.save(tmp_path / "model.skae"))

    assert type(loaded) is type(estimator)
    assert _comparable(loaded.get_params()) == _comparable(estimator.get_params())
    assert list(loaded.feature_names_in_) == list(X.columns)
    assert loaded.history_ == estimator.history_
    expected, found = _outputs(estimator, X), _outputs(loaded, X)
    assert found.keys() == expected.keys() and len(found) >= 3
    for method in expected:
        np.testing.assert_array_equal(found[method], expected[method], err_msg=method)
    # Training goes on exactly as it would have: weights, optimizer state and
    # the random layers' counters all came back.
    estimator.partial_fit(X)
    loaded.partial_fit(X)
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))


def test_detector_keeps_its_threshold(digits, seed, tmp_path):
    X, _ = digits
    detector = ESTIMATORS["detector"](seed).fit(X)
    loaded = skae.load(detector.save(tmp_path / "detector.skae"))
    assert loaded.offset_ == detector.offset_
    np.testing.assert_array_equal(loaded.predict(X), detector.predict(X))


def test_unfitted_estimator_round_trips_unfitted(tmp_path):
    estimator = AutoencoderTransformer(
        latent_dim=3, hidden_layer_sizes=(8, 4), optimizer__beta_1=0.8
    )
    loaded = skae.load(estimator.save(tmp_path / "unfitted.skae"))
    assert loaded.get_params() == estimator.get_params()
    assert loaded.get_params()["optimizer__beta_1"] == 0.8
    with pytest.raises(NotFittedError):
        loaded.transform(np.zeros((2, 4)))


def test_keras_objects_as_parameters_round_trip(digits, seed, tmp_path):
    X, _ = digits
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, 10, 0.5)
    estimator = AutoencoderTransformer(
        **FAST,
        optimizer=keras.optimizers.SGD(momentum=0.5),
        learning_rate=schedule,
        lr_schedule=None,
        loss=keras.losses.Huber(),
        random_state=seed,
        scaling=None,
    ).fit(X)
    loaded = skae.load(estimator.save(tmp_path / "keras.skae"))
    assert loaded.learning_rate.get_config() == schedule.get_config()
    assert isinstance(loaded.loss, keras.losses.Huber)
    np.testing.assert_array_equal(loaded.transform(X), estimator.transform(X))


def test_the_file_is_a_keras_archive_and_plain_json(saved, tmp_path):
    with zipfile.ZipFile(saved) as archive:
        assert sorted(archive.namelist()) == ["model.keras", "skae.json"]
        meta = json.loads(archive.read("skae.json"))
        (tmp_path / "model.keras").write_bytes(archive.read("model.keras"))
    assert meta["format_version"] == _persistence.FORMAT_VERSION
    assert meta["versions"]["skae"] == skae.__version__
    assert meta["estimator"] == "AutoencoderOutlierDetector"
    # Only the declared fitted attributes, nothing private.
    assert set(meta["state"]) <= set(AutoencoderOutlierDetector._fitted_attributes)
    model = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert model.input_shape == (None, 64)


def test_save_refuses_objects_json_cannot_hold(digits, tmp_path):
    X, _ = digits
    estimator = AutoencoderTransformer(
        **FAST, callbacks=[keras.callbacks.EarlyStopping(monitor="loss")]
    ).fit(X)
    with pytest.raises(TypeError, match="without pickle"):
        estimator.save(tmp_path / "model.skae")
    assert list(tmp_path.iterdir()) == []  # no partial file left behind


def test_save_refuses_a_custom_loss(digits, tmp_path):
    X, _ = digits

    def my_loss(y_true, y_pred):
        return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)

    estimator = AutoencoderTransformer(**FAST, loss=my_loss).fit(X)
    with pytest.raises(TypeError, match="without pickle"):
        estimator.save(tmp_path / "model.skae")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------
# Saving: durable, atomic, and as the user expects of a file


def test_saved_file_gets_the_usual_permissions(tmp_path):
    path = AutoencoderTransformer().save(tmp_path / "model.skae")
    (tmp_path / "plain.txt").write_text("")
    assert path.stat().st_mode == (tmp_path / "plain.txt").stat().st_mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.skae", "plain.txt"]


def test_saving_over_a_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "model.skae"
    path.write_bytes(b"old")
    path.chmod(0o600)
    AutoencoderTransformer().save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o640)
    AutoencoderTransformer(latent_dim=3).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert skae.load(path).latent_dim == 3


def test_saving_to_a_symlink_replaces_the_link_not_its_target(tmp_path):
    # Issue 27: a link is never written through (tests/io/test_attacks.py has the attacks).
    target = tmp_path / "models" / "real.skae"
    target.parent.mkdir()
    link = tmp_path / "current.skae"
    link.symlink_to(target)
    AutoencoderTransformer(latent_dim=5).save(link)
    assert not link.is_symlink() and link.is_file() and not target.exists()
    assert skae.load(link).latent_dim == 5
    assert list(target.parent.iterdir()) == []


def test_stale_temporaries_are_removed_by_the_next_save(tmp_path):
    stale = tmp_path / ".model.skae.k1ll3d.skae-tmp"
    fresh = tmp_path / ".model.skae.wr1t1ng.skae-tmp"  # another save, still writing
    other = tmp_path / ".other.skae.k1ll3d.skae-tmp"  # another target's
    for path in (stale, fresh, other):
        path.write_bytes(b"partial")
    hours_ago = time.time() - 2 * 3600
    for path in (stale, other):
        os.utime(path, (hours_ago, hours_ago))
    AutoencoderTransformer().save(tmp_path / "model.skae")
    assert not stale.exists()
    assert fresh.exists() and other.exists()


def test_save_errors_name_the_users_path(tmp_path):
    missing = tmp_path / "no-such-folder" / "model.skae"
    with pytest.raises(FileNotFoundError) as caught:
        AutoencoderTransformer().save(missing)
    assert str(missing) in str(caught.value) and "skae-tmp" not in str(caught.value)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(OSError) as caught:
        AutoencoderTransformer().save(folder)
    assert str(folder) in str(caught.value) and "skae-tmp" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-folder"]
    assert list(folder.iterdir()) == []


def test_threads_saving_to_one_path_never_mix_files(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(24, 4))
    networks = [
        AutoencoderTransformer(latent_dim=k, hidden_layer_sizes=(4,), epochs=1, random_state=k).fit(
            X
        )
        for k in (1, 2)
    ]
    # Eight estimators, told apart by tol (which changes no output), on two networks.
    estimators = [
        pickle.loads(pickle.dumps(networks[i % 2])).set_params(tol=(i + 1) / 1000) for i in range(8)
    ]
    expected = {est.tol: est.transform(X) for est in estimators}
    path = tmp_path / "shared.skae"
    errors = []

    def save_repeatedly(i):
        try:
            for _ in range(3):
                estimators[i].save(path)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=save_repeatedly, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    loaded = skae.load(path)
    np.testing.assert_array_equal(loaded.transform(X), expected[loaded.tol])
    assert [p.name for p in tmp_path.iterdir()] == ["shared.skae"]


# ---------------------------------------------------------------------------
# Tools for crafting files


@pytest.fixture(scope="module")
def saved(tmp_path_factory, digits):
    """A saved detector; each test rewrites a copy of it."""
    path = tmp_path_factory.mktemp("saved") / "detector.skae"
    ESTIMATORS["detector"](0).fit(digits[0]).save(path)
    return path


@pytest.fixture(scope="module")
def saved_kinds(tmp_path_factory, digits):
    """A saved transformer, denoiser and variational autoencoder (for relabelling)."""
    folder = tmp_path_factory.mktemp("kinds")
    X = digits[0][:100]
    cache = {}

    def saved_kind(name):
        if name not in cache:
            cache[name] = ESTIMATORS[name](0).fit(X).save(folder / f"{name}.skae")
        return cache[name]

    return saved_kind


def _write(path, items):
    """``path`` holding a zip of ``items`` (a dict, or pairs: duplicates allowed)."""
    path.write_bytes(zip_bytes(items))
    return path


def _craft(saved, tmp_path, edit=None, edit_config=None, model_edit=None, name="crafted.skae"):
    """``saved`` with its header, network config or network bytes edited, resealed."""
    data = craft(saved, edit_meta=edit, edit_config=edit_config)
    if model_edit is not None:
        outer = zip_members(data)
        outer["model.keras"] = model_edit(outer["model.keras"])
        data = zip_bytes(seal(json.loads(outer["skae.json"]), outer))
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _refused(path, match):
    with pytest.raises(ModelFileError, match=match) as caught:
        skae.load(path)
    assert caught.value.path == str(path)
    assert str(path) in str(caught.value)
    return caught.value


# ---------------------------------------------------------------------------
# Refusals: foreign, damaged and tampered files


def test_one_exception_type_naming_the_file(tmp_path, digits):
    text = tmp_path / "data.csv"
    text.write_text("a,b\n1,2\n")
    error = _refused(text, "not a zip archive")
    assert isinstance(error, ValueError)
    _refused(_write(tmp_path / "other.zip", {"readme.txt": b"hello"}), "not a skae model file")
    # A bare Keras archive is not a skae model either.
    AutoencoderTransformer(**FAST).fit(digits[0]).model_.save(tmp_path / "bare.keras")
    _refused(tmp_path / "bare.keras", "not a skae model file")
    _refused(tmp_path, "not a regular file")
    with pytest.raises(FileNotFoundError, match="No such model file"):
        skae.load(tmp_path / "missing.skae")


def test_truncated_and_damaged_files_are_refused_with_the_cause_chained(saved, tmp_path):
    data = saved.read_bytes()
    truncated = tmp_path / "truncated.skae"
    truncated.write_bytes(data[: len(data) // 2])
    _refused(truncated, "not a zip archive")
    # Damage inside the compressed JSON: zlib or the CRC check fails.
    members = zip_members(saved)
    info = zipfile.ZipFile(saved).getinfo("skae.json")
    damaged = bytearray(data)
    damaged[info.header_offset + 30 + len("skae.json") + 10] ^= 0xFF
    (tmp_path / "damaged.skae").write_bytes(bytes(damaged))
    error = _refused(tmp_path / "damaged.skae", "damaged")
    assert error.__cause__ is not None
    assert members  # the original is intact


def test_tampered_header_is_refused(saved, tmp_path):
    members = zip_members(saved)
    meta = json.loads(members["skae.json"])
    meta["state"]["offset_"] = 1e9
    members["skae.json"] = json.dumps(meta)
    _refused(_write(tmp_path / "tampered.skae", members), "modified after it was saved")


def test_tampered_network_is_refused(saved, tmp_path):
    members = zip_members(saved)
    weights = bytearray(members["model.keras"])
    weights[len(weights) // 2] ^= 0xFF
    members["model.keras"] = bytes(weights)
    _refused(_write(tmp_path / "tampered.skae", members), "modified after it was saved")


def test_older_format_is_refused_with_advice(saved, tmp_path):
    _refused(_craft(saved, tmp_path, lambda meta: meta.update(format_version=1)), "refit")
    _refused(_craft(saved, tmp_path, lambda meta: meta.update(format_version=3)), "format 3")


# ---------------------------------------------------------------------------
# Crafted files: which code runs


def test_crafted_keras_module_is_never_imported(saved_kinds, tmp_path, monkeypatch):
    """Keras would import any 'keras.*' module a file names; skae imports none."""
    saved = saved_kinds("transformer")  # a network of Dense layers
    mark = tmp_path / "ran"
    for module in ("torch", "planted"):
        (tmp_path / f"{module}.py").write_text(f"open({str(mark)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    before = set(sys.modules)
    cases = [
        ("keras.src.tree.torchtree_impl", "Dense"),  # imports torch: the planted torch.py
        ("planted", "Dense"),
        ("keras.src.layers.core.dense", "Dense"),  # a private module, even of Keras
        ("keras.layers", "Planted"),  # a public module, but no such class
    ]
    for module, class_name in cases:

        def plant(config, module=module, class_name=class_name):
            layer = find_layer(config, "Dense")
            layer["module"], layer["class_name"] = module, class_name

        crafted = _craft(saved, tmp_path, edit_config=plant)
        _refused(crafted, re.escape(f"{module}.{class_name}"))
    assert not mark.exists()
    new = set(sys.modules) - before
    assert not {"torch", "planted", "keras.src.tree.torchtree_impl"} & new


def test_crafted_registered_names_and_functions_are_refused(saved_kinds, tmp_path):
    saved = saved_kinds("transformer")  # a network of Dense layers

    def registered(config):
        find_layer(config, "Dense")["registered_name"] = "skae>Sampling"

    _refused(_craft(saved, tmp_path, edit_config=registered), "registered")

    def skae_layer_elsewhere(config):
        layer = find_layer(config, "Dense")
        layer["class_name"], layer["registered_name"] = "Corruption", "skae>Corruption"

    crafted = _craft(saved, tmp_path, edit_config=skae_layer_elsewhere)
    _refused(crafted, "skae's registered objects")

    def function(config):
        find_layer(config, "Dense")["config"]["activation"] = {
            "module": "builtins",
            "class_name": "function",
            "config": "deserialize",
            "registered_name": "function",
        }

    crafted = _craft(saved, tmp_path, edit_config=function)
    _refused(crafted, "not a Keras function")

    def typespec(config):
        find_layer(config, "Dense")["config"]["activation"] = {
            "module": "os",
            "class_name": "__typespec__",
            "spec_name": "system",
            "config": [],
            "registered_name": None,
        }

    _refused(_craft(saved, tmp_path, edit_config=typespec), "__typespec__")


@pytest.mark.parametrize("layer", ["Lambda", "TFSMLayer", "TorchModuleWrapper", "StringLookup"])
def test_crafted_code_carrying_layers_are_refused(saved_kinds, tmp_path, layer):
    saved = saved_kinds("transformer")  # a network of Dense layers

    def plant(config):
        find_layer(config, "Dense")["class_name"] = layer

    _refused(_craft(saved, tmp_path, edit_config=plant), layer)


def test_crafted_class_is_refused(saved, tmp_path):
    for name in ("Popen", "load", "BaseAutoencoder", "ModelFileError", ["x"]):
        crafted = _craft(saved, tmp_path, lambda meta, name=name: meta.update(estimator=name))
        _refused(crafted, "not a skae estimator")


# ---------------------------------------------------------------------------
# Crafted files: state and parameters


def test_crafted_state_cannot_replace_methods_or_hold_objects(saved, tmp_path):
    for name in ("predict", "score_samples", "_validate_params", "model_", "__class__"):
        crafted = _craft(saved, tmp_path, lambda meta, name=name: meta["state"].update({name: 1.0}))
        _refused(crafted, "does not have")
    huber = keras.saving.serialize_keras_object(keras.losses.Huber())
    keras_object = {"__skae__": "keras", "config": huber}
    crafted = _craft(saved, tmp_path, lambda meta: meta["state"].update(offset_=keras_object))
    _refused(crafted, "offset_")
    pickled = {"__skae__": "pickle", "data": "gASV..."}
    crafted = _craft(saved, tmp_path, lambda meta: meta["params"].update(loss=pickled))
    _refused(crafted, "unknown value kind 'pickle'")


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda s: s.update(offset_="nan"), "offset_ is not a finite number"),
        (lambda s: s.update(n_features_in_=True), "n_features_in_ is not a non-negative int"),
        (lambda s: s.update(n_features_in_=63), "shape|n_features_in_ = 63"),
        (
            lambda s: s["covariance_location_"].update(shape=[8, 3], values=[0.0] * 24),
            r"covariance_location_ has the shape \(8, 3\)",
        ),
        (
            lambda s: s["covariance_precision_"].update(shape=[4], values=[1.0] * 4),
            "covariance_precision_ has the shape",
        ),
        (
            lambda s: s["residual_scale_"]["values"].__setitem__(0, -1.0),
            "residual_scale_ is not positive",
        ),
        (
            lambda s: s["residual_scale_"].update(shape=[64, 8], values=[1.0] * 512),
            "residual_scale_ has the shape",
        ),
        (lambda s: s["residual_scale_"].update(dtype="<f8"), "not an array"),
        (lambda s: s["term_spread_"]["values"].__setitem__(0, 0.0), "term_spread_ is not positive"),
        (lambda s: s.update(offset_=1e200), "offset_ is beyond"),
        (
            lambda s: s["covariance_location_"]["values"].__setitem__(0, 1e300),
            "covariance_location_ is beyond",
        ),
        (lambda s: s["scaler_"]["fitted"]["mean_"]["values"].__setitem__(0, 1e300), "beyond"),
        (lambda s: s.pop("offset_"), "lacks the fitted attribute"),
        (
            lambda s: s["history_"].update(loss=["x"]),
            "history_.loss holds a value that is not a number",
        ),
        (
            lambda s: s["scaler_"].update({"class": "MinMaxScaler"}),
            "scaling='standard' makes a StandardScaler",
        ),
        (lambda s: s["scaler_"]["fitted"]["scale_"]["values"].pop(), "holds 63 values"),
        (
            lambda s: s["scaler_"]["fitted"].update(
                mean_=None,
                scale_={"__skae__": "ndarray", "dtype": "<f8", "shape": [64], "values": [0.0] * 64},
            ),
            "non-zero factor",
        ),
        (lambda s: s["scaler_"]["fitted"].update(func="os.system"), "fitted attributes"),
        (lambda s: s["scaler_"]["params"].update(with_mean="yes"), "invalid parameters"),
    ],
)
def test_crafted_fitted_attributes_are_refused(saved, tmp_path, edit, match):
    _refused(_craft(saved, tmp_path, lambda meta: edit(meta["state"])), match)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda p: p.update(warm_stat=True), r"parameter\(s\) \['warm_stat'\]"),
        (lambda p: p.pop("latent_dim"), "lacks the parameter"),
        (lambda p: p.update(latent_dim=-3), "not valid for AutoencoderOutlierDetector"),
        (lambda p: p.update(contamination=2.0), "contamination"),
        (lambda p: p.update(callbacks=["keras.callbacks.RemoteMonitor"]), "callbacks"),
        (
            lambda p: p.update(
                loss={
                    "__skae__": "keras",
                    "config": {
                        "module": "keras.layers",
                        "class_name": "Dense",
                        "config": {"units": 1},
                        "registered_name": None,
                    },
                }
            ),
            "not an optimizer, loss",
        ),
        (
            lambda p: p.update(
                loss={
                    "__skae__": "keras",
                    "config": {
                        "module": "keras.src.losses.losses",
                        "class_name": "Huber",
                        "config": {},
                        "registered_name": None,
                    },
                }
            ),
            "not one of Keras' public modules",
        ),
        (
            lambda p: p.update(latent_dim={"__skae__": "scalar", "dtype": "|O", "value": 2}),
            "not a numeric one",
        ),
        (
            lambda p: p.update(
                random_state={
                    "__skae__": "random_state",
                    "key": [1],
                    "pos": 0,
                    "has_gauss": 0,
                    "cached_gaussian": 0.0,
                }
            ),
            "Mersenne",
        ),
    ],
)
def test_crafted_parameters_are_refused(saved, tmp_path, edit, match):
    _refused(_craft(saved, tmp_path, lambda meta: edit(meta["params"])), match)


# ---------------------------------------------------------------------------
# Crafted files: the network against the JSON


def _relabel(meta, cls, **params):
    """Make ``meta`` name ``cls``, with its parameters and attributes fitting that class."""
    meta["estimator"] = cls.__name__
    defaults = cls().get_params(deep=False)
    meta["params"] = {k: v for k, v in meta["params"].items() if k in defaults}
    for name, value in {**defaults, **params}.items():
        if name not in meta["params"] or name in params:
            meta["params"][name] = _codec.encode_value(value, name)
    meta["state"] = {k: v for k, v in meta["state"].items() if k in cls._fitted_attributes}


@pytest.mark.parametrize(
    "source, target, match",
    [
        ("transformer", DenoisingAutoencoder, "does not hold a DenoisingAutoencoder"),
        ("transformer", VariationalAutoencoder, "does not hold a VariationalAutoencoder"),
        ("denoising", AutoencoderTransformer, "does not hold a AutoencoderTransformer"),
        ("variational", AutoencoderTransformer, "does not hold a AutoencoderTransformer"),
        ("denoising", VariationalAutoencoder, "does not hold a VariationalAutoencoder"),
    ],
)
def test_relabelled_estimator_class_is_refused(saved_kinds, tmp_path, source, target, match):
    loaded = skae.load(saved_kinds(source))
    crafted = _craft(
        saved_kinds(source),
        tmp_path,
        lambda meta: _relabel(meta, target, scaling=loaded.scaling, latent_dim=loaded.latent_dim),
    )
    _refused(crafted, match)


def test_network_of_another_width_is_refused(saved, saved_kinds, tmp_path):
    other = zip_members(saved_kinds("variational"))["model.keras"]
    _refused(_craft(saved, tmp_path, model_edit=lambda _: other), "layers|shape")

    def rename(config):
        config["config"]["name"] = "evil"

    _refused(_craft(saved, tmp_path, edit_config=rename), "named 'autoencoder'")

    def widen(config):
        layer = find_layer(config, "InputLayer")
        layer["config"]["batch_shape"] = [None, 65]

    _refused(_craft(saved, tmp_path, edit_config=widen), "damaged|shape")


def test_network_giving_non_finite_outputs_is_refused_at_load(saved_kinds, tmp_path):
    """A file that loads but would fail on first use is refused at load."""

    def poison(model_bytes):
        members = zip_members(io.BytesIO(model_bytes))
        loaded = skae.load(saved_kinds("transformer"))
        kernel = loaded.model_.get_layer("encoder").weights[0].numpy()
        weights = members["model.weights.h5"]
        at = weights.find(kernel.tobytes())
        assert at > 0
        infinities = np.full(kernel.shape, np.inf, np.float32).tobytes()
        members["model.weights.h5"] = weights[:at] + infinities + weights[at + kernel.nbytes :]
        return zip_bytes(members)

    crafted = _craft(saved_kinds("transformer"), tmp_path, model_edit=poison)
    _refused(crafted, "finite values for a row of zeros|infinity or beyond 1e20")


def test_huge_layers_are_refused_before_keras_allocates_them(saved, saved_kinds, tmp_path):
    dense = saved_kinds("transformer")

    def huge(config):
        layer = find_layer(config, "Dense")
        layer["config"]["units"] = 1 << 24
        layer["build_config"]["input_shape"] = [None, 1 << 24]

    _refused(_craft(dense, tmp_path, edit_config=huge), "declares .* weights")

    def too_big(config):
        find_layer(config, "Dense")["config"]["units"] = 1 << 40

    _refused(_craft(dense, tmp_path, edit_config=too_big), "beyond")


# ---------------------------------------------------------------------------
# Crafted archives: bombs, duplicates, links, paths, depth


def test_decompression_bombs_are_refused_before_reading(saved, tmp_path, monkeypatch):
    members = zip_members(saved)
    bomb = b"\0" * (40 << 20)  # 40 MiB of zeros deflate 1000:1
    with zipfile.ZipFile(tmp_path / "bomb.skae", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("skae.json", members["skae.json"])
        archive.writestr("model.keras", bomb)
    read = []
    monkeypatch.setattr(_archive, "_read_member", lambda *a: read.append(a) or b"")
    _refused(tmp_path / "bomb.skae", "decompression bomb")
    assert read == []
    monkeypatch.undo()

    # The same inside model.keras, whose members Keras would read.
    inner = zip_members(io.BytesIO(members["model.keras"]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in inner.items():
            archive.writestr(name, bomb if name == "model.weights.h5" else data)
    _refused(_craft(saved, tmp_path, model_edit=lambda _: buffer.getvalue()), "decompression bomb")

    # Declared sizes are capped whatever the ratio.
    capped = {**_persistence._OUTER_MEMBERS, "skae.json": 1000}
    monkeypatch.setattr(_persistence, "_OUTER_MEMBERS", capped)
    _refused(saved, "more than the 1000 allowed")


def test_member_that_holds_more_than_it_declares_is_refused(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    info = zipfile.ZipFile(saved).getinfo("skae.json")
    # Halve the uncompressed size that the central directory declares.
    at = data.find(b"PK\x01\x02")
    while data[at + 46 : at + 46 + len(b"skae.json")] != b"skae.json":
        at = data.find(b"PK\x01\x02", at + 1)
    data[at + 24 : at + 28] = (info.file_size // 2).to_bytes(4, "little")
    (tmp_path / "short.skae").write_bytes(bytes(data))
    _refused(tmp_path / "short.skae", "damaged|not the")


def test_zip_directories_too_large_for_a_model_file_are_refused(saved, tmp_path):
    many = {f"m{i}": b"" for i in range(17)}
    _refused(_write(tmp_path / "many.skae", many), "declares 17 members")
    # A zip64 locator before the end record: zipfile would read its counts instead.
    data = saved.read_bytes()
    end = data.rfind(b"PK\x05\x06")
    locator = b"PK\x06\x07" + bytes(16)
    (tmp_path / "zip64.skae").write_bytes(data[:end] + locator + data[end:])
    _refused(tmp_path / "zip64.skae", "zip directory")


def test_duplicate_and_unexpected_members_are_refused(saved, tmp_path):
    members = zip_members(saved)
    forged = json.loads(members["skae.json"])
    forged["state"]["offset_"] = -1e9
    pairs = [
        ("skae.json", members["skae.json"]),
        ("model.keras", members["model.keras"]),
        ("skae.json", json.dumps(forged)),
    ]
    _refused(_write(tmp_path / "twice.skae", pairs), "'skae.json' twice")
    extra = _write(tmp_path / "extra.skae", {**members, "notes.txt": b"hi"})
    _refused(extra, "expected the members")
    _refused(_write(tmp_path / "path.skae", {**members, "../skae.json": b"{}"}), "a path or folder")

    inner = zip_members(io.BytesIO(members["model.keras"]))
    doubled = zip_bytes([*inner.items(), ("config.json", inner["config.json"])])
    _refused(_craft(saved, tmp_path, model_edit=lambda _: doubled), "'config.json' twice")
    traversal = zip_bytes({**inner, "assets/../../evil.py": b"print(1)"})
    _refused(_craft(saved, tmp_path, model_edit=lambda _: traversal), "a path or folder")
    assets = zip_bytes({**inner, "assets.txt": b"x"})
    _refused(_craft(saved, tmp_path, model_edit=lambda _: assets), "expected the members")


def test_symlinks_are_refused_and_leave_no_temporary_folder(saved, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    members = zip_members(saved)
    outer = [("skae.json", members["skae.json"]), symlink_member("model.keras", b"/etc/passwd")]
    _refused(_write(tmp_path / "link.skae", outer), "symbolic link")

    inner = zip_members(io.BytesIO(members["model.keras"]))
    linked = zip_bytes(
        [
            *[(n, d) for n, d in inner.items() if n != "model.weights.h5"],
            symlink_member("model.weights.h5", b"/etc/passwd"),
        ]
    )
    _refused(_craft(saved, tmp_path, model_edit=lambda _: linked), "symbolic link")
    assert list(scratch.iterdir()) == []


def test_deep_json_is_refused_before_decoding(saved, tmp_path):
    for depth in (80, 200_000):

        def deepen(meta, depth=depth):
            meta["params"]["metrics"] = "@@DEEP@@"

        members = zip_members(saved)
        meta = json.loads(members["skae.json"])
        deepen(meta)
        members = seal(meta, members)
        members["skae.json"] = members["skae.json"].replace(
            b'"@@DEEP@@"', b"[" * depth + b"]" * depth
        )
        deep = _write(tmp_path / "deep.skae", members)
        _refused(deep, f"nests arrays or objects {depth + 2} deep")
    # Brackets inside strings do not count.
    _refused(
        _craft(saved, tmp_path, lambda meta: meta["params"].update(latent_dim="[" * 100 + '\\"{')),
        "not valid for",
    )


def test_json_oddities_are_refused(saved, tmp_path):
    members = zip_members(saved)
    text = members["skae.json"]
    for replacement, match in (
        (text.replace(b'"format":', b'"format": "x", "format":', 1), "repeats the key 'format'"),
        (text.replace(b'"format_version": 2', b'"format_version": NaN', 1), "literal NaN"),
        (b"\xff" + text, "UTF-8"),
    ):
        _refused(_write(tmp_path / "odd.skae", {**members, "skae.json": replacement}), match)


# ---------------------------------------------------------------------------
# Authenticity: an HMAC under a key the user holds


def test_a_key_proves_who_wrote_the_file(saved, tmp_path, digits):
    estimator = ESTIMATORS["transformer"](0).fit(digits[0][:50])
    path = _persistence.save_estimator(estimator, tmp_path / "signed.skae", key="secret")
    assert "skae.hmac" in zip_members(path)
    loaded = skae.load(path, key=b"secret")
    np.testing.assert_array_equal(loaded.transform(digits[0]), estimator.transform(digits[0]))
    skae.load(path)  # without a key: the HMAC is not checked
    with pytest.raises(ModelFileError, match="HMAC does not match"):
        skae.load(path, key="wrong")
    with pytest.raises(ModelFileError, match="carries no HMAC"):
        skae.load(saved, key="secret")
    # A forger recomputing the checksums cannot recompute the HMAC.
    members = zip_members(path)
    meta = json.loads(members["skae.json"])
    meta["params"]["tol"] = 0.5
    forged = _write(tmp_path / "forged.skae", seal(meta, members))
    skae.load(forged)
    with pytest.raises(ModelFileError, match="HMAC does not match"):
        skae.load(forged, key="secret")
    with pytest.raises(ValueError, match="empty"):
        skae.load(path, key="")
    with pytest.raises(TypeError, match="bytes or str"):
        skae.load(path, key=42)


# ---------------------------------------------------------------------------
# Fuzzing: whatever the damage, one exception type or a working estimator


@pytest.fixture(scope="module")
def small_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-base")
    X = np.random.RandomState(0).normal(size=(40, 5))
    small = {"hidden_layer_sizes": (4,), "latent_dim": 2, "epochs": 1, "random_state": 0}
    detector = AutoencoderOutlierDetector(**small).fit(X)
    # Another network, with a corruption layer, to swap in.
    other = _file_network.keras_bytes(DenoisingAutoencoder(**small).fit(X).model_)
    return X, detector.save(folder / "detector.skae"), other


# Keras' and TensorFlow's own lazy imports (none seen on Keras 3.15 / TensorFlow 2.21).
_LAZY = ("keras.", "tensorflow.", "h5py.")


def test_fuzzed_files_raise_one_exception_or_load_working_estimators(
    small_files, tmp_path, monkeypatch
):
    X, base, other_model = small_files
    data = base.read_bytes()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    folder = tmp_path / "files"
    folder.mkdir()
    path = folder / "fuzzed.skae"
    original = skae.load(base)  # lazy imports of a first load happen here
    regions = weight_regions(data, [v.numpy() for v in original.model_.weights])
    assert len(regions) >= 4
    before = set(sys.modules)
    rng = random.Random(20240601)
    counts = {"refused": 0, "loaded": 0}
    kinds = {}
    for _ in range(300):
        kind, mutated = mutate(rng, data, other_model, regions)
        path.write_bytes(mutated)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                estimator = skae.load(path)
            except ModelFileError:
                counts["refused"] += 1
                kinds[kind] = kinds.get(kind, 0) + 1
                continue
            # A mutation that happened to be harmless: the estimator must work.
            assert np.isfinite(estimator.score_samples(X)).all(), kind
            assert np.isfinite(estimator.reconstruction_error(X)).all(), kind
        counts["loaded"] += 1
    print(f"fuzz: {counts}, refused by kind {kinds}")
    assert counts["refused"] > 200 and counts["refused"] + counts["loaded"] == 300
    imported = sorted(m for m in set(sys.modules) - before if not m.startswith(_LAZY))
    assert imported == []
    assert list(scratch.iterdir()) == []
    assert [p.name for p in folder.iterdir()] == ["fuzzed.skae"]


# ---------------------------------------------------------------------------
# Bytes, pickles and copies: a fitted estimator travels as its model file


def test_bytes_hold_the_file_and_load_as_untrusted_input(saved, tmp_path):
    detector = skae.load(saved)
    data = _persistence.to_bytes(detector)
    assert zip_members(io.BytesIO(data)).keys() == zip_members(saved).keys()
    loaded = _persistence.from_bytes(data)
    X = np.random.RandomState(0).normal(size=(20, 64))
    np.testing.assert_array_equal(loaded.score_samples(X), detector.score_samples(X))
    _persistence.from_bytes(_persistence.to_bytes(detector, key="secret"), key="secret")
    with pytest.raises(ModelFileError, match="these bytes: a key was given") as caught:
        _persistence.from_bytes(data, key="secret")
    assert caught.value.path is None
    with pytest.raises(ModelFileError, match="these bytes: it is not a skae model file"):
        _persistence.from_bytes(data[:-100])


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
@pytest.mark.parametrize("name", ESTIMATORS)
def test_pickles_and_copies_are_the_model_file_and_train_on_identically(name, how, digits, seed):
    X, _ = digits
    estimator = ESTIMATORS[name](seed).fit(X)
    assert set(estimator.__getstate__()) == {"_skae_model_file", "_skae_versions"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        if how == "pickle":
            restored = pickle.loads(pickle.dumps(estimator))
        else:
            restored = copy.deepcopy(estimator)
    assert type(restored) is type(estimator) and restored.model_ is not estimator.model_
    assert _comparable(restored.get_params()) == _comparable(estimator.get_params())
    assert restored.history_ == estimator.history_
    expected, found = _outputs(estimator, X), _outputs(restored, X)
    for method in expected:
        np.testing.assert_array_equal(found[method], expected[method], err_msg=method)
    # The optimizer state and the random layers' counters came along.
    estimator.partial_fit(X)
    restored.partial_fit(X)
    np.testing.assert_array_equal(restored.predict(X), estimator.predict(X))


def test_what_a_file_cannot_hold_is_pickled_as_before(digits):
    X = digits[0][:100]

    class Subclass(AutoencoderTransformer):
        """A file would load it as an AutoencoderTransformer."""

    estimators = [
        AutoencoderTransformer(**FAST, callbacks=[keras.callbacks.EarlyStopping(monitor="loss")]),
        Subclass(**FAST),
    ]
    for estimator in estimators:
        estimator.fit(X)
        assert "model_" in estimator.__getstate__()
        copied = copy.deepcopy(estimator)
        np.testing.assert_array_equal(copied.transform(X), estimator.transform(X))
    restored = pickle.loads(pickle.dumps(estimators[0]))
    np.testing.assert_array_equal(restored.transform(X), estimators[0].transform(X))
    unfitted = AutoencoderTransformer(latent_dim=3, optimizer__beta_1=0.8)
    assert "_skae_model_file" not in unfitted.__getstate__()
    assert pickle.loads(pickle.dumps(unfitted)).get_params() == unfitted.get_params()


def test_pickles_keep_private_attributes_and_clones_are_unfitted(digits):
    X = digits[0][:100]
    estimator = AutoencoderTransformer(**FAST, optimizer__beta_1=0.8).set_output(transform="pandas")
    estimator.fit(X)
    restored = pickle.loads(pickle.dumps(estimator))
    assert isinstance(restored.transform(X), pd.DataFrame)
    assert restored.get_params()["optimizer__beta_1"] == 0.8
    for copy_ in (clone(estimator), clone(restored)):
        assert copy_.get_params() == estimator.get_params()
        assert not hasattr(copy_, "model_")


def test_pickled_model_files_are_validated_as_files_are(saved):
    state = skae.load(saved).__getstate__()

    def unpickle(cls, **changes):
        cls.__new__(cls).__setstate__({**state, **changes})

    unpickle(AutoencoderOutlierDetector)
    with pytest.raises(ModelFileError, match="AutoencoderTransformer: its model file holds"):
        unpickle(AutoencoderTransformer)
    with pytest.raises(ModelFileError, match="pickled AutoencoderOutlierDetector: it is not"):
        unpickle(AutoencoderOutlierDetector, _skae_model_file=state["_skae_model_file"][:-100])
    with pytest.raises(ModelFileError, match=r"\['offset_'\] beside its model file"):
        unpickle(AutoencoderOutlierDetector, offset_=0.0)


def test_searches_and_cross_validation_in_worker_processes(digits):
    # loky pickles estimators to its worker processes and fitted ones back.
    X = digits[0][:200]
    estimator = AutoencoderTransformer(**FAST, random_state=0)
    search = GridSearchCV(estimator, {"latent_dim": [2, 3]}, cv=2, n_jobs=2).fit(X)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    results = cross_validate(estimator, X, cv=2, n_jobs=2, return_estimator=True)
    halves = (slice(100, None), slice(None, 100))
    for fitted, train in zip(results["estimator"], halves, strict=True):
        local = clone(estimator).fit(X[train])
        np.testing.assert_array_equal(fitted.transform(X), local.transform(X))


# ---------------------------------------------------------------------------
# Versions


def _with_versions(saved, tmp_path, **versions):
    return _craft(saved, tmp_path, lambda meta: meta["versions"].update(versions))


def test_other_skae_or_keras_version_warns_and_loads(saved, tmp_path):
    with pytest.warns(InconsistentVersionWarning, match="skae 0.0.1"):
        skae.load(_with_versions(saved, tmp_path, skae="0.0.1"))
    major = keras.__version__.split(".")[0]
    with pytest.warns(InconsistentVersionWarning, match=f"Keras {major}.0.0"):
        loaded = skae.load(_with_versions(saved, tmp_path, keras=f"{major}.0.0"))
    assert hasattr(loaded, "offset_")


def test_newer_skae_or_other_keras_major_is_an_error(saved, tmp_path):
    _refused(_with_versions(saved, tmp_path, skae="99.0.0"), "newer than the installed skae")
    _refused(_with_versions(saved, tmp_path, keras="2.15.0"), "another major version")


def test_pickles_from_other_versions_warn(digits, seed, monkeypatch):
    estimator = AutoencoderTransformer(**FAST, random_state=seed).fit(digits[0])
    data = pickle.dumps(estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same versions: no warning
        pickle.loads(data)
    writer = skae.__version__
    monkeypatch.setattr(skae._version, "__version__", "0.0.1")  # where skae reads it
    expected = re.escape(f"skae {writer} (installed: 0.0.1)")
    with pytest.warns(InconsistentVersionWarning, match=expected):
        restored = pickle.loads(data)
    np.testing.assert_array_equal(restored.transform(digits[0]), estimator.transform(digits[0]))
