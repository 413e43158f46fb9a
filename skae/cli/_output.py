"""Where the command line writes: whole files, put in place when complete.

An output file is written in a folder of its own with a unique name, made
beside the target (``.NAME.XXXXXXXX.partial/NAME``), and renamed onto the
target only once complete. So a failed or interrupted run leaves no
truncated file, and two runs writing the same file cannot mix their rows:
the last to finish wins, whole. A file replaced keeps its permission bits
(a 0600 file stays 0600). The folder is removed in every case but SIGKILL.

Refused before any work: an output that is one of the inputs (the same
file under any name: a symbolic or hard link, another spelling), stdout
when it is an input or closed, and an output that is a symbolic link (skae
neither writes through a link nor replaces it: give the file itself).

Stdout and other targets that are not regular files (``/dev/null``, a named
pipe) cannot be renamed onto: the output is written to a temporary file
(under ``$TMPDIR``) and copied to them once complete, with SIGINT, SIGTERM
and SIGHUP held back during the copy, so they receive the whole output or
nothing at all; a signal that arrives during the copy takes effect when it
ends. A CSV's text cells that a spreadsheet would run as a formula are
written with a leading ``'`` (see :func:`neutralised`).
"""

import gzip
import os
import shutil
import stat
import sys
import tempfile

from ._messages import DataError, UsageError, signals_held
from ._tables import file_format, pyarrow

STDOUT = "-"
# A cell starting with one of these is a formula to a spreadsheet (OWASP's
# CSV injection advice): written with a leading ' so that it is shown as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Destination:
    """A file written whole under a temporary name, then put in place.

    Making one checks, before any work, that the target can be written:
    its folder exists and accepts a new file.

    Parameters
    ----------
    path : str or None
        The target; None or ``"-"`` for stdout.
    kind : {"table", "model"}
        A table's format is CSV or Parquet by the extension (CSV for stdout
        and for targets that are not regular files); a model is any file.
    inputs : sequence of str, default=()
        The files the command reads: the output may not be one of them.

    Attributes
    ----------
    temp : str
        Where to write the output before :meth:`commit`.
    format : str or None
        ``"csv"`` or ``"parquet"`` for a table.

    Examples
    --------
    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "scores.csv")
    >>> with Destination(target, "table") as out:
    ...     with open(out.temp, "w") as handle:
    ...         _ = handle.write("row,score,label\\n")
    ...     out.commit()
    >>> open(target).read(), os.listdir(os.path.dirname(target))
    ('row,score,label\\n', ['scores.csv'])
    """

    def __init__(self, path, kind, inputs=()):
        self.path = None if path in (None, STDOUT) else str(path)
        self.direct = self.path is None or _is_special(self.path)
        if self.path is None:
            check_stdout(inputs)
        else:
            _check_target(self.path, inputs, self.direct)
        name = "stdout.csv" if self.path is None else os.path.basename(self.path)
        self.format = None
        if kind == "table":
            self.format = file_format(name, default="csv" if self.direct else None)
            if self.format == "parquet":
                pyarrow()  # missing pyarrow is an error now, not after training
        self._folder = self._make_folder(name)
        self.temp = os.path.join(self._folder, name)

    def _make_folder(self, name):
        """The temporary folder: beside the target, or under $TMPDIR for direct targets."""
        if self.direct:
            if self.path is not None and not os.access(self.path, os.W_OK):
                raise DataError(f"cannot write to {self.path}: permission denied")
            return tempfile.mkdtemp(prefix="skae-")
        # Beside the file, so that the rename stays on one file system.
        parent = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(parent):
            raise UsageError(f"No such folder for the output: {self.path}")
        try:
            return tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=parent)
        except OSError as exc:
            raise DataError(f"cannot write to {self.path}: {exc.strerror or exc}") from exc

    def commit(self):
        """Put the finished output in place: rename, or copy to stdout or a device."""
        if self.path is None:
            _copy_to_stdout(self.temp)
        elif self.direct:
            # Opened first: opening a named pipe waits for its reader, and
            # that wait must stay interruptible.
            fd = os.open(self.path, os.O_WRONLY)
            try:
                _copy_whole(self.temp, fd)
            finally:
                os.close(fd)
        else:
            try:  # a file replaced keeps its permissions (save() does the same)
                mode = stat.S_IMODE(os.stat(self.path).st_mode)
            except FileNotFoundError:
                mode = None
            if mode is not None:
                os.chmod(self.temp, mode)
            os.replace(self.temp, self.path)

    def discard(self):
        """Remove the temporary folder and whatever is left in it."""
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.discard()


