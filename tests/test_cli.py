"""The ``skae`` command line: score, fit, compare, file formats, errors, signals."""

import argparse
import gzip
import inspect
import os
import re
import signal
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import skae
from skae import _quiet
from skae.cli import _main, _models, _parser, main
from skae.cli._output import Destination, TableWriter
from skae.cli._tables import _EXACT_FLOATS

ROOT = Path(__file__).resolve().parents[1]
N_ROWS, N_OUTLIERS = 300, 15
COLUMNS = [f"x{i}" for i in range(6)]
# Small network and few epochs: these tests check plumbing, not model quality.
TRAIN = ["--epochs", "3", "--hidden-layer-sizes", "16", "--random-state", "0"]
OPTIONS = {
    "score": [
        "--model",
        "--output",
        "--contamination",
        "--columns",
        "--chunksize",
        "--epochs",
        "--latent-dim",
        "--hidden-layer-sizes",
        "--batch-size",
        "--learning-rate",
        "--scaling",
        "--random-state",
        "--quiet",
        "--sep",
        "--decimal",
    ],
    "fit": [
        "--output",
        "--kind",
        "--contamination",
        "--columns",
        "--chunksize",
        "--epochs",
        "--latent-dim",
        "--random-state",
        "--quiet",
        "--sep",
        "--decimal",
    ],
    "compare": [
        "--latent-dims",
        "--test-size",
        "--columns",
        "--epochs",
        "--random-state",
        "--quiet",
        "--sep",
        "--decimal",
    ],
}
# Subprocesses run as a user would: TensorFlow's log level left to skae.
CLEAN_ENV = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}


def read_csv(*args, **kwargs):
    """CSV with every float exactly as written, as the command line reads it."""
    return pd.read_csv(*args, **_EXACT_FLOATS, **kwargs)


def sensor_frame(outliers_last=False, n_rows=N_ROWS):
    """Six correlated numeric columns, a text column, outliers planted at the top."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n_rows, 2)) @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(n_rows, 6))
    X[:N_OUTLIERS] += rng.normal(scale=6, size=(N_OUTLIERS, 6))
    if outliers_last:
        X = np.roll(X, -N_OUTLIERS, axis=0)
    frame = pd.DataFrame(X.round(5), columns=COLUMNS)
    frame.insert(0, "name", [f"sensor{i}" for i in range(n_rows)])
    return frame


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The sensor data as CSV and Parquet, and its numeric values."""
    folder = tmp_path_factory.mktemp("data")
    frame = sensor_frame()
    frame.to_csv(folder / "data.csv", index=False)
    frame.to_parquet(folder / "data.parquet")
    return {
        "csv": folder / "data.csv",
        "parquet": folder / "data.parquet",
        "X": frame[COLUMNS],
        "folder": folder,
    }


@pytest.fixture(scope="module")
def model_path(files):
    """A detector saved by ``skae fit``, with the detector's default contamination."""
    path = files["folder"] / "detector.skae"
    assert main(["fit", str(files["csv"]), "-o", str(path), "--quiet", *TRAIN]) == 0
    return path


def run(capsys, *args):
    """``main(args)``'s exit status, stdout and stderr."""
    status = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return status, out, err


def read_scores(path):
    return pd.read_parquet(path) if path.suffix == ".parquet" else read_csv(path)


def no_training(monkeypatch):
    """Make making an estimator fail the test: checks must come before it."""

    def new_estimator(*args, **kwargs):
        raise AssertionError("an estimator was made before the checks")

    monkeypatch.setattr(_models, "new_estimator", new_estimator)


# ----------------------------------------------------------------------
# score


@pytest.mark.parametrize("contamination", [0.05, 0.1])
def test_score_writes_one_score_and_label_per_row(capsys, tmp_path, files, contamination):
    out = tmp_path / "scores.csv"
    status, _, err = run(
        capsys, "score", files["csv"], "-o", out, "--contamination", contamination, *TRAIN
    )
    assert status == 0, err
    scores = read_csv(out)
    # p_value: against the out-of-fold training scores (issue 23's detector)
    assert list(scores.columns) == ["row", "score", "label", "p_value"]
    np.testing.assert_array_equal(scores["row"], np.arange(N_ROWS))
    assert set(scores["label"]) == {-1, 1}
    # The threshold is the contamination percentile of the training rows'
    # out-of-fold scores, not of these in-sample ones.
    assert abs((scores["label"] == -1).mean() - contamination) <= 0.1
    # Outliers score lower than inliers.
    assert scores["score"][:N_OUTLIERS].mean() < scores["score"][N_OUTLIERS:].mean()
    assert "ignoring text columns: name" in err
    flagged = int((scores["label"] == -1).sum())
    assert f"scored {N_ROWS} rows: {flagged} outliers" in err
    assert os.listdir(tmp_path) == ["scores.csv"]  # no temporary file left


