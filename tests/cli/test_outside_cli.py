"""Estimator-side fixes that the command line needs (issue 28), through the public API.

The code they guard lives outside ``skae/cli/`` (the batch size in the
estimators' fit, the model file's version check and load errors).
"""

import errno
import tempfile
import time

import numpy as np
import pytest

import skae
import skae._version

X = np.random.RandomState(0).normal(size=(60, 4))
ESTIMATORS = [
    skae.AutoencoderTransformer,
    skae.VariationalAutoencoder,
    skae.AutoencoderOutlierDetector,
]


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_an_absurd_batch_size_is_bounded_by_the_rows(estimator):
    # 2**62 used to train forever (transformer, VAE) or fail in TensorFlow (detector).
    start = time.perf_counter()
    # latent_dim=2: X has 4 columns, and a code wider than the input is refused.
    model = estimator(latent_dim=2, batch_size=2**62, epochs=2, random_state=0).fit(X)
    assert time.perf_counter() - start < 60
    assert np.isfinite(model.history_["loss"]).all()


def saved_with_version(version, tmp_path, monkeypatch):
    """A model file whose header says it was written by skae ``version``."""
    model = skae.AutoencoderTransformer(latent_dim=2, epochs=1, random_state=0).fit(X)
    with monkeypatch.context() as patch:
        # The writer reads the version from skae._version, where skae.__version__ comes from.
        patch.setattr(skae._version, "__version__", version)
        return model.save(tmp_path / f"{version}.skae")


def test_a_release_candidate_of_this_version_is_not_newer(tmp_path, monkeypatch):
    path = saved_with_version(f"{skae.__version__}rc1", tmp_path, monkeypatch)
    with pytest.warns(skae.InconsistentVersionWarning):
        assert isinstance(skae.load(path), skae.AutoencoderTransformer)
    newer = saved_with_version("99.0.0rc1", tmp_path, monkeypatch)
    with pytest.raises(skae.ModelFileError, match="newer than the installed skae"):
        skae.load(newer)


def test_a_full_temporary_folder_is_reported_as_such_not_as_a_damaged_file(tmp_path, monkeypatch):
    path = saved_with_version(skae.__version__, tmp_path, monkeypatch)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkdtemp", full)
    with pytest.raises(OSError, match="No space left on device") as caught:
        skae.load(path)
    assert not isinstance(caught.value, skae.ModelFileError)
