"""Keras model builders.

Pure Keras: nothing here knows about scikit-learn (skae's own layers and
losses are in skae/_nn/_layers.py). Each builder returns an
``(encoder, decoder)`` pair; :func:`assemble` chains them into the
autoencoder, with an optional layer in front (a denoiser's corruption) or
between (a variational autoencoder's sampling). The encoder and decoder are
nested in the autoencoder as layers named ``"encoder"`` and ``"decoder"``, so
training the autoencoder trains them, and a reloaded autoencoder hands them
back with their weights still shared (see :func:`split_autoencoder`).
"""

from numbers import Integral

import keras
from keras import layers


def _seed_stream(seed):
    """Yield a distinct seed per random layer, or ``None`` forever if unseeded."""
    index = 0
    while True:
        yield None if seed is None else seed + index
        index += 1


def _initializer(name, seed):
    """The named Keras initializer, seeded when it draws random numbers.

    Keras gives a random initializer made from its name alone a seed drawn
    from Python's global ``random``. Asking for the initializer with its seed
    in its config draws nothing, so a seeded fit never touches the global
    stream (undoing a draw afterwards would also undo another thread's draws
    made in between). Initializers that take no seed (``"zeros"``) draw
    nothing either and are made from their name.
    """
    if isinstance(name, str):
        try:
            return keras.initializers.get({"class_name": name, "config": {"seed": seed}})
        except (TypeError, ValueError):
            pass  # an initializer without a seed argument
    initializer = keras.initializers.get(name)
    config = initializer.get_config()
    if "seed" in config:
        initializer = type(initializer).from_config({**config, "seed": seed})
    return initializer


def _seeded_dense(kernel_initializer, activation, seeds):
    """A maker of Dense layers, each initialised with the next seed of ``seeds``."""

    def dense(units, name, activation=activation):
        initializer = _initializer(kernel_initializer, next(seeds))
        return layers.Dense(units, activation=activation, kernel_initializer=initializer, name=name)

    return dense


def _hidden_stack(x, sizes, prefix, dense, dropout=0.0, seeds=None):
    """``x`` through a layer of ``dense`` per size, each followed by dropout when > 0."""
    for i, units in enumerate(sizes):
        x = dense(units, f"{prefix}_hidden_{i}")(x)
        if dropout > 0:
            x = layers.Dropout(dropout, seed=next(seeds), name=f"{prefix}_dropout_{i}")(x)
    return x


def build_dense_autoencoder(
    n_features,
    latent_dim,
    *,
    hidden_layer_sizes=(128, 64),
    activation="relu",
    output_activation="linear",
    dropout=0.0,
    l1=0.0,
    kernel_initializer="glorot_uniform",
    code_width=None,
    seed=None,
):
    """Build a fully connected encoder and a decoder that mirrors it.

    Parameters
    ----------
    n_features : int
        Width of the input and of the reconstruction.
    latent_dim : int
        Width of the code.
    hidden_layer_sizes : sequence of int, default=(128, 64)
        Widths of the encoder's hidden layers; the decoder uses them reversed.
    activation : str, default="relu"
        Activation of the hidden layers. The code layer is linear.
    output_activation : str, default="linear"
        Activation of the reconstruction layer, e.g. ``"sigmoid"`` for data in [0, 1].
    dropout : float, default=0.0
        Dropout rate after each encoder hidden layer (active in training only).
    l1 : float, default=0.0
        L1 activity penalty on the code (a sparse autoencoder): adds
        ``l1 * mean over rows of sum(|code|)`` to the loss.
    kernel_initializer : str, default="glorot_uniform"
        Name of a Keras initializer for every dense kernel.
    code_width : int or None, default=None
        Width of the encoder's output, ``latent_dim`` when None; a variational
        autoencoder's encoder outputs ``2 * latent_dim`` values (means, then
        log-variances) for a :class:`Sampling` layer to turn into a code.
    seed : int or None, default=None
        Seeds every initializer and dropout layer, for reproducible models.

    Returns
    -------
    encoder, decoder : keras.Model
        Uncompiled models, named ``"encoder"`` and ``"decoder"``.
    """
    seeds = _seed_stream(seed)
    dense = _seeded_dense(kernel_initializer, activation, seeds)
    inputs = keras.Input((n_features,), name="input")
    x = _hidden_stack(inputs, hidden_layer_sizes, "encoder", dense, dropout, seeds)
    code = dense(code_width or latent_dim, "code", None)(x)
    encoder = keras.Model(inputs, _code(code, l1), name="encoder")

    latent = keras.Input((latent_dim,), name="latent")
    y = _hidden_stack(latent, reversed(hidden_layer_sizes), "decoder", dense)
    outputs = dense(n_features, "reconstruction", activation=output_activation)(y)
    return encoder, keras.Model(latent, outputs, name="decoder")


