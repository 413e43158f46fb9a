"""skops and MLflow: fitted estimators dump and load trusting only skae's own classes.

A fitted estimator's state is its skae model file, as bytes (see
skae/_io/_persistence.py), which skops stores natively; loading it runs the same
validation as ``skae.load``. Before, skops recursed without end into the
Keras model in ``model_`` (RecursionError), and so did MLflow 3's default
``mlflow.sklearn.save_model``, which writes skops files.
"""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    ModelFileError,
)
from tests.conftest import ESTIMATORS

sio = pytest.importorskip("skops.io", reason="skops is in the tests extra: pip install '.[tests]'")

METHODS = ["transform", "predict", "score_samples", "decision_function", "reconstruction_error"]


def _name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def _outputs(estimator, X):
    methods = [name for name in METHODS if hasattr(estimator, name)]
    return {name: np.asarray(getattr(estimator, name)(X)) for name in methods}


def _assert_same_outputs(found, expected, X):
    expected, found = _outputs(expected, X), _outputs(found, X)
    assert found.keys() == expected.keys() and len(found) >= 3
    for method in expected:
        np.testing.assert_array_equal(found[method], expected[method], err_msg=method)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_fitted_estimators_round_trip_trusting_only_their_class(cls, make_estimator, digits):
    X, _ = digits
    estimator = make_estimator(cls).fit(X)
    data = sio.dumps(estimator)  # RecursionError before: skops walked into the Keras model
    assert sio.get_untrusted_types(data=data) == [_name(cls)]
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.loads(data)
    loaded = sio.loads(data, trusted=[_name(cls)])
    assert type(loaded) is cls
    assert loaded.history_ == estimator.history_
    _assert_same_outputs(loaded, estimator, X)


def test_a_pipeline_needs_only_skaes_class_trusted(make_estimator, digits, tmp_path):
    X, _ = digits
    pipeline = make_pipeline(StandardScaler(), make_estimator().set_output(transform="pandas"))
    pipeline.fit(X)
    path = tmp_path / "pipeline.skops"
    sio.dump(pipeline, path)
    # Pipeline and StandardScaler are among the types skops trusts by default.
    assert sio.get_untrusted_types(file=path) == [_name(AutoencoderTransformer)]
    loaded = sio.load(path, trusted=[_name(AutoencoderTransformer)])
    np.testing.assert_array_equal(loaded.transform(X), pipeline.transform(X))
    assert list(loaded.transform(X).columns) == list(pipeline.transform(X).columns)


def test_unfitted_estimators_dump_their_parameters(make_estimator):
    estimator = make_estimator(latent_dim=3, optimizer__beta_1=0.8)
    data = sio.dumps(estimator)
    assert sio.get_untrusted_types(data=data) == [_name(AutoencoderTransformer)]
    loaded = sio.loads(data, trusted=[_name(AutoencoderTransformer)])
    assert loaded.get_params() == estimator.get_params()


def test_the_model_file_inside_is_validated_as_skae_load_does(make_estimator, digits, monkeypatch):
    X, _ = digits
    estimator = make_estimator().fit(X[:100])
    state = estimator.__getstate__()
    monkeypatch.setattr(
        type(estimator),
        "__getstate__",
        lambda self: {**state, "_skae_model_file": state["_skae_model_file"][:-100]},
    )
    data = sio.dumps(estimator)
    monkeypatch.undo()
    with pytest.raises(ModelFileError, match="pickled AutoencoderTransformer: it is not"):
        sio.loads(data, trusted=[_name(AutoencoderTransformer)])


def test_mlflow_saves_with_skops_by_default(make_estimator, digits, tmp_path):
    mlflow = pytest.importorskip(
        "mlflow.sklearn", reason="MLflow is optional: pip install mlflow-skinny to run this test"
    )
    pyfunc = pytest.importorskip("mlflow.pyfunc")
    X, _ = digits
    detector = make_estimator(AutoencoderOutlierDetector).fit(X)
    path = tmp_path / "detector"
    # pip_requirements given: inferring them would start another Python (~15 s).
    mlflow.save_model(
        detector,
        path,
        skops_trusted_types=[_name(AutoencoderOutlierDetector)],
        pip_requirements=["skae"],
    )
    assert "serialization_format: skops" in (path / "MLmodel").read_text()
    _assert_same_outputs(mlflow.load_model(path), detector, X)
    np.testing.assert_array_equal(pyfunc.load_model(path).predict(X), detector.predict(X))
