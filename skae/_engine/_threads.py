"""Thread settings that a fit's results must not depend on.

An int ``random_state`` promises the same model on any CPU of one kind,
whatever ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS`` say (Dask's workers set
both to 1) and however many threads TensorFlow runs. Measured on the digits
quick start (``AutoencoderTransformer(latent_dim=8, random_state=0)``):

- NumPy's BLAS (OpenBLAS) sums in an order that depends on its thread count:
  the PCA start (``np.linalg.eigh`` of the covariance, the ``x.T @ x`` before
  it) differed in the last bits between 1 and 2 threads, and early stopping
  turned that into 61 epochs (MSE 1.83) against 83 (MSE 1.64);
- TensorFlow's CPU kernels gave the same bits with 1, 2 or 8 intra-op threads
  (and 1 to 4 inter-op threads), on that model and on a 3,000 x 400 one.

So a fit runs NumPy's linear algebra on one thread (:func:`fit_threads`).
Its matrices are small (features x features) or its products cheap next to
the training itself, so one thread costs little. Inference is not pinned: its
products (scaling, codes, distances) gave the same bits on any thread count.

A backend added to this package whose kernels do depend on the number of
threads (PyTorch's CPU reductions can) pins them here too, so that every
estimator gets it through the one call in ``_base._atomic_fit``.
"""

from contextlib import contextmanager

from threadpoolctl import threadpool_limits

__all__ = ["fit_threads"]


@contextmanager
def fit_threads():
    """Within: NumPy's (and SciPy's) BLAS on one thread; the former limits after."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield
