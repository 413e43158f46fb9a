"""save() and skae.load(): round trips, refusals, versions."""

import json
import pickle
import re
import sys
import warnings
import zipfile

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

import skae
from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    DenoisingAutoencoder,
    InconsistentVersionWarning,
    VariationalAutoencoder,
    _persistence,
)

FAST = dict(hidden_layer_sizes=(16,), latent_dim=2, epochs=3, batch_size=32)

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
    "transform", "predict", "score_samples", "decision_function", "reconstruction_error",
]


def _comparable(params):
    """Parameters with a RandomState replaced by its state, which can be compared."""
    return {
        key: repr(value.get_state(legacy=False) if isinstance(value, np.random.RandomState) else value)
        for key, value in params.items()
    }


def _outputs(estimator, X):
    return {
        name: np.asarray(getattr(estimator, name)(X))
        for name in METHODS
        if hasattr(estimator, name)
    }


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


def test_saved_file_gets_the_usual_permissions(tmp_path):
    path = AutoencoderTransformer().save(tmp_path / "model.skae")
    (tmp_path / "plain.txt").write_text("")
    assert path.stat().st_mode == (tmp_path / "plain.txt").stat().st_mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.skae", "plain.txt"]


def test_unfitted_estimator_round_trips_unfitted(tmp_path):
    estimator = AutoencoderTransformer(latent_dim=3, hidden_layer_sizes=(8, 4))
    loaded = skae.load(estimator.save(tmp_path / "unfitted.skae"))
    assert loaded.get_params() == estimator.get_params()
    with pytest.raises(NotFittedError):
        loaded.transform(np.zeros((2, 4)))


def test_keras_objects_as_parameters_round_trip(digits, seed, tmp_path):
    X, _ = digits
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, 10, 0.5)
    estimator = AutoencoderTransformer(
        **FAST, optimizer=keras.optimizers.SGD(momentum=0.5), learning_rate=schedule,
        lr_schedule=None, loss=keras.losses.Huber(), random_state=seed,
    ).fit(X)
    loaded = skae.load(estimator.save(tmp_path / "keras.skae"))
    assert loaded.learning_rate.get_config() == schedule.get_config()
    assert isinstance(loaded.loss, keras.losses.Huber)
    np.testing.assert_array_equal(loaded.transform(X), estimator.transform(X))


def test_the_file_is_a_keras_archive_and_plain_json(digits, seed, tmp_path):
    X, _ = digits
    path = ESTIMATORS["detector"](seed).fit(X).save(tmp_path / "detector.skae")
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["model.keras", "skae.json"]
        meta = json.loads(archive.read("skae.json"))
        (tmp_path / "model.keras").write_bytes(archive.read("model.keras"))
    assert meta["versions"]["skae"] == skae.__version__
    assert meta["estimator"] == "AutoencoderOutlierDetector"
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


# ---------------------------------------------------------------------------
# Refusals: foreign, damaged, tampered and crafted files


@pytest.fixture(scope="module")
def saved(tmp_path_factory, digits):
    """A saved detector; each test rewrites a copy of it."""
    path = tmp_path_factory.mktemp("saved") / "detector.skae"
    ESTIMATORS["detector"](0).fit(digits[0]).save(path)
    return path


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _craft(saved, tmp_path, edit, model_edit=None):
    """Copy ``saved`` with its header edited and the checksums made to match.

    This is what a deliberate forger does: the checksums then pass and the
    later checks must refuse the file on their own.
    """
    members = _members(saved)
    meta = json.loads(members["skae.json"])
    edit(meta)
    if model_edit is not None:
        members["model.keras"] = model_edit(members["model.keras"])
        meta["sha256"]["model.keras"] = _persistence._digest(members["model.keras"])
    body = {key: meta[key] for key in ("estimator", "params", "state", "seed_states")}
    meta["sha256"]["skae.json"] = _persistence._digest(_persistence._canonical(body))
    members["skae.json"] = json.dumps(meta)
    return _write(tmp_path / "crafted.skae", members)


def _edit_keras_config(edit):
    def model_edit(model_bytes):
        import io

        members = _members(io.BytesIO(model_bytes))
        config = json.loads(members["config.json"])
        edit(config)
        members["config.json"] = json.dumps(config)
        buffer = io.BytesIO()
        _write(buffer, members)
        return buffer.getvalue()

    return model_edit