def build_pca_residual_autoencoder(
    components,
    mean,
    *,
    hidden_layer_sizes=(128, 64),
    activation="relu",
    output_activation="linear",
    dropout=0.0,
    l1=0.0,
    kernel_initializer="glorot_uniform",
    code_width=None,
    train_linear=True,
    seed=None,
):
    """Build an encoder and decoder that start as PCA and learn non-linear corrections.

    The code is PCA's score plus a correction from a dense network of the
    input, and the reconstruction is PCA's plus a correction from a dense
    network of the code::

        code = (x - mean) @ components.T + f(x)
        reconstruction = mean + code @ components + g(code)

    The linear maps start as PCA's; ``f`` and ``g`` end in layers initialised
    to zero, so the untrained autoencoder is PCA exactly, and training starts
    from PCA's error.

    Parameters
    ----------
    components : ndarray of shape (latent_dim, n_features)
        Principal axes, one per row (as ``PCA.components_``); rows of zeros
        pad a code wider than the data's rank.
    mean : ndarray of shape (n_features,)
        Mean of the training rows (as ``PCA.mean_``).
    hidden_layer_sizes, activation, output_activation, dropout, l1, kernel_initializer, seed
        As in :func:`build_dense_autoencoder`, for the corrections ``f``
        (``hidden_layer_sizes``) and ``g`` (reversed).
    code_width : None
        Must be None or ``latent_dim``: the code is PCA's.
    train_linear : bool, default=True
        Whether training may change the linear maps too (they start as PCA);
        False keeps them PCA's, so that the code stays PCA's score plus a
        correction.

    Returns
    -------
    encoder, decoder : keras.Model
        Uncompiled models, named ``"encoder"`` and ``"decoder"``.
    """
    latent_dim, n_features = components.shape
    if code_width not in (None, latent_dim):
        raise ValueError("A PCA-started code has latent_dim values per row.")
    seeds = _seed_stream(seed)
    dense = _seeded_dense(kernel_initializer, activation, seeds)

    def zero_dense(units, name):
        return layers.Dense(units, kernel_initializer="zeros", name=name)

    def fixed(units, kernel, bias, name):
        # Set right below: initialised with zeros, which draw no random numbers.
        layer = layers.Dense(units, trainable=train_linear, kernel_initializer="zeros", name=name)
        layer.build((None, kernel.shape[0]))
        layer.set_weights([kernel.astype("float32"), bias.astype("float32")])
        return layer

    inputs = keras.Input((n_features,), name="input")
    x = _hidden_stack(inputs, hidden_layer_sizes, "encoder", dense, dropout, seeds)
    correction = zero_dense(latent_dim, "code_correction")(x)
    scores = fixed(latent_dim, components.T, -mean @ components.T, "pca_scores")(inputs)
    code = layers.Add(name="code")([scores, correction])
    encoder = keras.Model(inputs, _code(code, l1), name="encoder")

    latent = keras.Input((latent_dim,), name="latent")
    y = _hidden_stack(latent, reversed(hidden_layer_sizes), "decoder", dense)
    correction = zero_dense(n_features, "reconstruction_correction")(y)
    linear = fixed(n_features, components, mean, "pca_reconstruction")(latent)
    outputs = layers.Add(name="reconstruction_sum")([linear, correction])
    outputs = layers.Activation(output_activation, name="reconstruction")(outputs)
    return encoder, keras.Model(latent, outputs, name="decoder")


def image_shape_3d(image_shape, n_features):
    """``image_shape`` as ``(height, width, channels)``, checked against the row width."""
    if image_shape is None:
        raise ValueError(
            "architecture='conv' needs image_shape=(height, width) or "
            "(height, width, channels), e.g. image_shape=(28, 28) for MNIST."
        )
    shape = tuple(image_shape) if len(image_shape) == 3 else (*tuple(image_shape), 1)
    if len(shape) != 3 or not all(isinstance(v, Integral) and v > 0 for v in shape):
        raise ValueError(f"image_shape must be 2 or 3 positive ints, got {image_shape!r}.")
    if shape[0] * shape[1] * shape[2] != n_features:
        raise ValueError(
            f"image_shape={image_shape!r} holds {shape[0] * shape[1] * shape[2]} values "
            f"per image, but X has {n_features} features. Images must arrive "
            "flattened, one row of height * width * channels values each."
        )
    return shape


def conv_grid(image_shape, n_blocks):
    """Height and width after ``n_blocks`` stride-2 "same" convolutions."""
    height, width = image_shape[:2]
    return -(-height // 2**n_blocks), -(-width // 2**n_blocks)


def build_conv_autoencoder(
    image_shape,
    latent_dim,
    *,
    filters=(32, 64),
    activation="relu",
    output_activation="linear",
    dropout=0.0,
    l1=0.0,
    kernel_initializer="glorot_uniform",
    code_width=None,
    seed=None,
):
    """Build a convolutional encoder and decoder for flattened images.

    The encoder reshapes each flat row to ``image_shape``, halves the grid with
    one stride-2 3x3 convolution per entry of ``filters``, and maps the result
    to a ``latent_dim`` code with a dense layer. The decoder mirrors it with a
    dense layer, stride-2 transposed convolutions, and a crop back to
    ``image_shape`` (so sizes that are not powers of two, such as 8x8 or
    28x28, work), then flattens again.

    Parameters
    ----------
    image_shape : tuple of int
        ``(height, width, channels)`` of one image.
    latent_dim : int
        Width of the code.
    filters : sequence of int, default=(32, 64)
        Channels of the encoder's convolution blocks; the decoder mirrors them.
    activation, output_activation, dropout, l1, kernel_initializer, code_width, seed
        As in :func:`build_dense_autoencoder` (dropout follows each convolution).

    Returns
    -------
    encoder, decoder : keras.Model
        Uncompiled models on flat rows of ``height * width * channels`` values.
    """
    height, width, channels = image_shape
    n_features = height * width * channels
    seeds = _seed_stream(seed)

    def conv(layer, units, name, activation=activation, strides=2):
        initializer = _initializer(kernel_initializer, next(seeds))
        return layer(
            units,
            3,
            strides=strides,
            padding="same",
            activation=activation,
            kernel_initializer=initializer,
            name=name,
        )

    inputs = keras.Input((n_features,), name="input")
    x = layers.Reshape(image_shape, name="to_image")(inputs)
    for i, units in enumerate(filters):
        x = conv(layers.Conv2D, units, f"encoder_conv_{i}")(x)
        if dropout > 0:
            x = layers.Dropout(dropout, seed=next(seeds), name=f"encoder_dropout_{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    code = layers.Dense(
        code_width or latent_dim,
        kernel_initializer=_initializer(kernel_initializer, next(seeds)),
        name="code",
    )(x)
    encoder = keras.Model(inputs, _code(code, l1), name="encoder")

    grid = conv_grid(image_shape, len(filters))
    latent = keras.Input((latent_dim,), name="latent")
    y = layers.Dense(
        grid[0] * grid[1] * filters[-1],
        activation=activation,
        kernel_initializer=_initializer(kernel_initializer, next(seeds)),
        name="decoder_dense",
    )(latent)
    y = layers.Reshape((*grid, filters[-1]), name="to_grid")(y)
    for i, units in enumerate(reversed(filters[:-1])):
        y = conv(layers.Conv2DTranspose, units, f"decoder_conv_{i}")(y)
    y = conv(layers.Conv2DTranspose, channels, "reconstruction", output_activation)(y)
    extra = (grid[0] * 2 ** len(filters) - height, grid[1] * 2 ** len(filters) - width)
    if any(extra):
        y = layers.Cropping2D(((0, extra[0]), (0, extra[1])), name="crop")(y)
    outputs = layers.Flatten(name="to_rows")(y)
    return encoder, keras.Model(latent, outputs, name="decoder")


def _code(code, l1):
    """The code, with its L1 activity penalty when ``l1 > 0``."""
    if l1 > 0:
        return layers.ActivityRegularization(l1=l1, name="code_l1")(code)
    return code


def assemble(encoder, decoder, *, before=None, between=None):
    """Chain ``before -> encoder -> between -> decoder`` into one autoencoder.

    Parameters
    ----------
    encoder, decoder : keras.Model
        From a builder of this module.
    before : keras.layers.Layer or None, default=None
        Applied to the input first, e.g. a training-only :class:`Corruption`
        (the encoder alone never sees it).
    between : keras.layers.Layer or None, default=None
        Applied to the encoder's output, e.g. a :class:`Sampling` layer.

    Returns
    -------
    autoencoder : keras.Model
        Uncompiled, sharing its layers with ``encoder`` and ``decoder``.
    """
    inputs = keras.Input(encoder.inputs[0].shape[1:], name="autoencoder_input")
    x = inputs if before is None else before(inputs)
    code = encoder(x)
    if between is not None:
        code = between(code)
    return keras.Model(inputs, decoder(code), name="autoencoder")


def split_autoencoder(autoencoder):
    """Return the ``(encoder, decoder)`` nested in an autoencoder built here.

    Works on a freshly built model and on one restored from a ``.keras``
    archive or a pickle, where the nested models keep sharing weights with
    the autoencoder.
    """
    return autoencoder.get_layer("encoder"), autoencoder.get_layer("decoder")
