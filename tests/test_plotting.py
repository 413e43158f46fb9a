"""skae.plotting: what each function draws, what it returns, and its errors.

The checks read the artists back (axes, images, labels, legend entries, bars),
never pixels. Figures are drawn with the Agg backend and closed after each test.
"""

import importlib
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip(
    "matplotlib", reason="skae.plotting is an optional extra that needs matplotlib"
)
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure, SubFigure  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

from skae import (  # noqa: E402
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    DenoisingAutoencoder,
    VariationalAutoencoder,
    plotting,
)
from skae.plotting import (  # noqa: E402
    plot_code,
    plot_history,
    plot_latent_grid,
    plot_latent_space,
    plot_reconstructions,
)

IMAGE_SHAPE = (8, 8)
N_CLASSES = 10  # digits 0..9 all occur in the first 400 rows


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def ae2(make_estimator, digits):
    """A 2-D code, for the latent grid and an unprojected scatter."""
    return make_estimator(AutoencoderTransformer, latent_dim=2).fit(digits[0])


@pytest.fixture(scope="module")
def ae4(make_estimator, digits):
    """A 4-D code, trained with a validation split so val_loss is recorded."""
    return make_estimator(AutoencoderTransformer, latent_dim=4, early_stopping=True).fit(digits[0])


class PriorDecoder:
    """Duck-typed stand-in for a VariationalAutoencoder: latent_dim and a decoder."""

    latent_dim = 2

    def inverse_transform(self, Z):
        # Each image is filled with the first code, so tiles are easy to check.
        return np.repeat(np.asarray(Z)[:, :1], 64, axis=1)


# ---------------------------------------------------------------------------
# plot_reconstructions


@pytest.mark.parametrize("n_images", [1, 5])
def test_reconstructions_draws_originals_over_reconstructions(ae4, digits, n_images):
    fig = plot_reconstructions(ae4, digits[0], IMAGE_SHAPE, n_images=n_images)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2 * n_images
    assert all(len(ax.images) == 1 for ax in fig.axes)
    assert fig.axes[0].images[0].get_array().shape == IMAGE_SHAPE
    assert [fig.axes[i].get_ylabel() for i in (0, n_images)] == ["original", "reconstructed"]


def test_reconstructions_with_noisy_input_shows_denoised_row(make_estimator, digits):
    X = digits[0] / 16
    dae = make_estimator(DenoisingAutoencoder, latent_dim=4, noise_level=0.3, clip=(0, 1)).fit(X)
    noisy = dae.corrupt(X[:4], random_state=0)
    fig = plot_reconstructions(dae, X, IMAGE_SHAPE, n_images=4, X_noisy=noisy)
    assert len(fig.axes) == 12
    assert [fig.axes[i].get_ylabel() for i in (0, 4, 8)] == ["original", "noisy", "denoised"]
    np.testing.assert_allclose(
        fig.axes[8].images[0].get_array(), dae.predict(noisy)[0].reshape(IMAGE_SHAPE)
    )


def test_reconstructions_draw_into_a_given_subfigure(ae4, digits):
    top, bottom = plt.figure().subfigures(2, 1)
    returned = plot_reconstructions(ae4, digits[0], IMAGE_SHAPE, n_images=3, fig=bottom)
    assert returned is bottom and isinstance(returned, SubFigure)
    assert len(bottom.axes) == 6 and not top.axes


def test_reconstructions_refuse_an_outlier_detector(make_estimator, digits):
    detector = make_estimator(AutoencoderOutlierDetector, latent_dim=2).fit(digits[0])
    with pytest.raises(TypeError, match="predict returned shape"):
        plot_reconstructions(detector, digits[0], IMAGE_SHAPE)


def test_reconstructions_of_pca_go_through_inverse_transform(digits):
    X = digits[0]
    pca = PCA(2).fit(X)
    fig = plot_reconstructions(pca, X, IMAGE_SHAPE, n_images=2)
    np.testing.assert_allclose(
        fig.axes[2].images[0].get_array(),
        pca.inverse_transform(pca.transform(X[:1]))[0].reshape(8, 8),
    )


def test_reconstructions_refuse_an_estimator_that_cannot_reconstruct(digits):
    with pytest.raises(TypeError, match="neither predict nor transform"):
        plot_reconstructions(object(), digits[0], IMAGE_SHAPE)


def test_reconstructions_check_image_shape(ae4, digits):
    with pytest.raises(ValueError, match=r"holds 49 values per image"):
        plot_reconstructions(ae4, digits[0], (7, 7))


# ---------------------------------------------------------------------------
# plot_latent_space


@pytest.mark.parametrize(
    "fixture, method, xlabel",
    [
        ("ae2", "pca", "code 1"),
        ("ae4", "pca", "PC 1 of the codes"),
        ("ae4", "tsne", "t-SNE 1 of the codes"),
    ],
)
def test_latent_space_axes_say_what_is_shown(request, digits, fixture, method, xlabel):
    X, y = digits
    n = 120 if method == "tsne" else len(X)  # t-SNE is the slow one
    ax = plot_latent_space(
        request.getfixturevalue(fixture), X[:n], y[:n], method=method, random_state=0
    )
    assert isinstance(ax, Axes)
    assert ax.get_xlabel() == xlabel
    assert ax.get_ylabel() == xlabel.replace("1", "2")
    assert len(ax.collections[0].get_offsets()) == n
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [str(c) for c in range(10)]


def test_latent_space_takes_codes_and_a_given_ax():
    codes = np.random.RandomState(0).normal(size=(50, 2))
    _, ax = plt.subplots()
    assert plot_latent_space(codes, ax=ax) is ax
    assert ax.get_legend() is None and len(ax.figure.axes) == 1


