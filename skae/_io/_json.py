"""JSON with limits, for model files read as untrusted input.

:func:`read_json` parses bytes as JSON with limits a hostile file cannot get
round: nesting depth (checked on the raw bytes before decoding), no
``NaN``/``Infinity`` literals, no duplicate keys. Every refusal raises
:class:`Refused`, a ``ValueError`` whose message says what is wrong without
naming the file; :mod:`._persistence` adds the path.
"""

import json

import numpy as np

__all__ = ["MAX_DEPTH", "Refused", "canonical", "dump_json", "json_depth", "read_json"]

# Deepest nesting of arrays and objects a model file may hold. skae's own
# files reach about 15 (Keras' configuration of a nested network).
MAX_DEPTH = 64
# Scanned for depth in chunks of this many bytes (bounded temporary memory).
_CHUNK = 1 << 23


class Refused(ValueError):
    """A value in a model file is not what skae wrote (internal: no file name)."""


def read_json(data, what):
    """Parse ``data`` (bytes) as JSON, refusing deep nesting, NaN literals and duplicate keys."""
    if not isinstance(data, (bytes, bytearray)):
        raise Refused(f"{what} is not bytes.")
    depth = json_depth(data)
    if depth > MAX_DEPTH:
        raise Refused(f"{what} nests arrays or objects {depth} deep (the limit is {MAX_DEPTH}).")
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
    """Deepest nesting of ``[``/``{`` in JSON text ``data``, brackets inside strings not counted.

    Exact for valid JSON (where backslashes occur only inside strings). Works
    on the positions of the six characters that matter, in bounded chunks,
    so that 64 MiB take a fraction of a second.
    """
    buffer = np.frombuffer(bytes(data), dtype=np.uint8)
    deepest, depth, in_string, carried = 0, 0, 0, 0  # carried: backslashes ending the last chunk
    for offset in range(0, len(buffer), _CHUNK):
        chunk = buffer[offset : offset + _CHUNK]
        backslashes = np.flatnonzero(chunk == 92)
        starts = backslashes
        if len(backslashes):
            # Where each run of consecutive backslashes starts.
            new_run = np.ones(len(backslashes), dtype=bool)
            new_run[1:] = backslashes[1:] != backslashes[:-1] + 1
            run_start = np.where(new_run, np.arange(len(backslashes)), 0)
            starts = backslashes[np.maximum.accumulate(run_start)]
        quotes = np.flatnonzero(chunk == 34)
        if len(quotes):
            escapes = np.zeros(len(quotes), dtype=np.int64)
            if len(backslashes):
                last = np.searchsorted(backslashes, quotes) - 1
                at = np.maximum(last, 0)
                adjacent = (last >= 0) & (backslashes[at] == quotes - 1)
                escapes = np.where(adjacent, quotes - starts[at], 0)
                escapes = escapes + np.where(adjacent & (starts[at] == 0), carried, 0)
            escapes[quotes == 0] = carried
            quotes = quotes[escapes % 2 == 0]
        brackets = np.flatnonzero(_BRACKETS[chunk])
        if len(brackets):
            outside = (np.searchsorted(quotes, brackets) + in_string) % 2 == 0
            steps = np.where(_OPENING[chunk[brackets]], 1, -1)[outside]
            if len(steps):
                levels = depth + np.cumsum(steps)
                deepest = max(deepest, int(levels.max()))
                depth = int(levels[-1])
        in_string = (in_string + len(quotes)) % 2
        if len(backslashes) and backslashes[-1] == len(chunk) - 1:
            carried = int(backslashes[-1] - starts[-1] + 1) + (carried if starts[-1] == 0 else 0)
        else:
            carried = 0
    return deepest


_BRACKETS = np.zeros(256, dtype=bool)
_BRACKETS[[91, 93, 123, 125]] = True
_OPENING = np.zeros(256, dtype=bool)
_OPENING[[91, 123]] = True


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
