"""Pure Keras: the network builders and skae's own layers and losses.

Imports Keras and NumPy only (no scikit-learn, no TensorFlow). The builders
(:mod:`._architectures`) return ``(encoder, decoder)`` pairs that
:func:`assemble` chains into the autoencoder; the layers and losses
(:mod:`._layers`) are registered with Keras under the package name ``skae``,
the names model files store.
"""

from ._architectures import (
    assemble,
    build_conv_autoencoder,
    build_dense_autoencoder,
    build_pca_residual_autoencoder,
    image_shape_3d,
    split_autoencoder,
)
from ._layers import (
    Corruption,
    MaskedBinaryCrossentropy,
    MaskedMeanSquaredError,
    Sampling,
    kl_divergence,
)

__all__ = [
    "Corruption",
    "MaskedBinaryCrossentropy",
    "MaskedMeanSquaredError",
    "Sampling",
    "assemble",
    "build_conv_autoencoder",
    "build_dense_autoencoder",
    "build_pca_residual_autoencoder",
    "image_shape_3d",
    "kl_divergence",
    "split_autoencoder",
]
