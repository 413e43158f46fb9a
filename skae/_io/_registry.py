"""The estimator classes that model files may name, registered by the estimators themselves.

:mod:`skae._io` imports no estimator module: each public estimator's module
calls :func:`register_estimator` on its class, and the reader finds the
class a file names here. A file naming a class that was not registered is
refused; :func:`skae.load` imports every public estimator first
(:mod:`skae._loading`).
"""

__all__ = ["estimator_class", "register_estimator"]

# Class name (as model files store it) -> class.
_CLASSES = {}


def register_estimator(cls):
    """Let model files name ``cls`` (by its ``__name__``); returns ``cls`` (a decorator)."""
    _CLASSES[cls.__name__] = cls
    return cls


def estimator_class(name):
    """The registered class called ``name``; ``None`` for any other name (or a non-str)."""
    return _CLASSES.get(name) if isinstance(name, str) else None
