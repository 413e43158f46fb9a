"""Figures for fitted skae estimators: reconstructions, codes, training curves.

matplotlib is an optional dependency (``pip install 'skae[examples]'``): it is
imported when a function is called, so ``import skae.plotting`` works without
it. Every function draws into a given ``ax`` (or ``fig``) when there is one,
creates it otherwise, and returns what it drew on so it can be styled further.
(About 540 lines: independent public functions, each with its numpydoc
docstring; a module per figure would only scatter them.)
"""

from collections.abc import Mapping

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "plot_code",
    "plot_explanation",
    "plot_history",
    "plot_latent_grid",
    "plot_latent_space",
    "plot_reconstructions",
]

# Above this many distinct labels, ``y`` is drawn as a continuous colour scale.
_MAX_CLASSES = 20


def _pyplot():
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("skae.plotting needs matplotlib: pip install 'skae[examples]'") from error
    return plt


def _head(X, n):
    """The first ``n`` rows of an array or DataFrame, keeping its type."""
    return X.iloc[:n] if hasattr(X, "iloc") else np.asarray(X)[:n]


def _as_images(rows, image_shape):
    """Flat rows as images of ``image_shape``, without a trailing channel of 1."""
    rows = np.asarray(rows, dtype=float)
    if rows.shape[1] != np.prod(image_shape):
        raise ValueError(
            f"image_shape={tuple(image_shape)} holds {int(np.prod(image_shape))} values "
            f"per image, but the rows have {rows.shape[1]}."
        )
    images = rows.reshape(len(rows), *image_shape)
    return images[..., 0] if images.ndim == 4 and images.shape[-1] == 1 else images


def _reconstruct(estimator, X):
    """Reconstructions of ``X``, or a TypeError if the estimator cannot give them.

    ``predict`` for skae's autoencoders; ``inverse_transform(transform(X))``
    for estimators without ``predict``, such as PCA.
    """
    if hasattr(estimator, "predict"):
        method, reconstructed = "predict", estimator.predict(X)
    elif hasattr(estimator, "transform") and hasattr(estimator, "inverse_transform"):
        method = "inverse_transform(transform(X))"
        reconstructed = estimator.inverse_transform(estimator.transform(X))
    else:
        raise TypeError(
            f"{type(estimator).__name__} has neither predict nor transform and "
            "inverse_transform, so plot_reconstructions cannot reconstruct X."
        )
    reconstructed = np.asarray(reconstructed)
    if reconstructed.shape != np.shape(X):
        # e.g. AutoencoderOutlierDetector, whose predict returns -1/+1 labels.
        raise TypeError(
            f"{type(estimator).__name__}.{method} returned shape {reconstructed.shape} "
            f"for X of shape {np.shape(X)}; plot_reconstructions needs reconstructions "
            "of the same shape, as from AutoencoderTransformer, DenoisingAutoencoder "
            "or VariationalAutoencoder."
        )
    return reconstructed


