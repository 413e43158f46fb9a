"""Errors and messages of the command line: everything it prints on stderr.

Only the standard library is imported here (Keras for the epochs' progress,
when a command trains).
"""

import signal
import sys
import time
from contextlib import contextmanager


class UsageError(Exception):
    """A problem with the command line itself: exit status 2."""


class DataError(Exception):
    """Data or a model file that cannot be used: exit status 1."""


class Terminated(BaseException):
    """A termination signal (SIGTERM, SIGHUP), raised like KeyboardInterrupt.

    A ``BaseException``, like ``KeyboardInterrupt``, so that no ``except
    Exception`` on the way up swallows it and every ``finally`` runs.

    Parameters
    ----------
    signum : int
        The signal received.
    """

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class _Hold:
    """Whether terminating signals are held back now, and the first one held."""

    active = False
    pending = None


def held(signum):
    """Whether ``signum`` is held back now (and then remembered, to act on later).

    Parameters
    ----------
    signum : int
        The signal received.

    Returns
    -------
    held : bool
    """
    if _Hold.active and _Hold.pending is None:
        _Hold.pending = signum
    return _Hold.active


@contextmanager
def signals_held():
    """Hold back SIGINT, SIGTERM and SIGHUP while the block runs; act on them after.

    Python runs signal handlers in the main thread whichever thread the
    system delivers a signal to (TensorFlow starts many), so holding them
    here, in the handler, works where blocking them in one thread would not.
    Outside :func:`~skae.cli.main` (no handlers of skae's) SIGINT is not held.
    """
    _Hold.active, _Hold.pending = True, None
    try:
        yield
    finally:
        _Hold.active = False
        signum, _Hold.pending = _Hold.pending, None
        if signum is not None:
            signal.raise_signal(signum)  # to the handler again, now acted on


def note(message):
    """Print ``skae: message`` on stderr (progress, summaries, notes).

    Parameters
    ----------
    message : str
        The text, one line.

    Examples
    --------
    >>> import contextlib, io
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     note("scored 3 rows")
    >>> err.getvalue()
    'skae: scored 3 rows\\n'
    """
    print(f"skae: {message}", file=sys.stderr, flush=True)


def error(message):
    """Print ``skae: error: message`` on stderr.

    Parameters
    ----------
    message : str
        The text; any line breaks are joined into one line.
    """
    note("error: " + " ".join(str(message).split()))


def describe(exc):
    """One line for an exception, without a traceback.

    Parameters
    ----------
    exc : BaseException
        The exception to describe.

    Returns
    -------
    text : str
        Its message on one line; an ``OSError`` as ``reason: file``.

    Examples
    --------
    >>> describe(FileNotFoundError(2, "No such file or directory", "a.csv"))
    'No such file or directory: a.csv'
    >>> describe(ValueError("bad\\n  value"))
    'bad value'
    >>> describe(EOFError())
    'EOFError'
    """
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or exc}: {exc.filename}"
    return " ".join(str(exc).split()) or type(exc).__name__


def progress_mode(args):
    """How a command shows its progress on stderr: ``"live"``, ``"lines"`` or None.

    ``"live"``: one line, rewritten in place (``\\r``), on a terminal;
    ``"lines"``: one line per epoch or pass, when ``--progress`` asks for it
    where stderr is not a terminal (a log); None: nothing, with ``--quiet``
    or on a pipe or file by default, so that logs stay short.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (``quiet``, ``progress``).

    Returns
    -------
    mode : str or None
    """
    if getattr(args, "quiet", False):
        return None
    if _isatty(sys.stderr):
        return "live"
    return "lines" if getattr(args, "progress", False) else None


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # None, or closed
        return False


class Progress:
    """One task's progress on stderr, as :func:`progress_mode` says.

    Parameters
    ----------
    mode : {"live", "lines"} or None
        A line rewritten in place, a line per :meth:`update`, or nothing.

    Examples
    --------
    >>> import contextlib, io
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     progress = Progress("live")
    ...     progress.update("epoch 1/2")
    ...     progress.update("epoch 2/2")
    ...     progress.close("trained 2 epochs")
    >>> err.getvalue()
    '\\rskae: epoch 1/2\\rskae: epoch 2/2\\rskae: trained 2 epochs\\n'
    """

    def __init__(self, mode):
        self.mode = mode
        self.start = time.perf_counter()
        self._width = 0  # of the line shown in place

    @property
    def seconds(self):
        """Seconds since the task started."""
        return time.perf_counter() - self.start

    def update(self, text, log=True):
        """Show ``text`` as the task's state (in a log too, unless ``log`` is false)."""
        if self.mode == "live":
            self._show(text)
        elif self.mode == "lines" and log:
            note(text)

    def close(self, text=None):
        """End the task with ``text`` as its last line; None clears the live line."""
        if self.mode == "live" and text is not None:
            self._show(text)
            sys.stderr.write("\n")
        elif self.mode == "live" and self._width:
            sys.stderr.write("\r" + " " * self._width + "\r")
        elif self.mode == "lines" and text is not None:
            note(text)
        sys.stderr.flush()
        self._width = 0

    def _show(self, text):
        line = f"skae: {text}" if text else ""
        # Spaces cover what a longer previous line left on the terminal.
        sys.stderr.write("\r" + line + " " * max(0, self._width - len(line)))
        sys.stderr.flush()
        self._width = len(line)


def epoch_progress(mode):
    """A Keras callback showing each epoch's loss as :class:`Progress`, or None.

    Parameters
    ----------
    mode : {"live", "lines"} or None
        From :func:`progress_mode`; None gives no callback.

    Returns
    -------
    callback : keras.callbacks.Callback or None
    """
    if mode is None:
        return None
    import keras

    class EpochProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.progress, self.epochs = Progress(mode), 0

        def on_epoch_end(self, epoch, logs=None):
            self.epochs = epoch + 1
            self.progress.update(
                f"epoch {epoch + 1}/{self.params.get('epochs', '?')}" + _loss(logs)
            )

        def on_train_end(self, logs=None):
            self.progress.close(
                f"trained {self.epochs} epochs in {self.progress.seconds:.1f}s" + _loss(logs)
            )

    return EpochProgress()


def _loss(logs):
    loss = (logs or {}).get("loss")
    return "" if loss is None else f", loss {float(loss):.4g}"
