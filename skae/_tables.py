"""Reading and writing the command line's tables: CSV and Parquet, in chunks.

Only the standard library, NumPy and pandas are imported here; pyarrow is
imported when a Parquet file is met.
"""

import gzip
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

CSV_SUFFIXES = (".csv", ".csv.gz")
# Read every float exactly as written: pandas < 3 parses the last bit loosely
# by default; pandas 3 is exact and deprecates the option.
_EXACT_FLOATS = (
    {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
)
PARQUET_SUFFIXES = (".parquet", ".pq")


class UsageError(Exception):
    """A problem with the command line itself; exit status 2."""


def note(message):
    print(f"skae: {message}", file=sys.stderr)


def file_format(path):
    name = str(path).lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise UsageError(
        f"{path}: unknown file type; use a .csv, .csv.gz, .parquet or .pq file"
    )


def read_chunks(path, chunksize, columns=None):
    """Chunks of DATA's numeric columns as float64 DataFrames.

    Parameters
    ----------
    path : str
        CSV or Parquet file.
    chunksize : int or None
        Rows per chunk; None yields the whole file as one chunk.
    columns : list of str or None
        Columns to use; None takes every numeric column of the first chunk
        and names the others on stderr.

    Yields
    ------
    chunk : DataFrame
        Float64 values, indexed by row number in the file (from 0).
    """
    kind = file_format(path)
    if not Path(path).is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    start = 0
    for raw in _read_raw(path, kind, chunksize):
        if raw.empty:  # a header-only CSV, an empty row group
            continue
        if columns is None:
            columns = _numeric_columns(raw, path)
        chunk = _as_numbers(raw, columns, start, path)
        start += len(chunk)
        yield chunk
    if start == 0:
        raise ValueError(f"{path}: no data rows")


def _read_raw(path, kind, chunksize):
    """DataFrames straight from the file; reading errors name the file."""
    try:
        if kind == "csv":
            options = _EXACT_FLOATS
            if chunksize is None:
                yield pd.read_csv(path, **options)
                return
            with pd.read_csv(path, chunksize=chunksize, **options) as reader:
                yield from reader
            return
        with _pyarrow().parquet.ParquetFile(path) as parquet:
            if chunksize is None:
                yield parquet.read().to_pandas()
                return
            for batch in parquet.iter_batches(batch_size=chunksize):
                yield batch.to_pandas()
    except (ValueError, OSError) as error:  # parser, encoding and Arrow errors
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"{path}: cannot read as {kind}: {error}") from error


def _numeric_columns(frame, path):
    numeric = list(frame.select_dtypes(include=["number", "bool"]).columns)
    if not numeric:
        raise UsageError(
            f"{path} has no numeric column (columns: {', '.join(map(str, frame.columns))}); "
            "encode the data as numbers, or name numeric columns with --columns"
        )
    dropped = [str(name) for name in frame.columns if name not in numeric]
    if dropped:
        note(f"ignoring non-numeric columns: {', '.join(dropped)} (choose with --columns)")
    return numeric


def _as_numbers(raw, columns, start, path):
    """``raw[columns]`` as float64, indexed by row number; refuses text, NaN and inf."""
    missing = [name for name in columns if name not in raw.columns]
    if missing:
        raise UsageError(
            f"{path} has no column {', '.join(map(repr, missing))} "
            f"(columns: {', '.join(map(str, raw.columns))})"
        )
    selected = raw[columns]
    chunk = selected.apply(pd.to_numeric, errors="coerce").astype(np.float64)
    chunk.index = pd.RangeIndex(start, start + len(chunk))
    bad = ~np.isfinite(chunk.to_numpy())
    if bad.any():
        row, column = np.argwhere(bad)[0]
        value = selected.iloc[row, column]
        if pd.isna(value):
            what = "missing value"
        elif isinstance(value, str):
            what = f"non-numeric value {value!r}"
        else:
            what = f"value {value}"  # infinity
        raise ValueError(
            f"{path}: {what} in column {columns[column]!r} at row {start + row} "
            "(rows counted from 0); the autoencoder needs finite numbers, so fill "
            "or drop such rows first"
        )
    return chunk


def _pyarrow():
    """``pyarrow`` with its ``parquet`` module, or an error saying how to install it."""
    try:
        import pyarrow
        import pyarrow.parquet  # binds pyarrow.parquet
    except ImportError as error:
        raise ImportError(
            f"Parquet files need pyarrow ({error}); install it with: pip install 'skae[parquet]'"
        ) from error
    return pyarrow


@contextmanager
def table_writer(out):
    """A function that appends a DataFrame to ``out`` (CSV on stdout when None).

    A file is written under a temporary name and renamed when the block
    succeeds, so a failed run leaves no truncated output behind.
    """
    if out is None:
        yield _csv_appender(sys.stdout)
        return
    out_format = file_format(out)
    partial = Path(f"{out}.partial")
    try:
        if out_format == "parquet":
            with _parquet_appender(partial) as append:
                yield append
        else:
            opener = gzip.open if str(out).lower().endswith(".gz") else open
            with opener(partial, "wt", newline="") as handle:
                yield _csv_appender(handle)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def _csv_appender(handle):
    header = True

    def append(frame):
        nonlocal header
        frame.to_csv(handle, header=header, index=False)
        header = False

    return append


@contextmanager
def _parquet_appender(path):
    pa = _pyarrow()
    writer = None

    def append(frame):
        nonlocal writer
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if writer is None:
            writer = pa.parquet.ParquetWriter(path, table.schema)
        writer.write_table(table)

    try:
        yield append
    finally:
        if writer is not None:
            writer.close()