def plot_reconstructions(
    estimator, X, image_shape, n_images=10, X_noisy=None, *, fig=None, cmap="gray_r"
):
    """Show images over their reconstructions, one row per kind.

    Rows: the originals and ``estimator.predict(X)``; or, with ``X_noisy``,
    the originals, the noisy images and ``estimator.predict(X_noisy)`` (what a
    :class:`~skae.DenoisingAutoencoder` makes of them). All rows share the
    originals' grey scale, so a faded reconstruction looks faded.

    Parameters
    ----------
    estimator : fitted estimator
        Any estimator whose ``predict`` returns rows of ``X``'s shape, such as
        :class:`~skae.AutoencoderTransformer`; or one without ``predict``
        that has ``transform`` and ``inverse_transform``, such as
        :class:`~sklearn.decomposition.PCA`, whose reconstructions are
        ``inverse_transform(transform(X))``.
    X : array-like of shape (n_samples, n_features)
        Images flattened to rows, as the estimator was fitted on.
    image_shape : tuple of int
        ``(height, width)`` or ``(height, width, channels)`` of one image.
    n_images : int, default=10
        Number of images (columns) to show, from the first rows of ``X``.
    X_noisy : array-like of shape (n_samples, n_features), default=None
        Corrupted versions of ``X`` to denoise.
    fig : matplotlib Figure or SubFigure, default=None
        Where to draw; a new figure when None. Pass subfigures to stack the
        reconstructions of several estimators.
    cmap : str, default="gray_r"
        Colormap of single-channel images.

    Returns
    -------
    fig : matplotlib Figure or SubFigure
        The figure; ``fig.axes`` holds one Axes per image, row by row, and the
        first Axes of each row names it on its y axis.

    Raises
    ------
    TypeError
        If the estimator cannot reconstruct ``X``: ``predict`` returns
        something else (:class:`~skae.AutoencoderOutlierDetector` returns
        labels), or there is neither ``predict`` nor ``transform`` and
        ``inverse_transform``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import plot_reconstructions
    >>> X = load_digits().data[:200]
    >>> ae = AutoencoderTransformer(latent_dim=4, epochs=2, random_state=0).fit(X)
    >>> fig = plot_reconstructions(ae, X, image_shape=(8, 8), n_images=5)
    >>> len(fig.axes), fig.axes[5].get_ylabel()
    (10, 'reconstructed')
    """
    originals = _head(X, n_images)
    if X_noisy is None:
        rows = {"original": originals, "reconstructed": _reconstruct(estimator, originals)}
    else:
        noisy = _head(X_noisy, n_images)
        rows = {
            "original": originals,
            "noisy": noisy,
            "denoised": _reconstruct(estimator, noisy),
        }
    rows = {name: _as_images(values, image_shape) for name, values in rows.items()}
    n_columns = len(rows["original"])
    if fig is None:
        fig = _pyplot().figure(
            figsize=(0.9 * n_columns + 1, 0.9 * len(rows) + 0.3), layout="constrained"
        )
    axes = fig.subplots(len(rows), n_columns, squeeze=False)
    scale = dict(vmin=rows["original"].min(), vmax=rows["original"].max())
    for row_axes, (name, images) in zip(axes, rows.items(), strict=True):
        for ax, image in zip(row_axes, images, strict=True):
            ax.imshow(image, cmap=cmap, **scale)
            ax.set_xticks([])
            ax.set_yticks([])
        row_axes[0].set_ylabel(name, rotation=0, ha="right", va="center")
    return fig


def _projection(codes, method, random_state):
    """2-D view of the codes and the names of its axes."""
    if codes.shape[1] == 2:
        return codes, ("code 1", "code 2")
    if method == "pca":
        reducer, name = PCA(n_components=2, random_state=random_state), "PC"
    elif method == "tsne":
        reducer, name = TSNE(n_components=2, init="pca", random_state=random_state), "t-SNE"
    else:
        raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}.")
    return reducer.fit_transform(codes), (f"{name} 1 of the codes", f"{name} 2 of the codes")


