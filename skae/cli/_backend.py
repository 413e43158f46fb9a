"""Which Keras backend the command line runs on: the user's, else the quickest to start.

Keras reads its backend once, when it is imported, from ``KERAS_BACKEND``,
then from the ``"backend"`` of ``keras.json`` in ``KERAS_HOME`` (``~/.keras``
by default). A backend named there is always used. When none is named, the
command line sets ``KERAS_BACKEND`` to the first installed of
:data:`AUTOMATIC`, before anything imports Keras. Model files do not depend
on the backend: a model trained on one scores the same on another.

Keras writes ``keras.json`` itself, with ``"backend": "tensorflow"``, the
first time it is imported where the file is missing (whatever backend it
runs on), so that file, exactly as Keras writes it, is not taken as a
choice; ``KERAS_BACKEND=tensorflow`` chooses TensorFlow.

This module imports the standard library only: ``skae --help`` names the
backend without importing it.
"""

import importlib.util
import json
import os
import sys

__all__ = ["AUTOMATIC", "backend_note", "select_backend"]

# Keras backends tried, in order, when the user names none; the quickest to
# start first. Measured on a 2-core machine at load 6-7 (keras 3.15, jax 0.10,
# torch 2.13, tensorflow 2.21; 3 runs each, by turns): `import keras` takes
# 5.7-6.2 s on JAX, 9.5-10.3 s on TensorFlow and 9.9-10.6 s on PyTorch, and
# `skae score` of 100 rows with a saved detector 8.0-8.2 s on JAX (its
# compiled functions cached, see _JAX_CACHE), 10.5-11.8 s on TensorFlow and
# 11.8-12.8 s on PyTorch. PyTorch saves nothing over TensorFlow, which skae
# always installs, so it runs only when chosen.
AUTOMATIC = ("jax", "tensorflow")

# What Keras writes to a missing keras.json: not a choice of the user's.
_KERAS_DEFAULT_CONFIG = {
    "floatx": "float32",
    "epsilon": 1e-07,
    "backend": "tensorflow",
    "image_data_format": "channels_last",
}

# JAX compiles every function on first use (each weight initializer of a
# loaded model, each forward pass): 2 to 6 s of a 100-row score on a 2-core
# machine. Its persistent cache keeps them for the next run; every
# compilation is cached, not only those over JAX's default of 1 s.
_JAX_CACHE = {"JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}


def user_choice():
    """The backend the user named, and where: ``(backend, source)``, or None.

    Returns
    -------
    choice : tuple of str or None
        ``(backend, "KERAS_BACKEND")`` or ``(backend, path of keras.json)``;
        None when neither names a backend (or ``keras.json`` is Keras' own
        default file).
    """
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"], "KERAS_BACKEND"
    path = os.path.join(_keras_home(), "keras.json")
    try:
        with open(path) as file:
            config = json.load(file)
    except (OSError, ValueError):  # no file, or one Keras reads as {} too
        return None
    if not isinstance(config, dict) or config == _KERAS_DEFAULT_CONFIG:
        return None
    backend = config.get("backend")
    return (backend, path) if isinstance(backend, str) and backend else None


def _keras_home():
    """Keras' folder as Keras finds it: ``KERAS_HOME``, else ``~/.keras`` (in ``/tmp``
    if the home folder is not writable)."""
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    home = os.path.expanduser("~")
    return os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")


def _installed(name):
    """Whether package ``name`` can be imported (found, not imported)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def planned_backend():
    """``(backend, why)``: the backend a command will run on, and why, importing nothing."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend(), "Keras already imported"
    choice = user_choice()
    if choice is not None:
        return choice[0], f"set by {choice[1]}"
    for name in AUTOMATIC:
        if _installed(name):
            return name, "the quickest to start of those installed"
    return "tensorflow", "Keras' default"


def select_backend():
    """Set ``KERAS_BACKEND`` to the planned backend, before Keras is imported.

    Does nothing once Keras is imported (its backend is fixed) or when the
    user named a backend. On JAX, also turns on JAX's persistent cache of
    compiled functions (under ``~/.cache/skae/jax``, or
    ``$XDG_CACHE_HOME/skae/jax``), unless ``JAX_COMPILATION_CACHE_DIR`` is set.

    Returns
    -------
    backend : str
        The Keras backend the command runs on.
    """
    backend, _ = planned_backend()
    if "keras" in sys.modules:
        return backend
    if user_choice() is None:
        os.environ["KERAS_BACKEND"] = backend
    if backend == "jax" and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        os.environ["JAX_COMPILATION_CACHE_DIR"] = os.path.join(cache, "skae", "jax")
        for name, value in _JAX_CACHE.items():
            os.environ.setdefault(name, value)
    return backend


def backend_note():
    """A line for ``skae --help``: the Keras backend commands run on, and how to choose."""
    backend, why = planned_backend()
    return (
        f"Keras backend: {backend} ({why}).\n"
        "Set KERAS_BACKEND=jax, torch or tensorflow to choose; with none chosen\n"
        "(KERAS_BACKEND, keras.json), the first installed of jax and tensorflow\n"
        'runs: pip install "skae[jax]" for the quicker start.'
    )
