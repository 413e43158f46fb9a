"""What a model file may make a load allocate, decided by what the file is, not by what it says.

Three checks, each made before the allocation it bounds:

- :func:`check_json_size`: a JSON document's nesting depth, and its counts of
  objects and arrays (containers) and of strings, from one linear scan of
  the raw bytes (NumPy, bounded chunks) before ``json.loads`` builds any of
  them. Each container costs Python ~60-250 bytes and each string ~50, for
  2-3 bytes of text: the counts are capped at a fixed allowance plus a
  share of the document's size, so that parsing costs at most a few times
  what an honest document of that size costs (one of numbers).
- :func:`check_weights_file`: the HDF5 weights file, through h5py's
  metadata only: every dataset numeric, unfiltered, in the file itself (no
  external or virtual storage), and storing at least the bytes it declares
  (a sparse dataset declaring 2 GiB in a few bytes is refused before
  anything reads it). Returns the bytes declared.
- :func:`check_budget`: the total bytes that the network's layers and the
  weights file declare, against :class:`Limits`: at most ``ratio`` times the
  model file's size plus ``floor``, and at most ``max_bytes`` whatever the
  size (the absolute default a user raises with
  ``skae.load(path, max_bytes=...)``).

Every refusal raises :class:`Refused` (a ``ValueError`` without the file's
name; the loader adds it).
"""

import io
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_LIMITS",
    "Limits",
    "check_budget",
    "check_json_size",
    "check_weights_file",
    "json_counts",
]

MiB = 1 << 20


class Refused(ValueError):
    """Placeholder until the restructure's ``Refused`` lands (same contract)."""


@dataclass(frozen=True)
class Limits:
    """The bounds of a load.

    Attributes
    ----------
    max_bytes : int
        Most bytes the network's weights (its layers' variables, and the
        weights file's datasets, each counted) may declare, whatever the
        file's size. ``skae.load(path, max_bytes=...)`` sets it.
    ratio, floor : int
        The same total is at most ``ratio * file_size + floor``: an honest
        file stores its weights (trained float32 values hardly compress), so
        a file that declares far more than it holds is a bomb.
    """

    max_bytes: int = 2 << 30
    ratio: int = 8
    floor: int = 16 * MiB

    def allowed(self, file_size):
        """The most bytes a file of ``file_size`` bytes may declare."""
        return min(self.max_bytes, self.ratio * int(file_size) + self.floor)


DEFAULT_LIMITS = Limits()

# ----------------------------------------------------------------------
# JSON: depth and counts from the raw bytes

MAX_DEPTH = 64
# Containers and strings allowed whatever the size, and per byte beyond it.
_CONTAINERS, _BYTES_PER_CONTAINER = 100_000, 64
_STRINGS, _BYTES_PER_STRING = 100_000, 4
_CHUNK = 1 << 20
_BRACKETS = np.zeros(256, dtype=bool)
_BRACKETS[[91, 93, 123, 125]] = True
_OPENING = np.zeros(256, dtype=bool)
_OPENING[[91, 123]] = True


def json_counts(data):
    """``(depth, containers, strings)`` of the JSON text ``data``, brackets in strings not counted.

    Exact for valid JSON (where backslashes occur only inside strings); one
    pass over the positions of the six characters that matter, in chunks of
    1 MiB, so that 64 MiB take a fraction of a second and bounded memory.
    """
    *_, counts = _scan(data)
    return counts


def _scan(data):
    """The counts of :func:`json_counts` so far, after each chunk (a caller can stop early)."""
    buffer = np.frombuffer(bytes(data), dtype=np.uint8)
    deepest, depth, containers, quotes_seen = 0, 0, 0, 0
    in_string, carried = 0, 0  # carried: backslashes ending the last chunk
    for offset in range(0, len(buffer), _CHUNK):
        chunk = buffer[offset : offset + _CHUNK]
        quotes = _unescaped_quotes(chunk, carried)
        brackets = np.flatnonzero(_BRACKETS[chunk])
        if len(brackets):
            outside = (np.searchsorted(quotes, brackets) + in_string) % 2 == 0
            opening = _OPENING[chunk[brackets[outside]]]
            containers += int(np.count_nonzero(opening))
            if len(opening):
                levels = depth + np.cumsum(np.where(opening, 1, -1))
                deepest = max(deepest, int(levels.max()))
                depth = int(levels[-1])
        in_string = (in_string + len(quotes)) % 2
        quotes_seen += len(quotes)
        carried = _trailing_backslashes(chunk, carried)
        yield deepest, containers, quotes_seen // 2


