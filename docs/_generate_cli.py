"""Write the command line's outputs shown in ``docs/cli.rst``, by running its commands.

Usage::

    python docs/_generate_cli.py            # rewrites docs/generated_cli/*.txt
    python docs/_generate_cli.py --out DIR  # writes them to DIR instead

Each session below is a list of steps run in a fresh temporary folder on
scikit-learn's breast cancer data (written to ``cancer.csv`` and
``cancer.parquet``); its console text (``$ command`` then what the command
printed, stdout and stderr in the order written) goes to ``NAME.txt``, which
``cli.rst`` includes with ``literalinclude``. The commands run in this one
process through :func:`skae.cli.main` (TensorFlow loads once), with fixed
seeds, so a rerun gives the same text, on TensorFlow (``KERAS_BACKEND`` is
set: these are a default install's outputs). ``tests/cli/test_cli_docs.py``
reruns this script and fails when a page no longer matches the code: after
changing what the command line prints (or how the detector scores), rerun
this script instead of editing the page.
"""

import argparse
import contextlib
import io
import os
import shlex
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent / "generated_cli"

# The pages show what a default install prints: TensorFlow, skae's own
# dependency (without a choice, the command line runs on JAX where installed,
# and a model trained there differs in its last digits).
os.environ["KERAS_BACKEND"] = "tensorflow"

MAKE_DATA = (
    "from sklearn.datasets import load_breast_cancer; "
    "d = load_breast_cancer(as_frame=True).frame; "
    "d.insert(0, 'diagnosis', d.pop('target').map({0: 'malignant', 1: 'benign'})); "
    "d.to_csv('cancer.csv', index=False); d.to_parquet('cancer.parquet')"
)
MAKE_EU = (
    "import pandas as pd; "
    "pd.read_csv('cancer.csv').to_csv('cancer_eu.csv', sep=';', decimal=',', index=False)"
)
MAKE_TYPOS = (
    "import pandas as pd; d = pd.read_csv('cancer.csv'); "
    "d['mean area'] = d['mean area'].astype(object); "
    "d.loc[[7, 90], 'mean area'] = ['n.a.', '?']; d.to_csv('typos.csv', index=False)"
)
MAKE_INFINITE = (
    "import pandas as pd; d = pd.read_csv('cancer.csv'); "
    "d.loc[7, 'mean area'] = float('inf'); d.to_csv('infinite.csv', index=False)"
)
# The models the sessions share, trained small so that the docs' test stays quick.
TRAIN = "--epochs 40 --random-state 0"

# Steps: ("skae", ARGS[, {"head": N, "stdout": FILE}]), ("python", CODE),
# ("head", FILE, N), ("status",) for `echo $?`, ("size", FILE) for `wc -c < FILE`.
SESSIONS = {
    "data": [("python", MAKE_DATA)],
    "score": [
        ("skae", f"score cancer.csv -o scores.csv --contamination 0.02 {TRAIN}"),
        ("head", "scores.csv", 4),
    ],
    "fit_and_score": [
        ("skae", f"fit cancer.csv -o cancer.skae --contamination 0.02 {TRAIN} --quiet"),
        ("skae", "score cancer.parquet --model cancer.skae --chunksize 200", {"head": 4}),
    ],
    "explain": [
        ("skae", "explain cancer.csv --model cancer.skae --top-k 2", {"head": 5}),
    ],
    "transformer_refused": [
        ("skae", f"fit cancer.csv -o codes.skae --kind transformer {TRAIN} --quiet"),
        ("skae", "score cancer.csv --model codes.skae"),
    ],
    "streamed": [
        ("skae", "fit cancer.parquet -o streamed.skae --chunksize 200 --epochs 3 --random-state 0"),
    ],
    "compare": [
        ("skae", f"compare cancer.csv --latent-dims 2 4 8 {TRAIN} --quiet"),
    ],
    "csv_marks": [
        ("python", MAKE_EU),
        ("skae", "score cancer_eu.csv --model cancer.skae"),
        ("skae", "score cancer_eu.csv --model cancer.skae --sep ';' --decimal , -o scores_eu.csv"),
    ],
    "bad_cells": [
        ("python", MAKE_TYPOS),
        ("skae", "score typos.csv"),
        ("skae", "score typos.csv --columns diagnosis"),
        ("python", MAKE_INFINITE),
        ("skae", "score infinite.csv --model cancer.skae"),
    ],
    "stdout_empty": [
        ("skae", "score typos.csv --model cancer.skae", {"stdout": "typo_scores.csv"}),
        ("status",),
        ("size", "typo_scores.csv"),
    ],
    "usage_error": [
        ("skae", "score missing.csv"),
        ("status",),
    ],
}


class _Recorder(io.TextIOBase):
    """A text stream that appends ``(stream, text)`` to a shared list, in order."""

    def __init__(self, name, log):
        self.name, self.log = name, log

    def write(self, text):
        self.log.append((self.name, text))
        return len(text)

    def isatty(self):
        return False


def _run_skae(args, options, lines, state):
    from skae.cli import main

    log = []
    shown = f"$ skae {args}"
    if "head" in options:
        shown += f" | head -{options['head']}"
    if "stdout" in options:
        shown += f" > {options['stdout']}"
    lines.append(shown)
    stdout = open(options["stdout"], "w") if "stdout" in options else _Recorder("out", log)
    with (
        stdout,
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(_Recorder("err", log)),
    ):
        state["status"] = main(shlex.split(args))
    text = {"out": [], "err": []}
    order = []
    for name, chunk in log:
        text[name].append(chunk)
        order.append(name)
    out_lines = "".join(text["out"]).splitlines()
    if "head" in options:
        out_lines = out_lines[: options["head"]]
    # stdout is written whole at the end: the notes before it, the summary after.
    err_lines = "".join(text["err"]).splitlines()
    before = [] if not out_lines or "out" not in order else err_lines[: _notes_before(log)]
    lines.extend(before + out_lines + err_lines[len(before) :])


def _notes_before(log):
    """How many stderr lines were written before stdout's first text."""
    count = 0
    for name, chunk in log:
        if name == "out":
            return count
        count += chunk.count("\n")
    return count


def run_session(steps, lines, state):
    """Run ``steps`` in the current folder, appending their console text to ``lines``."""
    for step in steps:
        kind = step[0]
        if kind == "skae":
            _run_skae(step[1], step[2] if len(step) > 2 else {}, lines, state)
        elif kind == "python":
            lines.append(f'$ python -c "{step[1]}"')
            exec(step[1], {})  # the documented command, run here
        elif kind == "head":
            lines.append(f"$ head -{step[2]} {step[1]}")
            lines.extend(Path(step[1]).read_text().splitlines()[: step[2]])
        elif kind == "status":
            lines.extend(["$ echo $?", str(state["status"])])
        elif kind == "size":
            lines.extend([f"$ wc -c < {step[1]}", str(Path(step[1]).stat().st_size)])


def generate(out=OUT):
    """Run every session in a new temporary folder and write ``out/NAME.txt``.

    Parameters
    ----------
    out : path-like, default=docs/generated_cli
        The folder for the text files (created if missing).
    """
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    home = os.getcwd()
    state = {"status": None}
    with tempfile.TemporaryDirectory() as work:
        os.chdir(work)
        try:
            for name, steps in SESSIONS.items():
                lines = []
                run_session(steps, lines, state)
                (out / f"{name}.txt").write_text("\n".join(lines) + "\n")
        finally:
            os.chdir(home)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=OUT, help=f"output folder (default: {OUT})")
    generate(parser.parse_args().out)
    sys.exit(0)
