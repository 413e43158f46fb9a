"""Model files are backend-independent: saved on one Keras backend, loaded on another.

Each backend runs in its own subprocess (``KERAS_BACKEND`` is read once, when
Keras is imported). A file saved on one backend, loaded on another, gives the
outputs the saving process computed, to float32 rounding; so does the way
back.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = [name for name in ("tensorflow", "jax", "torch") if importlib.util.find_spec(name)]

# Saves a small fitted estimator of each kind, or loads the files; writes the
# outputs each computes on the same rows.
SCRIPT = """
import sys
import numpy as np
import keras
import skae
from sklearn.datasets import load_digits

mode, folder, backend = sys.argv[1:4]
assert keras.backend.backend() == backend, keras.backend.backend()
X = load_digits().data[:120]
fast = dict(hidden_layer_sizes=(16,), latent_dim=2, epochs=2, batch_size=32, random_state=0)
makers = {
    "transformer": lambda: skae.AutoencoderTransformer(**fast),
    "detector": lambda: skae.AutoencoderOutlierDetector(**fast),
    "vae": lambda: skae.VariationalAutoencoder(**fast),
    "denoiser": lambda: skae.DenoisingAutoencoder(**fast),
}
outputs = {}
for name, make in makers.items():
    path = f"{folder}/{name}.skae"
    if mode == "save":
        estimator = make().fit(X)
        estimator.save(path)
    else:
        estimator = skae.load(path)
    if name == "detector":
        outputs[name] = estimator.score_samples(X)
    elif name == "denoiser":
        outputs[name] = estimator.predict(X)
    else:
        outputs[name] = estimator.transform(X)
        outputs[name + "_inverse"] = estimator.inverse_transform(outputs[name])
np.savez(f"{folder}/{mode}_{backend}.npz", **outputs)
"""


def _run(mode, folder, backend):
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, str(folder), backend],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    with np.load(Path(folder) / f"{mode}_{backend}.npz") as data:
        return dict(data)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Files saved on each installed backend, with the outputs the saver computed."""
    found = {}
    for backend in BACKENDS:
        folder = tmp_path_factory.mktemp(f"saved_on_{backend}")
        found[backend] = folder, _run("save", folder, backend)
    return found


@pytest.mark.skipif(len(BACKENDS) < 2, reason="needs two Keras backends installed")
@pytest.mark.parametrize(
    "source, target",
    [
        (s, t)
        for s in ("tensorflow", "jax", "torch")
        for t in ("tensorflow", "jax", "torch")
        if s != t
    ],
)
def test_a_file_saved_on_one_backend_gives_the_same_outputs_on_another(saved, source, target):
    if source not in BACKENDS or target not in BACKENDS:
        pytest.skip(f"{source} or {target} is not installed")
    folder, expected = saved[source]
    loaded = _run("load", folder, target)
    assert set(loaded) == set(expected)
    for name, values in expected.items():
        np.testing.assert_allclose(loaded[name], values, rtol=1e-5, atol=1e-5, err_msg=name)
