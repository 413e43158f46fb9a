"""The zip archives of skae's model files: bounded reading and atomic, durable writing.

Reading (:func:`read_archive`) treats an archive as untrusted input, the
outer model file and the Keras archive inside it alike: at most 16 members
and a small central directory (checked on the raw bytes before ``zipfile``
parses them), no zip64 records or several disks, only the expected member
names, each once, no links, folders or paths, no encryption, deflate or no
compression, declared sizes capped by the caller and at most 200:1
compressed beyond 1 MiB; members are read in bounded chunks and must hold
exactly what they declare. Every refusal raises :class:`skae._io._json.Refused`;
skae/_io/_persistence.py names the file.

Writing (:func:`write_atomically`) goes through a unique temporary file next
to the target, flushed and fsynced, renamed over the target, and the folder
fsynced: readers see the old file or the new one, never a mix. Temporaries
that a killed save left behind an hour ago are removed by the next save to
the same target. :func:`zip_bytes` writes the same archive in memory.
"""

import errno
import hashlib
import hmac
import io
import os
import stat
import struct
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from ._json import Refused

__all__ = [
    "MAX_JSON",
    "MAX_NETWORK",
    "check_hmac",
    "digest",
    "key_bytes",
    "members_hmac",
    "open_regular",
    "read_archive",
    "write_atomically",
    "zip_bytes",
]

MiB = 1 << 20
MAX_JSON = 64 * MiB
# Below 2 GiB by a margin, so that no archive needs zip64 records.
MAX_NETWORK = (1 << 31) - (128 * MiB)
_MAX_FILE = (1 << 31) - 1
_MAX_RATIO, _RATIO_FLOOR = 200, MiB
_MAX_ENTRIES, _MAX_DIRECTORY = 16, 64 * 1024
# Temporaries of saves killed this long ago are removed by the next save.
_STALE_SECONDS = 3600
_TEMPORARY_SUFFIX = ".skae-tmp"

_umask_lock = threading.Lock()


# ----------------------------------------------------------------------
# reading


