"""TensorFlow: the compiled forward pass over in-memory rows.

:func:`predict_arrays` calls one compiled forward pass per chunk of rows,
without the per-call bookkeeping of ``predict_on_batch``. The forward
functions are traced once per architecture and shared
(:mod:`skae._engine._tf_functions`).
"""

import numpy as np

from ._tf_functions import forward_function

__all__ = ["predict_arrays"]


def predict_arrays(model, x, chunk_size, outputs="model"):
    """A compiled forward pass of ``model`` as NumPy arrays, ``chunk_size`` rows at a time.

    Parameters
    ----------
    model : keras.Model
        A single-input model.
    x : ndarray of shape (n_samples, ...)
        Inputs; converted to the model's input dtype.
    chunk_size : int
        Most rows per call, so that only one chunk of intermediate
        activations is alive at a time.
    outputs : {"model", "code_and_reconstruction"}, default="model"
        ``"model"``: ``model(x, training=False)``. ``"code_and_reconstruction"``:
        for an autoencoder with nested ``"encoder"`` and ``"decoder"`` layers,
        the code and its decoding, from one pass through the encoder.

    Returns
    -------
    outputs : ndarray of shape (n_samples, ...), or a tuple of them
    """
    x = np.asarray(x, dtype=model.inputs[0].dtype)
    forward = forward_function(model, outputs, x)
    if len(x) <= chunk_size:
        return _numpy(forward(x))
    first = _numpy(forward(x[:chunk_size]))
    parts = first if isinstance(first, tuple) else (first,)
    # Preallocated arrays: no list of chunks, no concatenated copy.
    results = tuple(np.empty((len(x),) + p.shape[1:], dtype=p.dtype) for p in parts)
    for result, part in zip(results, parts, strict=True):
        result[:chunk_size] = part
    for start in range(chunk_size, len(x), chunk_size):
        chunk = _numpy(forward(x[start : start + chunk_size]))
        chunk = chunk if isinstance(chunk, tuple) else (chunk,)
        for result, part in zip(results, chunk, strict=True):
            result[start : start + chunk_size] = part
    return results if isinstance(first, tuple) else results[0]


def _numpy(outputs):
    if isinstance(outputs, (tuple, list)):
        return tuple(output.numpy() for output in outputs)
    return outputs.numpy()
