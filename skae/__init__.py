"""skae: scikit-learn compatible autoencoders over Keras 3."""

import importlib
import importlib.util
import sys

from ._version import __version__

# Public name -> private module. Imported on first use, so that the ``skae``
# command line starts (and answers ``--help``) without loading TensorFlow.
_PUBLIC = {
    "AutoencoderOutlierDetector": "._detector",
    "AutoencoderTransformer": "._transformer",
    "BaseAutoencoder": "._base",
    "DenoisingAutoencoder": "._denoising",
    "InconsistentVersionWarning": "._io",
    "ModelFileError": "._io",
    "VariationalAutoencoder": "._variational",
    "benjamini_hochberg": "._detector",
    "load": "._loading",
}

# Modules that moved, by their old names, which pickles written before the
# move name (e.g. ``skae._outlier.AutoencoderOutlierDetector``): an old name
# imports as a module holding the public names (``__all__``) of the new one.
_MOVED = {f"{__name__}._outlier": f"{__name__}._detector"}


class _MovedModuleFinder:
    """Import an old module name (``_MOVED``) as the module that replaced it."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name not in _MOVED:
            return None
        return importlib.util.spec_from_loader(name, _MovedModuleFinder)

    @staticmethod
    def create_module(spec):
        return None  # a plain module, filled by exec_module

    @staticmethod
    def exec_module(module):
        target = importlib.import_module(_MOVED[module.__name__])
        module.__dict__.update({name: getattr(target, name) for name in target.__all__})


# First: an old name must not be found as a stale file (an editable install of
# another checkout, leftovers of an older install).
sys.meta_path.insert(0, _MovedModuleFinder)

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
