"""Fuzz skae's model files: N seeded mutations of saved files of every kind, counted by outcome.

Usage::

    python benchmarks/fuzz_model_files.py [--n 10000] [--seed 20261207] [--out counts.json]

Five small estimators (transformer, denoiser, detector, variational, conv)
are fitted and saved; mutant ``i`` is made from the file of kind
``i mod 5`` by ``tests/io/model_file_crafting.mutate`` with its own seeded
generator (byte flips, truncations, insertions, member swaps, JSON, state,
configuration and weight edits, mostly with the checksums resealed as an
attacker would). Each mutant is then loaded with ``skae.load`` and counted:

- ``refused``: ``ModelFileError``;
- ``loaded``: it loaded and every output on probe rows of its data is
  finite (split into ``same outputs`` as the original and ``other
  outputs``: resealed edits that a checksum cannot detect; a key can);
- ``other``: anything else, each listed: another exception at load or on
  first use, non-finite outputs, or a crash of the interpreter (the loads
  run in a worker process, restarted after the mutant that killed it).

The run prints one JSON object of counts (and writes it to ``--out``). It is
a benchmark, not a test: run it by hand (``nice -n 10`` for a long one);
``tests/io/test_fuzz_files.py`` runs 150 mutants of the same harness.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the repository root: tests.io.model_file_crafting

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _worker(folder, seed, start, stop):
    """Load mutants ``start`` to ``stop - 1``; one JSON line per mutant on stdout."""
    import skae
    import tests.io.model_file_crafting as crafting

    bases = {}
    for kind in crafting.KINDS:
        path = Path(folder) / f"{kind}.skae"
        X = __import__("numpy").load(Path(folder) / f"{kind}.npy")
        loaded = skae.load(path)
        data = path.read_bytes()
        regions = crafting.weight_regions(data, [v.numpy() for v in loaded.model_.weights])
        bases[kind] = (data, X, crafting.outputs(loaded, X), regions)
    others = {kind: crafting.members(base[0])["model.keras"] for kind, base in bases.items()}
    mutant_path = Path(folder) / "mutants" / f"mutant-{os.getpid()}.skae"
    mutant_path.parent.mkdir(exist_ok=True)
    for i in range(start, stop):
        kind = crafting.KINDS[i % len(crafting.KINDS)]
        data, X, expected, regions = bases[kind]
        other = others[crafting.KINDS[(i + 1) % len(crafting.KINDS)]]
        rng = crafting.new_rng(seed * 1_000_003 + i)
        mutation, mutant = crafting.mutate(rng, data, other, regions)
        mutant_path.write_bytes(mutant)
        started = time.perf_counter()
        result, detail = crafting.outcome(mutant_path, X, expected)
        line = {
            "i": i,
            "kind": kind,
            "mutation": mutation,
            "result": result,
            "detail": detail,
            "seconds": round(time.perf_counter() - started, 3),
        }
        print(json.dumps(line), flush=True)


def _fit_bases(folder):
    import numpy as np

    import tests.io.model_file_crafting as crafting

    for kind, (_, X) in crafting.fit_bases(folder).items():
        np.save(Path(folder) / f"{kind}.npy", X)


def run(n, seed, progress=True, out=None):
    """Fuzz ``n`` mutants; return the counts and the list of ``other`` outcomes.

    With ``out``, the report so far is also written there every 250 mutants,
    so that a run stopped early still says what it found (``"done"``).
    """
    counts = {"refused": 0, "loaded": 0, "loaded, same outputs": 0, "other": 0}
    others, slowest = [], (0.0, None)
    by_mutation = {}
    with tempfile.TemporaryDirectory(prefix="skae-fuzz-") as folder:
        subprocess.run(
            [sys.executable, __file__, "--fit-bases", folder],
            check=True,
        )
        next_index = 0
        while next_index < n:
            worker = subprocess.Popen(
                [sys.executable, __file__, "--worker", folder, str(seed), str(next_index), str(n)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for text in worker.stdout:
                if not text.startswith("{"):
                    continue
                line = json.loads(text)
                next_index = line["i"] + 1
                result = line["result"]
                counts[result] += 1
                tally = by_mutation.setdefault(line["mutation"], {})
                tally[result] = tally.get(result, 0) + 1
                if result == "loaded" and line["detail"] == "same outputs":
                    counts["loaded, same outputs"] += 1
                if result == "other":
                    others.append(line)
                if line["seconds"] > slowest[0]:
                    slowest = (line["seconds"], line)
                if next_index % 250 == 0:
                    if progress:
                        print(f"{next_index}/{n}: {counts}", file=sys.stderr, flush=True)
                    if out is not None:
                        partial = _report(n, seed, counts, by_mutation, slowest, others)
                        out.write_text(json.dumps({**partial, "done": next_index}, indent=1))
            code = worker.wait()
            if next_index < n and code != 0:  # the worker died on mutant next_index
                counts["other"] += 1
                others.append({"i": next_index, "result": "other", "detail": f"crash {code}"})
                next_index += 1
    return {**_report(n, seed, counts, by_mutation, slowest, others), "done": next_index}


def _report(n, seed, counts, by_mutation, slowest, others):
    return {
        "n": n,
        "seed": seed,
        "counts": counts,
        "by_mutation": by_mutation,
        "slowest_load": slowest[1],
        "other": others,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="mutants (default 1000)")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--out", type=Path, help="also write the counts here (JSON)")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--fit-bases", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fit_bases:
        return _fit_bases(args.fit_bases)
    if args.worker:
        folder, seed, start, stop = args.worker
        return _worker(folder, int(seed), int(start), int(stop))
    started = time.perf_counter()
    report = run(args.n, args.seed, out=args.out)
    report["seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
