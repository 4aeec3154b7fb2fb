"""The IDX format of MNIST, Fashion-MNIST, KMNIST and EMNIST, gzip-compressed or raw.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian 32-bit size per dimension, then the values, big-endian, in
C order. The reader checks every part against the file's real length: a truncated,
padded, corrupt or mismatched file raises DataError naming the file and what is wrong,
never a silently short array.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy

from .errors import DataError

#: type code -> big-endian numpy dtype (LeCun's description of the format)
TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path) -> numpy.ndarray:
    """The array stored in the IDX file ``path`` (gzip or raw, told apart by content)."""
    path = Path(path)
    return parse_idx(read_bytes(path), str(path))


def read_bytes(path) -> bytes:
    """The file's bytes, decompressed if it is gzip; DataError if unreadable or corrupt."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise DataError(
            f"{path} is a corrupt or truncated gzip file ({exc}); delete it and download it again"
        ) from None


def parse_idx(data: bytes, name: str = "<bytes>") -> numpy.ndarray:
    """Decode IDX ``data``; ``name`` is used in error messages."""
    if len(data) < 4:
        raise DataError(f"{name} is not an IDX file: only {len(data)} bytes, too short for the header")
    zero, code, ndim = data[:2], data[2], data[3]
    if zero != b"\x00\x00" or code not in TYPES or ndim == 0:
        raise DataError(
            f"{name} is not an IDX file: wrong magic number 0x{data[:4].hex()} (expected "
            "0x0000TTDD, TT a type code such as 08 for unsigned bytes, DD the number of dimensions)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{name} is truncated: the header announces {ndim} dimensions but the file "
                        f"ends after {len(data)} bytes")
    shape = tuple(int(n) for n in numpy.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = numpy.dtype(TYPES[code])
    expected = dtype.itemsize * _product(shape)
    actual = len(data) - header
    if actual != expected:
        problem = "truncated" if actual < expected else "longer than its header says"
        raise DataError(
            f"{name} is {problem}: shape {shape} of {dtype.name} needs {expected:,} bytes of "
            f"data, the file has {actual:,}; download it again"
        )
    return numpy.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _product(shape):
    total = 1
    for n in shape:
        total *= n
    return total
