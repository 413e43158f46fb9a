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

__all__ = ["keras_array_warnings_ignored", "to_numpy"]


def to_numpy(value):
    """A tensor or variable of any backend (or an array) as a NumPy array it does not share.

    The array owns its values: a PyTorch variable is updated in place by
    training, and a view of it would change with it (a snapshot of the
    weights would be no snapshot).
    """
    if isinstance(value, keras.Variable):
        value = value.value  # the backend's own array
    if hasattr(value, "detach"):  # a PyTorch tensor, possibly on a GPU
        return value.detach().cpu().numpy().copy()
    if hasattr(value, "numpy"):  # a TensorFlow tensor or variable
        return value.numpy()
    return keras.ops.convert_to_numpy(value)  # a JAX or NumPy array


@contextlib.contextmanager
def keras_array_warnings_ignored():
    """Ignore the backends' NumPy 2 copy-keyword warning inside a block of Keras calls."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "__array__ implementation", DeprecationWarning)
        yield
