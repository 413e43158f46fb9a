"""Outputs bit-identical to the reference, and the reference's model files load.

The reference (``tests/reference/``) was made by ``make_reference.py`` on the
flat layout (commit d0feb95), before the package was split into wings: a
refit with the same int ``random_state`` must give the same bits, and the
model files and pickle written then must load and give the same outputs.

Except the outlier detector: its design changed (issue 23: cross-fitted
classical and autoencoder terms), so its refit gives other outputs, and its
old model file and pickle are refused with a ModelFileError that says so.
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


# The detector of the reference is of the previous design (see the docstring).
SAME_DESIGN = sorted(name for name in FITS if name != "detector")


@pytest.mark.parametrize("name", SAME_DESIGN)
def test_refit_is_bit_identical(name):
    estimator, X, methods = FITS[name]
    _check(name, estimator.fit(X), X, methods)


@pytest.mark.parametrize("name", SAME_DESIGN)
def test_model_file_of_flat_layout_loads(name):
    _, X, methods = FITS[name]
    _check(name, skae.load(REFERENCE / f"{name}.skae"), X, methods)


def test_detector_files_of_the_previous_design_are_refused_with_a_clear_error():
    # The pickle names skae._outlier.AutoencoderOutlierDetector, the old path.
    pickled = (REFERENCE / "detector.pkl").read_bytes()
    for load in (lambda: skae.load(REFERENCE / "detector.skae"), lambda: pickle.loads(pickled)):
        with pytest.raises(skae.ModelFileError, match="design and model file format have changed"):
            load()