def _unescaped_quotes(chunk, carried):
    """Positions of the quotes in ``chunk`` not escaped by an odd run of backslashes."""
    quotes = np.flatnonzero(chunk == 34)
    backslashes = np.flatnonzero(chunk == 92)
    if not len(quotes):
        return quotes
    escapes = np.zeros(len(quotes), dtype=np.int64)
    if len(backslashes):
        starts = _run_starts(backslashes)
        last = np.searchsorted(backslashes, quotes) - 1
        at = np.maximum(last, 0)
        adjacent = (last >= 0) & (backslashes[at] == quotes - 1)
        escapes = np.where(adjacent, quotes - starts[at], 0)
        escapes = escapes + np.where(adjacent & (starts[at] == 0), carried, 0)
    escapes[quotes == 0] = carried
    return quotes[escapes % 2 == 0]


def _run_starts(backslashes):
    """For each backslash position, where its run of consecutive backslashes starts."""
    new_run = np.ones(len(backslashes), dtype=bool)
    new_run[1:] = backslashes[1:] != backslashes[:-1] + 1
    run_start = np.where(new_run, np.arange(len(backslashes)), 0)
    return backslashes[np.maximum.accumulate(run_start)]


def _trailing_backslashes(chunk, carried):
    backslashes = np.flatnonzero(chunk == 92)
    if not len(backslashes) or backslashes[-1] != len(chunk) - 1:
        return 0
    start = _run_starts(backslashes)[-1]
    return int(len(chunk) - start) + (carried if start == 0 else 0)


def check_json_size(data, what):
    """Refuse JSON ``data`` nested too deep, or holding more containers or strings than its
    size allows; the scan stops at the first chunk past a limit."""
    most_containers = _CONTAINERS + len(data) // _BYTES_PER_CONTAINER
    most_strings = _STRINGS + len(data) // _BYTES_PER_STRING
    for depth, containers, strings in _scan(data):
        if depth > MAX_DEPTH:
            raise Refused(
                f"{what} nests arrays or objects {depth} deep (the limit is {MAX_DEPTH})."
            )
        if containers > most_containers:
            raise Refused(
                f"{what} holds {containers} JSON objects and arrays or more in {len(data)} "
                f"bytes (at most {most_containers}): a file skae wrote holds far fewer."
            )
        if strings > most_strings:
            raise Refused(
                f"{what} holds {strings} JSON strings or more in {len(data)} bytes (at most "
                f"{most_strings})."
            )


# ----------------------------------------------------------------------
# HDF5: declared against stored

# Objects (groups and datasets) a weights file may hold: Keras writes a few per layer.
MAX_H5_OBJECTS = 100_000


def check_weights_file(data, what="its model.weights.h5"):
    """Check the HDF5 file ``data`` (bytes) through its metadata; return the bytes it declares."""
    import h5py

    datasets, objects = [], [0]

    def visit(name, item):
        objects[0] += 1
        if objects[0] > MAX_H5_OBJECTS:
            raise Refused(f"{what} holds more than {MAX_H5_OBJECTS} objects.")
        if isinstance(item, h5py.Dataset):
            datasets.append((name, item))
        elif not isinstance(item, h5py.Group):
            raise Refused(f"{what} holds {name!r}, neither a group nor a dataset.")
        return None

    try:
        with h5py.File(io.BytesIO(data), "r") as weights:
            weights.visititems(visit)
            return sum(_dataset_bytes(name, item, what) for name, item in datasets)
    except Refused:
        raise
    except Exception as error:  # h5py raises OSError, KeyError, ValueError, ... on damage
        raise Refused(f"{what} is not a readable HDF5 file ({type(error).__name__}).") from error


def _dataset_bytes(name, dataset, what):
    dtype = dataset.dtype
    if dtype.kind not in "biuf" or dtype.itemsize > 8 or dtype.fields is not None:
        raise Refused(f"{what} holds {name!r} of dtype {dtype}, not numbers.")
    plist = dataset.id.get_create_plist()
    if dataset.is_virtual or plist.get_external_count() or plist.get_nfilters():
        raise Refused(
            f"{what} holds {name!r} stored virtually, in other files or filtered, which "
            "Keras never writes."
        )
    declared = int(np.prod(dataset.shape, dtype=object)) * dtype.itemsize
    stored = dataset.id.get_storage_size()
    if declared > stored:
        raise Refused(
            f"{what} holds {name!r}, which declares {declared} bytes but stores {stored}: "
            "reading it would allocate what the file does not hold."
        )
    return declared


# ----------------------------------------------------------------------
# the budget


def check_budget(declared, file_size, limits=DEFAULT_LIMITS, what="its network"):
    """Refuse ``declared`` bytes (weights, variables) beyond what ``file_size`` bytes may hold."""
    if declared > limits.max_bytes:
        raise Refused(
            f"{what} declares {declared} bytes of weights, more than max_bytes = "
            f"{limits.max_bytes}: load it with skae.load(path, max_bytes=...) if you trust it."
        )
    allowed = limits.allowed(file_size)
    if declared > allowed:
        raise Refused(
            f"{what} declares {declared} bytes of weights in a file of {file_size} bytes (at "
            f"most {limits.ratio} x its size + {limits.floor}): it cannot hold them."
        )
