"""The ``skae`` argument parser: one subparser per command, every default shown."""

import argparse

from ._backend import backend_note

DEFAULT_LATENT_DIMS = (2, 4, 8)

EXIT_STATUS = """\
exit status:
  0    success
  1    the data, a model file or an output cannot be used (an infinity, text
       in a numeric column, an ambiguous or corrupt file...), or an internal error
  2    usage error (a bad option, a missing input file, an unknown file type)
  130  interrupted (SIGINT, Ctrl-C); 143 terminated (SIGTERM), 129 (SIGHUP)
Output files appear only when complete; stdout receives the whole output, once
the work is done, or nothing: check the exit status."""


def build_parser():
    """The ``skae`` argument parser.

    Returns
    -------
    parser : argparse.ArgumentParser
        Parsed arguments name their command as ``command`` (a function of
        ``_commands``, imported only to run it: ``--help`` needs no NumPy).

    Examples
    --------
    >>> build_parser().parse_args(["score", "data.csv", "--sep", "tab"]).sep
    '\\t'
    """
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="skae",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Autoencoders on CSV and Parquet files: score rows for "
        "outliers, fit and save models, compare with PCA.",
        epilog=EXIT_STATUS
        + "\n\n"
        + backend_note()
        + "\n\nRun 'skae COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"skae {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _add_score(commands)
    _add_explain(commands)
    _add_fit(commands)
    _add_compare(commands)
    return parser


def _add_score(commands):
    """The ``score`` subcommand."""
    parser = _command(
        commands,
        "score",
        "score each row for outliers (+1 inlier, -1 outlier)",
        """\
Score every row of DATA with an AutoencoderOutlierDetector: trained on DATA
itself, or loaded from a file written by 'skae fit' (--model). One output row
per input row, in input order, with the columns
  row      position of the row in DATA, from 0 (header not counted)
  score    score_samples: higher is more normal
  label    +1 inlier, -1 outlier (score below the detector's threshold offset_)
  p_value  its conformal p-value against the detector's out-of-fold training
           scores (or its calibration rows), small means unusual
A summary (rows, outliers flagged) goes to stderr; so does progress, on a
terminal (one line, updated in place) or with --progress.

Scoring reads DATA in chunks (--chunksize, default 100000 rows), so with
--model a file larger than memory can be scored. Training on DATA follows
'skae fit': in memory, or streamed with --chunksize.

The output is written whole or not at all: a file under a temporary name,
renamed when complete; stdout (no -o, or -o -) and devices such as /dev/null
receive the whole table once scoring has succeeded, or nothing.""",
        """\
  skae score sensors.csv -o scores.csv --contamination 0.01
  skae fit sensors.parquet -o sensors.skae --random-state 0
  skae score new.parquet --model sensors.skae -o scores.parquet --chunksize 50000
  skae score sensors.csv | head""",
    )
    _add_data_options(parser, score=True)
    parser.add_argument(
        "--model",
        metavar="MODEL",
        default=None,
        help="detector saved by 'skae fit' to score with, instead of training one on "
        "DATA; the training options below are then not allowed (default: train on DATA)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        default=None,
        help="output file, CSV (.csv, .csv.gz) or Parquet (.parquet, .pq) by its "
        "extension; CSV for - (stdout) and devices (default: CSV on stdout)",
    )
    _add_model_options(parser, "score")
    parser.set_defaults(command="score")


def _add_explain(commands):
    """The ``explain`` subcommand."""
    parser = _command(
        commands,
        "explain",
        "say which columns made each outlier an outlier",
        """\
Explain the rows of DATA that a saved detector (--model) flags as outliers
(all rows with --all-rows): per row, its --top-k columns ranked by their
contribution to the row's anomaly, with the columns
  row           position of the row in DATA, from 0 (header not counted)
  rank          1 for the largest contribution
  column        the column's name
  contribution  its share of the row's anomaly (-score_samples)
  value         the row's value in that column
  expected      what the detector expected in that column for this row: its
                reconstruction of the cell (the mean over its ensemble), in
                the column's units; the farther from value, the more unusual
See AutoencoderOutlierDetector.explain for how contributions are computed.
In a CSV output, names that a spreadsheet would run as formulas (starting
with = + - @, a tab or a carriage return) are written after a ' (OWASP).
The output is written whole or not at all, as for 'skae score'.""",
        """\
  skae fit sensors.csv -o sensors.skae --random-state 0
  skae explain sensors.csv --model sensors.skae --top-k 3 -o why.csv""",
    )
    _add_data_options(parser, score=True)
    parser.add_argument(
        "--model", metavar="MODEL", required=True, help="detector saved by 'skae fit'"
    )
    parser.add_argument(
        "--top-k",
        metavar="K",
        type=positive_int,
        default=3,
        help="columns to report per row (default: 3)",
    )
    parser.add_argument(
        "--all-rows",
        action="store_true",
        help="explain every row, not only those flagged -1 (default: off)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        default=None,
        help="output file, CSV (.csv, .csv.gz) or Parquet (.parquet, .pq) by its "
        "extension; CSV for - (stdout) and devices (default: CSV on stdout)",
    )
    parser.set_defaults(command="explain")


def _add_fit(commands):
    """The ``fit`` subcommand."""
    parser = _command(
        commands,
        "fit",
        "train a model and save it to a file",
        """\
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
        """\
  skae fit sensors.csv -o sensors.skae --contamination 0.01 --random-state 0
  skae fit big.parquet -o big.skae --chunksize 100000 --epochs 5
  skae fit pixels.csv -o codes.skae --kind transformer --latent-dim 16""",
    )
    _add_data_options(parser, score=False)
    parser.add_argument(
        "-o",
        "--output",
        metavar="MODEL",
        required=True,
        help="file to save the model to (required; recommended extension .skae)",
    )
    parser.add_argument(
        "--kind",
        choices=("detector", "transformer"),
        default="detector",
        help="AutoencoderOutlierDetector or AutoencoderTransformer (default: detector)",
    )
    _add_model_options(parser, "fit")
    parser.set_defaults(command="fit")


def _add_compare(commands):
    """The ``compare`` subcommand."""
    parser = _command(
        commands,
        "compare",
        "held-out reconstruction error of PCA vs the autoencoder",
        """\
Split DATA into training and test rows, standard-scale the columns (scaler
fitted on the training rows), then for each latent size fit PCA and an
AutoencoderTransformer (scaling=None, as the data is already scaled) on the
same training rows. Prints, per latent size, the mean squared reconstruction
error of the test rows in standard units for each, and their ratio
(autoencoder / PCA: below 1, the autoencoder reconstructs better). DATA is
loaded in memory.""",
        "  skae compare sensors.csv --latent-dims 2 4 8 --epochs 100 --random-state 0",
    )
    _add_data_options(parser, score=False, chunks=False)
    parser.add_argument(
        "--latent-dims",
        metavar="K",
        type=positive_int,
        nargs="+",
        default=list(DEFAULT_LATENT_DIMS),
        help="latent sizes to compare; sizes not smaller than the number of columns "
        "are skipped (default: 2 4 8)",
    )
    parser.add_argument(
        "--test-size",
        metavar="F",
        type=open_fraction,
        default=0.25,
        help="fraction of the rows held out for testing (default: 0.25)",
    )
    _add_model_options(parser, "compare")
    parser.set_defaults(command="compare")


def _command(commands, name, summary, description, examples):
    """A subparser with its description, examples and the exit statuses."""
    return commands.add_parser(
        name,
        usage="%(prog)s DATA [options]",
        help=summary,
        description=description,
        epilog=("examples:\n" if "\n" in examples else "example:\n")
        + examples
        + "\n\n"
        + EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _add_data_options(parser, score, chunks=True):
    """DATA and how to read it: columns, CSV marks, chunks, quiet."""
    parser.add_argument("data", metavar="DATA", help="input file: .csv, .csv.gz, .parquet or .pq")
    parser.add_argument(
        "--columns",
        metavar="NAMES",
        type=column_names,
        action="extend",
        default=None,
        help="comma-separated columns to use, e.g. a,b,c; may be repeated (default: "
        + (
            "every numeric column, or with --model the columns the model was trained on)"
            if score
            else "every numeric column; text columns are named on stderr)"
        ),
    )
    parser.add_argument(
        "--sep",
        metavar="C",
        type=character,
        default=None,
        help="field separator of a CSV: one character, 'tab' for a tab (default: ','; "
        "a file that looks separated by another is refused)",
    )
    parser.add_argument(
        "--decimal",
        metavar="C",
        type=character,
        default=None,
        help="decimal mark of a CSV's numbers, e.g. ',' (default: '.')",
    )
    if chunks:
        parser.add_argument(
            "--chunksize",
            metavar="N",
            type=positive_int,
            default=None,
            help="read DATA N rows at a time and train with partial_fit, streaming "
            + (
                "(default: train in memory; score in chunks of 100000 rows)"
                if score
                else "(default: load DATA in memory and train with fit)"
            ),
        )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress or summary on stderr; errors, warnings and notes on ignored "
        "columns are still shown (default: off)",
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        help="show progress when stderr is not a terminal too, one line per epoch or "
        "pass (default: one line updated in place on a terminal, none in a log or pipe)",
    )


def _add_model_options(parser, command):
    """Estimator options; ``command`` tailors which exist and their defaults."""
    group = parser.add_argument_group("training options")
    if command != "compare":  # compare takes --latent-dims
        group.add_argument(
            "--latent-dim",
            metavar="K",
            type=positive_int,
            default=None,
            help="width of the code (default: a detector's own, which follows the "
            "number of columns; for a transformer 8, or half the columns if fewer)",
        )
    group.add_argument(
        "--hidden-layer-sizes",
        metavar="UNITS",
        type=positive_int,
        nargs="*",
        default=None,
        help="widths of the encoder's hidden layers, mirrored by the decoder; give "
        "none for no hidden layer (default: the estimator's own)",
    )
    group.add_argument(
        "--epochs",
        metavar="E",
        type=positive_int,
        default=None,
        help="maximum epochs; training stops earlier when the loss stops improving"
        + (
            ""
            if command == "compare"
            else "; with --chunksize, the number of passes over DATA, all made"
        )
        + " (default: the estimator's own)",
    )
    group.add_argument(
        "--batch-size",
        metavar="B",
        type=positive_int,
        default=None,
        help="rows per gradient step (default: the estimator's own)",
    )
    group.add_argument(
        "--learning-rate",
        metavar="LR",
        type=positive_float,
        default=None,
        help="initial learning rate of Adam (default: the estimator's own)",
    )
    if command != "compare":  # compare scales the data itself
        _add_detector_options(group, command)
    group.add_argument(
        "--random-state",
        metavar="S",
        type=integer,
        default=None,
        help="seed for the weights, the shuffling and "
        + ("the split" if command == "compare" else "any sampling")
        + "; an int gives repeatable results on CPU (default: none, not repeatable)",
    )


def _add_detector_options(group, command):
    """``--scaling`` and ``--contamination``, for ``score`` and ``fit``."""
    group.add_argument(
        "--scaling",
        choices=("standard", "minmax", "robust", "none"),
        default=None,
        help="per-column scaling before the network (default: the estimator's, standard"
        + (" for a detector, minmax for a transformer)" if command == "fit" else ")"),
    )
    group.add_argument(
        "--contamination",
        metavar="F",
        type=contamination,
        default=None,
        help="expected fraction of outliers, in (0, 0.5]: that fraction of the "
        "training rows is labelled -1; 'auto' where the detector supports it"
        + ("; detector only" if command == "fit" else "")
        + " (default: AutoencoderOutlierDetector's own default, see "
        "help(skae.AutoencoderOutlierDetector))",
    )
    group.add_argument(
        "--calibration-fraction",
        metavar="F",
        type=calibration_fraction,
        default=None,
        help="share of the training rows held out to calibrate the detector: its "
        "threshold and the p_value column of 'skae score' (conformal p-values; "
        "small means unusual) then rest on them, not on out-of-fold training scores"
        + ("; detector only" if command == "fit" else "")
        + " (default: 0, no p-values)",
    )


# ----------------------------------------------------------------------
# Option types. argparse names a failing type by its function's __name__
# ("invalid _positive_int value"), so each raises its own plain message.


def _option_type(name, check=None, convert=float, hint=""):
    """An argparse type: ``convert(text)``, then ``check(value)``, or a plain message."""

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or (check is not None and not check(value)):
            raise argparse.ArgumentTypeError(f"invalid {name} value: {text!r}{hint}")
        return value

    parse.__name__ = name
    return parse


integer = _option_type("integer", convert=int)
positive_int = _option_type("positive integer", lambda value: value >= 1, int)
positive_float = _option_type("positive number", lambda value: value > 0)
open_fraction = _option_type(
    "fraction", lambda value: 0 < value < 1, hint=" (give a number between 0 and 1)"
)
_fraction = _option_type(
    "contamination", lambda value: 0 < value <= 0.5, hint=" (give a fraction in (0, 0.5], or auto)"
)


calibration_fraction = _option_type(
    "calibration fraction", lambda value: 0 <= value < 0.5, hint=" (give a number in [0, 0.5))"
)


def contamination(text):
    """A fraction in (0, 0.5], or ``"auto"`` (checked against the detector later)."""
    return "auto" if text == "auto" else _fraction(text)


def character(text):
    """One character; ``tab`` or ``\\t`` for a tab."""
    value = {"tab": "\t", "\\t": "\t"}.get(text, text)
    if len(value) != 1:
        raise argparse.ArgumentTypeError(f"invalid character value: {text!r} (give one, e.g. ';')")
    return value


def column_names(text):
    """Comma-separated column names, none empty."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"empty column name in {text!r}")
    return names
