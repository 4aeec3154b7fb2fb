"""The one .npz codec of xprop: archives read and written as data, never as code.

``write_archive`` saves arrays uncompressed and without pickle, atomically. ``read_archive``
reads each member's .npy header itself and refuses, with an InputError naming the file,
anything but plain arrays: pickled objects, archives larger than ``max_bytes``, and
headers that claim more data than the member holds (so a damaged or hostile file cannot
make xprop allocate what its header claims). Any other damage (a truncated archive, a
bad CRC, a malformed header) is reported the same way, never as a crash.

``write_document``/``read_document`` store a tree of JSON values and numpy arrays: the
arrays as .npy members named by their place in the tree, everything else as JSON in the
member ``header.json``. Models and checkpoints are such documents (``xprop.io.modelfile``).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
import math
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy
from numpy.lib import format as npy

from ..errors import InputError
from ..memory import read_rows
from .atomic import atomic_write

#: the largest archive read by default (all members, uncompressed)
MAX_BYTES = 4 << 30

# What a damaged archive or .npy header makes zipfile and numpy raise.
_DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, zlib.error,
           NotImplementedError, RuntimeError, OverflowError, KeyError, SyntaxError, TypeError,
           MemoryError, tokenize.TokenError)


#: the member of a document that holds its JSON part
HEADER = "header.json"


def write_archive(path, arrays: dict) -> Path:
    """Write ``arrays`` (name -> numpy array) to ``path`` atomically, refusing pickles."""
    with atomic_write(path) as handle:
        numpy.savez(handle, allow_pickle=False, **arrays)
    return Path(path)


def read_archive(path, *, what="file", max_bytes=MAX_BYTES, rows=None) -> dict:
    """name -> numpy array from the .npz archive at ``path``; ``what`` names the file in
    messages ("checkpoint", "model file"). ``rows`` maps a member's name to the (start,
    stop) ranges of its first dimension to keep (the rest is read and dropped), in order;
    with ``rows``, only the arrays it names are read."""
    with _archive(path, what, max_bytes) as (archive, members):
        if rows is None:
            return {name: _read_member(archive, m, path, what) for name, m in members.items()}
        return {name: _read_member(archive, members[name], path, what, ranges) for name, ranges in rows.items()}


def archive_headers(path, *, what="file", max_bytes=MAX_BYTES) -> dict:
    """name -> (shape, dtype, fortran) of every array in the archive at ``path``, from the
    .npy headers only: nothing is allocated for the data. Damage as in ``read_archive``."""
    with _archive(path, what, max_bytes) as (archive, members):
        headers = {}
        for name, member in members.items():
            with archive.open(member) as stream:
                headers[name] = _header(stream, member, path, what)
        return headers


@contextmanager
def _archive(path, what, max_bytes):
    """(zipfile, name -> member) of the archive at ``path``, its sizes checked; every
    damage met inside the block becomes an InputError naming the file."""
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
            for m in members:
                if not m.filename.endswith(".npy"):
                    raise InputError(f"{what} {path} holds {m.filename!r}, which is not an array")
            yield archive, {m.filename.removesuffix(".npy"): m for m in members}
    except InputError:
        raise
    except _DAMAGE as exc:
        raise InputError(f"{what} {path} is damaged or not an .npz archive "
                         f"({type(exc).__name__}: {exc})") from None


def _header(stream, member, path, what):
    """(shape, fortran, dtype) from the .npy header at the start of ``stream``, checked."""
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
    return shape, fortran, dtype


def _read_member(archive, member, path, what, ranges=None):
    with archive.open(member) as stream:
        shape, fortran, dtype = _header(stream, member, path, what)
        size = math.prod(shape) * dtype.itemsize
        if ranges is None or fortran or not shape:  # Fortran order: rows are not contiguous
            ranges, keep = [(0, shape[0] if shape else 1)], ranges if shape else None
        else:
            keep = None
        n_rows = shape[0] if shape else 1
        row_bytes = dtype.itemsize * math.prod(shape[1:])
        data, length = read_rows(stream, n_rows, row_bytes, ranges, _read)
        extra = stream.read(1)
    if length != size or extra:
        raise InputError(f"{what} {path}: {member.filename} holds {length + len(extra)} bytes of data "
                         f"where its header says {size}; the file is damaged")
    if dtype.kind == "U" and data:  # code points past U+10FFFF make numpy raise SystemError later
        codes = numpy.frombuffer(data, dtype=numpy.dtype("u4").newbyteorder(dtype.byteorder))
        if int(codes.max()) > 0x10FFFF:
            raise InputError(f"{what} {path}: {member.filename} holds text that is not Unicode; "
                             "the file is damaged")
    kept = sum(stop - start for start, stop in ranges)
    array = numpy.frombuffer(data, dtype=dtype)
    if not shape:
        return array.reshape(()).copy()
    array = array.reshape((kept, *shape[1:]), order="F" if fortran else "C")
    if keep is not None:  # a Fortran-order member, read whole: its rows taken now
        array = numpy.concatenate([array[start:stop] for start, stop in keep])
    return array.copy()


def _read(stream, n):
    return stream.read(n)


# -- documents: JSON with arrays beside it ------------------------------------------------------
def write_document(path, document: dict) -> Path:
    """Write ``document`` (JSON values and numpy arrays, nested in dicts and lists) to
    ``path`` atomically; non-finite floats survive, numpy scalars become Python numbers."""
    arrays = {}
    header = _split(document, arrays, "")
    arrays[HEADER] = numpy.frombuffer(json.dumps(header, allow_nan=False).encode(), dtype=numpy.uint8)
    return write_archive(path, arrays)


def read_document(path, *, what="file", max_bytes=MAX_BYTES):
    """(document, archive) from ``path``: the tree ``write_document`` wrote, or None when
    the archive has no ``header.json`` (the caller then reads the plain ``archive``).
    Damage is an InputError naming the file."""
    arrays = read_archive(path, what=what, max_bytes=max_bytes)
    raw = arrays.get(HEADER)
    if raw is None:
        return None, arrays
    try:
        if raw.dtype != numpy.uint8 or raw.ndim != 1:  # bytes(0-d int array) would allocate its value
            raise TypeError(f"{HEADER} is {raw.dtype} {raw.shape}, not bytes")
        header = json.loads(raw.tobytes().decode())
        return _join(header, arrays), arrays
    except (KeyError, TypeError, ValueError, RecursionError) as exc:
        raise InputError(f"{what} {path} is damaged: its {HEADER} is not valid "
                         f"({type(exc).__name__}: {exc})") from None


def _split(value, arrays, key):
    """``value`` as JSON, each numpy array moved into ``arrays`` under a dotted key."""
    if isinstance(value, numpy.ndarray):
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, dict):
        return {k: _split(v, arrays, f"{key}.{k}" if key else k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_split(v, arrays, f"{key}.{i}") for i, v in enumerate(value)]
    if isinstance(value, numpy.generic):  # a numpy scalar a callback kept
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    return value


def _join(value, arrays):
    """The inverse of ``_split``."""
    if isinstance(value, dict):
        if "__array__" in value:
            return arrays[value["__array__"]]
        if "__float__" in value:
            return float(value["__float__"])
        return {k: _join(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_join(v, arrays) for v in value]
    return value
