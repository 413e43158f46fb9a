"""Reading the command line's input tables: CSV and Parquet, in chunks, strictly.

A CSV is read with one separator (``,`` unless ``--sep``) and refused, not
guessed at, when it looks like another: a header holding ``;`` or a tab,
rows with more fields than the header, numbers written with decimal commas.
A column of numbers with a few text cells is refused too, naming the cells:
dropping it, or reading the cells as missing, would score other data than
the user meant. Any failure to read names the file, as a :class:`DataError`.

Only the standard library, NumPy and pandas are imported here; pyarrow is
imported when a Parquet file is met.
"""

import os
import re
import warnings

import numpy as np
import pandas as pd

from ._messages import DataError, UsageError, describe, note

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
# Read every float exactly as written: pandas < 3 parses the last bit loosely
# by default; pandas 3 is exact and deprecates the option.
_EXACT_FLOATS = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
# Separators a header may hold when the file is not comma-separated.
_OTHER_SEPARATORS = {";": "';'", "\t": "'\\t'", "|": "'|'"}
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?[\d.]*\d,\d+\s*$")
_SHOWN_CELLS = 5  # offending cells an error message lists


def file_format(path, default=None):
    """``"csv"`` or ``"parquet"``, from the file name's extension.

    Parameters
    ----------
    path : str or path-like
        The file.
    default : str or None, default=None
        Format of a name with another extension; None refuses it.

    Returns
    -------
    kind : str

    Examples
    --------
    >>> file_format("scores.csv.gz"), file_format("x.PQ"), file_format("/dev/null", "csv")
    ('csv', 'parquet', 'csv')
    """
    name = str(path).lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if default is not None:
        return default
    raise UsageError(f"{path}: unknown file type; use a .csv, .csv.gz, .parquet or .pq file")


def pyarrow():
    """``pyarrow`` with its ``parquet`` module, or a :class:`DataError` saying how to get it."""
    try:
        import pyarrow
        import pyarrow.parquet  # binds pyarrow.parquet
    except ImportError as exc:
        raise DataError(
            f"Parquet files need pyarrow ({exc}); install it with: pip install 'skae[parquet]'"
        ) from exc
    return pyarrow


