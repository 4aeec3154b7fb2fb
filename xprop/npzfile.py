"""Reading and writing .npz archives as data, never as code.

``write_npz`` saves arrays uncompressed and without pickle, atomically. ``read_npz``
reads each member's .npy header itself and refuses, with an InputError naming the file,
anything but plain arrays: pickled objects, archives larger than ``max_bytes``, and
headers that claim more data than the member holds (so a damaged or hostile file cannot
make xprop allocate what its header claims). Any other damage (a truncated archive, a
bad CRC, a malformed header) is reported the same way, never as a crash.
"""

from __future__ import annotations

import math
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy
from numpy.lib import format as npy

from .errors import InputError
from .files import atomic_write

#: the largest archive read by default (all members, uncompressed)
MAX_BYTES = 4 << 30

# What a damaged archive or .npy header makes zipfile and numpy raise.
_DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, zlib.error,
           NotImplementedError, RuntimeError, OverflowError, KeyError, SyntaxError, TypeError,
           MemoryError, tokenize.TokenError)


def write_npz(path, arrays: dict) -> Path:
    """Write ``arrays`` (name -> numpy array) to ``path`` atomically, refusing pickles."""
    with atomic_write(path) as handle:
        numpy.savez(handle, allow_pickle=False, **arrays)
    return Path(path)


def read_npz(path, *, what="file", max_bytes=MAX_BYTES) -> dict:
    """name -> numpy array from the .npz archive at ``path``; ``what`` names the file in
    messages ("checkpoint", "model file")."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist or is not a file")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            claimed = sum(m.file_size for m in members)
            stored = path.stat().st_size
            forged = [m.filename for m in members if m.compress_size > stored]
            if forged:  # zipfile would allocate what the entry claims before reading it
                raise InputError(f"{what} {path}: the entry {forged[0]!r} claims more compressed "
                                 f"bytes than the file's {stored}; the file is damaged")
            if claimed > max_bytes:
                raise InputError(f"{what} {path} would unpack to {claimed} bytes, more than the "
                                 f"{max_bytes} allowed; it is damaged or not an xprop file")
            return {m.filename.removesuffix(".npy"): _read_member(archive, m, path, what)
                    for m in members}
    except InputError:
        raise
    except _DAMAGE as exc:
        raise InputError(f"{what} {path} is damaged or not an .npz archive "
                         f"({type(exc).__name__}: {exc})") from None


def _read_member(archive, member, path, what):
    if not member.filename.endswith(".npy"):
        raise InputError(f"{what} {path} holds {member.filename!r}, which is not an array")
    with archive.open(member) as stream:
        version = npy.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = npy.read_array_header_2_0(stream)
        else:
            raise InputError(f"{what} {path}: {member.filename} has .npy version {version}, "
                             "which xprop does not read")
        if dtype.hasobject:
            raise InputError(f"{what} {path}: {member.filename} holds Python objects "
                             "(pickled objects); xprop reads only plain arrays (it never unpickles)")
        size = math.prod(shape) * dtype.itemsize
        if size > member.file_size:
            raise InputError(f"{what} {path}: {member.filename} claims shape {shape} "
                             f"({size} bytes) but holds {member.file_size}; the file is damaged")
        data = stream.read(size + 1)
    if len(data) != size:
        raise InputError(f"{what} {path}: {member.filename} holds {len(data)} bytes of data "
                         f"where its header says {size}; the file is damaged")
    if dtype.kind == "U" and size:  # code points past U+10FFFF make numpy raise SystemError later
        codes = numpy.frombuffer(data, dtype=numpy.dtype("u4").newbyteorder(dtype.byteorder))
        if int(codes.max()) > 0x10FFFF:
            raise InputError(f"{what} {path}: {member.filename} holds text that is not Unicode; "
                             "the file is damaged")
    array = numpy.frombuffer(data, dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C").copy()
