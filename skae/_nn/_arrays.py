"""Backend tensors and Keras variables as NumPy arrays, without NumPy 2's copy warning.

PyTorch's ``Tensor.__array__`` and Keras' ``Variable.__array__`` lack NumPy
2's ``copy`` keyword, and Keras' ``Variable.numpy()`` and
``keras.ops.convert_to_numpy`` call ``np.array`` on them: a
DeprecationWarning per call (torch 2.13, Keras 3.15 on JAX and PyTorch,
numpy 2.4), about their code, not skae's. :func:`to_numpy` takes a path that
does not raise it; :func:`keras_array_warnings_ignored` silences it around
the Keras calls that raise it inside Keras (``Optimizer.get_config``).
"""

import contextlib
import warnings

import keras
import numpy as np

__all__ = ["keras_array_warnings_ignored", "to_numpy"]


def to_numpy(value):
    """A tensor or variable of any backend (or an array) as a NumPy array.

    A variable's array is a copy it does not share: training updates a
    variable in place (PyTorch's ``numpy()`` is a view of it), and a
    snapshot of the weights must not change with them.
    """
    if isinstance(value, keras.Variable):
        return np.array(_backend_numpy(value.value))  # value: the backend's own array
    return _backend_numpy(value)


def _backend_numpy(value):
    if hasattr(value, "detach"):  # a PyTorch tensor, possibly on a GPU
        return value.detach().cpu().numpy()
    if hasattr(value, "numpy"):  # a TensorFlow tensor or variable
        return value.numpy()
    return keras.ops.convert_to_numpy(value)  # a JAX or NumPy array


@contextlib.contextmanager
def keras_array_warnings_ignored():
    """Ignore the backends' NumPy 2 copy-keyword warning inside a block of Keras calls."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "__array__ implementation", DeprecationWarning)
        yield
