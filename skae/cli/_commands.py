"""The command line's commands: ``score``, ``explain``, ``fit`` and ``compare``.

Each command first checks everything it can without working (the input is
readable, the output writable in its format, options agree), so that a
mistake is reported in a second rather than after an hour of training; then
it works, and writes its output only when complete (see ``_output``).
"""

import sys
import textwrap
from contextlib import redirect_stdout

import numpy as np
import pandas as pd

from ._messages import Progress, UsageError, keras_verbose, note
from ._models import (
    check_contamination,
    check_model_options,
    load_detector,
    new_estimator,
    train,
    trained_columns,
)
from ._output import Destination, TableWriter
from ._tables import Table

# Rows per chunk when scoring and no --chunksize is given: scoring always
# streams, so its memory does not grow with the file.
SCORE_CHUNKSIZE = 100_000
WIDTH = 79  # compare's text fits an 80-column terminal


def score(args):
    """``skae score``: one row, score and label per row of DATA.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.
    """
    table = Table(args.data, args.sep, args.decimal)
    if args.model is not None:
        check_model_options(args)
    with Destination(args.output, "table") as out:
        check_contamination(args)
        if args.model is None:
            detector = train(args, "detector", table)
        else:
            detector = load_detector(args.model)
        columns = args.columns or trained_columns(detector)
        chunks = table.chunks(args.chunksize or SCORE_CHUNKSIZE, columns)
        rows, outliers = _write_scores(detector, chunks, out, args.quiet)
        out.commit()
    if not args.quiet:
        # The contamination is shown: its default is the detector's, not in --help.
        note(
            f"scored {rows} rows: {outliers} outliers (label -1, {outliers / rows:.1%}; "
            f"contamination {detector.get_params()['contamination']}) below the threshold "
            f"{detector.offset_:.4g}; wrote {'stdout' if out.path is None else args.output}"
        )


def _write_scores(detector, chunks, out, quiet):
    """Score each chunk and append it to ``out``; the rows and outliers counted."""
    writer = TableWriter(out.temp, out.format)
    progress = Progress("scoring", quiet, log_line=False)
    rows = outliers = 0
    try:
        calibration = getattr(detector, "calibration_scores_", np.empty(0))
        for chunk in chunks:
            scores = detector.score_samples(chunk)
            # predict's rule, without running the network a second time
            labels = np.where(scores - detector.offset_ < 0, -1, 1)
            columns = {"row": chunk.index, "score": scores, "label": labels}
            if len(calibration):  # p_values' rule, from the same scores
                below = np.searchsorted(calibration, scores, side="right")
                columns["p_value"] = (1.0 + below) / (1.0 + len(calibration))
            writer.append(pd.DataFrame(columns))
            rows += len(chunk)
            outliers += int((labels == -1).sum())
            progress.update(rows)
    finally:
        writer.close()
    progress.close(rows)
    return rows, outliers


def explain(args):
    """``skae explain``: each flagged row's columns, ranked by contribution.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.
    """
    table = Table(args.data, args.sep, args.decimal)
    with Destination(args.output, "table") as out:
        detector = load_detector(args.model)
        columns = args.columns or trained_columns(detector)
        writer = TableWriter(out.temp, out.format)
        explained = 0
        try:
            for chunk in table.chunks(args.chunksize or SCORE_CHUNKSIZE, columns):
                rows = chunk if args.all_rows else chunk[detector.predict(chunk) == -1]
                if len(rows):
                    writer.append(detector.explain(rows, top_k=args.top_k))
                    explained += len(rows)
        finally:
            writer.close()
        out.commit()
    if not args.quiet:
        note(f"explained {explained} rows; wrote {'stdout' if out.path is None else args.output}")


def fit(args):
    """``skae fit``: train a detector or transformer and save it.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.
    """
    table = Table(args.data, args.sep, args.decimal)
    if args.kind == "transformer" and args.contamination is not None:
        raise UsageError("--contamination: only for --kind detector")
    if args.output == "-":
        raise UsageError("-o -: a model is a binary file; give a file name")
    with Destination(args.output, "model") as out:
        check_contamination(args)
        estimator = train(args, args.kind, table)
        # How much Keras prints is the command's choice, not the model's.
        estimator.set_params(verbose=0)
        estimator.save(out.temp)
        out.commit()
    if not args.quiet:
        note(f"saved {estimator!r} to {args.output}")


def compare(args):
    """``skae compare``: held-out reconstruction error of PCA and the autoencoder.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.
    """
    table = Table(args.data, args.sep, args.decimal)
    X = next(table.chunks(None, args.columns)).to_numpy()
    n_features = X.shape[1]
    latent_dims = [k for k in args.latent_dims if k < n_features]
    skipped = sorted(set(args.latent_dims) - set(latent_dims))
    if skipped:
        note(f"skipping latent sizes {skipped}: not smaller than the {n_features} columns")
    if not latent_dims:
        raise UsageError(f"--latent-dims: need a size smaller than the {n_features} columns")

    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    train_rows, test_rows = train_test_split(
        X, test_size=args.test_size, random_state=args.random_state
    )
    scaler = StandardScaler().fit(train_rows)
    train_rows, test_rows = scaler.transform(train_rows), scaler.transform(test_rows)
    results = [_compare_one(args, latent_dim, train_rows, test_rows) for latent_dim in latent_dims]
    frame = pd.DataFrame(results, columns=["latent_dim", "pca_mse", "autoencoder_mse", "ratio"])
    heading = textwrap.fill(
        f"Held-out reconstruction MSE of {len(test_rows)} test rows ({len(train_rows)} "
        f"training rows, {n_features} columns), in standard units: each column scaled "
        "to mean 0 and variance 1 on the training rows. ratio = autoencoder_mse / "
        "pca_mse; below 1, the autoencoder reconstructs better.",
        WIDTH,
    )
    # One write, after all the work: stdout gets the whole report or nothing.
    sys.stdout.write(f"{heading}\n\n{frame.to_string(index=False, float_format='{:.4g}'.format)}\n")
    sys.stdout.flush()


def _compare_one(args, latent_dim, train_rows, test_rows):
    """``(latent_dim, pca_mse, autoencoder_mse, ratio)`` for one latent size."""
    from sklearn.decomposition import PCA

    if not args.quiet:
        note(f"latent_dim={latent_dim}: training the autoencoder")
    pca = PCA(latent_dim, random_state=args.random_state).fit(train_rows)
    pca_mse = np.mean((test_rows - pca.inverse_transform(pca.transform(test_rows))) ** 2)
    autoencoder = new_estimator(
        "transformer",
        args,
        train_rows.shape[1],
        scaling=None,
        latent_dim=latent_dim,
        verbose=keras_verbose(args.quiet),
    )
    with redirect_stdout(sys.stderr):  # Keras prints progress on stdout
        autoencoder.fit(train_rows)
    autoencoder_mse = autoencoder.reconstruction_error(test_rows).mean()
    return latent_dim, pca_mse, autoencoder_mse, autoencoder_mse / pca_mse
