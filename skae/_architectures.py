"""Keras model builders.

Pure Keras: nothing here knows about scikit-learn. Each builder returns
``(autoencoder, encoder, decoder)`` made from shared layers, so training the
autoencoder trains the encoder and decoder too. The encoder and decoder are
nested in the autoencoder as layers named ``"encoder"`` and ``"decoder"``,
which lets a reloaded autoencoder hand them back with their weights still
shared (see :func:`split_autoencoder`).
"""

import keras
from keras import layers


def _seed_stream(seed):
    """Yield a distinct seed per random layer, or ``None`` forever if unseeded."""
    index = 0
    while True:
        yield None if seed is None else seed + index
        index += 1


def _initializer(name, seed):
    """The named Keras initializer, seeded when it draws random numbers."""
    initializer = keras.initializers.get(name)
    config = initializer.get_config()
    if "seed" in config:
        initializer = type(initializer).from_config({**config, "seed": seed})
    return initializer


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
    seed=None,
):
    """Build a fully connected autoencoder whose decoder mirrors its encoder.

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
    seed : int or None, default=None
        Seeds every initializer and dropout layer, for reproducible models.

    Returns
    -------
    autoencoder, encoder, decoder : keras.Model
        Uncompiled models sharing their layers.
    """
    seeds = _seed_stream(seed)

    def dense(units, name, activation=activation):
        initializer = _initializer(kernel_initializer, next(seeds))
        return layers.Dense(
            units, activation=activation, kernel_initializer=initializer, name=name
        )

    inputs = keras.Input((n_features,), name="input")
    x = inputs
    for i, units in enumerate(hidden_layer_sizes):
        x = dense(units, f"encoder_hidden_{i}")(x)
        if dropout > 0:
            x = layers.Dropout(dropout, seed=next(seeds), name=f"encoder_dropout_{i}")(x)
    code = dense(latent_dim, "code", activation=None)(x)
    if l1 > 0:
        code = layers.ActivityRegularization(l1=l1, name="code_l1")(code)
    encoder = keras.Model(inputs, code, name="encoder")

    latent = keras.Input((latent_dim,), name="latent")
    y = latent
    for i, units in enumerate(reversed(hidden_layer_sizes)):
        y = dense(units, f"decoder_hidden_{i}")(y)
    outputs = dense(n_features, "reconstruction", activation=output_activation)(y)
    decoder = keras.Model(latent, outputs, name="decoder")

    autoencoder = keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")
    return autoencoder, encoder, decoder


def split_autoencoder(autoencoder):
    """Return the ``(encoder, decoder)`` nested in an autoencoder built here.

    Works on a freshly built model and on one restored from a ``.keras``
    archive or a pickle, where the nested models keep sharing weights with
    the autoencoder.
    """
    return autoencoder.get_layer("encoder"), autoencoder.get_layer("decoder")
