"""Training and loading the command line's estimators, through skae's public API.

Only ``skae.AutoencoderOutlierDetector``, ``skae.AutoencoderTransformer``,
``skae.load`` and the estimators' public methods are used, so that changes
inside the estimators do not reach the command line. TensorFlow is imported
here, when a command first needs an estimator, never at start-up.
"""

import inspect
import itertools
import math
import numbers
import os
import sys
import warnings
from contextlib import redirect_stdout

import numpy as np
import pandas as pd

from .._quiet import import_tensorflow
from ._messages import DataError, Progress, UsageError, describe, keras_verbose, note

# Smallest random sample the threshold of a streamed detector is set on.
MIN_STATISTICS_SAMPLE = 10_000

# Estimator parameters the command line exposes, as argparse destinations.
MODEL_OPTIONS = (
    "latent_dim",
    "hidden_layer_sizes",
    "epochs",
    "batch_size",
    "learning_rate",
    "scaling",
    "random_state",
    "contamination",
    "calibration_fraction",
)


def api():
    """The ``skae`` package, TensorFlow imported with its start-up log filtered."""
    import_tensorflow()
    import skae

    return skae


def check_contamination(args):
    """Refuse ``--contamination auto`` unless the detector's default is ``"auto"``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Raises
    ------
    UsageError
        ``auto`` given to a detector that takes a fraction only.
    """
    if getattr(args, "contamination", None) != "auto":
        return
    detector = api().AutoencoderOutlierDetector
    default = inspect.signature(detector).parameters["contamination"].default
    if default != "auto":
        raise UsageError(
            f"--contamination auto: this skae's AutoencoderOutlierDetector takes a "
            f"fraction in (0, 0.5] (its default is {default})"
        )


def check_model_options(args):
    """Refuse training options with ``--model`` (used as saved), and a missing model file."""
    given = [name for name in MODEL_OPTIONS if getattr(args, name, None) is not None]
    if given:
        options = ", ".join("--" + name.replace("_", "-") for name in given)
        raise UsageError(f"{options}: training options cannot be used with --model")
    if not os.path.isfile(args.model):
        raise UsageError(f"No such model file: {args.model}")


def train(args, kind, table):
    """A detector or transformer trained on ``table``, in memory or streamed.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (training options, ``chunksize``, ``quiet``).
    kind : {"detector", "transformer"}
        The estimator to train.
    table : Table
        The training data.

    Returns
    -------
    estimator : AutoencoderOutlierDetector or AutoencoderTransformer
    """
    chunks = table.chunks(args.chunksize, args.columns)
    if args.chunksize is None:
        X = next(chunks)
        estimator = new_estimator(kind, args, X.shape[1], verbose=keras_verbose(args.quiet))
        with redirect_stdout(sys.stderr):  # Keras prints progress on stdout
            estimator.fit(X)
        return estimator
    return _train_streamed(args, kind, table, chunks)


def _train_streamed(args, kind, table, chunks):
    """``--epochs`` passes of ``partial_fit`` over the chunks of the table.

    A detector ends with one more ``partial_fit`` on a random sample of the
    whole file (drawn during the last pass): ``partial_fit`` sets the
    threshold and normalisations on the rows it is given, and the last chunk
    alone may be small or unlike the rest of the file.
    """
    first = next(chunks)
    chunks = itertools.chain([first], chunks)
    estimator = new_estimator(kind, args, first.shape[1], verbose=0)
    columns = list(first.columns)
    sample = None
    rng = np.random.default_rng(args.random_state)
    sample_size = max(args.chunksize, MIN_STATISTICS_SAMPLE)
    rows = None  # unknown until the first pass ends
    for epoch in range(estimator.epochs):
        last = epoch == estimator.epochs - 1
        progress = Progress(f"pass {epoch + 1}/{estimator.epochs}", args.quiet, total=rows)
        rows = 0
        for chunk in chunks:
            estimator.partial_fit(chunk)
            if last and kind == "detector":
                sample = _keep_sample(sample, chunk, sample_size, rng)
            rows += len(chunk)
            progress.update(rows, loss=estimator.history_["loss"][-1])
        progress.close(rows, loss=estimator.history_["loss"][-1])
        chunks = table.chunks(args.chunksize, columns)
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


def new_estimator(kind, args, n_features, **fixed):
    """An unfitted estimator with the command line's options.

    Options not given are left to the estimator's own defaults (the
    detector's ``contamination`` among them), except a transformer's
    ``latent_dim``.

    Parameters
    ----------
    kind : {"detector", "transformer"}
        The estimator.
    args : argparse.Namespace
        The parsed command line.
    n_features : int
        Columns of the data, for the default ``latent_dim``.
    **fixed
        Parameters that override the options (e.g. ``verbose``).

    Returns
    -------
    estimator : AutoencoderOutlierDetector or AutoencoderTransformer
    """
    skae = api()
    params = {
        name: getattr(args, name) for name in MODEL_OPTIONS if getattr(args, name, None) is not None
    }
    if "hidden_layer_sizes" in params:
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    if params.get("scaling") == "none":
        params["scaling"] = None
    params.update(fixed)
    if kind == "transformer":
        # A code as wide as the input can copy it instead of compressing it.
        params.setdefault("latent_dim", min(8, max(1, n_features // 2)))
        return skae.AutoencoderTransformer(**params)
    return skae.AutoencoderOutlierDetector(**params)  # its code width follows the data


def load_detector(path):
    """The fitted detector saved in ``path``; any other content is a DataError.

    Parameters
    ----------
    path : str
        A file written by ``skae fit`` (``estimator.save``).

    Returns
    -------
    detector : AutoencoderOutlierDetector

    Raises
    ------
    DataError
        A file ``skae.load`` refuses (corrupt, crafted, foreign), an estimator
        that does not detect outliers, or one that is not fitted.
    """
    skae = api()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = skae.load(path)
        except MemoryError:
            raise
        # A damaged or crafted file can fail anywhere in the loader (zip, JSON,
        # Keras); whatever the failure, it is the file's, not a bug of skae's.
        except Exception as exc:
            message = describe(exc)
            raise DataError(
                message if str(path) in message else f"{path}: cannot load: {message}"
            ) from exc
    for warning in caught:  # e.g. written by another skae or Keras version
        if issubclass(warning.category, UserWarning):
            note(f"warning: {warning.message}")
    if not isinstance(model, skae.AutoencoderOutlierDetector):
        raise DataError(
            f"{path} holds {_a(type(model).__name__)}, not an outlier detector: 'skae score' "
            "needs an AutoencoderOutlierDetector; make one with 'skae fit DATA -o MODEL' "
            "(--kind detector, the default)"
        )
    _check_fitted(model, path)
    return model


def _check_fitted(model, path):
    """A loaded detector must have a finite threshold and a column count."""
    offset = getattr(model, "offset_", None)
    n_features = getattr(model, "n_features_in_", None)
    if not (
        isinstance(offset, numbers.Real)
        and math.isfinite(offset)
        and isinstance(n_features, numbers.Integral)
        and n_features > 0
    ):
        raise DataError(f"{path} holds a detector that is not fitted, or a damaged one")


def _a(name):
    """``name`` with its indefinite article: "an AutoencoderTransformer"."""
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


def trained_columns(model):
    """The column names ``model`` was trained on, or None (trained on an array)."""
    names = getattr(model, "feature_names_in_", None)
    return None if names is None else [str(name) for name in names]
