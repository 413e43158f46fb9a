"""``skae.load``: the model file reader, with every public estimator registered.

A model file names its estimator's class; :mod:`skae._io` finds it among the
classes the estimators register (it imports no estimator module). Importing
the estimators here registers them all before any file is read.
"""

from . import _denoising, _detector, _transformer, _variational  # noqa: F401 - registers them
from ._io import load

__all__ = ["load"]
