"""skae/_validation.py: every public method of every estimator answers bad input clearly.

A clear error is a ValueError or TypeError that says what is wrong (and
mostly what to do), raised by skae or scikit-learn before TensorFlow sees the
data; never a TensorFlow exception, never a silent NaN. Inputs that are odd
but valid (small integer and boolean dtypes, lists, one row, missing cells
as NaN or pandas' NA) must work.

The bad-input grid is one test over all estimators x all methods x all bad
inputs (``test_bad_input_is_a_clear_error``); nothing is left to other files.
"""

import itertools
import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import NotFittedError

import skae._validation
from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    DenoisingAutoencoder,
    VariationalAutoencoder,
)
from tests.conftest import ESTIMATORS

TRANSFORMERS = [AutoencoderTransformer, DenoisingAutoencoder, VariationalAutoencoder]
# Smaller than conftest's FAST: the grid fits hundreds of times.
TINY = {"hidden_layer_sizes": (4,), "epochs": 2, "batch_size": 16}
COLUMNS = ["a", "b", "c"]
N_ROWS = 20
SHAPE = (N_ROWS, len(COLUMNS))

# Methods that take rows like those seen in fit, and methods that fit.
PREDICT_METHODS = [
    "transform",
    "predict",
    "score",
    "score_samples",
    "decision_function",
    "reconstruction_error",
    "corrupt",
]
FIT_METHODS = ["fit", "partial_fit", "fit_transform", "fit_predict"]

pytestmark = [
    # The estimators are fitted on a DataFrame; most bad inputs are arrays.
    pytest.mark.filterwarnings("ignore:X does not have valid feature names"),
    pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning"),
]


def _data():
    return np.random.RandomState(0).normal(size=SHAPE)


def _frame(X=None, **columns):
    return pd.DataFrame(_data() if X is None else X, columns=COLUMNS).assign(**columns)


def _with(value, dtype=None):
    """Good data with one bad cell."""
    X = _data().astype(dtype or (object if isinstance(value, str) else float))
    X[3, 1] = value
    return X


