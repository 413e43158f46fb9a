"""JSON with limits, for model files read as untrusted input.

:func:`read_json` parses bytes as JSON with limits a hostile file cannot get
round: no ``NaN``/``Infinity`` literals, no duplicate keys, and, before
``json.loads`` builds anything, the nesting depth and the counts of objects,
arrays and strings (:func:`check_json_size`), from one linear scan of the
raw bytes (NumPy, 1 MiB chunks) that stops at the first chunk past a limit.
Each object or array costs Python ~60-250 bytes and each string ~50, for 2-3
bytes of text: the counts are capped at a fixed allowance plus a share of
the document's size, so that a parse costs at most a few times what an
honest document of that size costs (a long array of numbers), in memory and
time linear in the bytes. Every refusal raises
:class:`Refused`, a ``ValueError`` whose message says what is wrong without
naming the file; :mod:`._persistence` adds the path.
"""

import json

import numpy as np

__all__ = [
    "MAX_DEPTH",
    "Refused",
    "canonical",
    "check_json_size",
    "dump_json",
    "json_counts",
    "json_depth",
    "read_json",
]

# Deepest nesting of arrays and objects a model file may hold. skae's own
# files reach about 15 (Keras' configuration of a nested network).
MAX_DEPTH = 64


class Refused(ValueError):
    """A value in a model file is not what skae wrote (internal: no file name)."""


def read_json(data, what):
    """Parse ``data`` (bytes) as JSON, refusing deep nesting, NaN literals and duplicate keys."""
    if not isinstance(data, (bytes, bytearray)):
        raise Refused(f"{what} is not bytes.")
    check_json_size(data, what)
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as error:
        raise Refused(f"{what} is not UTF-8 text ({error}).") from error
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except RecursionError as error:  # cannot happen below MAX_DEPTH; kept as a backstop
        raise Refused(f"{what} nests too deeply.") from error
    except ValueError as error:
        if isinstance(error, Refused):
            raise Refused(f"{what}: {error}") from error
        raise Refused(f"{what} is not valid JSON ({error}).") from error


def json_depth(data):
    """Deepest nesting of ``[``/``{`` in JSON text ``data``, brackets inside strings not counted."""
    return json_counts(data)[0]


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


def _unique_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise Refused(f"an object repeats the key {key!r}.")
        result[key] = value
    return result


def _no_constant(name):
    raise Refused(f"it holds the literal {name}, which is not JSON.")


def dump_json(value):
    """``value`` as UTF-8 JSON bytes (no NaN literals: they are tagged by the codec)."""
    return json.dumps(value, indent=1, allow_nan=False, ensure_ascii=False).encode()


def canonical(value):
    """The canonical bytes of a JSON value (sorted keys), for checksums."""
    return json.dumps(value, sort_keys=True, allow_nan=False, separators=(",", ":")).encode()
