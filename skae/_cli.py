"""The ``skae`` command line: autoencoders on CSV and Parquet files.

Commands
--------
``skae score DATA``
    Score every row of DATA with an :class:`~skae.AutoencoderOutlierDetector`
    (trained on DATA, or loaded with ``--model``) and write the columns
    ``row``, ``score`` and ``label`` (+1 inlier, -1 outlier).
``skae fit DATA -o MODEL``
    Train a detector or an :class:`~skae.AutoencoderTransformer` on DATA and
    save it with ``estimator.save(MODEL)``; ``skae.load(MODEL)`` reads it back.
``skae compare DATA``
    Held-out reconstruction error of PCA and of the autoencoder, side by side,
    for several code sizes.

DATA is a ``.csv``, ``.csv.gz``, ``.parquet`` or ``.pq`` file. Numeric
columns are used (the others are named on stderr and ignored) unless
``--columns`` chooses them. With ``--chunksize`` the file is read in chunks of
that many rows, so files larger than memory can be scored with a saved model,
and trained on with ``partial_fit``.

Exit status: 0 on success; 1 when the data or a model file cannot be used (a
missing value, text in a numeric column, a corrupt file, training that
diverged); 2 for a usage error (a bad option, a missing input file, an unknown
file type, no numeric column); 130 when interrupted.

Only the standard library, NumPy and pandas are imported here: TensorFlow,
scikit-learn and pyarrow are imported by the commands that need them.
"""

import argparse
import itertools
import os
import sys
import time
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd

from ._tables import UsageError, file_format, note, read_chunks, table_writer

# Rows per chunk when scoring and no --chunksize is given: scoring always
# streams, so its memory does not grow with the file.
SCORE_CHUNKSIZE = 100_000
# Smallest random sample the threshold of a streamed detector is set on.
MIN_STATISTICS_SAMPLE = 10_000
DEFAULT_CONTAMINATION = 0.05
DEFAULT_LATENT_DIMS = (2, 4, 8)

# Estimator parameters the command line exposes, as argparse destinations.
MODEL_OPTIONS = (
    "latent_dim", "hidden_layer_sizes", "epochs", "batch_size",
    "learning_rate", "scaling", "random_state", "contamination",
)


def main(argv=None):
    """Run the ``skae`` command line.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments after the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        Exit status: 0 on success, 1 for a data or model-file error, 2 for a
        usage error, 130 when interrupted.

    Examples
    --------
    >>> main(["--version"])  # doctest: +ELLIPSIS
    skae ...
    0
    """
    # TensorFlow's start-up notes (CUDA, CPU features) are noise on a command
    # line; set before the commands import it. A user's own setting wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or an argparse usage error
        return int(exit_.code or 0)
    try:
        args.command(args)
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (``skae score DATA | head``): stop
        # quietly, and keep Python from complaining again at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (UsageError, FileNotFoundError) as error:
        _error(_describe(error))
        return 2
    except (ValueError, TypeError, OSError, ImportError) as error:
        _error(_describe(error))
        return 1
    return 0


# ----------------------------------------------------------------------
# the parser


