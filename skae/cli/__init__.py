"""The ``skae`` command line: autoencoders on CSV and Parquet files.

Commands
--------
``skae score DATA``
    Score every row of DATA with an :class:`~skae.AutoencoderOutlierDetector`
    (trained on DATA, or loaded with ``--model``) and write the columns
    ``row``, ``score``, ``label`` (+1 inlier, -1 outlier) and ``p_value``.
``skae fit DATA -o MODEL``
    Train a detector or an :class:`~skae.AutoencoderTransformer` on DATA and
    save it with ``estimator.save(MODEL)``; ``skae.load(MODEL)`` reads it back.
``skae compare DATA``
    Held-out reconstruction error of PCA and of the autoencoder, side by side,
    for several code sizes.

DATA is a ``.csv``, ``.csv.gz``, ``.parquet`` or ``.pq`` file. A CSV is read
with ``,`` between fields and ``.`` in numbers unless ``--sep`` and
``--decimal`` say otherwise; one that looks written with other marks is
refused. Numeric columns are used (text columns are named on stderr and
ignored) unless ``--columns`` chooses them; a column of numbers with a few
text cells is refused. With ``--chunksize`` the file is read in chunks of
that many rows, so files larger than memory can be scored with a saved
model, and trained on with ``partial_fit``.

Outputs
-------
An output file is written under a unique temporary name beside it and
renamed when complete: a failed or interrupted run leaves nothing behind,
two runs writing the same file cannot mix their rows, and a file replaced
keeps its permissions. Stdout, and targets that are not regular files
(``/dev/null``, a named pipe), receive the whole output once the work has
succeeded, or nothing; terminating signals wait for that copy to end. An
output that is an input (any name of the same file, or stdout appended to
DATA) or a symbolic link is refused before any work. In CSV outputs, text
a spreadsheet would run as a formula is written after a ``'`` (OWASP).

Progress goes to stderr as one line rewritten in place on a terminal, and
not at all elsewhere unless ``--progress`` (one line per epoch or pass).

Exit status
-----------
0 on success; 1 when the data, a model file or an output cannot be used
(an infinity, text in a numeric column, an ambiguous or corrupt file,
a model that is not a detector, training that diverged, a full disk), and
for an internal error; 2 for a usage error (a bad option, a missing input
file, an unknown file type, no numeric column); 130 on SIGINT (Ctrl-C),
143 on SIGTERM and 129 on SIGHUP, after removing any temporary output (a
signal ignored at start, as under ``nohup``, stays ignored).
When the reader of stdout stops reading (``skae score DATA | head``),
skae stops quietly with status 0.

Errors are one line on stderr, ``skae: error: ...``, never a traceback. An
exception the command line does not expect (a bug) is reported as an
"internal error" with its type; set ``SKAE_TRACEBACK=1`` to see its
traceback.

Only the standard library is imported at start-up (``--help`` imports
nothing else), and the signal handlers are set first: NumPy and pandas are
imported to run a command, Keras, scikit-learn and pyarrow by the commands
that need them, TensorFlow with its start-up log filtered (see
``skae._quiet``).

Keras backend
-------------
The backend the user chose (``KERAS_BACKEND``, or ``"backend"`` in
``keras.json``), else the quickest to start of those installed: JAX, then
TensorFlow (``_backend``); ``skae --help`` names it. On JAX, compiled
functions are kept in JAX's persistent cache (``~/.cache/skae/jax``).
"""

import os
import signal


def _interrupted_while_importing(signum, frame):
    os.write(2, b"skae: error: interrupted\n")
    os._exit(130)


def _set_early_handler():
    """Whether the import-time SIGINT handler was set (Python's own was in place)."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return False
    try:
        signal.signal(signal.SIGINT, _interrupted_while_importing)
    except ValueError:  # not the main thread: signals are not ours to handle
        return False
    return True


# Ctrl-C while this package's modules are read (slow the first time, when
# Python compiles them): one line and exit 130, as main() answers it later,
# not a KeyboardInterrupt traceback. Python's own handler is back once they
# are imported, for a program that imports skae.cli without running it.
# Nothing else is imported first (not even threading): a Ctrl-C in that
# window would still be a traceback.
_EARLY = _set_early_handler()
try:
    from ._main import main
finally:
    if _EARLY:
        signal.signal(signal.SIGINT, signal.default_int_handler)

__all__ = ["main"]
