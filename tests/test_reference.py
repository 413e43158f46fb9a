"""Outputs bit-identical to the reference, and the reference's model files load.

The reference (``tests/reference/``) was made by ``make_reference.py`` on the
flat layout (commit d0feb95), before the package was split into wings: a
refit with the same int ``random_state`` must give the same bits, and the
model files and pickle written then must load and give the same outputs.
"""

import importlib.util
import pickle
from pathlib import Path

import numpy as np
import pytest

import skae

REFERENCE = Path(__file__).parent / "reference"


def _reference_module():
    spec = importlib.util.spec_from_file_location("make_reference", REFERENCE / "make_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_reference = _reference_module()
FITS = make_reference.fits()
EXPECTED = dict(np.load(REFERENCE / "outputs.npz"))


def _check(name, estimator, X, methods):
    found = make_reference.outputs(estimator, X, methods)
    for method, value in found.items():
        expected = EXPECTED[f"{name}.{method}"]
        assert value.dtype == expected.dtype, (name, method)
        assert np.array_equal(value, expected), (name, method)


@pytest.mark.parametrize("name", sorted(FITS))
def test_refit_is_bit_identical(name):
    estimator, X, methods = FITS[name]
    _check(name, estimator.fit(X), X, methods)


@pytest.mark.parametrize("name", sorted(FITS))
def test_model_file_of_flat_layout_loads(name):
    _, X, methods = FITS[name]
    _check(name, skae.load(REFERENCE / f"{name}.skae"), X, methods)


def test_pickle_of_flat_layout_loads():
    # The pickle names skae._outlier.AutoencoderOutlierDetector, the old path.
    _, X, methods = FITS["detector"]
    estimator = pickle.loads((REFERENCE / "detector.pkl").read_bytes())
    assert type(estimator) is skae.AutoencoderOutlierDetector
    _check("detector", estimator, X, methods)