def test_foreign_files_are_refused(tmp_path, digits):
    text = tmp_path / "data.csv"
    text.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a zip archive"):
        skae.load(text)
    other_zip = _write(tmp_path / "other.zip", {"readme.txt": b"hello"})
    with pytest.raises(ValueError, match="not a skae model file"):
        skae.load(other_zip)
    # A bare Keras archive is not a skae model either.
    model = AutoencoderTransformer(**FAST).fit(digits[0]).model_
    model.save(tmp_path / "bare.keras")
    with pytest.raises(ValueError, match="not a skae model file"):
        skae.load(tmp_path / "bare.keras")
    with pytest.raises(FileNotFoundError):
        skae.load(tmp_path / "missing.skae")


def test_tampered_header_is_refused(saved, tmp_path):
    members = _members(saved)
    meta = json.loads(members["skae.json"])
    meta["state"]["items"]["offset_"] = {"__skae__": "scalar", "dtype": "<f8", "value": 1e9}
    members["skae.json"] = json.dumps(meta)
    with pytest.raises(ValueError, match="modified after it was saved"):
        skae.load(_write(tmp_path / "tampered.skae", members))


def test_tampered_network_is_refused(saved, tmp_path):
    members = _members(saved)
    weights = bytearray(members["model.keras"])
    weights[len(weights) // 2] ^= 0xFF
    members["model.keras"] = bytes(weights)
    with pytest.raises(ValueError, match="modified after it was saved"):
        skae.load(_write(tmp_path / "tampered.skae", members))


def test_crafted_class_is_refused(saved, tmp_path):
    def edit(meta):
        meta["estimator"] = "Popen"

    with pytest.raises(ValueError, match="not a skae estimator"):
        skae.load(_craft(saved, tmp_path, edit))


def test_crafted_keras_module_is_refused_before_import(saved, tmp_path, monkeypatch):
    # A module that would leave a mark if anything imported it.
    (tmp_path / "planted.py").write_text(
        f"open({str(tmp_path / 'ran')!r}, 'w').close()\n"
        "import keras\n"
        "class Evil(keras.layers.Layer):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    def plant(config):
        layer = config["config"]["layers"][-1]
        layer["module"], layer["class_name"], layer["registered_name"] = "planted", "Evil", None

    with pytest.raises(ValueError, match="neither part of Keras nor of skae"):
        skae.load(_craft(saved, tmp_path, lambda meta: None, _edit_keras_config(plant)))
    assert not (tmp_path / "ran").exists()
    assert "planted" not in sys.modules


def test_crafted_lambda_layer_is_refused(saved, tmp_path):
    def plant(config):
        config["config"]["layers"][-1]["class_name"] = "Lambda"

    with pytest.raises(ValueError, match="Lambda"):
        skae.load(_craft(saved, tmp_path, lambda meta: None, _edit_keras_config(plant)))


def test_crafted_value_kinds_are_refused(saved, tmp_path):
    def edit(meta):
        meta["state"]["items"]["offset_"] = {"__skae__": "pickle", "data": "gASV..."}

    with pytest.raises(ValueError, match="unknown value kind 'pickle'"):
        skae.load(_craft(saved, tmp_path, edit))

    def edit_scaler(meta):
        meta["state"]["items"]["feature_encoder_"]["class"] = "FunctionTransformerX"

    with pytest.raises(ValueError, match="scaler"):
        skae.load(_craft(saved, tmp_path, edit_scaler))


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
    with pytest.raises(ValueError, match="newer than the installed skae"):
        skae.load(_with_versions(saved, tmp_path, skae="99.0.0"))
    with pytest.raises(ValueError, match="another major version"):
        skae.load(_with_versions(saved, tmp_path, keras="2.15.0"))


def test_pickles_from_other_versions_warn(digits, seed, monkeypatch):
    estimator = AutoencoderTransformer(**FAST, random_state=seed).fit(digits[0])
    data = pickle.dumps(estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same versions: no warning
        pickle.loads(data)
    writer = skae.__version__
    monkeypatch.setattr(skae, "__version__", "0.0.1")
    with pytest.warns(InconsistentVersionWarning, match=re.escape(f"skae {writer} (installed: 0.0.1)")):
        restored = pickle.loads(data)
    np.testing.assert_array_equal(restored.transform(digits[0]), estimator.transform(digits[0]))


def test_other_format_version_is_an_error(saved, tmp_path):
    members = _members(saved)
    meta = json.loads(members["skae.json"])
    meta["format_version"] = 2
    members["skae.json"] = json.dumps(meta)
    with pytest.raises(ValueError, match="format 2"):
        skae.load(_write(tmp_path / "future.skae", members))