def open_regular(path):
    """A read-only descriptor of ``path``, refused unless it is a regular file (no FIFO waits)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "No such model file", str(path)) from None
    try:
        info = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise Refused("it is not a regular file.")
    return fd


def read_archive(file, size, allowed, required, what, read=None):
    """Check the zip archive in ``file`` (a binary file of ``size`` bytes) and read its members.

    ``allowed`` maps each member name the archive may hold to its largest
    size; ``required`` names those it must hold; ``what`` names the archive
    in messages ("it", "its model.keras"). Returns ``(members, sizes)``:
    the bytes of the members named in ``read`` (all, by default), and the
    declared size of every member.
    """
    if size > _MAX_FILE:
        raise Refused(f"{what} is {size} bytes long, more than a skae model file can be.")
    _check_zip_directory(file, size, what)
    with zipfile.ZipFile(file) as archive:
        infos = _check_members(archive, allowed, required, what)
        sizes = {info.filename: info.file_size for info in infos}
        members = {
            info.filename: _read_member(archive, info, allowed[info.filename])
            for info in infos
            if read is None or info.filename in read
        }
    return members, sizes


def _check_zip_directory(file, size, what):
    """Refuse before zipfile reads it a central directory too large or with too many entries."""
    tail_size = min(size, 22 + 0xFFFF)
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    file.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise Refused(f"{what} is not a skae model file (it is not a zip archive).")
    _, disk, directory_disk, disk_entries, entries, directory_size, _, _ = struct.unpack(
        "<4s4H2LH", tail[at : at + 22]
    )
    # zipfile would take a zip64 record's counts over these (skae never writes one).
    locator = size - tail_size + at - 20
    zip64 = False
    if locator >= 0:
        file.seek(locator)
        zip64 = file.read(4) == b"PK\x06\x07"
        file.seek(0)
    if zip64:
        raise Refused(
            f"{what} is not a skae model file: its zip directory has zip64 records, "
            "which skae never writes."
        )
    if (
        disk
        or directory_disk
        or max(disk_entries, entries) > _MAX_ENTRIES
        or directory_size > _MAX_DIRECTORY
    ):
        raise Refused(
            f"{what} is not a skae model file: its zip directory declares {entries} "
            f"members in {directory_size} bytes (or several disks)."
        )


def _check_members(archive, allowed, required, what):
    infos = archive.infolist()
    names = [info.filename for info in infos]
    if len(infos) > _MAX_ENTRIES:
        raise Refused(f"{what} holds {len(infos)} members.")
    for info in infos:
        name = info.filename
        if names.count(name) > 1:
            raise Refused(f"{what} holds the member {name!r} twice.")
        if "/" in name or "\\" in name or ".." in name or ":" in name or not name or info.is_dir():
            raise Refused(f"{what} holds the member {name!r}, a path or folder.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise Refused(f"{what} holds the member {name!r} as a symbolic link.")
    if not set(names) <= set(allowed) or not required <= set(names):
        raise Refused(
            f"{what} is not a skae model file: expected the members {sorted(allowed)} "
            f"({sorted(required)} at least), found {sorted(names)}."
        )
    for info in infos:
        name, cap = info.filename, allowed[info.filename]
        if info.flag_bits & 0x1:
            raise Refused(f"{what} holds the member {name!r} encrypted.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Refused(
                f"{what} holds the member {name!r} compressed by method {info.compress_type}."
            )
        if info.file_size > cap:
            raise Refused(
                f"{what} holds the member {name!r}, which declares {info.file_size} bytes, "
                f"more than the {cap} allowed."
            )
        ratio_cap = _MAX_RATIO * max(info.compress_size, 1)
        if info.file_size > _RATIO_FLOOR and info.file_size > ratio_cap:
            raise Refused(
                f"{what} holds the member {name!r}, which would expand {info.compress_size} "
                f"bytes to {info.file_size} (more than {_MAX_RATIO}:1): a decompression bomb."
            )
    return infos


def _read_member(archive, info, cap):
    chunks, total = [], 0
    with archive.open(info) as member:
        while True:
            chunk = member.read(min(MiB, cap + 1 - total))
            if not chunk:
                break
            total += len(chunk)
            if total > info.file_size or total > cap:
                raise Refused(f"the member {info.filename!r} holds more than it declares.")
            chunks.append(chunk)
            if total == cap + 1:
                break
    if total != info.file_size:
        raise Refused(
            f"the member {info.filename!r} holds {total} bytes, not the {info.file_size} "
            "it declares."
        )
    return b"".join(chunks)


# ----------------------------------------------------------------------
# integrity: checksums and HMAC


def digest(data):
    """The SHA-256 of ``data``, in hexadecimal."""
    return hashlib.sha256(data).hexdigest()


def key_bytes(key):
    """An HMAC ``key`` (bytes or str) as bytes; ``None`` stays ``None``."""
    if key is None:
        return None
    if isinstance(key, str):
        key = key.encode()
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(f"key must be bytes or str, got {type(key).__name__}.")
    if not key:
        raise ValueError("key must not be empty.")
    return bytes(key)


def members_hmac(key, members):
    """The HMAC-SHA256 (hexadecimal) of ``members``, pairs of a name and bytes (or None)."""
    mac = hmac.new(key, b"skae-model hmac-sha256 v2\0", hashlib.sha256)
    for name, data in members:
        mac.update(name.encode() + b"\0")
        if data is None:
            mac.update(b"\1")
        else:
            mac.update(b"\2" + len(data).to_bytes(8, "big"))
            mac.update(data)
    return mac.hexdigest()


def check_hmac(key, members, stored):
    """Refuse unless ``stored`` (bytes, or None when absent) is the HMAC of ``members``."""
    if stored is None:
        raise Refused(
            "a key was given, but the file carries no HMAC: it was saved without a key, "
            "or its HMAC was removed."
        )
    if not hmac.compare_digest(members_hmac(key, members).encode(), stored):
        raise Refused(
            "its HMAC does not match the key: it was modified, or saved with another key."
        )


# ----------------------------------------------------------------------
# writing


def zip_bytes(members):
    """The zip archive of ``members`` (pairs of name and bytes), in memory."""
    buffer = io.BytesIO()
    _write_zip(buffer, members)
    return buffer.getvalue()


def _write_zip(file, members):
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)


def write_atomically(path, members):
    """Write the zip of ``members`` to ``path`` through a unique temporary file; return ``path``.

    A symbolic link is written through (its target is replaced). An existing
    file keeps its permission bits; a new one gets ``0o666 & ~umask``.
    """
    user_path = path
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    folder = target.parent
    _remove_stale_temporaries(folder, target.name)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode) & 0o777
    except OSError:
        mode = 0o666 & ~_umask()
    try:
        fd, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=_TEMPORARY_SUFFIX, dir=folder
        )
    except OSError as error:
        raise _naming(error, user_path) from error
    try:
        with os.fdopen(fd, "wb") as file:
            if hasattr(os, "fchmod"):
                os.fchmod(file.fileno(), mode)
            _write_zip(file, members)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise _naming(error, user_path) from error
        raise
    _fsync_folder(folder)
    return Path(user_path)


def _naming(error, path):
    """``error`` again, naming the user's ``path`` instead of a temporary."""
    if error.errno is not None:
        try:
            return type(error)(error.errno, f"Cannot save the model: {error.strerror}", str(path))
        except TypeError:
            pass
    return OSError(f"Cannot save the model to '{path}': {error}")


def _remove_stale_temporaries(folder, name):
    prefix, now = f".{name}.", time.time()
    try:
        entries = os.scandir(folder)
    except OSError:
        return
    with entries:
        for entry in entries:
            if not (entry.name.startswith(prefix) and entry.name.endswith(_TEMPORARY_SUFFIX)):
                continue
            if len(entry.name) <= len(prefix) + len(_TEMPORARY_SUFFIX):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(info.st_mode) and now - info.st_mtime > _STALE_SECONDS:
                    os.unlink(entry.path)
            except OSError:
                pass


def _umask():
    """The process' umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _fsync_folder(folder):
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