def test_latent_space_colours_many_values_with_a_colour_bar():
    codes = np.random.RandomState(0).normal(size=(50, 3))
    ax = plot_latent_space(codes, y=np.linspace(0, 1, 50), random_state=0)
    assert ax.get_legend() is None
    assert len(ax.figure.axes) == 2  # the scatter and its colour bar


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((np.zeros((5, 1)),), {}, "at least 2 wide"),
        ((np.zeros((5, 3)),), {"method": "umap"}, "method must be"),
    ],
)
def test_latent_space_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_latent_space(*args, **kwargs)


def test_latent_space_needs_X_with_an_estimator(ae2):
    with pytest.raises(ValueError, match="needs X"):
        plot_latent_space(ae2)


# ---------------------------------------------------------------------------
# plot_code


@pytest.mark.parametrize("shape", [(64,), (1, 64)])
def test_code_draws_one_bar_per_unit(ae4, digits, shape):
    x = digits[0][0].reshape(shape)
    ax = plot_code(ae4, x)
    assert isinstance(ax, Axes)
    heights = [bar.get_height() for bar in ax.patches]
    np.testing.assert_allclose(heights, ae4.transform(x.reshape(1, -1))[0], rtol=1e-6)
    assert ax.get_xlabel() == "code unit"


def test_code_refuses_several_rows(ae4, digits):
    with pytest.raises(ValueError, match="one sample; got 2 rows"):
        plot_code(ae4, digits[0][:2])


# ---------------------------------------------------------------------------
# plot_history


def test_history_draws_loss_and_val_loss(ae4):
    ax = plot_history(ae4)
    assert ax.get_xlabel() == "epoch"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "training loss",
        "validation loss",
    ]
    for line, key in zip(ax.get_lines(), ["loss", "val_loss"], strict=True):
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, ae4.n_iter_ + 1))
        np.testing.assert_allclose(line.get_ydata(), ae4.history_[key])


def test_history_takes_a_dict_without_val_loss():
    _, ax = plt.subplots()
    assert plot_history({"loss": [3.0, 2.0, 1.0]}, ax=ax) is ax
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training loss"]


def test_history_errors():
    with pytest.raises(NotFittedError):
        plot_history(AutoencoderTransformer())
    with pytest.raises(ValueError, match="no 'loss' entry"):
        plot_history({"accuracy": [0.5]})


# ---------------------------------------------------------------------------
# plot_latent_grid


def test_latent_grid_spans_the_codes_of_X(ae2, digits):
    n = 4
    ax = plot_latent_grid(ae2, IMAGE_SHAPE, n=n, X=digits[0])
    assert isinstance(ax, Axes) and len(ax.images) == 1
    # n x n tiles of 8x8 pixels, each with a blank pixel around it
    assert ax.images[0].get_array().shape == (n * 10, n * 10)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("code 1", "code 2")
    # tile centres run from the 1st to the 99th percentile of each code
    low, high = np.percentile(ae2.transform(digits[0]), [1, 99], axis=0)
    half = (high - low) / (n - 1) / 2
    expected = (low[0] - half[0], high[0] + half[0], low[1] - half[1], high[1] + half[1])
    assert ax.images[0].get_extent() == pytest.approx(expected)


def test_latent_grid_spans_the_prior_without_X():
    ax = plot_latent_grid(PriorDecoder(), IMAGE_SHAPE, n=3, span=2.0)
    # codes -2, 0, 2 on each axis: tiles one unit wide either side of the ends
    assert ax.images[0].get_extent() == pytest.approx((-3, 3, -3, 3))
    mosaic = ax.images[0].get_array()
    # top-left tile decodes code 1 = -2, top-right code 1 = +2
    assert mosaic[1, 1] == pytest.approx(-2) and mosaic[1, -2] == pytest.approx(2)


def test_latent_grid_with_a_variational_autoencoder(make_estimator, digits):
    vae = make_estimator(VariationalAutoencoder, latent_dim=2).fit(digits[0])
    ax = plot_latent_grid(vae, IMAGE_SHAPE, n=3)
    assert ax.images[0].get_array().shape == (30, 30)


def test_latent_grid_needs_a_2d_code(ae4):
    with pytest.raises(ValueError, match="latent_dim=4"):
        plot_latent_grid(ae4, IMAGE_SHAPE)


def test_latent_grid_needs_inverse_transform():
    class NoDecoder:
        latent_dim = 2

    with pytest.raises(TypeError, match="no inverse_transform"):
        plot_latent_grid(NoDecoder(), IMAGE_SHAPE)


# ---------------------------------------------------------------------------
# matplotlib is optional


def test_module_imports_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    importlib.reload(plotting)  # no matplotlib import at module level


@pytest.mark.parametrize(
    "draw",
    [
        lambda ae2, X: plot_reconstructions(ae2, X, IMAGE_SHAPE),
        lambda ae2, X: plot_latent_space(ae2, X),
        lambda ae2, X: plot_code(ae2, X[0]),
        lambda ae2, X: plot_history(ae2),
        lambda ae2, X: plot_latent_grid(ae2, IMAGE_SHAPE, n=2),
    ],
    ids=["reconstructions", "latent_space", "code", "history", "latent_grid"],
)
def test_missing_matplotlib_says_how_to_install_it(monkeypatch, ae2, digits, draw):
    # None in sys.modules makes ``import matplotlib.pyplot`` raise ImportError.
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'skae\[examples\]'"):
        draw(ae2, digits[0])
