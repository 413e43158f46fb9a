"""Input checks, and messages that say what to do.

Every public method validates its input here once, then works on the
validated array (as ``IsolationForest`` scores through ``_score_samples``).
scikit-learn and NumPy raise precise errors whose words do not always tell a
user what to change; :func:`explained_errors` rewords the common ones.
"""

from contextlib import contextmanager

import numpy as np
import pandas as pd
from scipy.sparse import issparse
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data

from ._sklearn_compat import (
    ADAPTERS_MANAGER,
    _check_feature_names_in,
    _check_sample_weight,
    _get_output_config,
)

__all__ = [
    "FLOAT32_MAX",
    "check_array_like",
    "check_sample_weight",
    "check_target",
    "check_X",
    "drop_weightless",
    "like_input",
    "n_rows",
    "observed_mean",
    "take_rows",
]

# Largest magnitude the float32 networks can take in.
FLOAT32_MAX = float(np.finfo(np.float32).max)
_FLOAT_DTYPES = [np.float64, np.float32]


def check_X(estimator, X, reset):
    """``X`` validated for ``estimator`` (against what ``fit`` saw unless ``reset``).

    NaN marks a missing cell and is kept; infinity is refused. A scipy sparse
    matrix (e.g. ``OneHotEncoder``'s output in a ``ColumnTransformer``) is
    accepted and made dense: the network takes dense rows.
    """
    who = type(estimator).__name__
    _reject_dates(X, who)
    with explained_errors(who):
        X = validate_data(
            estimator,
            X,
            reset=reset,
            dtype=_FLOAT_DTYPES,
            ensure_all_finite="allow-nan",
            accept_sparse=("csr", "csc", "coo"),
        )
    if issparse(X):
        X = X.toarray()
    return within_float32(X, who)


def check_array_like(array, input_name, who, allow_nan=False):
    """An array other than ``X`` (a clean target, codes), validated as :func:`check_X` does."""
    _reject_dates(array, who)
    finite = "allow-nan" if allow_nan else True
    with explained_errors(who, input_name):
        array = check_array(
            array,
            dtype=_FLOAT_DTYPES,
            input_name=input_name,
            estimator=who,
            ensure_all_finite=finite,
        )
    return within_float32(array, who, input_name)


def check_target(target, X, who):
    """A reconstruction target validated to have ``X``'s shape and dtype (NaN: missing)."""
    target = check_array_like(target, "y", who, allow_nan=True)
    if target.shape != X.shape:
        raise ValueError(f"The target must have the shape of X {X.shape}, got {target.shape}.")
    return target.astype(X.dtype, copy=False)


def check_sample_weight(sample_weight, X):
    """Non-negative float64 weights, one per row of ``X``, that do not all vanish; or None."""
    if sample_weight is None:
        return None
    weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    if not weights.sum() > 0:
        raise ValueError("sample_weight sums to 0: at least one row must have a positive weight.")
    return weights


def within_float32(X, who, input_name="X"):
    """``X``, once checked to hold no value beyond the float32 range of the network."""
    if X.dtype == np.float64 and X.size:
        peak = np.nanmax(np.abs(X), initial=0.0)
        if peak > FLOAT32_MAX:
            raise ValueError(
                f"{input_name} holds values up to {peak:.3g} in magnitude, beyond the "
                f"float32 range (+-{FLOAT32_MAX:.2g}) in which {who} computes. "
                "Rescale it first, e.g. divide by a power of ten or take logarithms."
            )
    return X


def _reject_dates(X, who):
    """Dates and durations are not numbers to feed a network as they are."""
    dtypes = X.dtypes if isinstance(X, pd.DataFrame) else [getattr(X, "dtype", None)]
    if any(getattr(dtype, "kind", None) in ("m", "M") for dtype in dtypes):
        raise TypeError(
            f"{who} needs numeric input, but got dates or durations (datetime64 or "
            "timedelta64). Convert them to numbers first, e.g. seconds since a "
            "reference time, or calendar features such as the hour or the weekday."
        )


@contextmanager
def explained_errors(who, input_name="X"):
    """Reword the validation errors of NumPy and scikit-learn that do not say what to do."""
    try:
        yield
    except (ValueError, TypeError, OverflowError) as error:
        message = str(error)
        if "could not convert" in message or "float() argument" in message:
            raise (ValueError if isinstance(error, ValueError) else TypeError)(
                f"{who} needs numeric input, but got values that are not numbers "
                f"({message}). Encode text or categorical columns first, e.g. with "
                "OneHotEncoder in a ColumnTransformer, and fill in missing values "
                "(None, pd.NA), e.g. with SimpleImputer."
            ) from error
        if message.startswith("Complex data not supported"):
            # scikit-learn's message goes on to print the whole array; its
            # first words stay, as its estimator checks look for them.
            raise ValueError(
                f"Complex data not supported: {who} needs real numbers, but "
                f"{input_name} is complex. Pass the part that matters "
                f"({input_name}.real or np.abs({input_name})), or both parts as "
                f"columns: np.hstack([{input_name}.real, {input_name}.imag])."
            ) from error
        if "setting an array element with a sequence" in message:
            raise ValueError(
                f"{who} needs {input_name} as a 2-D table of numbers, but its rows "
                f"differ in length or its cells hold sequences ({message})."
            ) from error
        if "too large to convert" in message:  # Python ints beyond float64
            raise ValueError(
                f"{input_name} holds a number too large for a float ({message}). "
                "Rescale it first, e.g. divide by a power of ten or take logarithms."
            ) from error
        raise


def drop_weightless(X, target, sample_weight):
    """Rows of zero weight dropped, as if absent (the others' weights as given)."""
    weights = check_sample_weight(sample_weight, X)
    if weights is None:
        return X, target, None
    kept = weights > 0
    if not kept.all():
        X = X[kept]
        target = None if target is None else target[kept]
        weights = weights[kept]
    return X, target, weights


def like_input(values, X, estimator):
    """``values``, one column per input feature, in the container ``set_output`` asks for.

    ``set_output(transform="pandas")`` or ``"polars"`` give that container;
    the default keeps the input's own (a pandas or polars DataFrame in, the
    same out, with ``X``'s index for pandas; an array otherwise). Columns are
    the input's feature names (``x0``, ``x1``, ... when it had none).
    """
    container = _get_output_config("transform", estimator)["dense"]
    if container == "default":
        container = _container_of(X)
    if container == "default":
        return values
    if hasattr(estimator, "n_features_in_"):
        names = _check_feature_names_in(estimator, None)
    else:  # an unfitted denoiser's corrupt()
        names = np.asarray([f"x{i}" for i in range(values.shape[1])], dtype=object)
    return ADAPTERS_MANAGER.adapters[container].create_container(
        values, X, columns=names, inplace=False
    )


def _container_of(X):
    if isinstance(X, pd.DataFrame):
        return "pandas"
    if type(X).__module__.split(".")[0] == "polars" and type(X).__name__ == "DataFrame":
        return "polars"
    return "default"


def observed_mean(cells):
    """Each row's mean over its observed (not NaN) cells; 0 for a row with none."""
    observed = ~np.isnan(cells)
    counts = observed.sum(axis=1)
    totals = np.where(observed, cells, 0.0).sum(axis=1)
    return totals / np.maximum(counts, 1)


def n_rows(X):
    """Number of rows of an array-like, before validation."""
    return X.shape[0] if hasattr(X, "shape") else len(X)


def take_rows(X, rows):
    """Rows ``rows`` of an array-like (pandas by position), before validation."""
    if hasattr(X, "iloc"):
        return X.iloc[rows]
    if hasattr(X, "tocsr"):  # scipy sparse
        return X.tocsr()[rows]
    if type(X).__module__.split(".")[0] == "polars":
        return X[rows]
    return np.asarray(X)[rows]
