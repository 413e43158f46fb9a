"""Pure Keras: the network builders and skae's own layers and losses.

Imports Keras and NumPy only (no scikit-learn, no TensorFlow). The builders
(:mod:`._architectures`) return ``(encoder, decoder)`` pairs that
:func:`assemble` chains into the autoencoder; the layers and losses
(:mod:`._layers`) are registered with Keras under the package name ``skae``,
the names model files store. :mod:`._arrays` turns any backend's tensors
into NumPy arrays without the backends' NumPy 2 warning.
"""

from ._architectures import (
    assemble,
    build_conv_autoencoder,
    build_dense_autoencoder,
    build_pca_residual_autoencoder,
    image_shape_3d,
    split_autoencoder,
)
from ._arrays import keras_array_warnings_ignored, to_numpy
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
    "keras_array_warnings_ignored",
    "kl_divergence",
    "split_autoencoder",
    "to_numpy",
]
