"""Output containers: reconstructions follow set_output, for pandas and polars alike."""

import numpy as np
import pandas as pd
import pytest

from skae import AutoencoderOutlierDetector, AutoencoderTransformer, DenoisingAutoencoder

pl = pytest.importorskip("polars", reason="polars is in the tests extra; absent, nothing to test")

X = np.random.RandomState(0).normal(size=(60, 4))
FRAME = pd.DataFrame(X, columns=list("abcd"), index=range(100, 160))


@pytest.fixture(scope="module")
def fitted():
    return AutoencoderTransformer(latent_dim=2, epochs=2, random_state=0).fit(FRAME)


def test_reconstructions_keep_the_input_container_by_default(fitted):
    assert isinstance(fitted.predict(X), np.ndarray)
    frame = fitted.predict(FRAME)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list("abcd")
    assert frame.index[0] == 100
    polars_out = fitted.predict(pl.DataFrame(FRAME))
    assert isinstance(polars_out, pl.DataFrame) and polars_out.columns == list("abcd")


@pytest.mark.parametrize("container, kind", [("pandas", pd.DataFrame), ("polars", pl.DataFrame)])
def test_set_output_decides_for_every_input(container, kind):
    estimator = AutoencoderTransformer(latent_dim=2, epochs=2, random_state=0).fit(FRAME)
    estimator.set_output(transform=container)
    for rows in (X, FRAME, pl.DataFrame(FRAME)):
        assert isinstance(estimator.predict(rows), kind)
        assert isinstance(estimator.transform(rows), kind)


def test_per_feature_errors_and_corruption_follow_the_same_rule():
    detector = AutoencoderOutlierDetector(epochs=2, random_state=0).fit(FRAME)
    assert isinstance(
        detector.reconstruction_error(pl.DataFrame(FRAME), per_feature=True), pl.DataFrame
    )
    assert isinstance(detector.reconstruction_error(X, per_feature=True), np.ndarray)
    denoiser = DenoisingAutoencoder(noise_level=0.1).set_output(transform="polars")
    assert isinstance(denoiser.corrupt(X), pl.DataFrame)  # before fit, too
