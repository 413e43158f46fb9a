"""The command line is quick and quiet (issue 26): light start-up, one progress line.

Also: advice for text columns and model kinds, and ``skae score --help``'s
column list aligned.
"""

import os
import pty
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from skae.cli import main

TRAIN = ["--epochs", "4", "--hidden-layer-sizes", "8", "--random-state", "0"]
ENV = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
HEAVY = (
    "tensorflow",
    "keras",
    "jax",
    "jaxlib",
    "torch",
    "sklearn",
    "scipy",
    "numpy",
    "pandas",
    "pyarrow",
)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("startup")
    rng = np.random.RandomState(0)
    values = rng.normal(size=(150, 2)) @ rng.normal(size=(2, 4))
    pd.DataFrame(values.round(4), columns=list("abcd")).to_csv(folder / "d.csv", index=False)
    return folder / "d.csv"


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["score", "--help"],
        ["explain", "--help"],
        ["fit", "--help"],
        ["compare", "--help"],
        ["--version"],
    ],
)
def test_help_imports_the_standard_library_only(argv):
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "skae", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
        check=True,
    )
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "skae" in imported
    assert imported & set(HEAVY) == set()


def test_score_help_lists_its_columns_aligned(capsys):
    assert main(["score", "--help"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if re.match(r"  (row|score|label|p_value) ", line)]
    assert len(rows) == 4
    assert len({len(re.match(r"  \S+\s+", line).group()) for line in rows}) == 1


def test_explain_help_says_what_expected_means(capsys):
    assert main(["explain", "--help"]) == 0
    assert "expected      what the detector expected in that column" in capsys.readouterr().out


def test_no_progress_in_a_log_unless_asked(capsys, tmp_path, data):
    status = main(["score", str(data), "-o", str(tmp_path / "s.csv"), *TRAIN])
    err = capsys.readouterr().err
    assert status == 0, err
    assert err.splitlines() == [line for line in err.splitlines() if "scored 150 rows" in line]
    status = main(["score", str(data), "-o", str(tmp_path / "s.csv"), "--progress", *TRAIN])
    lines = capsys.readouterr().err.splitlines()
    assert [line for line in lines if "skae: epoch" in line][-1].startswith(
        "skae: epoch 4/4, loss "
    )
    assert lines[-2].startswith("skae: trained 4 epochs in ")


def test_progress_on_a_terminal_is_one_line_updated_in_place(tmp_path, data):
    parent, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "skae", "fit", str(data), "-o", str(tmp_path / "m.skae"), *TRAIN],
        stderr=child,
        stdout=subprocess.DEVNULL,
        env=ENV,
    )
    os.close(child)
    received = b""
    while True:
        try:
            chunk = os.read(parent, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        received += chunk
    os.close(parent)
    assert process.wait(timeout=120) == 0
    text = received.decode()
    lines = text.replace("\r\n", "\n").split("\n")
    epochs = [line for line in lines if "skae: epoch" in line]
    # Every epoch rewrote the same line: one line holds them all, after \r's.
    assert len(epochs) == 1 and epochs[0].count("\r") >= 4, text
    assert "skae: epoch 4/4" in epochs[0] and "trained 4 epochs" in epochs[0]
    assert "cuInit" not in text and "oneDNN" not in text  # TensorFlow's start-up: filtered


def test_explain_names_itself_when_given_a_transformer(capsys, tmp_path, data):
    model = tmp_path / "t.skae"
    assert main(["fit", str(data), "-o", str(model), "--kind", "transformer", "-q", *TRAIN]) == 0
    status = main(["explain", str(data), "--model", str(model)])
    err = capsys.readouterr().err
    assert status == 1 and "'skae explain' needs an AutoencoderOutlierDetector" in err
    assert "skae score" not in err
