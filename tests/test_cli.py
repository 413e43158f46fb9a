"""The ``skae`` command line: score, fit, compare, file formats and errors."""

import argparse
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import skae
from skae import _cli
from skae._cli import main
from skae._tables import _EXACT_FLOATS

N_ROWS, N_OUTLIERS = 300, 15
COLUMNS = [f"x{i}" for i in range(6)]
# Small network and few epochs: these tests check plumbing, not model quality.
TRAIN = ["--epochs", "3", "--hidden-layer-sizes", "16", "--random-state", "0"]
OPTIONS = {
    "score": ["--model", "--output", "--contamination", "--columns", "--chunksize",
              "--epochs", "--latent-dim", "--hidden-layer-sizes", "--batch-size",
              "--learning-rate", "--scaling", "--random-state", "--quiet"],
    "fit": ["--output", "--kind", "--contamination", "--columns", "--chunksize",
            "--epochs", "--latent-dim", "--random-state", "--quiet"],
    "compare": ["--latent-dims", "--test-size", "--columns", "--epochs",
                "--random-state", "--quiet"],
}


def read_csv(*args, **kwargs):
    """CSV with every float exactly as written, as the command line reads it."""
    return pd.read_csv(*args, **_EXACT_FLOATS, **kwargs)


def sensor_frame(outliers_last=False):
    """Six correlated numeric columns, a text column, outliers planted at the top."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(N_ROWS, 2)) @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(N_ROWS, 6))
    X[:N_OUTLIERS] += rng.normal(scale=6, size=(N_OUTLIERS, 6))
    if outliers_last:
        X = np.roll(X, -N_OUTLIERS, axis=0)
    frame = pd.DataFrame(X.round(5), columns=COLUMNS)
    frame.insert(0, "name", [f"sensor{i}" for i in range(N_ROWS)])
    return frame


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The sensor data as CSV and Parquet, and its numeric values."""
    folder = tmp_path_factory.mktemp("data")
    frame = sensor_frame()
    frame.to_csv(folder / "data.csv", index=False)
    frame.to_parquet(folder / "data.parquet")
    return {"csv": folder / "data.csv", "parquet": folder / "data.parquet",
            "X": frame[COLUMNS], "folder": folder}


@pytest.fixture(scope="module")
def model_path(files):
    """A detector saved by ``skae fit``."""
    path = files["folder"] / "detector.skae"
    assert main(["fit", str(files["csv"]), "-o", str(path), "--contamination", "0.1",
                 "--quiet", *TRAIN]) == 0
    return path


def run(capsys, *args):
    """``main(args)``'s exit status, stdout and stderr."""
    status = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return status, out, err


def read_scores(path):
    return pd.read_parquet(path) if path.suffix == ".parquet" else read_csv(path)


# ----------------------------------------------------------------------
# score


@pytest.mark.parametrize("contamination", [0.05, 0.1])
def test_score_writes_one_score_and_label_per_row(capsys, tmp_path, files, contamination):
    out = tmp_path / "scores.csv"
    status, _, err = run(capsys, "score", files["csv"], "-o", out,
                         "--contamination", contamination, *TRAIN)
    assert status == 0, err
    scores = read_csv(out)
    assert list(scores.columns) == ["row", "score", "label"]
    np.testing.assert_array_equal(scores["row"], np.arange(N_ROWS))
    assert set(scores["label"]) == {-1, 1}
    # The threshold is the contamination percentile of the training rows' scores.
    assert abs((scores["label"] == -1).mean() - contamination) <= 1 / N_ROWS
    # Outliers score lower than inliers.
    assert scores["score"][:N_OUTLIERS].mean() < scores["score"][N_OUTLIERS:].mean()
    assert "ignoring non-numeric columns: name" in err
    assert f"scored {N_ROWS} rows: {round(contamination * N_ROWS)} outliers" in err


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
    status, out, err = run(capsys, "score", files["parquet"], *TRAIN)
    assert status == 0, err
    scores = read_csv(pd.io.common.StringIO(out))
    assert list(scores.columns) == ["row", "score", "label"] and len(scores) == N_ROWS
    assert "Epoch 3/3" in err  # Keras' progress goes to stderr, not into the CSV


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


