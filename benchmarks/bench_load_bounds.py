"""Memory and time of loading hostile model files, against the largest honest model of their size.

Usage::

    python benchmarks/bench_load_bounds.py [--out results.json]

Each file is loaded by ``skae.load`` in a fresh Python process (TensorFlow
imported first, outside the timer); the process's peak resident memory
(``VmHWM``, Linux) and the load's wall time are reported, with what the load
did (refused with ``ModelFileError``, or loaded). The files:

- ``honest``: a fitted ``AutoencoderTransformer`` (784-1024-512-32, Adam's
  state included), about as large as the biggest bombs below;
- ``import only``: no load, the baseline of a process with skae and
  TensorFlow imported;
- the attacks of issue 27, crafted from small fitted models: a 62 MiB
  ``skae.json`` of nested objects (stored uncompressed, as its author would,
  to pass the 200:1 ratio cap), the same in the network's ``config.json``, an
  HDF5 dataset declaring 2 GiB that stores nothing, an ``Embedding`` of
  ``2**24 x 16`` float32 (1 GiB), a ``Dense`` kernel of 80 MiB stored so
  regularly that the zip deflates it ~40:1, a subnormal ``term_spread_``.
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the repository root: tests.io.model_file_crafting

MiB = 1 << 20
_CHILD = """
import json, sys, time, warnings
import skae
from skae._quiet import import_tensorflow
import_tensorflow()
path = sys.argv[1]
started = time.perf_counter()
if path == "-":
    result = "import only"
else:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            skae.load(path)
            result = "loaded"
        except skae.ModelFileError as error:
            result = "refused: " + str(error).split(": ", 1)[-1][:160]
