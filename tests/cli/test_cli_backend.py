"""The command line's Keras backend: the user's choice, else the quickest to start (issue 26).

Each case runs the command line in a child process (Keras reads its backend
once, on import) with a temporary ``KERAS_HOME`` and cache folder, scores a
saved model and prints the backend Keras reports.
"""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from skae import AutoencoderOutlierDetector

BACKENDS = ("jax", "torch", "tensorflow")
INSTALLED = [name for name in BACKENDS if importlib.util.find_spec(name) is not None]
# JAX starts quickest (measured: skae/cli/_backend.py); PyTorch is no quicker than
# TensorFlow, which skae always installs.
QUICKEST = next(name for name in ("jax", "tensorflow") if name in INSTALLED)
# A backend other than the automatic one, to check that a choice is honoured.
OTHER = next((name for name in INSTALLED if name != QUICKEST), None)
# What Keras writes to a missing keras.json on its first import.
KERAS_DEFAULT = {
    "floatx": "float32",
    "epsilon": 1e-07,
    "backend": "tensorflow",
    "image_data_format": "channels_last",
}
REPORT = """
import sys
from skae.cli import main
status = main(sys.argv[1:])
import keras
print(status, keras.backend.backend(), "tensorflow" in sys.modules)
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("backend")
    X = np.random.RandomState(0).normal(size=(60, 4))
    np.savetxt(folder / "d.csv", X, delimiter=",", header="a,b,c,d", comments="")
    detector = AutoencoderOutlierDetector(hidden_layer_sizes=(4,), epochs=2, random_state=0)
    detector.fit(X).save(folder / "m.skae")
    return folder


def run_score(files, tmp_path, keras_json=None, **env):
    """``(status, backend, tensorflow imported)`` of ``skae score`` in a child process."""
    home = tmp_path / "keras_home"
    home.mkdir(parents=True)
    if keras_json is not None:
        (home / "keras.json").write_text(json.dumps(keras_json))
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KERAS_BACKEND", "JAX_COMPILATION_CACHE_DIR")
    }
    environ.update(KERAS_HOME=str(home), XDG_CACHE_HOME=str(tmp_path / "cache"), **env)
    argv = ["score", str(files / "d.csv"), "--model", str(files / "m.skae")]
    result = subprocess.run(
        [sys.executable, "-c", REPORT, *argv, "-o", str(tmp_path / "s.csv"), "-q"],
        capture_output=True,
        text=True,
        timeout=300,
        env=environ,
    )
    assert result.returncode == 0, result.stderr
    status, backend, tensorflow = result.stdout.split()
    assert status == "0", result.stderr
    return backend, tensorflow == "True"


@pytest.mark.parametrize("keras_json", [None, KERAS_DEFAULT], ids=["no file", "Keras' own file"])
def test_without_a_choice_the_quickest_installed_backend_runs(files, tmp_path, keras_json):
    backend, tensorflow = run_score(files, tmp_path, keras_json)
    assert backend == QUICKEST
    # The point of it: TensorFlow's import (seconds) is not paid on another backend.
    assert tensorflow == (QUICKEST == "tensorflow")
    if QUICKEST == "jax":  # its compiled functions are kept for the next run
        assert list((tmp_path / "cache" / "skae" / "jax").iterdir())


@pytest.mark.skipif(OTHER is None, reason="one Keras backend installed: no other to choose")
def test_keras_backend_variable_is_honoured(files, tmp_path):
    assert run_score(files, tmp_path, KERAS_DEFAULT, KERAS_BACKEND=OTHER)[0] == OTHER


@pytest.mark.skipif(OTHER is None, reason="one Keras backend installed: no other to choose")
def test_keras_json_backend_is_honoured(files, tmp_path):
    assert run_score(files, tmp_path, {**KERAS_DEFAULT, "backend": OTHER})[0] == OTHER
    assert run_score(files, tmp_path / "minimal", {"backend": OTHER})[0] == OTHER


@pytest.mark.parametrize(
    ("env", "shown"),
    [
        ({"KERAS_BACKEND": "torch"}, "Keras backend: torch (set by KERAS_BACKEND)"),
        ({}, f"Keras backend: {QUICKEST} (the quickest to start of those installed)"),
    ],
)
def test_help_names_the_backend_without_importing_it(tmp_path, env, shown):
    environ = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    environ.update(KERAS_HOME=str(tmp_path), **env)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from skae.cli import main; main(['--help']); "
            "print(sorted(m for m in ('keras', 'jax', 'torch', 'tensorflow') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
    )
    assert shown in result.stdout
    assert result.stdout.splitlines()[-1] == "[]"


@pytest.mark.skipif("jax" not in INSTALLED, reason="the defect shows on JAX, not installed")
def test_keras_config_serializer_imports_tensorflow_unless_told(tmp_path):
    # Keras' serialize_keras_object imports TensorFlow on any backend
    # (skae._quiet.tensorflow_unimported): skae's keys and saves avoid it;
    # Keras' own get_config still pays it (when Keras fixes that, drop the workaround).
    code = """
import sys
from skae import AutoencoderTransformer
from skae._engine._keys import architecture_key
import numpy as np
model = AutoencoderTransformer(latent_dim=2, epochs=1).fit(np.eye(4)).model_
assert architecture_key(model, "predict") is not None
AutoencoderTransformer(latent_dim=2, epochs=1).fit(np.eye(4)).save(sys.argv[1])
print("tensorflow" in sys.modules)
model.get_config()
print("tensorflow" in sys.modules)
"""
    environ = dict(os.environ, KERAS_BACKEND="jax", XDG_CACHE_HOME=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "t.skae")],
        capture_output=True,
        text=True,
        timeout=300,
        env=environ,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


@pytest.mark.parametrize(("backend", "name"), [("jax", "JAX"), ("torch", "PyTorch")])
def test_a_backend_error_is_named_by_the_backend_that_ran(monkeypatch, backend, name):
    import keras

    from skae.cli._main import _unexpected

    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    error = type("ResourceExhausted", (RuntimeError,), {"__module__": "keras.src.trainers"})
    assert _unexpected(error("out of memory")) == f"{name}: out of memory"