# ----------------------------------------------------------------------
# fit


def test_fit_saves_a_detector_that_load_reads(capsys, tmp_path, files):
    path = tmp_path / "model.skae"
    status, _, err = run(capsys, "fit", files["parquet"], "-o", path, "--latent-dim", "2",
                         "--contamination", "0.2", *TRAIN)
    assert status == 0, err
    detector = skae.load(path)
    assert isinstance(detector, skae.AutoencoderOutlierDetector)
    assert (detector.latent_dim, detector.contamination, detector.verbose) == (2, 0.2, 0)
    assert list(detector.feature_names_in_) == COLUMNS
    assert f"to {path}" in err


def test_fit_transformer_and_score_refuses_it(capsys, tmp_path, files):
    path = tmp_path / "transformer.skae"
    status, _, err = run(capsys, "fit", files["csv"], "-o", path, "--kind", "transformer",
                         "--chunksize", 128, *TRAIN)
    assert status == 0, err
    transformer = skae.load(path)
    assert isinstance(transformer, skae.AutoencoderTransformer)
    # Streamed: 3 passes of one partial_fit per chunk of 128 rows (3 chunks).
    assert transformer.n_iter_ == 3 * 3
    assert transformer.transform(files["X"]).shape == (N_ROWS, 3)  # default: half the columns
    status, _, err = run(capsys, "score", files["csv"], "--model", path)
    assert status == 2
    assert "AutoencoderTransformer" in err and "skae fit --kind detector" in err


def test_streamed_detector_threshold_describes_the_whole_file(capsys, tmp_path):
    # The last chunk holds every outlier: a threshold set on it alone would
    # flag far fewer than `contamination` of the file.
    sensor_frame(outliers_last=True).to_csv(tmp_path / "sorted.csv", index=False)
    out = tmp_path / "scores.csv"
    status, _, err = run(capsys, "score", tmp_path / "sorted.csv", "-o", out,
                         "--chunksize", 100, "--contamination", "0.05", *TRAIN)
    assert status == 0, err
    assert abs((read_csv(out)["label"] == -1).mean() - 0.05) <= 1 / N_ROWS
    assert "pass 3/3: 300 rows" in err


def test_fit_with_columns(capsys, tmp_path, files):
    path = tmp_path / "model.skae"
    status, _, err = run(capsys, "fit", files["csv"], "-o", path, "--columns", "x0,x2",
                         "--columns", "x4", "-q", *TRAIN)
    assert status == 0, err
    assert list(skae.load(path).feature_names_in_) == ["x0", "x2", "x4"]
    assert err == ""  # no note about ignored columns when they are chosen


# ----------------------------------------------------------------------
# compare


def test_compare_prints_a_row_per_latent_size(capsys, files):
    status, out, err = run(capsys, "compare", files["csv"], "--latent-dims", 2, 3, 6, "-q",
                           *TRAIN)
    assert status == 0, err
    header, *table = out.splitlines()
    assert "standard units" in header
    results = read_csv(pd.io.common.StringIO("\n".join(table)), sep=r"\s+")
    assert list(results.columns) == ["latent_dim", "pca_mse", "autoencoder_mse", "ratio"]
    assert list(results["latent_dim"]) == [2, 3]
    assert (results["pca_mse"] > 0).all() and (results["autoencoder_mse"] > 0).all()
    np.testing.assert_allclose(
        results["ratio"], results["autoencoder_mse"] / results["pca_mse"], rtol=2e-3
    )
    assert "skipping latent sizes [6]" in err


# ----------------------------------------------------------------------
# help and errors


