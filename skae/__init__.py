"""skae: scikit-learn compatible autoencoders over Keras 3."""

from ._base import BaseAutoencoder
from ._denoising import DenoisingAutoencoder
from ._outlier import AutoencoderOutlierDetector
from ._transformer import AutoencoderTransformer
from ._variational import VariationalAutoencoder

__version__ = "0.1.0"

__all__ = [
    "AutoencoderOutlierDetector",
    "AutoencoderTransformer",
    "BaseAutoencoder",
    "DenoisingAutoencoder",
    "VariationalAutoencoder",
    "__version__",
]