def test_score_quiet_prints_only_notes(capsys, files):
    status, out, err = run(capsys, "score", files["csv"], "--quiet", *TRAIN)
    assert status == 0
    assert len(read_csv(pd.io.common.StringIO(out))) == N_ROWS
    assert "scored" not in err and "Epoch" not in err and "Epoch" not in out


def test_csv_and_parquet_input_give_the_same_scores(capsys, tmp_path, files):
    outputs = []
    for kind, suffix in [("csv", ".parquet"), ("parquet", ".csv.gz")]:
        out = tmp_path / f"scores_from_{kind}{suffix}"
        status, _, err = run(capsys, "score", files[kind], "-o", out, "-q", *TRAIN)
        assert status == 0, err
        outputs.append(read_scores(out) if suffix == ".parquet" else read_csv(out))
    pd.testing.assert_frame_equal(outputs[0], outputs[1])


def test_score_writes_csv_to_stdout(capsys, files):
    status, out, err = run(capsys, "score", files["parquet"], "--progress", *TRAIN)
    assert status == 0, err
    scores = read_csv(pd.io.common.StringIO(out))
    assert list(scores.columns) == ["row", "score", "label", "p_value"]
    assert len(scores) == N_ROWS
    assert "skae: epoch 3/3, loss " in err  # progress goes to stderr, not into the CSV


@pytest.mark.parametrize("chunksize", [None, 37, 1000])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_score_with_a_saved_model_equals_the_loaded_model(
    capsys, tmp_path, files, model_path, chunksize, suffix
):
    out = tmp_path / f"scores{suffix}"
    chunks = [] if chunksize is None else ["--chunksize", chunksize]
    data = files["csv"] if suffix == ".csv" else files["parquet"]
    status, _, err = run(capsys, "score", data, "--model", model_path, "-o", out, *chunks)
    assert status == 0, err
    scores = read_scores(out)
    detector = skae.load(model_path)
    # The network runs in float32, and CPU kernels round a row differently
    # depending on how many rows share its batch: equal to float32 precision.
    np.testing.assert_allclose(scores["score"], detector.score_samples(files["X"]), rtol=1e-5)
    np.testing.assert_array_equal(scores["label"], detector.predict(files["X"]))


def test_score_with_a_saved_model_uses_its_columns(capsys, tmp_path, files, model_path):
    # Columns reordered, one extra: the model picks its own by name.
    frame = read_csv(files["csv"])[["x5", "name", *COLUMNS[:5]]]
    frame["extra"] = 1.0
    frame.to_csv(tmp_path / "shuffled.csv", index=False)
    status, out, err = run(capsys, "score", tmp_path / "shuffled.csv", "--model", model_path)
    assert status == 0, err
    expected = skae.load(model_path).score_samples(files["X"])
    np.testing.assert_array_equal(read_csv(pd.io.common.StringIO(out))["score"], expected)


def test_semicolon_csv_with_decimal_commas_scores_with_sep_and_decimal(
    capsys, tmp_path, files, model_path
):
    path = tmp_path / "semicolons.csv"
    read_csv(files["csv"]).to_csv(path, sep=";", decimal=",", index=False)
    status, out, err = run(
        capsys, "score", path, "--model", model_path, "--sep", ";", "--decimal", ","
    )
    assert status == 0, err
    _, expected, _ = run(capsys, "score", files["csv"], "--model", model_path)
    assert out == expected


# ----------------------------------------------------------------------
# fit


