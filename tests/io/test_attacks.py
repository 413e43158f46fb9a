"""Attacks on model files, pickles and saves (issue 27), as regression tests of the public API.

Each test crafts its hostile input from a small model fitted here, through
only what a file's author has (the documented format: see
``model_file_crafting.py``), and asserts what ``skae.load``, unpickling,
skops and ``save`` do with it: refuse it with ``ModelFileError`` (or, for
saves, a clear ``OSError``) naming the cause, or stay safe.
"""

import io
import json
import os
import pickle
import stat
import subprocess
import sys
import time
import warnings

import h5py
import numpy as np
import pytest

import skae
from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    ModelFileError,
    VariationalAutoencoder,
)
from tests.io.model_file_crafting import (
    CONFIG,
    MODEL,
    WEIGHTS,
    craft,
    find_layer,
    members,
    zip_bytes,
)

sio = pytest.importorskip("skops.io", reason="skops is in the tests extra: pip install '.[tests]'")

MiB = 1 << 20
DETECTOR = f"{AutoencoderOutlierDetector.__module__}.{AutoencoderOutlierDetector.__qualname__}"


@pytest.fixture(scope="module")
def fitted(digits):
    """A fitted transformer and detector, and the rows they were fitted on."""
    X = digits[0][:200]
    small = {"hidden_layer_sizes": (8,), "latent_dim": 2, "epochs": 2, "random_state": 0}
    return (
        AutoencoderTransformer(**small).fit(X),
        AutoencoderOutlierDetector(**small, contamination=0.05).fit(X),
        X,
    )


@pytest.fixture(scope="module")
def files(fitted, tmp_path_factory):
    """The model files of ``fitted``, as bytes: ``{"transformer": ..., "detector": ...}``."""
    transformer, detector, _ = fitted
    folder = tmp_path_factory.mktemp("attacks")
    return {
        "transformer": transformer.save(folder / "transformer.skae").read_bytes(),
        "detector": detector.save(folder / "detector.skae").read_bytes(),
    }


