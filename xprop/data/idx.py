"""The IDX format of MNIST, Fashion-MNIST, KMNIST and EMNIST, gzip-compressed or raw.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian 32-bit size per dimension, then the values, big-endian, in
C order. The reader streams: it reads and checks the header first, refuses a header
announcing more than ``MAX_BYTES`` of data (or, for a raw file, a size other than what
the file holds) before reading or allocating anything for the body, then reads exactly
the announced bytes and checks that nothing is missing and nothing is left over. The
announced size also bounds what is decompressed, so a gzip bomb costs nothing. A
truncated, padded, corrupt or mismatched file raises DataError naming the file and what
is wrong, never a silently short array.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from contextlib import contextmanager

import numpy

from ..memory import read_rows
from .errors import DataError

#: type code -> big-endian numpy dtype (LeCun's description of the format)
TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"
#: the largest IDX body read (EMNIST's largest file holds 0.55 GB)
MAX_BYTES = 2 << 30
#: the largest file ``read_bytes`` returns, decompressed (Nielsen's mnist.pkl is 0.22 GB)
MAX_FILE_BYTES = 512 << 20
_CHUNK = 1 << 20
_GZIP_ERRORS = (OSError, EOFError, zlib.error)  # BadGzipFile is an OSError


def read_idx(path, *, max_bytes=MAX_BYTES, rows=None) -> numpy.ndarray:
    """The array stored in the IDX file ``path`` (gzip or raw, told apart by content).

    With ``rows``, (start, stop) ranges of the first dimension in order, only those rows
    are kept (the others are read and dropped): the array holds them one after another.
    """
    with _opened(path) as (stream, size):
        return _read_idx_stream(stream, str(path), size, max_bytes, rows)


def idx_header(path, *, max_bytes=MAX_BYTES) -> tuple:
    """(shape, dtype) that the IDX file ``path`` announces, read from its header only
    (a gzip file is decompressed no further); DataError as ``read_idx`` for a bad header."""
    with _opened(path) as (stream, _):
        shape, dtype, _ = _read_header(stream, str(path), max_bytes)
    return shape, dtype


def parse_idx(data: bytes, name: str = "<bytes>", *, max_bytes=MAX_BYTES) -> numpy.ndarray:
    """Decode IDX ``data`` (not compressed); ``name`` is used in error messages."""
    return _read_idx_stream(io.BytesIO(data), name, len(data), max_bytes)


def read_bytes(path, *, max_bytes=MAX_FILE_BYTES) -> bytes:
    """The file's bytes, decompressed if it is gzip; DataError if unreadable, corrupt or
    (decompressed) larger than ``max_bytes``, which also bounds what a gzip bomb costs."""
    too_large = DataError(f"{path} holds more than {max_bytes:,} bytes (decompressed), more than "
                          "any file xprop reads; it is corrupt or not a dataset file")
    with _opened(path) as (stream, size):
        if size is not None and size > max_bytes:
            raise too_large
        data = _read_up_to(stream, max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large
    return bytes(data)


def declared_size(path) -> int:
    """The size of the file's content, decompressed, without decompressing it: a gzip
    file's trailer (its length modulo 2**32), else the file's size. ``read_bytes`` still
    stops at ``max_bytes`` when a trailer lies."""
    try:
        with open(path, "rb") as handle:
            if handle.read(2) != GZIP_MAGIC:
                return os.fstat(handle.fileno()).st_size
            handle.seek(-4, os.SEEK_END)
            return int.from_bytes(handle.read(4), "little")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None


@contextmanager
def _opened(path):
    """(stream, size): the file's content, decompressed if it is gzip, and its length when
    it is raw (None for gzip); DataError if it cannot be read or its gzip is corrupt."""
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        gzipped = handle.read(2) == GZIP_MAGIC
        handle.seek(0)
        if not gzipped:
            yield handle, os.fstat(handle.fileno()).st_size
            return
        try:
            with gzip.GzipFile(fileobj=handle, mode="rb") as stream:
                yield stream, None
        except _GZIP_ERRORS as exc:
            raise DataError(f"{path} is a corrupt or truncated gzip file ({exc}); delete it and "
                            "download it again") from None


def _read_header(stream, name, max_bytes):
    """(shape, dtype, header length) from the start of an IDX ``stream``."""
    magic = _read_up_to(stream, 4)
    if len(magic) < 4:
        raise DataError(f"{name} is not an IDX file: only {len(magic)} bytes, too short for the header")
    zero, code, ndim = bytes(magic[:2]), magic[2], magic[3]
    if zero != b"\x00\x00" or code not in TYPES or ndim == 0:
        raise DataError(
            f"{name} is not an IDX file: wrong magic number 0x{bytes(magic).hex()} (expected "
            "0x0000TTDD, TT a type code such as 08 for unsigned bytes, DD the number of dimensions)"
        )
    dims = _read_up_to(stream, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{name} is truncated: the header announces {ndim} dimensions but the file "
                        f"ends after {4 + len(dims)} bytes")
    shape = tuple(int.from_bytes(dims[i:i + 4], "big") for i in range(0, 4 * ndim, 4))
    dtype = numpy.dtype(TYPES[code])
    if dtype.itemsize * _product(n for n in shape if n) > max_bytes:  # (0, 2**31, 2**31) is absurd too
        raise DataError(f"{name} is corrupt or not an IDX file: its header announces shape {shape} of "
                        f"{dtype.name}, {dtype.itemsize * _product(shape):,} bytes of data, more than "
                        f"the {max_bytes:,} xprop reads")
    return shape, dtype, 4 + 4 * ndim


def _read_idx_stream(stream, name, size, max_bytes, rows=None):
    """The array in the IDX ``stream``; ``size`` is its length when known (a raw file);
    ``rows`` as in ``read_idx``."""
    shape, dtype, header = _read_header(stream, name, max_bytes)
    expected = dtype.itemsize * _product(shape)
    if size is not None and size - header != expected:
        raise _wrong_length(name, shape, dtype, expected, size - header)
    ranges = [(0, shape[0])] if rows is None else list(rows)
    row_bytes = dtype.itemsize * _product(shape[1:])
    body, length = read_rows(stream, shape[0], row_bytes, ranges, _read_up_to)
    if length < expected:
        raise _wrong_length(name, shape, dtype, expected, length)
    if stream.read(1):  # at the end, gzip checks its CRC and length; the rest is not read
        raise _wrong_length(name, shape, dtype, expected, expected + 1, more=" or more")
    kept = sum(stop - start for start, stop in ranges)
    array = numpy.frombuffer(body, dtype).reshape((kept, *shape[1:]))
    return array.astype(dtype.newbyteorder("=")) if not dtype.isnative else array


def _wrong_length(name, shape, dtype, expected, actual, more=""):
    problem = "truncated" if actual < expected else "longer than its header says"
    return DataError(f"{name} is {problem}: shape {shape} of {dtype.name} needs {expected:,} bytes of "
                     f"data, the file has {actual:,}{more}; download it again")


def _read_up_to(stream, n) -> bytearray:
    """At most ``n`` bytes from ``stream``, read in chunks, so that memory grows only with
    the bytes really there, never with what a header announces."""
    data = bytearray()
    while len(data) < n:
        chunk = stream.read(min(_CHUNK, n - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def _product(shape):
    total = 1
    for n in shape:
        total *= n
    return total
