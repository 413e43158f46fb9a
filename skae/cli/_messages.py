"""Errors and messages of the command line: everything it prints on stderr.

Only the standard library is imported here (Keras for a progress bar, lazily).
"""

import sys
import time
from contextlib import redirect_stdout


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


def keras_verbose(quiet):
    """Keras' ``verbose``: a live bar on a terminal, one line per epoch in a log.

    Parameters
    ----------
    quiet : bool
        ``--quiet`` was given.

    Returns
    -------
    verbose : int
        0, 1 or 2.
    """
    if quiet:
        return 0
    return 1 if sys.stderr.isatty() else 2


class Progress:
    """Progress of one pass over DATA, on stderr.

    A ``keras.utils.Progbar`` on a terminal; elsewhere (a log, a pipe) one
    line when the pass ends, so that logs stay readable.

    Parameters
    ----------
    title : str
        What the pass does, e.g. ``"pass 1/5"``.
    quiet : bool
        Print nothing.
    log_line : bool, default=True
        Print the one line at the end when not on a terminal.
    total : int or None, default=None
        Rows expected, when known.
    """

    def __init__(self, title, quiet, log_line=True, total=None):
        self.title = title
        self.log_line = log_line and not quiet
        self.start = time.perf_counter()
        self.bar = None
        if not quiet and sys.stderr.isatty():
            import keras

            if log_line:
                note(title)
            self.bar = keras.utils.Progbar(total, unit_name="row", stateful_metrics=["loss"])

    def update(self, rows, **values):
        """Show that ``rows`` rows are done, with metrics such as ``loss``."""
        if self.bar is not None:
            with redirect_stdout(sys.stderr):  # Progbar prints on stdout
                self.bar.update(rows, list(values.items()))

    def close(self, rows, **values):
        """End the pass: finish the bar, or print the log line."""
        if self.bar is not None:
            # A bar with a target already finished on reaching it.
            if self.bar.target is None or rows < self.bar.target:
                with redirect_stdout(sys.stderr):
                    self.bar.update(rows, list(values.items()), finalize=True)
        elif self.log_line:
            details = "".join(f", {name} {value:.4g}" for name, value in values.items())
            seconds = time.perf_counter() - self.start
            note(f"{self.title}: {rows} rows in {seconds:.1f}s{details}")
