"""What a model file may make a load allocate, decided by what the file is, not by what it says.

Two checks, each made before the allocation it bounds (the JSON documents
are bounded by :func:`skae._io._json.read_json`):

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

from ._json import Refused

__all__ = ["DEFAULT_LIMITS", "Limits", "check_budget", "check_weights_file"]

MiB = 1 << 20


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

    max_bytes: int = 4 << 30
    ratio: int = 8
    floor: int = 16 * MiB

    def allowed(self, file_size):
        """The most bytes a file of ``file_size`` bytes may declare."""
        return min(self.max_bytes, self.ratio * int(file_size) + self.floor)


DEFAULT_LIMITS = Limits()

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
