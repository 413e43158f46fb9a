"""``main``: run a command, turn every failure into one line and an exit status.

This module, and everything it imports at start-up, is the standard library
only: the signal handlers are in place before NumPy, pandas or TensorFlow is
imported, so that Ctrl-C while they load ends the command like Ctrl-C later
(one line, exit status 130), and ``--help`` imports nothing heavy.
"""

import importlib
import os
import signal
import sys
import threading
import traceback
from contextlib import contextmanager

from ._backend import select_backend
from ._messages import DataError, Terminated, UsageError, describe, error, held
from ._parser import build_parser

# Keras backends as the messages name them.
_BACKEND_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}

# Signals that end a command: every output removed, exit 128 + the signal.
_TERMINATING = ("SIGINT", "SIGTERM", "SIGHUP")


def main(argv=None):
    """Run the ``skae`` command line.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments after the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 1 for a data, model-file or internal error, 2 for a
        usage error, 130 on SIGINT (Ctrl-C), 143 on SIGTERM, 129 on SIGHUP;
        0 too when the reader of stdout stops reading (``skae ... | head``).

    Examples
    --------
    >>> main(["--version"])  # doctest: +ELLIPSIS
    skae ...
    0
    """
    with _signals_raise():
        try:
            return _parse_and_run(argv)
        except KeyboardInterrupt:  # while parsing or importing
            return _signalled(signal.SIGINT)
        except Terminated as exc:
            return _signalled(exc.signum)
        except ImportError:
            # A signal during a C extension's import (NumPy's) comes out as an ImportError.
            if not _RECEIVED:
                raise
            return _signalled(_RECEIVED[0])


# The signals the handlers of _signals_raise have received, first first.
_RECEIVED = []


def _signalled(signum):
    """One line for a signal that ends the command; its exit status, 128 + the signal."""
    if signum == signal.SIGINT:
        error("interrupted")
    else:
        error(f"terminated ({signal.Signals(signum).name})")
    return 128 + signum


def _parse_and_run(argv):
    """Parse ``argv`` and run its command; the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or an argparse usage error
        code = exit_.code
        return 0 if code is None else code if isinstance(code, int) else 2
    return _run(_command(args.command), args)


def _command(command):
    """The function of a command named by the parser (or the function itself)."""
    if callable(command):
        return command
    # Before anything imports Keras, which reads its backend once.
    select_backend()
    # Imported here: the commands import NumPy and pandas, which --help never needs.
    return getattr(importlib.import_module("._commands", __package__), command)


def _run(command, args):
    """``command(args)``'s exit status; its failure, if any, on one line of stderr."""
    try:
        command(args)
    except KeyboardInterrupt:
        return _signalled(signal.SIGINT)
    except Terminated as exc:
        return _signalled(exc.signum)
    except BrokenPipeError:
        # The reader of stdout went away (``skae score DATA | head``): like
        # ``yes | head``, that ends the command, and is no error of ours.
        _silence_stdout()
        return 0
    except UsageError as exc:
        error(describe(exc))
        return 2
    except (DataError, ValueError, OSError) as exc:
        # Our own data errors, and what the estimators and the file system
        # raise for bad values (a diverged fit) or I/O (a full disk).
        error(describe(exc))
        return 1
    except MemoryError:
        error("out of memory; use --chunksize to read DATA in smaller chunks")
        return 1
    except Exception as exc:
        if _RECEIVED:  # a signal that a library turned into its own error (an ImportError)
            return _signalled(_RECEIVED[0])
        error(_unexpected(exc))
        return 1
    return 0


def _unexpected(exc):
    """The message for an exception no part of the command line expected."""
    library = type(exc).__module__.split(".")[0]
    if library in _BACKEND_NAMES or library in ("keras", "jaxlib"):
        # e.g. a GPU out of memory: named by the backend that ran
        keras = sys.modules.get("keras")
        backend = keras.backend.backend() if keras is not None else library
        return f"{_BACKEND_NAMES.get(backend, backend)}: {describe(exc)}"
    if os.environ.get("SKAE_TRACEBACK"):
        traceback.print_exc()
    return (
        f"internal error, {type(exc).__name__}: {describe(exc)} (a bug in skae or a "
        "library it uses; set SKAE_TRACEBACK=1 to print the traceback for a report)"
    )


@contextmanager
def _signals_raise():
    """SIGTERM and SIGHUP raise :class:`Terminated`, SIGINT KeyboardInterrupt.

    So ``finally`` blocks and context managers clean up (temporary output
    removed) on ``kill`` as on Ctrl-C. Only the first such signal raises: a
    second one while cleaning up is ignored. While a finished output is
    copied (``_messages.signals_held``) a signal waits for the copy to end.
    A signal already ignored when skae starts stays ignored: ``nohup skae
    ...`` survives the hang-up, as ``nohup`` promises. Handlers are restored
    on exit.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set in the main thread
        return
    signums = [
        getattr(signal, name)
        for name in _TERMINATING
        if hasattr(signal, name) and signal.getsignal(getattr(signal, name)) != signal.SIG_IGN
    ]

    def handler(signum, frame):
        if held(signum):
            return
        _RECEIVED.append(signum)
        for other in signums:
            signal.signal(other, signal.SIG_IGN)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(signum)

    _RECEIVED.clear()
    previous = {signum: signal.signal(signum, handler) for signum in signums}
    try:
        yield
    finally:
        for signum, action in previous.items():
            signal.signal(signum, action)


def _silence_stdout():
    """Point stdout at /dev/null, so that Python's flush at exit cannot fail again."""
    try:
        fileno = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # no file descriptor (e.g. in tests)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fileno)
    os.close(devnull)