def plot_latent_space(
    estimator_or_codes,
    X=None,
    y=None,
    *,
    method="pca",
    ax=None,
    random_state=None,
    **scatter_kwargs,
):
    """Scatter the codes of ``X`` in 2-D, coloured by ``y``.

    Codes two wide are drawn as they are; wider codes are projected on their
    first two principal components (``method="pca"``) or embedded with
    :class:`~sklearn.manifold.TSNE` (``method="tsne"``, slower, keeps
    neighbourhoods rather than distances). The axis labels say which.

    Parameters
    ----------
    estimator_or_codes : fitted estimator or array-like of shape (n_samples, n_codes)
        An estimator with ``transform`` (its codes of ``X`` are drawn), or the
        codes themselves.
    X : array-like of shape (n_samples, n_features), default=None
        Data to encode; required with an estimator, ignored with codes.
    y : array-like of shape (n_samples,), default=None
        Labels or values to colour the points by. Up to 20 distinct labels get
        one colour and legend entry each; more get a colour bar.
    method : {"pca", "tsne"}, default="pca"
        Projection of codes wider than 2.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    random_state : int, RandomState instance or None, default=None
        Seed of the projection.
    **scatter_kwargs
        Passed to :meth:`matplotlib.axes.Axes.scatter` (e.g. ``s``, ``alpha``).

    Returns
    -------
    ax : matplotlib Axes
        The Axes with the scatter.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import plot_latent_space
    >>> X, y = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(latent_dim=8, epochs=2, random_state=0).fit(X[:200])
    >>> ax = plot_latent_space(ae, X[:200], y[:200], random_state=0)
    >>> ax.get_xlabel(), len(ax.get_legend().get_texts())
    ('PC 1 of the codes', 10)
    """
    if hasattr(estimator_or_codes, "transform"):
        if X is None:
            raise ValueError("plot_latent_space needs X to encode with the estimator.")
        codes = estimator_or_codes.transform(X)
    else:
        codes = estimator_or_codes
    codes = np.asarray(codes, dtype=float)
    if codes.ndim != 2 or codes.shape[1] < 2:
        raise ValueError(f"plot_latent_space needs codes at least 2 wide, got shape {codes.shape}.")
    points, (xlabel, ylabel) = _projection(codes, method, random_state)
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(6, 5), layout="constrained")
    _scatter_by_label(ax, points, y, scatter_kwargs)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def _scatter_by_label(ax, points, y, scatter_kwargs):
    """Scatter ``points`` with a legend for few labels, a colour bar for many."""
    kwargs = {"s": 8, **scatter_kwargs}
    if y is None:
        ax.scatter(points[:, 0], points[:, 1], **kwargs)
        return
    classes, index = np.unique(np.asarray(y), return_inverse=True)
    if len(classes) > _MAX_CLASSES:
        collection = ax.scatter(points[:, 0], points[:, 1], c=y, **kwargs)
        ax.figure.colorbar(collection, ax=ax)
        return
    cmap = "tab10" if len(classes) <= 10 else "tab20"
    collection = ax.scatter(
        points[:, 0],
        points[:, 1],
        c=index,
        cmap=cmap,
        vmin=-0.5,
        vmax=len(classes) - 0.5,
        **kwargs,
    )
    handles, _ = collection.legend_elements(num=list(range(len(classes))))
    ax.legend(
        handles, [str(label) for label in classes], title="label", loc="best", fontsize="small"
    )


def plot_code(estimator, x, *, ax=None, **bar_kwargs):
    """Bar chart of one sample's code.

    Parameters
    ----------
    estimator : fitted estimator
        An estimator with ``transform``, such as
        :class:`~skae.AutoencoderTransformer`.
    x : array-like of shape (n_features,) or (1, n_features)
        One sample (a pandas Series or one-row DataFrame works too).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    **bar_kwargs
        Passed to :meth:`matplotlib.axes.Axes.bar`.

    Returns
    -------
    ax : matplotlib Axes
        The Axes with one bar per code unit, numbered from 1.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import plot_code
    >>> X = load_digits().data[:200]
    >>> ae = AutoencoderTransformer(latent_dim=6, epochs=2, random_state=0).fit(X)
    >>> ax = plot_code(ae, X[0])
    >>> len(ax.patches), ax.get_xlabel()
    (6, 'code unit')
    """
    if hasattr(x, "to_frame"):  # a pandas Series: one row with its column names
        row = x.to_frame().T
    elif hasattr(x, "iloc"):
        row = x
    else:
        row = np.asarray(x).reshape(1, -1) if np.ndim(x) == 1 else np.asarray(x)
    if np.shape(row)[0] != 1:
        raise ValueError(f"plot_code draws one sample; got {np.shape(row)[0]} rows.")
    code = np.asarray(estimator.transform(row))[0]
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(max(4, 0.4 * len(code) + 2), 3), layout="constrained")
    units = np.arange(1, len(code) + 1)
    ax.bar(units, code, **bar_kwargs)
    ax.axhline(0, color="k", linewidth=0.8)
    ax.set_xticks(units)
    ax.set_xlabel("code unit")
    ax.set_ylabel("value")
    return ax