def test_fit_saves_a_detector_that_load_reads(capsys, tmp_path, files):
    path = tmp_path / "model.skae"
    status, _, err = run(
        capsys,
        "fit",
        files["parquet"],
        "-o",
        path,
        "--latent-dim",
        "2",
        "--contamination",
        "0.2",
        *TRAIN,
    )
    assert status == 0, err
    detector = skae.load(path)
    assert isinstance(detector, skae.AutoencoderOutlierDetector)
    assert (detector.latent_dim, detector.contamination, detector.verbose) == (2, 0.2, 0)
    assert list(detector.feature_names_in_) == COLUMNS
    assert f"to {path}" in err
    assert os.listdir(tmp_path) == ["model.skae"]


def test_default_contamination_is_the_detectors_own(model_path):
    default = inspect.signature(skae.AutoencoderOutlierDetector).parameters["contamination"]
    assert skae.load(model_path).contamination == default.default


def test_contamination_auto_only_where_the_detector_takes_it(capsys, monkeypatch, files):
    # The detector's default is "auto": the command line takes it.
    _models.check_contamination(argparse.Namespace(contamination="auto"))
    # A detector whose default were a float would not.
    signature = inspect.signature(skae.AutoencoderOutlierDetector)
    fixed = signature.replace(
        parameters=[
            parameter.replace(default=0.1) if name == "contamination" else parameter
            for name, parameter in signature.parameters.items()
        ]
    )
    monkeypatch.setattr(skae.AutoencoderOutlierDetector, "__signature__", fixed, raising=False)
    no_training(monkeypatch)
    status, _, err = run(capsys, "score", files["csv"], "--contamination", "auto")
    assert status == 2 and "--contamination auto" in err


def test_fit_streamed_transformer(capsys, tmp_path, files):
    path = tmp_path / "transformer.skae"
    status, _, err = run(
        capsys, "fit", files["csv"], "-o", path, "--kind", "transformer", "--chunksize", 128, *TRAIN
    )
    assert status == 0, err
    transformer = skae.load(path)
    assert isinstance(transformer, skae.AutoencoderTransformer)
    # Streamed: 3 passes of one partial_fit per chunk of 128 rows (3 chunks).
    assert transformer.n_iter_ == 3 * 3
    assert transformer.transform(files["X"]).shape == (N_ROWS, 3)  # default: half the columns


def test_score_refuses_a_transformer(capsys, tmp_path, files):
    path = tmp_path / "transformer.skae"
    status, _, err = run(
        capsys, "fit", files["csv"], "-o", path, "--kind", "transformer", "--quiet", *TRAIN
    )
    assert status == 0, err
    status, out, err = run(capsys, "score", files["csv"], "--model", path)
    assert status == 1 and out == ""
    assert "holds an AutoencoderTransformer, not an outlier detector" in err
    assert "skae fit DATA -o MODEL" in err and len(err.splitlines()) == 1


def test_streamed_detector_threshold_describes_the_whole_file(capsys, tmp_path):
    # The last chunk holds every outlier: a threshold set on it alone would
    # flag far fewer than `contamination` of the file.
    sensor_frame(outliers_last=True).to_csv(tmp_path / "sorted.csv", index=False)
    out = tmp_path / "scores.csv"
    status, _, err = run(
        capsys,
        "score",
        tmp_path / "sorted.csv",
        "-o",
        out,
        "--chunksize",
        100,
        "--contamination",
        "0.05",
        "--progress",
        *TRAIN,
    )
    assert status == 0, err
    assert abs((read_csv(out)["label"] == -1).mean() - 0.05) <= 0.1  # out-of-fold threshold
    assert "pass 3/3: 300 rows" in err


def test_fit_with_columns(capsys, tmp_path, files):
    path = tmp_path / "model.skae"
    status, _, err = run(
        capsys,
        "fit",
        files["csv"],
        "-o",
        path,
        "--columns",
        "x0,x2",
        "--columns",
        "x4",
        "-q",
        *TRAIN,
    )
    assert status == 0, err
    assert list(skae.load(path).feature_names_in_) == ["x0", "x2", "x4"]
    assert err == ""  # no note about ignored columns when they are chosen


# ----------------------------------------------------------------------
# compare