def build_parser():
    """The ``skae`` argument parser, with one subparser per command.

    Returns
    -------
    parser : argparse.ArgumentParser
        Parsed arguments carry the command's function as ``command``.
    """
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="skae",
        description="Autoencoders on CSV and Parquet files: score rows for "
        "outliers, fit and save models, compare with PCA.",
        epilog="Exit status: 0 success, 1 data or model-file error, 2 usage error, "
        "130 interrupted. Run 'skae COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"skae {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _add_score(commands)
    _add_fit(commands)
    _add_compare(commands)
    return parser


def _add_score(commands):
    parser = commands.add_parser(
        "score",
        usage="%(prog)s DATA [options]",
        help="score each row for outliers (+1 inlier, -1 outlier)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Score every row of DATA with an AutoencoderOutlierDetector: trained on DATA
itself, or loaded from a file written by 'skae fit' (--model). One output row
per input row, in input order, with the columns
  row    position of the row in DATA, from 0 (header not counted)
  score  score_samples: higher is more normal
  label  +1 inlier, -1 outlier (score below the detector's threshold offset_)
A summary (rows, outliers flagged) goes to stderr.

Scoring reads DATA in chunks (--chunksize, default 100000 rows) and appends
each chunk's output, so with --model a file larger than memory can be scored.
Training on DATA follows 'skae fit': in memory, or streamed with --chunksize.""",
        epilog="""\
examples:
  skae score sensors.csv -o scores.csv --contamination 0.01
  skae fit sensors.parquet -o sensors.skae --random-state 0
  skae score new.parquet --model sensors.skae -o scores.parquet --chunksize 50000""",
    )
    _add_data_options(parser, score=True)
    parser.add_argument(
        "--model", metavar="MODEL", default=None,
        help="detector saved by 'skae fit' to score with, instead of training one on "
        "DATA; the training options below are then not allowed (default: train on DATA)",
    )
    parser.add_argument(
        "-o", "--output", metavar="OUT", default=None,
        help="output file, CSV (.csv, .csv.gz) or Parquet (.parquet, .pq) by its "
        "extension; written only when scoring succeeds (default: CSV on stdout)",
    )
    _add_model_options(parser, "score")
    parser.set_defaults(command=_score)


def _add_fit(commands):
    parser = commands.add_parser(
        "fit",
        usage="%(prog)s DATA [options]",
        help="train a model and save it to a file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Train an AutoencoderOutlierDetector (--kind detector) or an
AutoencoderTransformer (--kind transformer) on DATA and save it with
estimator.save(MODEL); skae.load(MODEL) or 'skae score --model MODEL' use it.

Without --chunksize, DATA is loaded in memory and trained on with fit().
With --chunksize N, DATA is streamed: --epochs passes over the file, one
partial_fit() (one epoch) per chunk. The input scaling is fitted on the first
chunk, so the first chunk should be representative. A detector's threshold
and score normalisation are then set by one more partial_fit() on a uniform
random sample of max(N, 10000) rows drawn during the last pass, so that they
describe the whole file rather than its last chunk.""",
        epilog="""\
examples:
  skae fit sensors.csv -o sensors.skae --contamination 0.01 --random-state 0
  skae fit big.parquet -o big.skae --chunksize 100000 --epochs 5
  skae fit pixels.csv -o codes.skae --kind transformer --latent-dim 16""",
    )
    _add_data_options(parser, score=False)
    parser.add_argument(
        "-o", "--output", metavar="MODEL", required=True,
        help="file to save the model to (required; recommended extension .skae)",
    )
    parser.add_argument(
        "--kind", choices=("detector", "transformer"), default="detector",
        help="AutoencoderOutlierDetector or AutoencoderTransformer (default: detector)",
    )
    _add_model_options(parser, "fit")
    parser.set_defaults(command=_fit)


def _add_compare(commands):
    parser = commands.add_parser(
        "compare",
        usage="%(prog)s DATA [options]",
        help="held-out reconstruction error of PCA vs the autoencoder",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Split DATA into training and test rows, standard-scale the columns (scaler
fitted on the training rows), then for each latent size fit PCA and an
AutoencoderTransformer (scaling=None, as the data is already scaled) on the
same training rows. Prints, per latent size, the mean squared reconstruction
error of the test rows in standard units for each, and their ratio
(autoencoder / PCA: below 1, the autoencoder reconstructs better). DATA is
loaded in memory.""",
        epilog="""\
example:
  skae compare sensors.csv --latent-dims 2 4 8 --epochs 100 --random-state 0""",
    )
    _add_data_options(parser, score=False, chunks=False)
    parser.add_argument(
        "--latent-dims", metavar="K", type=_positive_int, nargs="+",
        default=list(DEFAULT_LATENT_DIMS),
        help="latent sizes to compare; sizes not smaller than the number of columns "
        "are skipped (default: 2 4 8)",
    )
    parser.add_argument(
        "--test-size", metavar="F", type=_open_fraction, default=0.25,
        help="fraction of the rows held out for testing (default: 0.25)",
    )
    _add_model_options(parser, "compare")
    parser.set_defaults(command=_compare)


def _add_data_options(parser, score, chunks=True):
    parser.add_argument("data", metavar="DATA", help="input file: .csv, .csv.gz, .parquet or .pq")
    parser.add_argument(
        "--columns", metavar="NAMES", type=_names, action="extend", default=None,
        help="comma-separated columns to use, e.g. a,b,c; may be repeated (default: "
        + ("every numeric column, or with --model the columns the model was trained on)"
           if score else "every numeric column; the others are named on stderr)"),
    )
    if chunks:
        parser.add_argument(
            "--chunksize", metavar="N", type=_positive_int, default=None,
            help="read DATA N rows at a time and train with partial_fit, streaming "
            + ("(default: train in memory; score in chunks of 100000 rows)" if score
               else "(default: load DATA in memory and train with fit)"),
        )
    parser.add_argument(
        "-q", "--quiet", action="store_true",
        help="no progress or summary on stderr; errors and notes on ignored "
        "columns are still shown (default: off)",
    )


def _add_model_options(parser, command):
    """Estimator options; ``command`` tailors which exist and their defaults."""
    group = parser.add_argument_group("training options")
    if command != "compare":  # compare takes --latent-dims
        group.add_argument(
            "--latent-dim", metavar="K", type=_positive_int, default=None,
            help="width of the code (default: 8, or half the number of columns when "
            "that is smaller)",
        )
    group.add_argument(
        "--hidden-layer-sizes", metavar="UNITS", type=_positive_int, nargs="*",
        default=None,
        help="widths of the encoder's hidden layers, mirrored by the decoder; give "
        "none for no hidden layer (default: 128 64)",
    )
    epochs = {
        "score": "50", "fit": "50 for a detector, 200 for a transformer", "compare": "200",
    }[command]
    group.add_argument(
        "--epochs", metavar="E", type=_positive_int, default=None,
        help="maximum epochs; training stops earlier when the loss stops improving"
        + ("" if command == "compare" else
           "; with --chunksize, the number of passes over DATA, all made")
        + f" (default: {epochs})",
    )
    group.add_argument(
        "--batch-size", metavar="B", type=_positive_int, default=None,
        help="rows per gradient step (default: 64)",
    )
    group.add_argument(
        "--learning-rate", metavar="LR", type=_positive_float, default=None,
        help="initial learning rate of Adam (default: 0.001)",
    )
    if command != "compare":  # compare scales the data itself
        group.add_argument(
            "--scaling", choices=("standard", "minmax", "robust", "none"), default=None,
            help="per-column scaling before the network (default: standard"
            + (" for a detector, minmax for a transformer)" if command == "fit" else ")"),
        )
        group.add_argument(
            "--contamination", metavar="F", type=_contamination, default=None,
            help="expected fraction of outliers: that fraction of the training rows "
            "is labelled -1" + ("; detector only" if command == "fit" else "")
            + f" (default: {DEFAULT_CONTAMINATION})",
        )
    group.add_argument(
        "--random-state", metavar="S", type=int, default=None,
        help="seed for the weights, the shuffling and "
        + ("the split" if command == "compare" else "any sampling")
        + "; an int gives repeatable results on CPU (default: none, not repeatable)",
    )


def _names(text):
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"empty column name in {text!r}")
    return names


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _open_fraction(text):
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _contamination(text):
    value = float(text)
    if not 0 < value <= 0.5:
        raise argparse.ArgumentTypeError(f"must be in (0, 0.5], got {text}")
    return value


# ----------------------------------------------------------------------
# the commands


def _score(args):
    _check_output(args.output, tables=True)
    if args.model is None:
        detector = _train(args, "detector")
        columns = list(detector.feature_names_in_)
    else:
        given = [name for name in MODEL_OPTIONS if getattr(args, name) is not None]
        if given:
            options = ", ".join("--" + name.replace("_", "-") for name in given)
            raise UsageError(f"{options}: training options cannot be used with --model")
        detector = _load(args.model, "score_samples", "skae fit --kind detector")
        columns = args.columns or _trained_columns(detector)
    chunks = read_chunks(args.data, args.chunksize or SCORE_CHUNKSIZE, columns)
    progress = _Progress("scoring", args.quiet, log_line=False)
    rows = outliers = 0
    with table_writer(args.output) as write:
        for chunk in chunks:
            scores = detector.score_samples(chunk)
            # predict's rule, without running the network a second time
            labels = np.where(scores - detector.offset_ < 0, -1, 1)
            write(pd.DataFrame({"row": chunk.index, "score": scores, "label": labels}))
            rows += len(chunk)
            outliers += int((labels == -1).sum())
            progress.update(rows)
    progress.close(rows)
    if not args.quiet:
        note(
            f"scored {rows} rows: {outliers} outliers (label -1, {outliers / rows:.1%}) "
            f"below the threshold {detector.offset_:.4g}; wrote {args.output or 'stdout'}"
        )


def _fit(args):
    if args.kind == "transformer" and args.contamination is not None:
        raise UsageError("--contamination: only for --kind detector")
    _check_output(args.output, tables=False)
    estimator = _train(args, args.kind)
    # How much Keras prints is the command's choice, not the model's.
    estimator.set_params(verbose=0)
    estimator.save(args.output)
    if not args.quiet:
        note(f"saved {estimator!r} to {args.output}")


def _compare(args):
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from . import AutoencoderTransformer

    X = next(read_chunks(args.data, None, args.columns)).to_numpy()
    n_features = X.shape[1]
    latent_dims = [k for k in args.latent_dims if k < n_features]
    skipped = sorted(set(args.latent_dims) - set(latent_dims))
    if skipped:
        note(f"skipping latent sizes {skipped}: not smaller than the {n_features} columns")
    if not latent_dims:
        raise UsageError(f"--latent-dims: need a size smaller than the {n_features} columns")
    train, test = train_test_split(X, test_size=args.test_size, random_state=args.random_state)
    scaler = StandardScaler().fit(train)
    train, test = scaler.transform(train), scaler.transform(test)
    results = []
    for latent_dim in latent_dims:
        if not args.quiet:
            note(f"latent_dim={latent_dim}: training the autoencoder")
        pca = PCA(latent_dim, random_state=args.random_state).fit(train)
        pca_mse = np.mean((test - pca.inverse_transform(pca.transform(test))) ** 2)
        params = _model_params(
            args, n_features, scaling=None, latent_dim=latent_dim,
            verbose=_keras_verbose(args),
        )
        autoencoder = AutoencoderTransformer(**params)
        with redirect_stdout(sys.stderr):  # Keras prints progress on stdout
            autoencoder.fit(train)
        autoencoder_mse = autoencoder.reconstruction_error(test).mean()
        results.append((latent_dim, pca_mse, autoencoder_mse, autoencoder_mse / pca_mse))
    table = pd.DataFrame(results, columns=["latent_dim", "pca_mse", "autoencoder_mse", "ratio"])
    print(
        f"Held-out reconstruction MSE on {len(test)} test rows ({len(train)} training "
        f"rows, {n_features} columns), in standard units: each column scaled to mean 0 "
        "and variance 1 on the training rows. ratio = autoencoder_mse / pca_mse; "
        "below 1 the autoencoder reconstructs better."
    )
    print(table.to_string(index=False, float_format="{:.4g}".format))


# ----------------------------------------------------------------------
# training and loading


def _train(args, kind):
    """Train a detector or transformer on ``args.data``, in memory or streamed."""
    chunks = read_chunks(args.data, args.chunksize, args.columns)
    if args.chunksize is None:
        X = next(chunks)
        estimator = _new_estimator(kind, args, X.shape[1], verbose=_keras_verbose(args))
        with redirect_stdout(sys.stderr):  # Keras prints progress on stdout
            estimator.fit(X)
        return estimator
    return _train_streamed(args, kind, chunks)


def _train_streamed(args, kind, chunks):
    """``--epochs`` passes of ``partial_fit`` over the chunks of ``args.data``.

    A detector ends with one more ``partial_fit`` on a random sample of the
    whole file (drawn during the last pass): ``partial_fit`` sets the
    threshold and normalisations on the rows it is given, and the last chunk
    alone may be small or unlike the rest of the file.
    """
    first = next(chunks)
    chunks = itertools.chain([first], chunks)
    estimator = _new_estimator(kind, args, first.shape[1], verbose=0)
    columns = list(first.columns)
    sample = None
    rng = np.random.default_rng(args.random_state)
    sample_size = max(args.chunksize, MIN_STATISTICS_SAMPLE)
    rows = None  # unknown until the first pass ends
    for epoch in range(estimator.epochs):
        last = epoch == estimator.epochs - 1
        progress = _Progress(f"pass {epoch + 1}/{estimator.epochs}", args.quiet, total=rows)
        rows = 0
        for chunk in chunks:
            estimator.partial_fit(chunk)
            if last and kind == "detector":
                sample = _keep_sample(sample, chunk, sample_size, rng)
            rows += len(chunk)
            progress.update(rows, loss=estimator.history_["loss"][-1])
        progress.close(rows, loss=estimator.history_["loss"][-1])
        chunks = read_chunks(args.data, args.chunksize, columns)
    if sample is not None:
        estimator.partial_fit(sample[0].sort_index())
    return estimator


def _keep_sample(sample, chunk, size, rng):
    """Uniform random sample of ``size`` rows of every chunk seen so far.

    Each row draws a random key and the ``size`` smallest keys are kept
    (bottom-k sampling), so memory stays at one sample plus one chunk.
    ``sample`` is ``(rows, keys)`` or None before the first chunk.
    """
    keys = rng.random(len(chunk))
    if sample is not None:
        chunk = pd.concat([sample[0], chunk])
        keys = np.concatenate([sample[1], keys])
    keep = np.argsort(keys, kind="stable")[:size]
    return chunk.iloc[keep], keys[keep]


def _new_estimator(kind, args, n_features, verbose):
    from . import AutoencoderOutlierDetector, AutoencoderTransformer

    params = _model_params(args, n_features, verbose=verbose)
    if kind == "transformer":
        return AutoencoderTransformer(**params)
    params.setdefault("contamination", DEFAULT_CONTAMINATION)
    return AutoencoderOutlierDetector(**params)


def _model_params(args, n_features, **fixed):
    """Estimator parameters from the options given on the command line."""
    params = {
        name: getattr(args, name) for name in MODEL_OPTIONS
        if getattr(args, name, None) is not None
    }
    if "hidden_layer_sizes" in params:
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    if params.get("scaling") == "none":
        params["scaling"] = None
    # A code as wide as the input can copy it instead of compressing it.
    params.setdefault("latent_dim", min(8, max(1, n_features // 2)))
    return {**params, **fixed}


def _check_output(path, tables):
    """Fail before training, not after, on an output that cannot be written."""
    if path is None:
        return
    if tables:
        file_format(path)
    if not Path(path).absolute().parent.is_dir():
        raise FileNotFoundError(2, "No such directory for the output", str(path))


def _keras_verbose(args):
    """Keras progress: a live bar on a terminal, one line per epoch in a log."""
    if args.quiet:
        return 0
    return 1 if sys.stderr.isatty() else 2


def _load(path, method, how_to_make):
    """Load a model saved by ``skae fit``, checking that it has ``method``."""
    from . import load

    if not Path(path).is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load(path)
    for warning in caught:  # e.g. written by another skae or Keras version
        if issubclass(warning.category, UserWarning):
            note(f"warning: {warning.message}")
    if not hasattr(model, method):
        raise UsageError(
            f"{path} holds an estimator without {method} ({type(model).__name__}); "
            f"make one with '{how_to_make}'"
        )
    return model


def _trained_columns(model):
    names = getattr(model, "feature_names_in_", None)
    return None if names is None else list(names)


# ----------------------------------------------------------------------
# messages


class _Progress:
    """Progress of one pass over DATA on stderr.

    A ``keras.utils.Progbar`` on a terminal; elsewhere (a log, a pipe) one
    line when the pass ends, so logs stay readable.
    """

    def __init__(self, title, quiet, log_line=True, total=None):
        self.title = title
        self.log_line = log_line and not quiet
        self.start = time.perf_counter()
        self.bar = None
        if not quiet and sys.stderr.isatty():
            import keras

            if log_line:
                note(title)
            self.bar = keras.utils.Progbar(total, unit_name="row", stateful_metrics=["loss"])

    def update(self, rows, **values):
        if self.bar is not None:
            with redirect_stdout(sys.stderr):  # Progbar prints on stdout
                self.bar.update(rows, list(values.items()))

    def close(self, rows, **values):
        if self.bar is not None:
            # A bar with a target already finished on reaching it.
            if self.bar.target is None or rows < self.bar.target:
                with redirect_stdout(sys.stderr):
                    self.bar.update(rows, list(values.items()), finalize=True)
        elif self.log_line:
            details = "".join(f", {name} {value:.4g}" for name, value in values.items())
            seconds = time.perf_counter() - self.start
            note(f"{self.title}: {rows} rows in {seconds:.1f}s{details}")


def _error(message):
    print(f"skae: error: {message}", file=sys.stderr)


def _describe(error):
    """One line for an exception, without a traceback."""
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.strerror or error}: {error.filename}"
    return " ".join(str(error).split()) or type(error).__name__