class Table:
    """An input file of the command line, checked when made.

    Parameters
    ----------
    path : str
        A ``.csv``, ``.csv.gz``, ``.parquet`` or ``.pq`` file.
    sep, decimal : str or None, default=None
        A CSV's field separator and decimal mark; None: ``,`` and ``.``,
        with checks that the file does not use others.

    Raises
    ------
    UsageError
        An unknown extension, a missing file, CSV options for a Parquet file.
    DataError
        An unreadable file, or a Parquet file without pyarrow installed.
    """

    def __init__(self, path, sep=None, decimal=None):
        self.path = str(path)
        self.kind = file_format(path)
        self.sep, self.decimal = sep, decimal
        if self.kind == "parquet" and (sep or decimal):
            raise UsageError(f"--sep and --decimal are for CSV files; {path} is Parquet")
        if (sep or ",") == (decimal or "."):
            raise UsageError(f"--sep and --decimal cannot both be {decimal!r}")
        if not os.path.exists(path):
            raise UsageError(f"No such file: {path}")
        if os.path.isdir(path):
            raise UsageError(f"{path} is a folder, not a data file")
        try:  # readable now, rather than after training
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise DataError(describe(exc)) from exc
        if self.kind == "parquet":
            pyarrow()

    def chunks(self, chunksize, columns=None):
        """Chunks of the numeric columns as float64 DataFrames.

        Parameters
        ----------
        chunksize : int or None
            Rows per chunk; None yields the whole file as one chunk.
        columns : list of str or None, default=None
            Columns to use; None takes every numeric column of the first chunk
            and names the text columns on stderr.

        Yields
        ------
        chunk : DataFrame
            Float64 values, indexed by row number in the file (from 0).

        Raises
        ------
        DataError
            A file that cannot be read, a missing or non-numeric value.
        """
        start = 0
        for raw in self._frames(chunksize):
            if raw.empty:  # a header-only CSV, an empty row group
                continue
            # Rows numbered in the file, whatever index a Parquet file stored.
            raw.index = pd.RangeIndex(start, start + len(raw))
            if start == 0:
                self._check_header(raw)
            if columns is None:
                columns = self._numeric_columns(raw)
            chunk = self._as_numbers(raw, columns, start)
            start += len(chunk)
            yield chunk
        if start == 0:
            raise DataError(f"{self.path}: no data rows")

    def _frames(self, chunksize):
        """DataFrames straight from the file; any reading error names the file."""
        try:
            if self.kind == "csv":
                yield from self._csv_frames(chunksize)
            else:
                yield from self._parquet_frames(chunksize)
        except (DataError, MemoryError):
            raise
        except pd.errors.ParserWarning:
            self._check_header(self._header())  # "the header holds ';'" says more
            raise DataError(
                f"{self.path}: rows have more fields than the header; " + self._sep_hint()
            ) from None
        except pd.errors.ParserError as exc:
            raise DataError(
                f"{self.path}: cannot read as CSV: {describe(exc)}; " + self._sep_hint()
            ) from exc
        # Parsers, decompressors and Arrow raise many types (EOFError for a
        # truncated .gz, zlib.error, UnicodeDecodeError, ArrowInvalid...).
        except Exception as exc:
            raise DataError(f"{self.path}: cannot read as {self.kind}: {describe(exc)}") from exc

    def _csv_frames(self, chunksize):
        """DataFrames of the CSV, strictly parsed (see ``_strictly``)."""
        options = {
            "sep": self.sep or ",",
            "decimal": self.decimal or ".",
            # Never take extra leading fields as an index, never skip a bad line.
            "index_col": False,
            "on_bad_lines": "error",
            **_EXACT_FLOATS,
        }
        if chunksize is None:
            yield _strictly(pd.read_csv, self.path, **options)
            return
        with _strictly(pd.read_csv, self.path, chunksize=chunksize, **options) as reader:
            while (frame := _strictly(next, reader, None)) is not None:
                yield frame

    def _parquet_frames(self, chunksize):
        """DataFrames of the Parquet file, one per batch of ``chunksize`` rows."""
        with pyarrow().parquet.ParquetFile(self.path) as parquet:
            if chunksize is None:
                yield parquet.read().to_pandas()
                return
            for batch in parquet.iter_batches(batch_size=chunksize):
                yield batch.to_pandas()

    def _header(self):
        """The CSV's header alone, as an empty DataFrame (no columns if unreadable)."""
        try:
            return pd.read_csv(self.path, sep=self.sep or ",", nrows=0)
        except Exception:  # the caller reports the error it met first
            return pd.DataFrame()

    def _sep_hint(self):
        """What to do about a CSV whose rows do not match its header."""
        if self.sep is None:
            return (
                "if the file is not comma-separated, give its separator with --sep (e.g. --sep ';')"
            )
        return f"check --sep (read with {self.sep!r})"

    def _check_header(self, frame):
        """Refuse a header that holds another separator, unless --sep was given."""
        if self.kind != "csv" or self.sep is not None:
            return
        for name in map(str, frame.columns):
            for char, shown in _OTHER_SEPARATORS.items():
                if char in name:
                    raise DataError(
                        f"{self.path}: the header holds {shown} (in {_clip(name)!r}): give --sep "
                        f"{shown} if it separates the fields (and --decimal ',' for decimal "
                        "commas), or --sep ',' if it does not"
                    )

    def _numeric_columns(self, frame):
        """The numeric columns of the first chunk; notes the text ones, refuses bad ones."""
        numeric, text = [], []
        for name in frame.columns:
            values = frame[name]
            is_number = pd.api.types.is_numeric_dtype(values) or self._numbers_as_text(values, name)
            (numeric if is_number else text).append(name)
        if not numeric:
            raise UsageError(
                f"{self.path} has no numeric column "
                f"(columns: {', '.join(map(str, frame.columns))}); "
                "encode the data as numbers, or name numeric columns with --columns"
            )
        if text:
            note(f"ignoring text columns: {', '.join(map(str, text))} (choose with --columns)")
        return numeric

    def _numbers_as_text(self, values, name):
        """Whether a column not typed as numbers holds numbers in every cell.

        Refuses one that holds numbers in all but a few cells (at least half
        of its non-empty cells): that is numeric data with errors, not text.
        """
        cells = values.dropna()
        bad = cells[pd.to_numeric(cells, errors="coerce").isna()]
        if len(cells) and not len(bad):  # e.g. Python ints in a Parquet object column
            return True
        if len(cells) and len(bad) <= len(cells) / 2:
            raise DataError(
                f"{self.path}: column {name!r} holds numbers but also "
                f"{_cells(bad)} (rows counted from 0, header not counted); fix or remove "
                "these cells, or leave the column out with --columns"
            )
        if (
            self.decimal is None
            and len(cells)
            and cells.astype(str).str.match(_DECIMAL_COMMA).all()
        ):
            raise DataError(
                f"{self.path}: column {name!r} holds numbers with decimal commas "
                f"(e.g. {cells.iloc[0]!r}); give --decimal ',' (and --sep ';' if "
                "fields are separated by ';')"
            )
        return False

    def _as_numbers(self, raw, columns, start):
        """``raw[columns]`` as float64, indexed by row number; refuses text and inf.

        Empty cells stay NaN: the estimators skip missing cells.
        """
        missing = [name for name in columns if name not in raw.columns]
        if missing:
            raise UsageError(
                f"{self.path} has no column {', '.join(map(repr, missing))} "
                f"(columns: {', '.join(map(str, raw.columns))})"
            )
        selected = raw[columns]
        chunk = selected.apply(pd.to_numeric, errors="coerce").astype(np.float64)
        chunk.index = pd.RangeIndex(start, start + len(chunk))
        values = chunk.to_numpy()
        text = np.isnan(values) & selected.notna().to_numpy()  # cells that are not numbers
        bad = np.argwhere(np.isinf(values) | text)
        if len(bad):
            (row, column), others = bad[0], bad[1:]
            more = ""
            if len(others):
                shown = ", ".join(
                    f"{columns[c]!r} row {start + r}: {_shown(selected.iloc[r, c])}"
                    for r, c in others[: _SHOWN_CELLS - 1]
                )
                more = (
                    f", and {len(others)} more in rows {start}-{start + len(chunk) - 1} "
                    f"({shown}{', ...' if len(others) >= _SHOWN_CELLS else ''})"
                )
            raise DataError(
                f"{self.path}: {_what(selected.iloc[row, column])} in column "
                f"{columns[column]!r} at row {start + row}{more} (rows counted from 0); "
                "the autoencoder needs numbers (empty cells are skipped as missing), so "
                "fix or drop such rows first"
            )
        return chunk


def _strictly(function, *args, **kwargs):
    """``function(*args, **kwargs)``, pandas' ParserWarning raised as an error.

    pandas warns, and drops data, when the first row has more fields than
    the header (with ``index_col=False``); on a command line that is an error.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        return function(*args, **kwargs)


def _what(value):
    """How an error message names a bad cell's value."""
    if pd.isna(value):
        return "missing value"
    if isinstance(value, str):
        return f"non-numeric value {value!r}"
    return f"value {value}"  # infinity


def _shown(value):
    """A cell's value in a list of bad cells."""
    return "missing" if pd.isna(value) else repr(value)


def _clip(text, size=40):
    """``text`` cut to ``size`` characters, for messages."""
    return text if len(text) <= size else text[: size - 3] + "..."


def _cells(bad):
    """``"text in row 3: 'abc', row 9: 'n/a'"``, at most a few cells shown."""
    shown = ", ".join(f"row {row}: {value!r}" for row, value in bad.iloc[:_SHOWN_CELLS].items())
    more = f" ({len(bad)} cells in all)" if len(bad) > _SHOWN_CELLS else ""
    return f"text in {shown}{more}"