seconds = time.perf_counter() - started
peak = next(
    int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")
)  # this process's own peak resident memory, in KiB (ru_maxrss would count the parent's)
print(json.dumps({"seconds": seconds, "result": result, "peak_kib": peak}))
"""


def _stored_zip(members):
    """A zip of ``members`` (name -> bytes) with no compression: its ratio is 1:1."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _nested_objects(n_bytes, depth=60):
    chain = '{"a":' * (depth - 2) + "{}" + "}" * (depth - 2)
    return "[" + ",".join([chain] * (n_bytes // (len(chain) + 1))) + "]"


def make_files(folder):
    """The honest and hostile files, written to ``folder``; returns ``{name: path}``."""
    import h5py
    import numpy as np

    import skae
    from tests.io import model_file_crafting as crafting

    folder = Path(folder)
    rng = np.random.RandomState(0)
    files = {"import only": "-"}
    honest = skae.AutoencoderTransformer(
        hidden_layer_sizes=(1024, 512), latent_dim=32, epochs=1, init="random", random_state=0
    ).fit(rng.uniform(size=(256, 784)))
    files["honest"] = honest.save(folder / "honest.skae")

    small = {"hidden_layer_sizes": (8,), "latent_dim": 2, "epochs": 1, "random_state": 0}
    X = rng.normal(size=(100, 16))
    transformer = skae.AutoencoderTransformer(**small).fit(X).save(folder / "t.skae").read_bytes()
    detector = skae.AutoencoderOutlierDetector(**small).fit(X).save(folder / "d.skae").read_bytes()

    outer = crafting.members(transformer)
    header = outer["skae.json"].decode()
    outer["skae.json"] = (
        header[:-1].rstrip() + f', "padding": {_nested_objects(62 * MiB)}}}'
    ).encode()
    files["62 MiB skae.json of nested objects"] = folder / "json-bomb.skae"
    files["62 MiB skae.json of nested objects"].write_bytes(_stored_zip(outer))

    outer = crafting.members(transformer)
    inner = crafting.members(outer["model.keras"])
    text = inner["config.json"].decode()
    inner["config.json"] = (text[:-1] + f', "padding": {_nested_objects(62 * MiB)}}}').encode()
    outer["model.keras"] = _stored_zip(inner)
    meta = json.loads(outer["skae.json"])
    files["62 MiB config.json of nested objects"] = folder / "config-bomb.skae"
    files["62 MiB config.json of nested objects"].write_bytes(
        _stored_zip(crafting.seal(meta, outer))
    )

    def sparse(inner):
        buffer = io.BytesIO(inner["model.weights.h5"])
        with h5py.File(buffer, "r+") as weights:
            del weights["optimizer/vars/2"]
            weights.create_dataset("optimizer/vars/2", shape=(512 * MiB,), dtype="f4")
        inner["model.weights.h5"] = buffer.getvalue()

    files["HDF5 dataset of 2 GiB storing nothing"] = folder / "sparse.skae"
    files["HDF5 dataset of 2 GiB storing nothing"].write_bytes(
        crafting.craft(transformer, edit_inner=sparse)
    )

    def embed(config):
        encoder = next(
            layer
            for layer in config["config"]["layers"]
            if layer.get("config", {}).get("name") == "encoder"
        )
        dense = crafting.find_layer(encoder, "Dense")
        embedding = json.loads(json.dumps(dense))
        embedding.update(class_name="Embedding", name="huge")
        embedding["config"] = {"name": "huge", "input_dim": 1 << 24, "output_dim": 16}
        encoder["config"]["layers"].append(embedding)

    files["Embedding of 1 GiB"] = folder / "embedding.skae"
    files["Embedding of 1 GiB"].write_bytes(crafting.craft(transformer, edit_config=embed))

    dense = crafting.find_layer(
        json.loads(crafting.members(crafting.members(transformer)["model.keras"])["config.json"]),
        "Dense",
    )
    shape = (dense["build_config"]["input_shape"][-1], dense["config"]["units"])
    kernel = np.zeros((shape[0], (64 * MiB // 4) // shape[0]), dtype=np.float32)
    kernel[:, ::40] = 1.0

    def big_dense(config):
        crafting.find_layer(config, "Dense")["config"]["units"] = kernel.shape[1]

    def big_kernel(inner):
        buffer = io.BytesIO(inner["model.weights.h5"])
        with h5py.File(buffer, "r+") as weights:
            names = []
            weights.visititems(lambda n, item: names.append(n) if hasattr(item, "shape") else None)
            name = next(n for n in names if weights[n].shape == shape)
            del weights[name]
            weights.create_dataset(name, data=kernel)
        inner["model.weights.h5"] = buffer.getvalue()

    files["Dense kernel of 64 MiB deflated ~40:1"] = folder / "dense.skae"
    files["Dense kernel of 64 MiB deflated ~40:1"].write_bytes(
        crafting.craft(transformer, edit_config=big_dense, edit_inner=big_kernel)
    )

    def subnormal(meta):
        spread = meta["state"]["term_spread_"]
        spread["values"] = [1e-320] * len(spread["values"])

    files["subnormal term_spread_"] = folder / "subnormal.skae"
    files["subnormal term_spread_"].write_bytes(crafting.craft(detector, edit_meta=subnormal))
    return files


def measure(path):
    """``(peak resident MiB, seconds, result)`` of loading ``path`` in a fresh process."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(HERE.parent)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    output = child.stdout.read()
    code = child.wait()
    child.stdout.close()
    lines = [line for line in output.splitlines() if line.startswith("{")]
    if code != 0 or not lines:
        return float("nan"), None, f"crashed ({code})"
    report = json.loads(lines[-1])
    return report["peak_kib"] / 1024, report["seconds"], report["result"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="also write the results here (JSON)")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="skae-bounds-") as folder:
        files = make_files(folder)
        for name, path in files.items():
            size = 0 if path == "-" else Path(path).stat().st_size
            peak, seconds, result = measure(path)
            rows.append(
                {
                    "file": name,
                    "bytes": size,
                    "peak_mib": round(peak),
                    "seconds": seconds,
                    "result": result,
                }
            )
            print(
                f"{name:40s} {size / MiB:8.1f} MiB  peak {peak:7.0f} MiB  "
                f"{'-' if seconds is None else f'{seconds:6.2f} s'}  {result}",
                flush=True,
            )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"({time.perf_counter() - start:.0f} s)")