def plot_history(estimator, *, ax=None):
    """Training (and validation) loss per epoch.

    Parameters
    ----------
    estimator : fitted estimator or dict
        A fitted skae estimator, whose ``history_`` maps ``"loss"`` (and
        ``"val_loss"`` with ``early_stopping=True``) to one value per epoch;
        or such a dict itself (e.g. a Keras ``History.history``).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.

    Returns
    -------
    ax : matplotlib Axes
        The Axes with one line per loss and a legend.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import plot_history
    >>> X = load_digits().data[:200]
    >>> ae = AutoencoderTransformer(epochs=3, early_stopping=True, random_state=0).fit(X)
    >>> ax = plot_history(ae)
    >>> [text.get_text() for text in ax.get_legend().get_texts()]
    ['training loss', 'validation loss']
    """
    if isinstance(estimator, Mapping):
        history = estimator
    else:
        check_is_fitted(estimator, "history_")
        history = estimator.history_
    if "loss" not in history:
        raise ValueError(f"The history has no 'loss' entry; it has {sorted(history)}.")
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(6, 3.5), layout="constrained")
    for key, label in [("loss", "training loss"), ("val_loss", "validation loss")]:
        if key in history:
            values = history[key]
            ax.plot(np.arange(1, len(values) + 1), values, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    return ax


def _grid_axes(estimator, X, n, span):
    """Code values along each grid axis: the codes' range, or [-span, span]."""
    if X is None:
        # A variational autoencoder's prior is a standard normal: +-3 covers it.
        return np.linspace(-span, span, n), np.linspace(-span, span, n)
    codes = np.asarray(estimator.transform(X), dtype=float)
    # Percentiles rather than min and max: a few stray codes would otherwise
    # stretch the grid over empty space, where the decoder only extrapolates.
    low, high = np.percentile(codes, [1, 99], axis=0)
    return np.linspace(low[0], high[0], n), np.linspace(low[1], high[1], n)


def plot_latent_grid(estimator, image_shape, n=15, span=3.0, *, X=None, ax=None, cmap="gray_r"):
    """Images decoded from a regular grid of 2-D codes: the learned manifold.

    Each tile is ``estimator.inverse_transform`` of the code at its centre,
    and the axes are in code units, so the figure reads like a map of the
    latent space (compare it with :func:`plot_latent_space` on the same axes).

    Parameters
    ----------
    estimator : fitted estimator
        An estimator with ``latent_dim == 2`` and ``inverse_transform``, such as
        :class:`~skae.AutoencoderTransformer` or
        :class:`~skae.VariationalAutoencoder`.
    image_shape : tuple of int
        ``(height, width)`` or ``(height, width, channels)`` of one image.
    n : int, default=15
        Number of codes along each axis (``n * n`` images).
    span : float, default=3.0
        Without ``X``, the grid spans ``[-span, span]`` on both axes: for a
        variational autoencoder, whose prior is a standard normal, the
        default covers 99.7% of it.
    X : array-like of shape (n_samples, n_features), default=None
        Data whose codes set the grid's range instead (their 1st to 99th
        percentile on each axis), and whose values set the grey scale. Pass it
        for a plain autoencoder, whose codes can lie anywhere.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    cmap : str, default="gray_r"
        Colormap of single-channel images.

    Returns
    -------
    ax : matplotlib Axes
        The Axes with one mosaic image of ``n * n`` tiles, each image with a
        blank pixel around it; its x and y axes are codes 1 and 2.

    Raises
    ------
    ValueError
        If ``estimator.latent_dim`` is not 2.
    TypeError
        If the estimator has no ``inverse_transform``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import plot_latent_grid
    >>> X = load_digits().data[:200]
    >>> ae = AutoencoderTransformer(latent_dim=2, epochs=2, random_state=0).fit(X)
    >>> ax = plot_latent_grid(ae, image_shape=(8, 8), n=5, X=X)
    >>> ax.images[0].get_array().shape, ax.get_xlabel()
    ((50, 50), 'code 1')
    """
    latent_dim = getattr(estimator, "latent_dim", None)
    if latent_dim != 2:
        raise ValueError(
            f"plot_latent_grid needs a 2-D code, but latent_dim={latent_dim!r}; "
            "fit the estimator with latent_dim=2, or use plot_latent_space."
        )
    if not hasattr(estimator, "inverse_transform"):
        raise TypeError(
            f"{type(estimator).__name__} has no inverse_transform to decode codes with."
        )
    xs, ys = _grid_axes(estimator, X, n, span)
    # Top row of tiles is the largest code 2, as on a y axis that points up.
    grid_x, grid_y = np.meshgrid(xs, ys[::-1])
    codes = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    tiles = _as_images(estimator.inverse_transform(codes), image_shape)
    tiles = tiles.reshape(*tiles.shape[:3], -1)
    rgb = tiles.shape[-1] > 1
    # A blank pixel around each tile, so that digits drawn to the edge of
    # their image do not run into their neighbours (NaN shows as background).
    tiles = np.pad(tiles, [(0, 0), (1, 1), (1, 1), (0, 0)], constant_values=1.0 if rgb else np.nan)
    height, width = tiles.shape[1:3]
    mosaic = (
        tiles.reshape(n, n, height, width, -1)
        .transpose(0, 2, 1, 3, 4)
        .reshape(n * height, n * width, -1)
    )
    mosaic = np.clip(mosaic, 0, 1) if rgb else mosaic[..., 0]
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(7, 7), layout="constrained")
    dx = (xs[-1] - xs[0]) / max(n - 1, 1) or 1.0
    dy = (ys[-1] - ys[0]) / max(n - 1, 1) or 1.0
    extent = (xs[0] - dx / 2, xs[-1] + dx / 2, ys[0] - dy / 2, ys[-1] + dy / 2)
    # The data's range as grey scale, so that decoded background looks blank.
    scale = {} if X is None else dict(vmin=np.min(X), vmax=np.max(X))
    # Keep tiles at the images' own proportions whatever the two code ranges.
    aspect = dx * height / (dy * width)
    ax.imshow(mosaic, cmap=cmap, extent=extent, aspect=aspect, **scale)
    ax.set_xlabel("code 1")
    ax.set_ylabel("code 2")
    return ax


