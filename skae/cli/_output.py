"""Where the command line writes: whole files, put in place when complete.

An output file is written in a folder of its own with a unique name, made
beside the target (``.NAME.XXXXXXXX.partial/NAME``), and renamed onto the
target only once complete. So a failed or interrupted run leaves no
truncated file, and two runs writing the same file cannot mix their rows:
the last to finish wins, whole. The folder is removed in every case but
SIGKILL.

Stdout and other targets that are not regular files (``/dev/null``, a named
pipe) cannot be renamed onto: the output is written to a temporary file
(under ``$TMPDIR``) and copied to them once complete, so they receive the
whole output or nothing at all.
"""

import gzip
import os
import shutil
import stat
import sys
import tempfile

from ._messages import DataError, UsageError
from ._tables import file_format, pyarrow

STDOUT = "-"


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

    def __init__(self, path, kind):
        self.path = None if path in (None, STDOUT) else str(path)
        self.direct = self.path is None or _is_special(self.path)
        if self.path is not None and os.path.isdir(self.path):
            raise UsageError(f"{self.path} is a folder; give a file name")
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
        # Beside the real file, so that the rename stays on one file system.
        target = os.path.realpath(self.path)
        parent = os.path.dirname(target)
        if not os.path.isdir(parent):
            raise UsageError(f"No such folder for the output: {self.path}")
        try:
            return tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=parent)
        except OSError as exc:
            raise DataError(f"cannot write to {self.path}: {exc.strerror or exc}") from exc

    def commit(self):
        """Put the finished output in place: rename, or copy to stdout or a device."""
        if self.path is None:
            with open(self.temp, newline="") as source:
                shutil.copyfileobj(source, sys.stdout)
            sys.stdout.flush()
        elif self.direct:
            with open(self.temp, "rb") as source, open(self.path, "wb") as target:
                shutil.copyfileobj(source, target)
        else:
            os.replace(self.temp, os.path.realpath(self.path))

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
