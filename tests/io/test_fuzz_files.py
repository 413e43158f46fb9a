"""Seeded fuzzing of model files of every kind: each mutant is refused or loads and works.

The mutations (``model_file_crafting.mutate``) are byte flips, truncations,
insertions, member swaps and JSON, state, configuration and weight edits,
most of them resealed (checksums recomputed) as an attacker would. Every
mutant must raise ``ModelFileError`` at load, or load and give finite
outputs on probe rows of its data: never another exception, a non-finite
output, an import, or a temporary file left behind.
``benchmarks/fuzz_model_files.py`` runs the same harness at scale.
"""

import sys
import tempfile

import pytest

import skae
from tests.io.model_file_crafting import (
    KINDS,
    fit_bases,
    members,
    mutate,
    new_rng,
    outcome,
    outputs,
    weight_regions,
)

N_MUTANTS = 150
SEED = 20261207
# Keras', TensorFlow's and h5py's own lazy imports.
_LAZY = ("keras.", "tensorflow.", "h5py.")


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-bases")
    found = {}
    for kind, (path, X) in fit_bases(folder).items():
        loaded = skae.load(path)  # the lazy imports of a first load happen here
        data = path.read_bytes()
        regions = weight_regions(data, [v.numpy() for v in loaded.model_.weights])
        assert regions, kind
        found[kind] = (data, X, outputs(loaded, X), regions)
    return found


def test_every_mutant_is_refused_or_loads_with_finite_outputs(bases, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    folder = tmp_path / "files"
    folder.mkdir()
    path = folder / "mutant.skae"
    others = {kind: members(base[0])["model.keras"] for kind, base in bases.items()}
    before = set(sys.modules)
    rng = new_rng(SEED)
    results, failures = {"refused": 0, "loaded": 0}, []
    for i in range(N_MUTANTS):
        kind = KINDS[i % len(KINDS)]
        data, X, expected, regions = bases[kind]
        other = others[KINDS[(i + 1) % len(KINDS)]]
        mutation, mutant = mutate(rng, data, other, regions)
        path.write_bytes(mutant)
        result, detail = outcome(path, X, expected)
        if result == "other":
            failures.append((i, kind, mutation, detail))
        else:
            results[result] += 1
    print(f"fuzz: {results}")
    assert failures == []
    assert results["refused"] > N_MUTANTS // 2
    imported = sorted(m for m in set(sys.modules) - before if not m.startswith(_LAZY))
    assert imported == []
    assert list(scratch.iterdir()) == []
    assert [p.name for p in folder.iterdir()] == ["mutant.skae"]
