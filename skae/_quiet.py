"""TensorFlow's start-up log, filtered: skae's output, and its users', stay readable.

Importing TensorFlow, and its first look for a GPU, print several lines on
stderr on every run (oneDNN, CPU features, "Could not find cuda drivers",
"failed call to cuInit ... CUDA error" on a machine without a GPU). Most are
printed before ``TF_CPP_MIN_LOG_LEVEL`` takes effect, and the cuInit line is
an ERROR, so that setting alone cannot hide them without hiding real errors.

So, unless the user set ``TF_CPP_MIN_LOG_LEVEL`` themselves (their setting
wins, and they see what TensorFlow prints) or imported TensorFlow first,
skae (on the first use of an estimator, and the command line) sets it to 2
(TensorFlow's own info and warnings hidden, errors shown) and, while
TensorFlow loads and finds its devices, passes stderr (the file descriptor
that TensorFlow's C++ code writes to) through a filter that drops the known
start-up lines above and forwards every other line as it comes.
"""

import json
import os
import re
import sys
import threading
from contextlib import contextmanager

# The start-up notes dropped; every other line gets through.
_NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|oneDNN custom operations are on"
    r"|cudart_stub\.cc|Could not find cuda drivers"
    r"|cpu_feature_guard\.cc|^To enable the following instructions:"
    r"|failed call to cuInit|cuda_diagnostics\.cc"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|computation_placer\.cc|TF-TRT Warning|Could not find TensorRT"
)


def configured_backend():
    """The Keras backend that Keras will run on, found as Keras finds it, without importing it.

    ``keras.backend.backend()`` once Keras is imported; before that
    ``KERAS_BACKEND``, then the ``"backend"`` of ``keras.json`` in
    ``KERAS_HOME`` (``~/.keras`` by default), then TensorFlow.
    """
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    try:
        with open(os.path.join(home, "keras.json")) as file:
            return json.load(file).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


@contextmanager
def tensorflow_unimported():
    """While TensorFlow is not imported, Keras' serializer is told that it is not installed.

    Keras' ``serialize_keras_object`` (every ``get_config`` of a model, every
    save) asks whether TensorFlow is installed, through a lazy module whose
    ``available`` imports it (about 4 s, and its start-up lines) on any
    backend, only to test whether an object is a ``tf.TensorShape``: none
    can be before TensorFlow is imported. On JAX and PyTorch, skae's model
    keys and saves therefore cost no TensorFlow import. Nothing changes on
    TensorFlow, once TensorFlow is imported, or with a Keras that no longer
    has that lazy module.
    """
    lazy = None
    if "keras" in sys.modules and "tensorflow" not in sys.modules:
        try:
            from keras.src.utils.module_utils import tensorflow as lazy
        except ImportError:  # another Keras: nothing to do
            pass
    if getattr(lazy, "_available", False) is not None:  # settled: Keras asked already
        yield
        return
    lazy._available = False
    try:
        yield
    finally:
        lazy._available = None


def import_tensorflow():
    """Import TensorFlow and find its devices, its start-up notes filtered.

    Does nothing when TensorFlow is already imported; filters nothing when
    ``TF_CPP_MIN_LOG_LEVEL`` was set by the user.
    """
    if "tensorflow" in sys.modules or configured_backend() != "tensorflow":
        return
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        _load()
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    try:
        with _FilteredStderr():
            _load()
    finally:
        # TensorFlow has read it (once, at its first log line). Left set, child
        # processes (Dask's nanny workers, joblib's) would inherit it as if the
        # user had set it, and start without the filter.
        del os.environ["TF_CPP_MIN_LOG_LEVEL"]


def _load():
    """Import TensorFlow and list its devices (which tries to initialise CUDA)."""
    import tensorflow as tf

    tf.config.list_physical_devices()  # the GPU look-up, which logs cuInit


class _FilteredStderr:
    """File descriptor 2 through a pipe; a thread forwards the lines kept.

    Falls back to no filtering where file descriptors cannot be duplicated.
    """

    def __enter__(self):
        self._saved = None
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no stderr to filter
            return self
        read, write = os.pipe()
        os.dup2(write, 2)
        os.close(write)
        self._saved = saved
        self._thread = threading.Thread(target=_forward, args=(read, self._saved), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        if self._saved is None:
            return
        sys.stderr.flush()
        os.dup2(self._saved, 2)  # closes the pipe's last write end: the thread ends
        self._thread.join(timeout=2)
        # A copy of the write end kept by the library would keep the thread
        # forwarding: it then keeps the saved descriptor, as a daemon.
        if not self._thread.is_alive():
            os.close(self._saved)


def _forward(read, target):
    """Copy lines from ``read`` to ``target``, dropping the start-up noise."""
    pending = b""
    with os.fdopen(read, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            *lines, pending = (pending + chunk).split(b"\n")
            _write(target, lines)
    if pending:
        _write(target, [pending])


def _write(target, lines):
    """Write the lines that are not start-up noise to ``target``."""
    kept = [line for line in lines if not _NOISE.search(line.decode(errors="replace"))]
    try:
        if kept:
            os.write(target, b"".join(line + b"\n" for line in kept))
    except OSError:  # stderr closed: keep draining, so that writers never block
        pass