def _half(first, second, dtype):
    return pd.array([first, second] * (N_ROWS // 2), dtype=dtype)


# name -> (make the bad X from good data, regex the error message must match)
BAD_X = {
    "inf": (lambda: _with(np.inf), "Input X contains infinity"),
    "minus_inf": (lambda: _with(-np.inf), "Input X contains infinity"),
    "str_object": (lambda: _with("seven"), "needs numeric input.*OneHotEncoder"),
    "str_column": (lambda: _frame(c="red"), "needs numeric input.*OneHotEncoder"),
    "categorical_str": (
        lambda: _frame(c=pd.Categorical(["u", "v"] * (N_ROWS // 2))),
        "needs numeric input.*OneHotEncoder",
    ),
    "pd_NA_object": (lambda: _with(pd.NA, object), "needs numeric input.*SimpleImputer"),
    "datetime_column": (
        lambda: _frame(c=pd.date_range("2024-01-01", periods=N_ROWS)),
        "dates or durations",
    ),
    "datetime64": (
        lambda: np.full(SHAPE, np.datetime64("2024-01-01", "ns")),
        "dates or durations",
    ),
    "timedelta_column": (
        lambda: _frame(c=pd.to_timedelta(np.arange(N_ROWS), unit="s")),
        "dates or durations",
    ),
    "no_rows": (lambda: _data()[:0], "0 sample"),
    "no_columns": (lambda: _data()[:, :0], "0 feature"),
    "one_dim": (lambda: _data()[:, 0], "Expected 2D array.*reshape"),
    "three_dim": (lambda: _data()[:, :, None], "dim 3"),
    "none": (lambda: None, "Expected 2D array"),
    "ragged_list": (lambda: [[1.0, 2.0, 3.0], [1.0, 2.0]], "2-D table of numbers"),
    "np_matrix": (lambda: np.asmatrix(_data()), r"np\.matrix is not supported"),
    "complex": (lambda: _data() + 1j, r"complex.*\.real"),
    "complex_frame": (lambda: _frame(_data() + 0j), r"complex.*\.real"),
    "complex_object": (lambda: _with(1 + 2j, object), "needs numeric input.*'complex'"),
    "huge": (lambda: _data() * 1e300, "float32 range.*Rescale"),
    "huge_one": (lambda: _with(-1e300), "float32 range.*Rescale"),
    "huge_int": (lambda: _with(10**400, object), "too large.*Rescale"),
}

# Only to fit: a column with nothing to learn from.
BAD_X_FOR_FIT = {
    "all_nan_column": (lambda: _frame(c=np.nan), r"Column\(s\) \['c'\] hold no observed value"),
}

# Only where a model was fitted: rows that do not match what fit saw.
BAD_X_FOR_FITTED = {
    "fewer_columns": (lambda: _data()[:, :2], r"X has 2 features, but \w+ is expecting 3"),
    "more_columns": (
        lambda: np.hstack([_data(), _data()]),
        r"X has 6 features, but \w+ is expecting 3",
    ),
    "renamed_columns": (
        lambda: pd.DataFrame(_data(), columns=["x", "y", "z"]),
        "feature names should match",
    ),
    "reordered_columns": (lambda: _frame()[["c", "b", "a"]], "same order"),
}


# Known bugs in skae, each a strict xfail: the test starts passing when the bug is fixed.
KNOWN_BUGS = {}  # (estimator, method, case) -> where the bug is and its fix


def _grid():
    """(estimator, method, case): fitting methods on a new estimator get BAD_X;
    the others, and ``partial_fit`` of a fitted one, get BAD_X and BAD_X_FOR_FITTED."""
    cases = []
    for estimator in ESTIMATORS:
        for method in FIT_METHODS + PREDICT_METHODS:
            if not hasattr(estimator, method):
                continue
            bad = (
                {**BAD_X, **BAD_X_FOR_FIT}
                if method in FIT_METHODS
                else {**BAD_X, **BAD_X_FOR_FITTED}
            )
            cases += [(estimator, method, False, case) for case in bad]
        if hasattr(estimator, "partial_fit"):
            cases += [(estimator, "partial_fit", True, case) for case in BAD_X_FOR_FITTED]
    return [
        pytest.param(
            estimator,
            method,
            on_fitted,
            case,
            id=f"{estimator.__name__}-{method}{'-after_fit' if on_fitted else ''}-{case}",
            marks=[pytest.mark.xfail(reason=KNOWN_BUGS[estimator, method, case], strict=True)]
            if (estimator, method, case) in KNOWN_BUGS
            else [],
        )
        for estimator, method, on_fitted, case in cases
    ]


def _clear_error(match):
    """``pytest.raises`` for a clear error; ``match`` may span lines."""
    return pytest.raises((ValueError, TypeError), match=re.compile(match, re.DOTALL))


@pytest.fixture(scope="module")
def fitted(make_estimator):
    """One tiny fitted model per estimator, fitted on a DataFrame."""
    return {cls: make_estimator(cls, **TINY).fit(_frame()) for cls in ESTIMATORS}


@pytest.mark.parametrize("estimator, method, on_fitted, case", _grid())
def test_bad_input_is_a_clear_error(fitted, make_estimator, estimator, method, on_fitted, case):
    make_bad, match = {**BAD_X, **BAD_X_FOR_FIT, **BAD_X_FOR_FITTED}[case]
    fitting = method in FIT_METHODS and not on_fitted
    model = make_estimator(estimator, **TINY) if fitting else fitted[estimator]
    with _clear_error(match):
        getattr(model, method)(make_bad())


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_a_failed_call_leaves_the_fitted_model_as_it_was(fitted, estimator):
    model = fitted[estimator]
    before = model.predict(_frame())
    n_iter = model.n_iter_
    with _clear_error("X has 2 features"):
        model.partial_fit(_data()[:, :2])
    assert model.n_iter_ == n_iter
    np.testing.assert_array_equal(model.predict(_frame()), before)


@pytest.mark.parametrize(
    "estimator, method",
    [
        pytest.param(cls, method, id=f"{cls.__name__}-{method}")
        for cls in ESTIMATORS
        for method in [*PREDICT_METHODS, "inverse_transform", "sample"]
        # corrupt needs no fitted model: it corrupts in the data's own units.
        if hasattr(cls, method) and method != "corrupt"
    ],
)
def test_methods_before_fit_raise_not_fitted(make_estimator, estimator, method):
    argument = 2 if method == "sample" else _data()[:, :2]
    with pytest.raises(NotFittedError):
        getattr(make_estimator(estimator), method)(argument)


# ---------------------------------------------------------------------------
# Each call validates its input once


@pytest.fixture
def validations(monkeypatch):
    """Counts the calls of scikit-learn's validate_data made by skae's input checks."""
    calls = []
    original = skae._validation.validate_data

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(skae._validation, "validate_data", spy)
    return calls


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_fit_validates_X_once(make_estimator, estimator, validations):
    make_estimator(estimator, **TINY).fit(_data())
    assert len(validations) == 1


@pytest.mark.parametrize(
    "estimator, method",
    [
        (AutoencoderTransformer, "transform"),
        (AutoencoderTransformer, "predict"),
        (AutoencoderTransformer, "reconstruction_error"),
        (AutoencoderOutlierDetector, "score_samples"),
        (AutoencoderOutlierDetector, "decision_function"),
        (AutoencoderOutlierDetector, "predict"),
        (AutoencoderOutlierDetector, "reconstruction_error"),
        (VariationalAutoencoder, "score_samples"),
    ],
)
def test_each_call_validates_X_once(fitted, estimator, method, validations):
    getattr(fitted[estimator], method)(_frame())
    assert len(validations) == 1


# ---------------------------------------------------------------------------
# Sample weights


BAD_WEIGHTS = {
    "negative": (lambda: np.r_[-1.0, np.ones(N_ROWS - 1)], "Negative values"),
    "wrong_length": (lambda: np.ones(5), r"sample_weight.shape == \(5,\), expected \(20,\)"),
    "all_zero": (lambda: np.zeros(N_ROWS), "non-zero number|sums to 0"),
    "nan": (lambda: np.r_[np.nan, np.ones(N_ROWS - 1)], "NaN"),
    "two_dim": (lambda: np.ones((N_ROWS, 2)), "1D array or scalar"),
}


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("case", BAD_WEIGHTS)
def test_bad_sample_weight_is_a_clear_error(make_estimator, estimator, case):
    make_bad, match = BAD_WEIGHTS[case]
    with _clear_error(match):
        make_estimator(estimator, **TINY).fit(_data(), sample_weight=make_bad())


# ---------------------------------------------------------------------------
# Odd but valid input works


GOOD_X = {
    "float16": lambda: _data().astype(np.float16),
    "float32": lambda: _data().astype(np.float32),
    "int8": lambda: (_data() * 10).astype(np.int8),
    "uint8": lambda: (np.abs(_data()) * 10).astype(np.uint8),
    "bool": lambda: _data() > 0,
    "list_of_lists": lambda: _data().tolist(),
    "numbers_as_objects": lambda: _data().astype(object),
    "pandas_bool_column": lambda: _frame(c=[True, False] * (N_ROWS // 2)),
    "pandas_nullable_int": lambda: _frame(c=_half(1, 2, "Int64")),
    "pandas_numeric_categories": lambda: _frame(c=pd.Categorical([1.0, 2.0] * (N_ROWS // 2))),
    # Missing cells: skipped by the loss and the errors, filled at the input.
    "nan": lambda: _with(np.nan),
    "nan_row": lambda: np.where(np.arange(N_ROWS)[:, None] == 4, np.nan, _data()),
    "pd_NA_nullable_int": lambda: _frame(c=_half(1, None, "Int64")),
    "pd_NA_nullable_float": lambda: _frame(c=_half(0.5, None, "Float64")),
    "pd_NA_nullable_bool": lambda: _frame(c=_half(True, None, "boolean")),
}


def _expected_shape(estimator, method, n_rows, n_features):
    if method in ("score_samples", "decision_function", "reconstruction_error"):
        return (n_rows,)
    if method == "score":
        return ()
    if method == "transform":
        return (n_rows, len(estimator.get_feature_names_out()))
    if method == "predict" and isinstance(estimator, AutoencoderOutlierDetector):
        return (n_rows,)
    return (n_rows, n_features)


def _assert_correct(estimator, method, output, X_shape=SHAPE):
    """``output`` has the right shape for input of ``X_shape``, and no inf or NaN."""
    values = np.asarray(output, dtype=np.float64)
    assert values.shape == _expected_shape(estimator, method, *X_shape), method
    assert np.isfinite(values).all(), method


MISSING_CELLS = [
    "nan",
    "nan_row",
    "pd_NA_nullable_int",
    "pd_NA_nullable_float",
    "pd_NA_nullable_bool",
]


def _good_grid():
    params = []
    for estimator, method, case in itertools.product(ESTIMATORS, PREDICT_METHODS, GOOD_X):
        if not hasattr(estimator, method):
            continue
        params.append(
            pytest.param(estimator, method, case, id=f"{estimator.__name__}-{method}-{case}")
        )
    return params


@pytest.mark.parametrize("estimator, method, case", _good_grid())
def test_odd_but_valid_input_after_fit(fitted, estimator, method, case):
    X = GOOD_X[case]()
    output = getattr(fitted[estimator], method)(X)
    if method == "corrupt":
        # Corruption changes the observed cells; missing ones stay missing.
        missing = np.isnan(np.asarray(pd.DataFrame(X).astype(float)))
        np.testing.assert_array_equal(np.isnan(np.asarray(output, dtype=float)), missing)
        output = np.where(missing, 0.0, np.asarray(output, dtype=float))
    _assert_correct(fitted[estimator], method, output)


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "case", ["int8", "bool", "list_of_lists", "pandas_nullable_int", "nan", "pd_NA_nullable_float"]
)
def test_odd_but_valid_input_to_fit(make_estimator, estimator, case):
    model = make_estimator(estimator, **TINY).fit(GOOD_X[case]())
    _assert_correct(model, "predict", model.predict(GOOD_X[case]()))


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("rows", ["one_row", "identical_rows"])
def test_fit_on_rows_without_spread(make_estimator, estimator, rows):
    # Reconstructed exactly, such rows once gave the outlier detector's
    # statistics a zero scale, and every other row a score of -inf. One row
    # leaves nothing to hold out, hence early_stopping=False.
    X = _data()[:1] if rows == "one_row" else np.ones(SHAPE)
    if rows == "one_row" and estimator is AutoencoderOutlierDetector:
        # Its terms are scored out of fold: one row leaves no fold to score it.
        with pytest.raises(ValueError, match="at least 2 samples; got 1"):
            make_estimator(estimator, **TINY, early_stopping=False).fit(X)
        return
    model = make_estimator(estimator, **TINY, early_stopping=False).fit(X)
    for method in PREDICT_METHODS:
        if hasattr(model, method):
            _assert_correct(model, method, getattr(model, method)(_data()))


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_early_stopping_on_a_single_row(make_estimator, estimator):
    with pytest.raises(ValueError, match="early_stopping=True.*at least 2 samples"):
        make_estimator(estimator, **TINY, early_stopping=True).fit(_data()[:1])


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_large_but_representable_values_give_finite_results_or_a_clear_error(fitted, estimator):
    # Within float32's range, but 1e38 times what the model was fitted on:
    # the scaling or the network overflow, which must not come out as NaN.
    for method in PREDICT_METHODS:
        if hasattr(estimator, method):
            try:
                output = getattr(fitted[estimator], method)(_data() * 1e38)
            except ValueError as error:
                assert re.search("range seen in fit", str(error)), str(error)
            else:
                if estimator is VariationalAutoencoder and method in ("score", "score_samples"):
                    # An ELBO below -1.8e308 is -inf in float64: a bound, not a NaN.
                    output = np.where(np.asarray(output) == -np.inf, 0.0, output)
                _assert_correct(fitted[estimator], method, output)


def test_rows_the_scaling_takes_beyond_float32_are_a_clear_error(make_estimator):
    # Fitted on a range of 1e-10, the scaling multiplies by about 1e10: rows
    # of 1e30 are representable, their scaled values are not.
    model = make_estimator(**TINY).fit(_data() * 1e-10)
    with pytest.raises(ValueError, match="far outside the range seen in fit"):
        model.predict(_data() * 1e30)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_a_network_that_overflows_is_a_clear_error_not_nan(fitted, estimator, monkeypatch):
    def overflowed(model, inputs, chunk_size, outputs="model"):
        def nans(tensor):
            return np.full((len(inputs), *tensor.shape[1:]), np.nan, dtype="float32")

        if outputs == "model":
            return nans(model.outputs[0])
        encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
        return nans(encoder.outputs[0]), nans(decoder.outputs[0])

    monkeypatch.setattr(skae._engine, "predict_arrays", overflowed)
    for method in PREDICT_METHODS:
        if hasattr(estimator, method) and method != "corrupt":  # corrupt runs no network
            with pytest.raises(ValueError, match="network overflowed float32"):
                getattr(fitted[estimator], method)(_data())


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_columns_far_from_zero_are_reconstructed(make_estimator, estimator):
    # Nanosecond timestamps: the scaling was once read off with a precision
    # that rounded their scale to 0, and every reconstruction to inf or NaN.
    X = 1.7e18 + _data() * 1e12
    model = make_estimator(estimator, **TINY).fit(X)
    for method in PREDICT_METHODS:
        if hasattr(model, method):
            _assert_correct(model, method, getattr(model, method)(X))
    if not isinstance(model, AutoencoderOutlierDetector):
        error = np.abs(model.predict(X) - X).max()
        assert error < 1e2 * X.std()


SPARSE = {"csr_matrix": sp.csr_matrix, "csr_array": sp.csr_array, "coo_matrix": sp.coo_matrix}


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("container", SPARSE)
def test_sparse_input_is_made_dense(fitted, estimator, container):
    # As PCA and IsolationForest accept it (OneHotEncoder's default output).
    model = fitted[estimator]
    X = _data()
    for method in ("predict", "score_samples", "transform", "reconstruction_error"):
        if hasattr(model, method):
            np.testing.assert_array_equal(
                getattr(model, method)(SPARSE[container](X)), getattr(model, method)(X)
            )


# ---------------------------------------------------------------------------
# Codes, targets and sample sizes


def _codes(n_columns=2):
    return np.random.RandomState(1).normal(size=(5, n_columns))


BAD_CODES = {
    "too_narrow": (lambda: _codes(1), "X has 1 features.*inverse_transform expects.* 2"),
    "too_wide": (lambda: _codes(5), "X has 5 features.*inverse_transform expects.* 2"),
    "nan": (lambda: np.where(_codes() > 1, np.nan, _codes()), "Input X contains NaN"),
    "inf": (lambda: np.where(_codes() > 1, np.inf, _codes()), "Input X contains infinity"),
    "str": (lambda: _codes().astype(str).astype(object) + "x", "needs numeric input"),
    "one_dim": (lambda: _codes()[:, 0], "Expected 2D array"),
    "no_rows": (lambda: _codes()[:0], r"0 sample.*required by \w+"),
    "sparse": (lambda: sp.csr_matrix(_codes()), r"\.toarray\(\)"),
    "complex": (lambda: _codes() + 1j, r"complex.*\.real"),
    "huge": (lambda: _codes() * 1e300, "float32 range"),
}


@pytest.mark.parametrize("estimator", TRANSFORMERS)
@pytest.mark.parametrize("case", BAD_CODES)
def test_inverse_transform_rejects_bad_codes(fitted, estimator, case):
    make_bad, match = BAD_CODES[case]
    with _clear_error(match):
        fitted[estimator].inverse_transform(make_bad())


@pytest.mark.parametrize("estimator", TRANSFORMERS)
def test_inverse_transform_of_extreme_codes_is_finite_or_a_clear_error(fitted, estimator):
    try:
        output = fitted[estimator].inverse_transform(_codes() * 1e38)
    except ValueError as error:
        assert "range seen in fit" in str(error)
    else:
        assert np.isfinite(output).all()


BAD_CLEAN = {
    "wrong_rows": (lambda: _data()[:5], "X_clean must be the clean version of X"),
    "wrong_columns": (lambda: _data()[:, :2], "X_clean must be the clean version of X"),
    "inf": (lambda: _with(np.inf), "Input X_clean contains infinity"),
    "str": (lambda: _with("clean"), "needs numeric input"),
    "three_dim": (lambda: _data()[:, :, None], "dim 3"),
    "sparse": (lambda: sp.csr_matrix(_data()), r"\.toarray\(\)"),
    "huge": (lambda: _data() * 1e300, "X_clean holds values.*float32 range"),
}


@pytest.mark.parametrize("case", BAD_CLEAN)
def test_denoiser_rejects_bad_clean_data(fitted, make_estimator, case):
    make_bad, match = BAD_CLEAN[case]
    with _clear_error(match):
        make_estimator(DenoisingAutoencoder, **TINY).fit(_data(), X_clean=make_bad())
    with _clear_error(match):
        fitted[DenoisingAutoencoder].score(_data(), X_clean=make_bad())
    # partial_fit: its first call (which builds the network), then a later one.
    denoiser = make_estimator(DenoisingAutoencoder, **TINY)
    with _clear_error(match):
        denoiser.partial_fit(_data(), X_clean=make_bad())
    denoiser.fit(_data())
    with _clear_error(match):
        denoiser.partial_fit(_data(), X_clean=make_bad())


@pytest.mark.parametrize("n_samples", [0, -3, 2.0, True, "3", None])
def test_sample_needs_a_positive_int(fitted, n_samples):
    with pytest.raises(ValueError, match="n_samples must be a positive int"):
        fitted[VariationalAutoencoder].sample(n_samples)


def test_sample_accepts_numpy_ints(fitted):
    assert fitted[VariationalAutoencoder].sample(np.int64(3)).shape == (3, len(COLUMNS))


# ---------------------------------------------------------------------------
# Property: any array gives a correct result or a clear error

DTYPES = st.one_of(
    hnp.floating_dtypes(sizes=(16, 32, 64)),
    hnp.integer_dtypes(),
    hnp.unsigned_integer_dtypes(),
    hnp.boolean_dtypes(),
    hnp.complex_number_dtypes(),
    hnp.unicode_string_dtypes(max_len=4),
    st.just(np.dtype(object)),
)
OBJECTS = st.one_of(st.floats(), st.integers(), st.booleans(), st.none(), st.text(max_size=3))


@st.composite
def any_array(draw):
    """Arrays of 1 to 3 dimensions, mostly tables, so that some fits succeed."""
    dtype = draw(DTYPES)
    dims = draw(st.sampled_from([2, 2, 2, 1, 3]))
    shape = draw(hnp.array_shapes(min_dims=dims, max_dims=dims, min_side=0, max_side=6))
    elements = OBJECTS if dtype.kind == "O" else None
    return draw(hnp.arrays(dtype, shape, elements=elements))


@pytest.mark.parametrize("estimator", ESTIMATORS)
@settings(max_examples=30, deadline=None, derandomize=True)
@given(X=any_array())
def test_any_array_gives_a_correct_result_or_a_clear_error(make_estimator, estimator, X):
    # early_stopping=False: a one-row table is valid input, with nothing to hold out.
    model = make_estimator(estimator, **{**TINY, "epochs": 1}, early_stopping=False)
    try:
        model.fit(X)
    except (ValueError, TypeError) as error:
        event(f"fit raised {type(error).__name__}")
        return
    event("fitted")
    # Fitted: the same rows must now go through every method.
    for method in ("transform", "predict", "score_samples"):
        if hasattr(model, method):
            _assert_correct(model, method, getattr(model, method)(X), X.shape)