class TableWriter:
    """Appends DataFrames to a CSV (optionally gzipped) or Parquet file.

    Parameters
    ----------
    path : str
        The file, created on the first :meth:`append`; ``.gz`` compresses.
    kind : {"csv", "parquet"}
        The format.
    """

    def __init__(self, path, kind):
        self.path, self.kind = path, kind
        self._handle = None

    def append(self, frame):
        """Write the rows of ``frame`` (its index left out)."""
        if self.kind == "parquet":
            pa = pyarrow()
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._handle is None:
                self._handle = pa.parquet.ParquetWriter(self.path, table.schema)
            self._handle.write_table(table)
            return
        header = self._handle is None
        if header:
            opener = gzip.open if self.path.lower().endswith(".gz") else open
            self._handle = opener(self.path, "wt", newline="")
        frame = frame.rename(columns=neutralised).apply(_neutralised_column)
        frame.to_csv(self._handle, header=header, index=False)

    def close(self):
        """Finish the file (a Parquet footer, a gzip trailer)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _is_special(path):
    """Whether ``path`` exists and is not a regular file or folder (/dev/null, a FIFO)."""
    try:
        mode = os.stat(path).st_mode  # follows links: /dev/stdout -> a pipe
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def neutralised(value):
    """A CSV cell a spreadsheet shows as text: ``'`` before a formula-like start.

    Per OWASP's advice on CSV injection, text starting with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return gets a leading single quote;
    other values (numbers included) are unchanged.

    Examples
    --------
    >>> neutralised("=cmd|' /C calc'!A0"), neutralised("-x"), neutralised("x"), neutralised(-1.5)
    ("'=cmd|' /C calc'!A0", "'-x", 'x', -1.5)
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _neutralised_column(values):
    """A column with its text cells neutralised (numeric columns unchanged)."""
    if values.dtype.kind in "biufc":
        return values
    return values.map(neutralised)


def _check_target(path, inputs, special):
    """Refuse an output that is a folder, a link to a file, or one of the inputs.

    A link to a device or pipe (``/dev/stdout``) is written to, as the device.
    """
    if os.path.islink(path) and not special:
        raise UsageError(
            f"-o {path} is a symbolic link (to {os.readlink(path)}); skae does not write "
            "through links: give the file itself, or another name"
        )
    if os.path.isdir(path):
        raise UsageError(f"{path} is a folder; give a file name")
    for name in inputs:
        if _same_file(path, name):
            raise UsageError(
                f"-o {path} is the input {name} (the same file): writing it would replace "
                "the data; give another output file"
            )


def check_stdout(inputs=()):
    """Refuse a closed stdout, or one that is an input file (``>> DATA``).

    Parameters
    ----------
    inputs : sequence of str, default=()
        The files the command reads.

    Raises
    ------
    UsageError
        Stdout is closed (``skae ... >&-``) or is one of ``inputs``.
    """
    closed = UsageError("stdout is closed; give an output file with -o OUT")
    if sys.stdout is None:  # closed when Python started (``skae ... >&-``)
        raise closed
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by an object without one
        return
    try:
        status = os.fstat(fd)
    except OSError:
        raise closed from None
    for name in inputs:
        try:
            other = os.stat(name)
        except OSError:
            continue
        if (status.st_dev, status.st_ino) == (other.st_dev, other.st_ino):
            raise UsageError(
                f"stdout is the input {name}: writing it would damage the data; "
                "redirect the output to another file"
            )


def _same_file(path, other):
    """Whether two names are the same existing file (device and inode compared)."""
    try:
        return os.path.samefile(path, other)
    except OSError:  # one does not exist
        return False


def write_stdout(text):
    """Write ``text`` to stdout at once, the terminating signals held back.

    Parameters
    ----------
    text : str
        The whole output.
    """
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced (tests, embedding)
        with signals_held():
            sys.stdout.write(text)
            sys.stdout.flush()
        return
    sys.stdout.flush()
    data = memoryview(text.encode(sys.stdout.encoding or "utf-8"))
    with signals_held():
        while data:
            data = data[os.write(fd, data) :]


def _copy_to_stdout(path):
    """Copy a finished output to stdout, whole (see :func:`_copy_whole`)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced (tests, embedding)
        fd = None
    if fd is None:
        with signals_held(), open(path, newline="") as source:
            shutil.copyfileobj(source, sys.stdout)
            sys.stdout.flush()
        return
    sys.stdout.flush()
    _copy_whole(path, fd)


def _copy_whole(path, fd):
    """Write the file at ``path`` to ``fd`` with the terminating signals held back.

    Held back, not lost: a SIGTERM received during the copy takes effect
    when the copy ends, so the reader gets the whole output. (SIGKILL can
    still cut it short; and a reader that stops reading without closing
    the pipe keeps the copy, and so the signal, waiting: SIGKILL ends it.)
    """
    with signals_held(), open(path, "rb") as source:
        while chunk := source.read(1 << 16):
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