def subcommand_parsers():
    subparsers = next(
        action for action in _cli.build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    return subparsers.choices


@pytest.mark.parametrize("command", sorted(OPTIONS))
def test_help_documents_every_option_with_its_default(capsys, command):
    status, out, _ = run(capsys, command, "--help")
    assert status == 0
    assert "example" in out and f"skae {command} " in out.split("example")[1]
    for option in OPTIONS[command]:
        assert option in out
    for action in subcommand_parsers()[command]._actions:
        if action.option_strings and action.dest != "help":
            assert "default" in action.help or action.required, action.dest


def test_top_level_help_and_version(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0 and all(command in out for command in OPTIONS)
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out.strip() == f"skae {skae.__version__}"


def write_text(path, text):
    path.write_text(text)
    return path


def nan_csv(folder):
    frame = sensor_frame()
    frame.loc[150, "x2"] = np.nan
    frame.to_csv(folder / "nan.csv", index=False)
    return folder / "nan.csv"


ERRORS = {
    "missing file": (lambda d: ["score", d / "missing.csv"], 2, "No such file"),
    "unknown type": (lambda d: ["score", write_text(d / "a.txt", "a\n1\n")], 2,
                     "unknown file type"),
    "no numeric column": (
        lambda d: ["score", write_text(d / "t.csv", "a,b\nx,y\nz,w\n")], 2,
        "has no numeric column (columns: a, b)"),
    "missing column": (lambda d: ["score", nan_csv(d), "--columns", "x0,zz"], 2,
                       "has no column 'zz'"),
    "NaN": (lambda d: ["score", nan_csv(d)], 1, "missing value in column 'x2' at row 150"),
    "NaN in a later chunk": (lambda d: ["score", nan_csv(d), "--chunksize", 100, *TRAIN], 1,
                             "missing value in column 'x2' at row 150"),
    "text column chosen": (lambda d: ["score", nan_csv(d), "--columns", "name"], 1,
                           "non-numeric value 'sensor0' in column 'name' at row 0"),
    "empty file": (lambda d: ["score", write_text(d / "e.csv", "a,b\n")], 1, "no data rows"),
    "corrupt parquet": (lambda d: ["score", write_text(d / "c.parquet", "not parquet")], 1,
                        "cannot read as parquet"),
    "foreign model": (lambda d: ["score", nan_csv(d), "--model",
                                 write_text(d / "m.skae", "not a model")], 1,
                      "not a skae model file"),
    "training option with --model": (
        lambda d: ["score", nan_csv(d), "--model", d / "m.skae", "--epochs", 2], 2,
        "--epochs: training options cannot be used with --model"),
    "contamination for a transformer": (
        lambda d: ["fit", nan_csv(d), "-o", d / "m.skae", "--kind", "transformer",
                   "--contamination", 0.1], 2, "only for --kind detector"),
    "unknown output type": (lambda d: ["score", nan_csv(d), "-o", d / "out.xlsx"], 2,
                            "unknown file type"),
    "bad option value": (lambda d: ["score", nan_csv(d), "--contamination", 0.9], 2,
                         "must be in (0, 0.5]"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_exit_non_zero_with_one_message(capsys, tmp_path, case):
    make_args, expected_status, message = ERRORS[case]
    status, out, err = run(capsys, *make_args(tmp_path))
    assert status == expected_status
    assert message in err
    assert "Traceback" not in err and out == ""


def test_failed_scoring_leaves_no_output_file(capsys, tmp_path, model_path):
    out = tmp_path / "scores.csv"
    # The first chunk is scored and written before the NaN at row 150 is read.
    status, _, err = run(capsys, "score", nan_csv(tmp_path), "--model", model_path,
                         "--chunksize", 100, "-o", out)
    assert status == 1 and "row 150" in err
    assert list(tmp_path.iterdir()) == [tmp_path / "nan.csv"]


def test_parquet_without_pyarrow_says_how_to_install_it(capsys, monkeypatch, files):
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # import fails
    status, _, err = run(capsys, "score", files["parquet"])
    assert status == 1 and "pip install 'skae[parquet]'" in err and "Traceback" not in err


def test_interrupt_exits_130(capsys, monkeypatch, files):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(_cli, "_compare", interrupted)
    status, _, err = run(capsys, "compare", files["csv"])
    assert status == 130 and err == "skae: error: interrupted\n"


def test_python_m_skae_exits_with_mains_status(tmp_path):
    # One process start (TensorFlow's import takes seconds): an error run
    # checks both the module entry point and that the status reaches the shell.
    result = subprocess.run(
        [sys.executable, "-m", "skae", "score", "missing.csv"], check=False,
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert result.returncode == 2
    assert "skae: error: No such file: missing.csv" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