def plot_explanation(explanation, *, ax=None, cmap="Reds"):
    """Draw :meth:`~skae.AutoencoderOutlierDetector.explain`'s table.

    One row: a horizontal bar per column, the largest contribution on top,
    labelled with the row's value and the expected one. Several rows: a heat
    map, rows by columns (the columns any row ranks), blank where a column
    is not among a row's top ones.

    Parameters
    ----------
    explanation : pandas.DataFrame
        The output of ``detector.explain(X, top_k=...)``.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    cmap : str, default="Reds"
        Colour map of the heat map.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from skae import AutoencoderOutlierDetector
    >>> from skae.plotting import plot_explanation
    >>> X = np.random.RandomState(0).normal(size=(200, 4))
    >>> detector = AutoencoderOutlierDetector(epochs=5, random_state=0).fit(X)
    >>> ax = plot_explanation(detector.explain(X[:1], top_k=4))
    >>> len(ax.patches)
    4
    """
    plt = _pyplot()
    required = {"row", "rank", "column", "contribution", "value", "expected"}
    if not required <= set(getattr(explanation, "columns", ())):
        raise TypeError("plot_explanation takes the DataFrame that explain() returns.")
    if ax is None:
        _, ax = plt.subplots(layout="constrained")
    if explanation["row"].nunique() == 1:
        ordered = explanation.sort_values("rank", ascending=False)
        labels = [
            f"{c} = {v:.3g} (expected {e:.3g})"
            for c, v, e in zip(
                ordered["column"], ordered["value"], ordered["expected"], strict=True
            )
        ]
        ax.barh(labels, ordered["contribution"])
        ax.set_xlabel("contribution to the anomaly")
        ax.set_title(f"row {explanation['row'].iloc[0]}")
        return ax
    table = explanation.pivot_table(
        index="row", columns="column", values="contribution", aggfunc="first", sort=False
    )
    image = ax.imshow(table.to_numpy(dtype=float), aspect="auto", cmap=cmap)
    ax.set_xticks(range(table.shape[1]), table.columns, rotation=45, ha="right")
    ax.set_yticks(range(table.shape[0]), table.index)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.figure.colorbar(image, ax=ax, label="contribution to the anomaly")
    return ax
