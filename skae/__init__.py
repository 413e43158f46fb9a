"""skae: scikit-learn compatible autoencoders over Keras 3."""

import importlib

__version__ = "0.1.0"

# Public name -> private module. Imported on first use, so that the ``skae``
# command line starts (and answers ``--help``) without loading TensorFlow.
_PUBLIC = {
    "AutoencoderOutlierDetector": "._outlier",
    "AutoencoderTransformer": "._transformer",
    "BaseAutoencoder": "._base",
    "DenoisingAutoencoder": "._denoising",
    "InconsistentVersionWarning": "._persistence",
    "ModelFileError": "._persistence",
    "VariationalAutoencoder": "._variational",
    "benjamini_hochberg": "._outlier_scores",
    "load": "._persistence",
}

__all__ = [*sorted(_PUBLIC), "__version__"]


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'skae' has no attribute {name!r}")
    from ._quiet import import_tensorflow

    import_tensorflow()  # its start-up notes filtered, errors kept
    value = getattr(importlib.import_module(_PUBLIC[name], __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted([*globals(), *_PUBLIC])
