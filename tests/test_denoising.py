"""DenoisingAutoencoder: corruption in training only, given pairs, scoring, images."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skae import DenoisingAutoencoder

# ---------------------------------------------------------------------------
# Quality


@pytest.mark.parametrize(
    "params",
    [{}, {"architecture": "conv", "image_shape": (8, 8), "filters": (16, 32)}],
    ids=["dense", "conv"],
)
def test_denoises_digits(digit_images, global_random_seed, params):
    X, noisy = digit_images
    dae = DenoisingAutoencoder(
        noise_level=0.5, clip=(0, 1), epochs=30, random_state=global_random_seed, **params
    ).fit(X[:1000])
    noisy_mse = np.mean((noisy[1000:] - X[1000:]) ** 2)
    denoised_mse = np.mean((dae.predict(noisy[1000:]) - X[1000:]) ** 2)
    assert denoised_mse <= 0.5 * noisy_mse
    assert dae.score(noisy[1000:], X_clean=X[1000:]) == pytest.approx(-denoised_mse)


def test_learns_from_given_pairs(digit_images, global_random_seed):
    X, noisy = digit_images
    dae = DenoisingAutoencoder(epochs=30, random_state=global_random_seed)
    dae.fit(noisy[:1000], X_clean=X[:1000])
    noisy_mse = np.mean((noisy[1000:] - X[1000:]) ** 2)
    assert -dae.score(noisy[1000:], X_clean=X[1000:]) <= 0.5 * noisy_mse


def test_partial_fit_learns_from_given_pairs(digit_images, global_random_seed):
    # One epoch per call, on the pairs, or (same seed, same steps) on the noisy rows alone.
    X, noisy = digit_images
    on_pairs = DenoisingAutoencoder(random_state=global_random_seed)
    on_noisy = DenoisingAutoencoder(random_state=global_random_seed)
    for _ in range(20):
        on_pairs.partial_fit(noisy[:1000], X_clean=X[:1000])
        on_noisy.partial_fit(noisy[:1000])
    noisy_mse = np.mean((noisy[1000:] - X[1000:]) ** 2)
    pairs_mse = -on_pairs.score(noisy[1000:], X_clean=X[1000:])
    assert pairs_mse <= 0.5 * noisy_mse
    assert pairs_mse <= 0.8 * -on_noisy.score(noisy[1000:], X_clean=X[1000:])


# ---------------------------------------------------------------------------
# Synthetic noise on X, none on given pairs


def _loss(dae, X, X_clean):
    """The training loss (mean squared error, scaling=None) of the current network on pairs."""
    return float(np.mean((dae.predict(X) - X_clean) ** 2))


def test_a_warm_started_fit_on_pairs_adds_no_noise(make_estimator, digit_images):
    # One full-batch step per fit: the loss logged for it is the loss of the
    # network as it was, on inputs corrupted by noise of 30 if the corruption
    # is on, on the given noisy rows as they are if it is off.
    X, noisy = (rows[:300] for rows in digit_images)
    dae = make_estimator(
        DenoisingAutoencoder,
        noise_level=30.0,
        warm_start=True,
        epochs=1,
        batch_size=len(X),
        shuffle=False,
        n_iter_no_change=None,
        lr_schedule=None,
        scaling=None,
    )
    dae.fit(X)  # a fresh fit on X corrupts it
    assert dae.history_["loss"][0] > 10 * _loss(dae, X, X)
    expected = _loss(dae, noisy, X)
    dae.fit(noisy, X_clean=X)  # warm-started on pairs: no noise of its own
    assert dae.history_["loss"][1] == pytest.approx(expected, rel=1e-4)
    dae.fit(X)  # on X alone again: corrupted again
    assert dae.history_["loss"][2] > 10 * _loss(dae, X, X)


def test_partial_fit_on_pairs_adds_no_noise(make_estimator, digit_images):
    # As above, one call at a time: pairs (the first call, which builds the
    # network), X alone, pairs again. Each full-batch epoch logs the loss of
    # the network as it was before the step.
    X, noisy = (rows[:300] for rows in digit_images)
    params = dict(noise_level=30.0, batch_size=len(X), shuffle=False, scaling=None, random_state=0)
    untrained = make_estimator(DenoisingAutoencoder, **params).initialize(noisy)
    dae = make_estimator(DenoisingAutoencoder, **params)
    dae.partial_fit(noisy, X_clean=X)
    assert dae.history_["loss"][0] == pytest.approx(_loss(untrained, noisy, X), rel=1e-4)
    dae.partial_fit(X)  # on X alone: corrupted
    assert dae.history_["loss"][1] > 10 * _loss(dae, X, X)
    expected = _loss(dae, noisy, X)
    dae.partial_fit(noisy, X_clean=X)  # on pairs again: no noise of its own
    assert dae.history_["loss"][2] == pytest.approx(expected, rel=1e-4)


def test_clean_data_given_as_y_is_deprecated_but_used(make_estimator, digit_images):
    X, noisy = (rows[:200] for rows in digit_images)
    expected = make_estimator(DenoisingAutoencoder).fit(noisy, X_clean=X).predict(noisy)
    with pytest.warns(FutureWarning, match="pass X_clean"):
        dae = make_estimator(DenoisingAutoencoder).fit(noisy, X)
    np.testing.assert_array_equal(dae.predict(noisy), expected)


def test_labels_from_a_pipeline_are_ignored(make_estimator, digit_images, digits):
    X = digit_images[0][:400]
    _, y = digits
    plain = make_estimator(DenoisingAutoencoder).fit(X)
    pipe = make_pipeline(make_estimator(DenoisingAutoencoder), LogisticRegression(max_iter=300))
    pipe.fit(X, y)
    np.testing.assert_array_equal(pipe[0].transform(X), plain.transform(X))
    assert pipe.predict(X[:5]).shape == (5,)


def test_clean_pairs_reach_the_denoiser_through_metadata_routing(make_estimator, digit_images):
    X, noisy = (rows[:200] for rows in digit_images)
    expected = make_estimator(DenoisingAutoencoder).fit(noisy, X_clean=X).predict(noisy)
    with sklearn.config_context(enable_metadata_routing=True):
        denoiser = make_estimator(DenoisingAutoencoder).set_fit_request(X_clean=True)
        pipe = make_pipeline(denoiser).fit(noisy, X_clean=X)
    np.testing.assert_array_equal(pipe.predict(noisy), expected)


# ---------------------------------------------------------------------------
# Corruption happens in training only


def test_inference_is_deterministic_and_uncorrupted(make_estimator, digit_images):
    X, _ = digit_images
    dae = make_estimator(DenoisingAutoencoder, noise_level=0.5).fit(X)
    np.testing.assert_array_equal(dae.predict(X[:50]), dae.predict(X[:50]))
    np.testing.assert_array_equal(dae.transform(X[:50]), dae.transform(X[:50]))
    np.testing.assert_allclose(
        dae.inverse_transform(dae.transform(X[:50])), dae.predict(X[:50]), rtol=1e-4, atol=1e-5
    )


def _masked_fraction(clean, noisy):
    return (noisy == 0)[clean > 0].mean()


def _flipped_fraction(clean, noisy):
    # A flip to the value a cell already had (0 or 1) does not show.
    unchanged_share = (clean == 0).mean() / 2 + (clean == 1).mean() / 2
    return (noisy != clean).mean() / (1 - unchanged_share)


@pytest.mark.parametrize(
    "noise, level, measure",
    [
        ("masking", 0.3, _masked_fraction),
        ("salt_and_pepper", 0.2, _flipped_fraction),
        ("gaussian", 0.3, lambda clean, noisy: np.std(noisy - clean)),
    ],
)
def test_each_noise_corrupts_what_it_says(make_estimator, digit_images, noise, level, measure):
    X, _ = digit_images
    dae = make_estimator(DenoisingAutoencoder, noise=noise, noise_level=level)
    noisy = dae.corrupt(X, random_state=0)  # before fit: needs no network
    assert noisy.shape == X.shape
    assert measure(X, noisy) == pytest.approx(level, rel=0.1)
    np.testing.assert_array_equal(noisy, dae.corrupt(X, random_state=0))
    assert not np.array_equal(noisy, dae.corrupt(X, random_state=1))


def test_clip_bounds_the_corrupted_values(make_estimator, digit_images):
    X, _ = digit_images
    dae = make_estimator(DenoisingAutoencoder, noise_level=0.5, clip=(0, 1))
    noisy = dae.fit(X).corrupt(X, random_state=0)
    assert noisy.min() == 0.0 and noisy.max() == 1.0


def test_noise_is_seeded_by_random_state(make_estimator, digit_images):
    X, _ = digit_images
    params = dict(noise="masking", noise_level=0.3, random_state=0)
    first = make_estimator(DenoisingAutoencoder, **params).fit(X).predict(X)
    second = make_estimator(DenoisingAutoencoder, **params).fit(X).predict(X)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"noise": "blur"}, "noise"),
        ({"noise": "masking", "noise_level": 1.5}, "at most 1"),
        ({"clip": (1, 0)}, "clip"),
        ({"noise_level": -0.1}, "noise_level"),
    ],
)
def test_invalid_noise_parameters(make_estimator, digit_images, params, match):
    X, _ = digit_images
    with pytest.raises(ValueError, match=match):
        make_estimator(DenoisingAutoencoder, **params).fit(X)


# ---------------------------------------------------------------------------
# pandas and scoring


def test_dataframe_keeps_columns(make_estimator, digit_images):
    X, noisy = digit_images
    columns = [f"px{i}" for i in range(64)]
    frame = pd.DataFrame(noisy[:100], columns=columns, index=np.arange(100) + 1000)
    dae = make_estimator(DenoisingAutoencoder).fit(pd.DataFrame(X, columns=columns))
    for output in (dae.predict(frame), dae.corrupt(frame)):
        assert isinstance(output, pd.DataFrame)
        assert list(output.columns) == columns and output.index.equals(frame.index)
    assert np.isfinite(dae.score(frame))


def test_score_without_pairs_corrupts_with_a_fixed_seed(make_estimator, digit_images):
    X, _ = digit_images
    dae = make_estimator(DenoisingAutoencoder).fit(X)
    noisy = dae.corrupt(X, random_state=0)
    expected = -np.mean((dae.predict(noisy) - X) ** 2)
    assert dae.score(X) == dae.score(X) == pytest.approx(expected)