def _write(tmp_path, data, name="crafted.skae"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _refused(path, match, **load_options):
    with pytest.raises(ModelFileError, match=match) as caught:
        skae.load(path, **load_options)
    assert caught.value.path == str(path)
    return caught.value


# ---------------------------------------------------------------------------
# Resource bombs: what the file says must not decide what a load allocates


def _empty_objects(count):
    """``count`` empty JSON objects, 64 to a list, each list in a list: 2 deep, ~3 bytes each."""
    row = "[" + ",".join(["{}"] * 64) + "]"
    return "[" + ",".join([row] * (count // 64)) + "]"


def _nested_objects(count, depth=60):
    """``count`` objects nested ``depth`` deep in chains (the issue's 62 MiB file, scaled down)."""
    chain = '{"a":' * (depth - 2) + "{}" + "}" * (depth - 2)
    return "[" + ",".join([chain] * (count // (depth - 1))) + "]"


@pytest.mark.parametrize("shape", ["flat", "nested"])
def test_a_header_of_millions_of_objects_is_refused_before_it_is_parsed(files, tmp_path, shape):
    bomb = _empty_objects(1_500_000) if shape == "flat" else _nested_objects(1_500_000)
    outer = members(files["detector"])
    header = outer["skae.json"].decode()
    outer["skae.json"] = (header[:-1].rstrip() + f', "padding": {bomb}}}').encode()
    path = _write(tmp_path, zip_bytes(outer))
    start = time.perf_counter()
    _refused(path, r"holds \d+ (JSON )?(objects|arrays|containers)")
    assert time.perf_counter() - start < 5  # a linear scan, not a parse of 1.5 million objects


def test_a_network_configuration_of_millions_of_objects_is_refused(files, tmp_path):
    bomb = _nested_objects(1_500_000)

    def pad(inner):
        text = inner[CONFIG].decode()
        inner[CONFIG] = (text[:-1] + f', "padding": {bomb}}}').encode()

    path = _write(tmp_path, craft(files["transformer"], edit_inner=pad))
    _refused(path, r"holds \d+ (JSON )?(objects|arrays|containers)")


def _replace_dataset(inner, name, **options):
    """Replace the dataset ``name`` of the weights file in ``inner`` (in place)."""
    buffer = io.BytesIO(inner[WEIGHTS])
    with h5py.File(buffer, "r+") as weights:
        del weights[name]
        weights.create_dataset(name, **options)
    inner[WEIGHTS] = buffer.getvalue()


@pytest.mark.parametrize("layout", ["chunked", "contiguous"])
def test_a_sparse_weights_dataset_is_refused_before_it_is_read(files, tmp_path, layout):
    # 64 MiB declared, a few bytes stored: reading it would allocate all 64 MiB.
    chunks = (1 << 16,) if layout == "chunked" else None

    def sparse(inner):
        _replace_dataset(inner, "optimizer/vars/2", shape=(16 * MiB,), dtype="f4", chunks=chunks)

    path = _write(tmp_path, craft(files["transformer"], edit_inner=sparse))
    assert path.stat().st_size < MiB
    _refused(path, r"declares \d+ bytes.*stores")


def test_a_layer_declaring_a_huge_embedding_is_refused_before_keras_builds_it(files, tmp_path):
    def embed(config):
        encoder = find_layer(config, "Functional")
        encoder = next(
            layer
            for layer in config["config"]["layers"]
            if layer.get("config", {}).get("name") == "encoder"
        )
        dense = find_layer(encoder, "Dense")
        embedding = json.loads(json.dumps(dense))
        embedding.update(class_name="Embedding", name="huge")
        embedding["config"] = {"name": "huge", "input_dim": 1 << 21, "output_dim": 16}
        encoder["config"]["layers"].append(embedding)  # 128 MiB of float32 once built

    path = _write(tmp_path, craft(files["transformer"], edit_config=embed))
    _refused(path, "Embedding")


def test_declared_weights_are_bounded_by_the_archive_size(files, tmp_path):
    # A Dense kernel of 5 x 4 Mi float32 (80 MiB), stored in full but so regular that the
    # zip deflates it ~40:1: under the 200:1 bomb ratio, and matching its configuration.
    kernel = np.zeros((64, 1 << 18), dtype=np.float32)
    kernel[:, ::40] = 1.0

    def big_dense(config):
        find_layer(config, "Dense")["config"]["units"] = kernel.shape[1]

    def big_kernel(inner):
        buffer = io.BytesIO(inner[WEIGHTS])
        with h5py.File(buffer, "r+") as weights:
            name = next(n for n in _dataset_names(weights) if weights[n].shape == (64, 8))
            del weights[name]
            weights.create_dataset(name, data=kernel)
        inner[WEIGHTS] = buffer.getvalue()

    data = craft(files["transformer"], edit_config=big_dense, edit_inner=big_kernel)
    path = _write(tmp_path, data)
    assert path.stat().st_size < kernel.nbytes / 20
    _refused(path, r"declares \d+ bytes")


def _dataset_names(weights):
    names = []
    weights.visititems(lambda name, item: names.append(name) if hasattr(item, "shape") else None)
    return names


def test_max_bytes_caps_what_an_honest_file_may_allocate(files, tmp_path):
    path = _write(tmp_path, files["detector"])
    _refused(path, "max_bytes", max_bytes=1000)
    assert skae.load(path, max_bytes=64 * MiB).n_features_in_ == 64


# ---------------------------------------------------------------------------
# Values that pass a schema and break the model: refused at load


def _set_state(name, value):
    def edit(meta):
        state = meta["state"][name]
        if isinstance(state, dict):  # an array: shape and values
            state["values"] = [value] * len(state["values"])
        else:
            meta["state"][name] = value

    return edit


@pytest.mark.parametrize("name", ["term_spread_", "residual_scale_"])
@pytest.mark.parametrize("value", [1e-320, 5e-324, 1e-310])
def test_subnormal_spreads_and_scales_are_refused(files, fitted, tmp_path, name, value):
    path = _write(tmp_path, craft(files["detector"], edit_meta=_set_state(name, value)))
    _refused(path, f"{name}.*normal")


def test_state_giving_non_finite_scores_is_refused_by_the_probe_batch(files, tmp_path):
    def overflow(meta):
        _set_state("term_median_", 1e149)(meta)
        _set_state("term_spread_", 1e-300)(meta)  # normal, but (x - 1e149) / 1e-300 overflows

    path = _write(tmp_path, craft(files["detector"], edit_meta=overflow))
    _refused(path, "probe")


@pytest.mark.parametrize(
    "name, value",
    [("offset_", 1e300), ("term_median_", float("inf")), ("reference_rows_", 1e200)],
)
def test_non_finite_and_huge_state_is_refused(files, tmp_path, name, value):
    if value == float("inf"):
        value = {"__skae__": "float", "value": "inf"}
    path = _write(tmp_path, craft(files["detector"], edit_meta=_set_state(name, value)))
    _refused(path, name)


def test_a_subnormal_scaler_scale_is_refused(files, tmp_path):
    def scale(meta):
        fitted = meta["state"]["scaler_"]["fitted"]
        name = next(n for n in ("scale_", "data_range_") if n in fitted)
        fitted[name]["values"] = [5e-324] * len(fitted[name]["values"])

    _refused(_write(tmp_path, craft(files["detector"], edit_meta=scale)), "scaler_")


# ---------------------------------------------------------------------------
# Pickles and skops: the state an estimator is rebuilt from is checked as a file's is


def _dumps(estimator, how, extra, monkeypatch):
    """``estimator`` pickled (or dumped by skops) with ``extra`` added to its state, as a
    hostile author would write the bytes."""
    state = {**estimator.__getstate__(), **extra}
    monkeypatch.setattr(type(estimator), "__getstate__", lambda self: state)
    data = pickle.dumps(estimator) if how == "pickle" else sio.dumps(estimator)
    monkeypatch.undo()
    return data


def _loads(data, how):
    return pickle.loads(data) if how == "pickle" else sio.loads(data, trusted=[DETECTOR])


# Public names beside a model file were refused already (round one).
HOSTILE_PUBLIC = {
    "shadowed public method": {"score_samples": np.isnan},
    "unknown public attribute": {"evil_": 1},
}
# _scale is a method every estimator uses; np.isnan is among skops' default trusted types.
HOSTILE = {
    "shadowed private method": {"_scale": np.isnan},
    "class attribute": {"_fitted_attributes": {}},
    "unknown private attribute": {"_evil": 1},
    "callable in a private attribute": {"_user_params": np.isnan},
    "callable in set_output's configuration": {"_sklearn_output_config": {"transform": np.isnan}},
}


@pytest.mark.parametrize("extra", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_unpickling_refuses_state_a_file_could_not_hold(fitted, how, extra, monkeypatch):
    _, detector, _ = fitted
    data = _dumps(detector, how, extra, monkeypatch)
    with pytest.raises(ModelFileError, match=next(iter(extra))):
        _loads(data, how)


@pytest.mark.parametrize("extra", HOSTILE_PUBLIC.values(), ids=HOSTILE_PUBLIC.keys())
@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_unpickling_refuses_public_names_beside_the_file(fitted, how, extra, monkeypatch):
    _, detector, _ = fitted
    data = _dumps(detector, how, extra, monkeypatch)
    with pytest.raises(ModelFileError, match=next(iter(extra))):
        _loads(data, how)


# skops cannot store the Keras model that a fitted estimator with a callback pickles.
@pytest.mark.parametrize(
    "how, fitted_",
    [("pickle", False), ("skops", False), ("pickle", True)],
    ids=["pickle-unfitted", "skops-unfitted", "pickle-fitted-with-callback"],
)
def test_unpickling_checks_estimators_pickled_without_a_file(fitted, how, fitted_, monkeypatch):
    _, _, X = fitted
    estimator = AutoencoderOutlierDetector(epochs=1, hidden_layer_sizes=(4,), random_state=0)
    if fitted_:
        import keras

        estimator.set_params(callbacks=[keras.callbacks.TerminateOnNaN()]).fit(X)
    data = _dumps(estimator, how, {"_scale": np.isnan}, monkeypatch)
    with pytest.raises(ModelFileError, match="_scale"):
        _loads(data, how)


def test_the_state_sklearn_sets_still_round_trips(fitted):
    _, detector, X = fitted
    configured = pickle.loads(pickle.dumps(detector)).set_output(transform="pandas")
    for how in ("pickle", "skops"):
        if how == "pickle":
            loaded = pickle.loads(pickle.dumps(configured))
        else:
            loaded = sio.loads(sio.dumps(configured), trusted=[DETECTOR])
        np.testing.assert_array_equal(loaded.score_samples(X), detector.score_samples(X))
        assert loaded._sklearn_output_config == {"transform": "pandas"}


# ---------------------------------------------------------------------------
# Saves replace the path itself: never write through a link, never onto a special file


@pytest.mark.parametrize("target_exists", [True, False])
def test_save_replaces_a_symlink_and_never_writes_through_it(fitted, tmp_path, target_exists):
    transformer, _, X = fitted
    target = tmp_path / "victim"
    if target_exists:
        target.write_bytes(b"precious")
    link = tmp_path / "model.skae"
    link.symlink_to(target)
    transformer.save(link)
    assert not link.is_symlink() and stat.S_ISREG(os.lstat(link).st_mode)
    if target_exists:
        assert target.read_bytes() == b"precious"
    else:
        assert not target.exists()
    np.testing.assert_array_equal(skae.load(link).transform(X), transformer.transform(X))


def _special_file(tmp_path, kind):
    path = tmp_path / "model.skae"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        try:  # /dev/null's numbers, in a folder of the test's own
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except (PermissionError, AttributeError):
            pytest.skip("creating a character device needs root (CAP_MKNOD) and os.mknod")
    return path


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_save_refuses_to_replace_a_fifo_or_a_device(fitted, tmp_path, kind):
    transformer, _, _ = fitted
    path = _special_file(tmp_path, kind)
    with pytest.raises(FileExistsError, match="not a regular file"):
        transformer.save(path)
    mode = os.lstat(path).st_mode
    assert stat.S_ISFIFO(mode) if kind == "fifo" else stat.S_ISCHR(mode)
    assert [p.name for p in tmp_path.iterdir()] == ["model.skae"]  # no temporary left


def test_save_keeps_an_existing_files_mode(fitted, tmp_path):
    transformer, _, _ = fitted
    path = tmp_path / "model.skae"
    path.write_bytes(b"old")
    path.chmod(0o640)
    transformer.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


# ---------------------------------------------------------------------------
# A crafted compile configuration: refused at load, not at the first partial_fit


def _set_compile(key, value):
    def edit(config):
        config["compile_config"][key] = value

    return edit


COMPILE_ATTACKS = {
    "loss named after a layer": ("loss", "encoder"),
    "loss that is an activation": (
        "loss",
        {
            "module": "builtins",
            "class_name": "function",
            "config": "relu",
            "registered_name": "function",
        },
    ),
    "loss that is a layer": (
        "loss",
        {
            "module": "keras.layers",
            "class_name": "Flatten",
            "config": {"name": "x"},
            "registered_name": None,
        },
    ),
    "metric named after a layer": ("metrics", ["decoder"]),
    "loss weights that are not numbers": ("loss_weights", "encoder"),
}


@pytest.mark.parametrize("key, value", COMPILE_ATTACKS.values(), ids=COMPILE_ATTACKS.keys())
def test_a_crafted_compile_configuration_is_refused_at_load(files, tmp_path, key, value):
    path = _write(tmp_path, craft(files["transformer"], edit_config=_set_compile(key, value)))
    _refused(path, "compile|loss|metric")


def test_an_honest_file_loads_and_trains_on(files, fitted, tmp_path):
    transformer, _, X = fitted
    loaded = skae.load(_write(tmp_path, files["transformer"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded.partial_fit(X)
    assert np.isfinite(loaded.transform(X)).all()


def test_model_member_is_a_keras_archive_of_three_members(files):
    # The crafting above relies on this layout; a change of format must revisit the attacks.
    assert set(members(files["detector"])) == {"skae.json", MODEL}
    assert set(members(members(files["detector"])[MODEL])) == {CONFIG, "metadata.json", WEIGHTS}


def test_a_vae_file_with_an_absurd_scaler_mean_scores_finite_values(tmp_path):
    # Issue 26: a VAE file whose scaler mean was edited to 1.2e21 passed every
    # check, then scored -inf on ordinary rows (an honest VAE did the same on
    # a row 1e4 standard deviations out: exp of the code's log-variance
    # overflowed). Such rows now get the lowest finite score.
    X = np.random.RandomState(0).normal(size=(60, 5))
    small = {"hidden_layer_sizes": (4,), "latent_dim": 2, "epochs": 1, "random_state": 0}
    vae = VariationalAutoencoder(**small).fit(X)
    source = vae.save(tmp_path / "vae.skae")

    def absurd_mean(meta):
        meta["state"]["scaler_"]["fitted"]["mean_"]["values"][0] = 1.2e21

    path = tmp_path / "crafted.skae"
    path.write_bytes(craft(source, edit_meta=absurd_mean))
    lowest = -np.finfo(np.float64).max
    assert np.array_equal(skae.load(path).score_samples(X), np.full(len(X), lowest))
    far = X[:3].copy()
    far[0, 0] = 1e4 * vae.scaler_.scale_[0]
    scores = vae.score_samples(far)
    assert scores[0] == lowest
    assert np.array_equal(scores[1:], vae.score_samples(X[1:3]))


def test_a_forest_whose_node_is_its_own_child_is_refused(files, tmp_path):
    # Run in a child process with a time limit, so that the loop fails the test, not the suite.
    def cycle(meta):
        meta["state"]["forest_nodes_"]["values"][1] = 0.0  # the root's right child: the root

    path = tmp_path / "cycle.skae"
    path.write_bytes(craft(files["detector"], edit_meta=cycle))
    code = (
        "import sys, skae\n"
        "try:\n    skae.load(sys.argv[1])\n"
        "except skae.ModelFileError as error:\n    print('refused:', error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.startswith("refused:"), result.stderr[-2000:]