def test_compare_prints_a_row_per_latent_size_in_80_columns(capsys, files):
    status, out, err = run(capsys, "compare", files["csv"], "--latent-dims", 2, 3, 6, "-q", *TRAIN)
    assert status == 0, err
    assert max(map(len, out.splitlines())) <= 80
    heading, table = out.split("\n\n")
    assert "standard units" in heading
    results = read_csv(pd.io.common.StringIO(table), sep=r"\s+")
    assert list(results.columns) == ["latent_dim", "pca_mse", "autoencoder_mse", "ratio"]
    assert list(results["latent_dim"]) == [2, 3]
    assert (results["pca_mse"] > 0).all() and (results["autoencoder_mse"] > 0).all()
    np.testing.assert_allclose(
        results["ratio"], results["autoencoder_mse"] / results["pca_mse"], rtol=2e-3
    )
    assert "skipping latent sizes [6]" in err


# ----------------------------------------------------------------------
# help


def subcommand_parsers():
    subparsers = next(
        action
        for action in _parser.build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    return subparsers.choices


@pytest.mark.parametrize("command", sorted(OPTIONS))
def test_help_documents_every_option_with_its_default(capsys, command):
    status, out, _ = run(capsys, command, "--help")
    assert status == 0
    assert "example" in out and f"skae {command} " in out.split("example")[1]
    assert "exit status" in out and "143" in out
    for option in OPTIONS[command]:
        assert option in out
    for action in subcommand_parsers()[command]._actions:
        if action.option_strings and action.dest != "help":
            assert "default" in action.help or action.required, action.dest


def test_top_level_help_and_version(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0 and all(command in out for command in OPTIONS)
    assert "stdout receives the whole output" in out
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out.strip() == f"skae {skae.__version__}"


def test_help_imports_neither_tensorflow_nor_scikit_learn():
    # What `import pandas` loads itself (pandas 3 imports pyarrow) is allowed.
    code = (
        "import sys, numpy, pandas; before = set(sys.modules)\n"
        "from skae.cli import main\n"
        "for argv in (['--help'], ['score', '--help'], ['fit', '--help'], ['compare', '--help']):\n"
        "    assert main(argv) == 0\n"
        "heavy = ('tensorflow', 'keras', 'sklearn', 'scipy', 'pyarrow')\n"
        "print(sorted({m.split('.')[0] for m in set(sys.modules) - before} & set(heavy)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.splitlines()[-1] == "[]"


def test_console_script_and_python_m_point_to_main():
    tomllib = pytest.importorskip("tomllib")
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = scripts["skae"].partition(":")
    assert getattr(__import__(module, fromlist=[name]), name) is main


# ----------------------------------------------------------------------
# errors


def write_text(path, text):
    path.write_text(text)
    return path


def inf_csv(folder):
    frame = sensor_frame()
    frame.loc[150, "x2"] = np.inf
    frame.to_csv(folder / "inf.csv", index=False)
    return folder / "inf.csv"


def test_missing_cells_are_skipped_not_refused(tmp_path):
    out = tmp_path / "scores.csv"
    assert main(["score", str(nan_csv(tmp_path)), "-o", str(out), "--quiet", *TRAIN]) == 0
    scores = read_csv(out)
    assert len(scores) == N_ROWS and np.isfinite(scores["score"]).all()


def nan_csv(folder):
    frame = sensor_frame()
    frame.loc[150, "x2"] = np.nan
    frame.to_csv(folder / "nan.csv", index=False)
    return folder / "nan.csv"


def text_cell_csv(folder):
    frame = sensor_frame().astype({"x3": object})
    frame.loc[[40, 7], "x3"] = ["?", "abc"]
    frame.to_csv(folder / "cells.csv", index=False)
    return folder / "cells.csv"


SEP_HINT = "give its separator with --sep"
ERRORS = {
    "missing file": (lambda d: ["score", d / "missing.csv"], 2, "No such file: "),
    "unknown type": (
        lambda d: ["score", write_text(d / "a.txt", "a\n1\n")],
        2,
        "unknown file type",
    ),
    "no numeric column": (
        lambda d: ["score", write_text(d / "t.csv", "a,b\nx,y\nz,w\n")],
        2,
        "has no numeric column (columns: a, b)",
    ),
    "missing column": (
        lambda d: ["score", nan_csv(d), "--columns", "x0,zz"],
        2,
        "has no column 'zz'",
    ),
    "infinity": (lambda d: ["score", inf_csv(d)], 1, "value inf in column 'x2' at row 150"),
    "infinity in a later chunk": (
        lambda d: ["score", inf_csv(d), "--chunksize", 100, *TRAIN],
        1,
        "value inf in column 'x2' at row 150",
    ),
    "text cells in a numeric column": (
        lambda d: ["score", text_cell_csv(d)],
        1,
        "column 'x3' holds numbers but also text in row 7: 'abc', row 40: '?'",
    ),
    "text column chosen": (
        lambda d: ["score", nan_csv(d), "--columns", "name"],
        1,
        "column 'name' holds text, not numbers (e.g. 'sensor0' at row 0, rows counted from "
        "0): encode it as numbers (e.g. one 0/1 column per category), or leave it out",
    ),
    "empty file": (lambda d: ["score", write_text(d / "e.csv", "a,b\n")], 1, "no data rows"),
    "corrupt parquet": (
        lambda d: ["score", write_text(d / "c.parquet", "not parquet")],
        1,
        "cannot read as parquet",
    ),
    "semicolons and decimal commas": (
        lambda d: ["score", write_text(d / "s.csv", "a;b;c\n1,5;2,25;3\n4,5;5,75;6\n")],
        1,
        "the header holds ';' (in 'a;b;c'): give --sep ';' if it separates the fields",
    ),
    "semicolons": (
        lambda d: ["score", write_text(d / "s.csv", "a;b\n1;2\n3;4\n")],
        1,
        "give --sep ';'",
    ),
    "tabs": (
        lambda d: ["score", write_text(d / "t.csv", "a\tb\n1\t2\n3\t4\n")],
        1,
        "the header holds '\\t'",
    ),
    "more fields than the header": (
        lambda d: ["score", write_text(d / "m.csv", "a,b\n1,2,3\n4,5,6\n")],
        1,
        "rows have more fields than the header; if the file is not comma-separated, " + SEP_HINT,
    ),
    "a later row with more fields": (
        lambda d: ["score", write_text(d / "m.csv", "a,b\n1,2\n3,4\n5,6,7\n")],
        1,
        "Expected 2 fields in line 4, saw 3; if the file is not comma-separated, " + SEP_HINT,
    ),
    "quoted decimal commas": (
        lambda d: ["score", write_text(d / "q.csv", 'a,b\n"1,5","2,5"\n"3,5","4,5"\n')],
        1,
        "column 'a' holds numbers with decimal commas (e.g. '1,5'); give --decimal ','",
    ),
    "truncated gzip": (
        lambda d: ["score", truncated_gzip(d / "t.csv.gz")],
        1,
        "t.csv.gz: cannot read as csv: Compressed file ended before the end-of-stream",
    ),
    "not gzip": (
        lambda d: ["score", write_text(d / "n.csv.gz", "a,b\n1,2\n")],
        1,
        "n.csv.gz: cannot read as csv: Not a gzipped file",
    ),
    "foreign model": (
        lambda d: ["score", nan_csv(d), "--model", write_text(d / "m.skae", "not a model")],
        1,
        "not a skae model file",
    ),
    "random bytes as model": (
        lambda d: ["score", nan_csv(d), "--model", random_bytes(d / "r.skae")],
        1,
        "not a skae model file",
    ),
    "zip without the model's members": (
        lambda d: ["score", nan_csv(d), "--model", foreign_zip(d / "z.skae")],
        1,
        "not a skae model file",
    ),
    "missing model": (
        lambda d: ["score", nan_csv(d), "--model", d / "none.skae"],
        2,
        "No such model file",
    ),
    "training option with --model": (
        lambda d: ["score", nan_csv(d), "--model", d / "m.skae", "--epochs", 2],
        2,
        "--epochs: training options cannot be used with --model",
    ),
    "contamination for a transformer": (
        lambda d: [
            "fit",
            nan_csv(d),
            "-o",
            d / "m.skae",
            "--kind",
            "transformer",
            "--contamination",
            0.1,
        ],
        2,
        "only for --kind detector",
    ),
    "unknown output type": (
        lambda d: ["score", nan_csv(d), "-o", d / "out.xlsx"],
        2,
        "unknown file type",
    ),
    "missing output folder": (
        lambda d: ["score", nan_csv(d), "-o", d / "no" / "s.csv"],
        2,
        "No such folder for the output",
    ),
    "output folder is a file": (
        lambda d: ["fit", nan_csv(d), "-o", write_text(d / "f", "") / "m.skae"],
        2,
        "No such folder for the output",
    ),
    "output is a folder": (lambda d: ["score", nan_csv(d), "-o", d], 2, "is a folder"),
    "sep for parquet": (
        lambda d: ["score", write_text(d / "p.parquet", ""), "--sep", ";"],
        2,
        "--sep and --decimal are for CSV files",
    ),
    "bad option value": (
        lambda d: ["score", nan_csv(d), "--contamination", 0.9],
        2,
        "invalid contamination value: '0.9' (give a fraction in (0, 0.5]",
    ),
    "bad integer": (
        lambda d: ["score", nan_csv(d), "--epochs", "x"],
        2,
        "argument --epochs: invalid positive integer value: 'x'",
    ),
    "bad seed": (
        lambda d: ["score", nan_csv(d), "--random-state", "1.5"],
        2,
        "argument --random-state: invalid integer value: '1.5'",
    ),
    "bad fraction": (
        lambda d: ["compare", nan_csv(d), "--test-size", "1"],
        2,
        "invalid fraction value: '1'",
    ),
    "bad separator": (
        lambda d: ["score", nan_csv(d), "--sep", ";;"],
        2,
        "invalid character value: ';;'",
    ),
}


def truncated_gzip(path):
    data = gzip.compress(sensor_frame().to_csv(index=False).encode())
    path.write_bytes(data[: len(data) // 2])
    return path


def random_bytes(path):
    path.write_bytes(np.random.RandomState(0).bytes(4096))
    return path


def foreign_zip(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("skae.txt", "hello")
    return path


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_exit_non_zero_with_one_line(capsys, monkeypatch, tmp_path, case):
    make_args, expected_status, message = ERRORS[case]
    args = make_args(tmp_path)
    if "later chunk" not in case:  # all the others are found before any training
        no_training(monkeypatch)
    before = set(os.listdir(tmp_path))
    status, out, err = run(capsys, *args)
    assert status == expected_status, err
    assert message in err
    assert "Traceback" not in err and out == ""
    errors = [line for line in err.splitlines() if "error" in line]
    assert len(errors) == 1 and not re.search(r"invalid _", err)  # no private names
    assert set(os.listdir(tmp_path)) == before  # nothing written, nothing left


def test_text_columns_are_still_ignored_with_a_note(capsys, tmp_path, model_path):
    frame = sensor_frame()
    frame["site"] = ["a1", "b2", "12"] * (N_ROWS // 3)  # text, with one number-like cell
    frame.to_csv(tmp_path / "sites.csv", index=False)
    status, out, err = run(
        capsys,
        "score",
        tmp_path / "sites.csv",
        "--model",
        model_path,
        "--columns",
        ",".join(COLUMNS),
    )
    assert status == 0 and len(read_csv(pd.io.common.StringIO(out))) == N_ROWS
    status, _, err = run(
        capsys, "fit", tmp_path / "sites.csv", "-o", tmp_path / "m.skae", "--epochs", 1, "-q"
    )
    assert status == 0, err
    assert "ignoring text columns: name, site" in err


@pytest.mark.parametrize("kind", ["variational", "unfitted"])
def test_score_refuses_a_model_that_is_no_fitted_detector(capsys, tmp_path, files, kind):
    if kind == "variational":
        model = skae.VariationalAutoencoder(
            latent_dim=2, hidden_layer_sizes=(8,), epochs=2, random_state=0
        ).fit(files["X"])
        expected = "holds a VariationalAutoencoder, not an outlier detector"
    else:
        model = skae.AutoencoderOutlierDetector()
        expected = "holds a detector that is not fitted"
    path = model.save(tmp_path / "model.skae")
    status, out, err = run(capsys, "score", files["csv"], "--model", path)
    assert status == 1 and out == "" and expected in err
    assert "Traceback" not in err and len(err.splitlines()) == 1


def test_parquet_output_without_pyarrow_fails_before_training(capsys, monkeypatch, tmp_path, files):
    no_training(monkeypatch)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import fails
    status, _, err = run(capsys, "score", files["csv"], "-o", tmp_path / "scores.parquet")
    assert status == 1 and "Parquet files need pyarrow" in err
    assert "pip install 'skae[parquet]'" in err and "Traceback" not in err
    assert os.listdir(tmp_path) == []


def test_unwritable_output_folder_fails_before_training(capsys, monkeypatch, tmp_path, files):
    # Tests may run as root, for whom no folder is read-only: refuse the folder here.
    def mkdtemp(**kwargs):
        raise PermissionError(13, "Permission denied", kwargs.get("dir"))

    no_training(monkeypatch)
    monkeypatch.setattr("skae.cli._output.tempfile.mkdtemp", mkdtemp)
    status, _, err = run(capsys, "score", files["csv"], "-o", tmp_path / "scores.csv")
    assert status == 1
    assert err == f"skae: error: cannot write to {tmp_path / 'scores.csv'}: Permission denied\n"


def test_parquet_input_without_pyarrow_says_how_to_install_it(capsys, monkeypatch, files):
    no_training(monkeypatch)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # import fails
    status, _, err = run(capsys, "score", files["parquet"])
    assert status == 1 and "pip install 'skae[parquet]'" in err and "Traceback" not in err


def test_failed_scoring_leaves_no_output_file(capsys, tmp_path, model_path):
    out = tmp_path / "scores.csv"
    # The first chunk is scored and written before the infinity at row 150 is read.
    status, _, err = run(
        capsys, "score", inf_csv(tmp_path), "--model", model_path, "--chunksize", 100, "-o", out
    )
    assert status == 1 and "row 150" in err
    assert os.listdir(tmp_path) == ["inf.csv"]


def test_failed_scoring_writes_nothing_on_stdout(capsys, tmp_path, model_path):
    # The first chunks are scored before the truncated end of the file is met.
    status, out, err = run(
        capsys,
        "score",
        truncated_gzip(tmp_path / "t.csv.gz"),
        "--model",
        model_path,
        "--chunksize",
        50,
    )
    assert status == 1 and "Compressed file ended" in err
    assert out == ""


@pytest.mark.parametrize("exception", [TypeError("unexpected"), RuntimeError("bug")])
def test_an_unexpected_exception_is_an_internal_error(capsys, monkeypatch, files, exception):
    def broken(args):
        raise exception

    monkeypatch.setattr(
        _main,
        "build_parser",
        lambda: argparse.Namespace(parse_args=lambda argv: argparse.Namespace(command=broken)),
    )
    status, _, err = run(capsys, "score", files["csv"])
    assert status == 1 and "Traceback" not in err
    assert err.startswith(f"skae: error: internal error, {type(exception).__name__}: ")
    monkeypatch.setenv("SKAE_TRACEBACK", "1")
    status, _, err = run(capsys, "score", files["csv"])
    assert status == 1 and "Traceback" in err


# ----------------------------------------------------------------------
# outputs


def test_two_writers_of_the_same_file_do_not_collide(tmp_path):
    target = tmp_path / "scores.csv"
    first, second = Destination(target, "table"), Destination(target, "table")
    assert first.temp != second.temp  # each beside the target, under a name of its own
    assert Path(first.temp).parent.parent == Path(second.temp).parent.parent == tmp_path
    writers = [TableWriter(first.temp, "csv"), TableWriter(second.temp, "csv")]
    for row in range(3):  # interleaved, as two concurrent runs would be
        for value, writer in enumerate(writers):
            writer.append(pd.DataFrame({"row": [row], "value": [value]}))
    for writer in writers:
        writer.close()
    with second:
        second.commit()
    assert read_csv(target)["value"].tolist() == [1, 1, 1]
    with first:
        first.commit()
    assert read_csv(target)["value"].tolist() == [0, 0, 0]  # the last to finish, whole
    assert os.listdir(tmp_path) == ["scores.csv"]


def test_output_to_dev_null_and_to_a_fifo(capsys, tmp_path, files, model_path):
    status, _, err = run(capsys, "score", files["csv"], "--model", model_path, "-o", os.devnull)
    assert status == 0, err
    fifo = tmp_path / "scores"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    status, _, err = run(capsys, "score", files["csv"], "--model", model_path, "-o", fifo)
    reader.join(timeout=60)
    assert status == 0, err
    assert len(read_csv(pd.io.common.StringIO(received[0]))) == N_ROWS
    assert os.listdir(tmp_path) == ["scores"]


def test_broken_pipe_on_stdout_exits_zero(capsys, monkeypatch, files, model_path):
    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    status = main(["score", str(files["csv"]), "--model", str(model_path)])
    assert status == 0 and capsys.readouterr().err == ""


def test_tensorflow_start_up_lines_are_filtered(capfd, monkeypatch):
    noise = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1.1 12 cudart_stub.cc:31] Could not find cuda drivers on your machine.",
        "E0000 00:00:1.2 12 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error",
    ]
    real = "E0000 00:00:1.3 12 some_kernel.cc:9] a real error"

    def load():
        os.write(2, "\n".join([*noise, real, ""]).encode())

    monkeypatch.setattr(_quiet, "_load", load)
    monkeypatch.delitem(sys.modules, "tensorflow")
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    _quiet.import_tensorflow()
    assert capfd.readouterr().err == real + "\n"
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ  # children filter too (tests/test_quiet.py)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # the user's setting wins
    _quiet.import_tensorflow()
    assert capfd.readouterr().err.splitlines() == [*noise, real]


# ----------------------------------------------------------------------
# processes: python -m skae, signals, pipes


def test_python_m_skae_exits_with_mains_status(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "skae", "score", "missing.csv"],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr == "skae: error: No such file: missing.csv\n"
    assert result.stdout == ""


def test_head_closing_the_pipe_exits_zero_quietly(tmp_path, model_path):
    # Output larger than a pipe's buffer, so that writing meets the closed pipe.
    sensor_frame(n_rows=6000).to_csv(tmp_path / "big.csv", index=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "skae", "score", "big.csv", "--model", str(model_path)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=CLEAN_ENV,
    )
    assert process.stdout.readline() == b"row,score,label,p_value\n"
    process.stdout.close()
    assert process.wait(timeout=120) == 0
    # Nothing on stderr: no error, and none of TensorFlow's start-up lines.
    assert process.stderr.read().decode() == ""


def test_sigterm_removes_partial_output_and_exits_143(tmp_path, files):
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "skae",
            "score",
            str(files["csv"]),
            "-o",
            "out/scores.csv",
            "--epochs",
            "100000",
            "--hidden-layer-sizes",
            "8",
            "--progress",
        ],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        env=CLEAN_ENV,
    )
    for line in process.stderr:  # training has started: a temporary output exists
        if line.startswith("skae: epoch 2/"):
            break
    assert len(os.listdir(out)) == 1 and os.listdir(out)[0].endswith(".partial")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 128 + signal.SIGTERM
    assert process.stderr.read().splitlines()[-1] == "skae: error: terminated (SIGTERM)"
    assert os.listdir(out) == []


def test_calibrated_detector_adds_a_p_value_column(capsys, tmp_path, files):
    out = tmp_path / "scores.csv"
    status, _, err = run(
        capsys, "score", files["csv"], "-o", out, "--calibration-fraction", 0.25, *TRAIN
    )
    assert status == 0, err
    scores = read_csv(out)
    assert list(scores.columns) == ["row", "score", "label", "p_value"]
    assert scores["p_value"].between(0, 1).all()
    # The smallest p-values go to the lowest scores.
    order = np.argsort(scores["score"].to_numpy())
    assert np.all(np.diff(scores["p_value"].to_numpy()[order]) >= 0)
    # without calibration rows: p-values against the out-of-fold training scores
    status, _, _ = run(capsys, "score", files["csv"], "-o", out, *TRAIN)
    assert "p_value" in read_csv(out).columns


def test_explain_names_the_columns_of_flagged_rows(capsys, tmp_path, files):
    model = tmp_path / "detector.skae"
    assert run(capsys, "fit", files["csv"], "-o", model, *TRAIN)[0] == 0
    out = tmp_path / "why.csv"
    status, _, err = run(capsys, "explain", files["csv"], "--model", model, "--top-k", 2, "-o", out)
    assert status == 0, err
    why = read_csv(out)
    assert list(why.columns) == [
        *["row", "rank", "column", "contribution", "value", "expected"],
        *["isolation", "neighbours", "covariance", "autoencoder"],
    ]
    flagged = skae.load(model).predict(read_csv(files["csv"])[COLUMNS]) == -1
    assert sorted(set(why["row"])) == list(np.flatnonzero(flagged))
    assert set(why["rank"]) == {1, 2} and set(why["column"]) <= set(COLUMNS)
    status, _, err = run(capsys, "explain", files["csv"], "-o", out)
    assert status == 2 and "--model" in err
