"""TensorFlow's implementation of the engine's contract (see :mod:`skae._engine`).

One name per function of the contract, each from the module that owns it:
the epoch loop (:mod:`._tf_loops`), the forward pass (:mod:`._tf_inference`),
integrated gradients (:mod:`._tf_gradients`), and the traces shared by models
of one architecture (:mod:`._tf_compiled`), all of them found through each
model's table of compiled functions (:mod:`._tf_functions`).
"""

from ._tf_compiled import clear as clear_traces
from ._tf_compiled import stats as trace_stats
from ._tf_gradients import integrated_gradients
from ._tf_inference import predict_arrays
from ._tf_loops import fit_model

__all__ = ["clear_traces", "fit_model", "integrated_gradients", "predict_arrays", "trace_stats"]
