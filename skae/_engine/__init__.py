"""The engine: training and inference of a compiled Keras model on in-memory arrays.

The estimators call only the names below; none of them imports TensorFlow
(or any backend) itself. Every ``import tensorflow`` of skae lives in this
package (besides the start-up log filter, :mod:`skae._quiet`).

Backend-neutral (Keras and NumPy, in :mod:`._training`):

- :class:`TrainingOptions`, :func:`train`: a whole fit (validation split,
  early stopping, learning-rate schedule, restoring the best weights);
- :func:`row_losses`, :func:`significantly_lower`, :func:`extend_history`;
- :func:`snapshot`, :func:`restore`: a model's weights and optimizer state,
  to undo a failed fit;
- :class:`EpochTasks`: scikit-learn's callback context, one task per epoch;
- :func:`fit_threads`: the thread settings during a fit, so that an int
  ``random_state`` gives the same bits whatever the machine's thread settings.

The seam, the functions that one backend implementation provides (chosen by
``keras.backend.backend()`` in :mod:`._backend`, the one dispatch point:
:mod:`._tensorflow`, :mod:`._jax`, :mod:`._torch`). An implementation must honour:

``fit_model(model, x, y, seed=None, **fit_args) -> keras.callbacks.History``
    Train the compiled single-input, single-output ``model`` on NumPy arrays
    exactly as ``model.fit(x, y, **fit_args)`` would: its own ``train_step``
    (loss, ``add_loss`` terms, dropout, metrics, optimizer), the callbacks
    called at the same points, ``sample_weight`` and ``validation_data``.
    ``seed`` (int or None) fixes the order of the rows of every epoch: an int
    gives bit-identical training on CPU, None fresh orders. Arguments it
    cannot honour go to ``model.fit`` itself.
``predict_arrays(model, x, chunk_size, outputs="model") -> ndarray or tuple``
    ``model(x, training=False)`` as NumPy, at most ``chunk_size`` rows per
    call. ``outputs="code_and_reconstruction"``: for an autoencoder with
    nested layers named ``"encoder"`` and ``"decoder"``, the tuple
    ``(code, decoding of the code)`` from one pass through the encoder.
    Nothing of the model's compiled state is stored on it (models pickle).
``integrated_gradients(function, x, baseline, steps=16) -> ndarray``
    ``function`` maps a float32 tensor of rows to one value per row; returns
    the float64 shares of each cell of ``x``, by the midpoint rule with
    ``steps`` points along the straight path from ``baseline``.
``clear_traces()``, ``trace_stats() -> dict``
    Forget compiled functions shared between models (the backend's cache),
    and count them (``{"traced": int, "shared": int, "unshareable": int}``;
    a backend without such a cache returns zeros).

Importing this package on a backend that cannot train (NumPy, OpenVINO)
raises ``ImportError`` naming the fix.
"""

from ._backend import (
    clear_traces,
    fit_model,
    integrated_gradients,
    predict_arrays,
    trace_stats,
)
from ._threads import fit_threads
from ._training import (
    EpochTasks,
    TrainingOptions,
    extend_history,
    restore,
    row_losses,
    significantly_lower,
    snapshot,
    train,
)

__all__ = [
    "EpochTasks",
    "TrainingOptions",
    "clear_traces",
    "extend_history",
    "fit_model",
    "fit_threads",
    "integrated_gradients",
    "predict_arrays",
    "restore",
    "row_losses",
    "significantly_lower",
    "snapshot",
    "trace_stats",
    "train",
]
