"""Nielsen's ``mnist.pkl.gz``, the book's own data file, read without running pickled code.

The file is a gzip-compressed Python 2 pickle of three pairs ``(images, labels)`` for
training (50,000), validation (10,000) and test (10,000): images float32 (n, 784) in
[0, 1], labels int64 (n,). A pickle can call any function it names, so this reader uses
an Unpickler that resolves only the names a plain numpy array needs (``_reconstruct``,
``_frombuffer``, ``ndarray``, ``dtype``, and a latin-1-only ``_codecs.encode`` for bytes in pickles
written by Python 3 with protocol 2); any other name, such as ``os.system``,
raises DataError before it is called. Even those never reach numpy with what the pickle
says: ``ndarray`` is only a marker passed to ``_reconstruct`` (calling it would allocate
whatever shape the pickle asks), ``dtype`` and ``_reconstruct`` make descriptions that
the pickle's BUILD opcodes fill, and the arrays are made from them afterwards, plain
numbers only, from bytes really in the file (numpy's own ``dtype.__setstate__`` accepts
flags that mark a float32 as holding object references). The counts and memo indices
are checked before unpickling, and at most ``MAX_FILE_BYTES`` are decompressed. The
result must then have exactly the structure above, with numeric arrays only.
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
import warnings
from pathlib import Path

import numpy

from .errors import DataError
from .idx import read_bytes

class _NdarrayMarker:
    """What the name ``numpy.ndarray`` resolves to: only ``_reconstruct`` accepts it."""

    def __call__(self, *args, **kwargs):
        raise DataError("refusing a pickled call of numpy.ndarray: plain pickled arrays never make one")


_NDARRAY = _NdarrayMarker()
#: the dtypes a pickled array may have: plain numbers, no objects, records or subarrays
_NUMBERS = {f"{kind}{size}" for kind in "iu" for size in (1, 2, 4, 8)} | {"f4", "f8", "b1"}


class _Dtype:
    """A pickled ``numpy.dtype``, kept as a description: numpy never sees the pickle's
    state (its flags can mark a float32 as holding object references)."""

    def __init__(self, spec, align=False, copy=False):
        if not isinstance(spec, str) or spec not in _NUMBERS:
            raise DataError(f"refusing the pickled dtype {spec!r}: only plain numbers are accepted")
        self.spec, self.byteorder = spec, "="

    def __setstate__(self, state):
        if (not isinstance(state, tuple) or len(state) < 5 or state[1] not in ("<", ">", "|", "=")
                or any(part is not None for part in state[2:5])):
            raise DataError("refusing a pickled dtype state other than a plain number's")
        self.byteorder = state[1]

    def numpy(self):
        return numpy.dtype(self.spec).newbyteorder(self.byteorder)


class _Array:
    """A pickled ndarray: ``_reconstruct``'s placeholder, filled by the BUILD opcode."""

    array = None

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise DataError("refusing a pickled array state other than (shape, dtype, fortran, data)")
        shape, dtype, fortran, data = state[-4:]
        if not isinstance(fortran, bool):
            raise DataError("refusing a pickled array state whose order is not a boolean")
        self.array = _array(data, dtype, shape, "F" if fortran else "C")


def _array(data, dtype, shape, order):
    """The array of ``shape`` and ``dtype`` (a _Dtype) in ``data``, bytes in the pickle."""
    if isinstance(data, str):  # a Python 2 str, read as latin-1
        data = data.encode("latin1")
    if (not isinstance(data, (bytes, bytearray)) or not isinstance(dtype, _Dtype)
            or not isinstance(shape, tuple) or order not in ("C", "F")
            or not all(type(n) is int and n >= 0 for n in shape)):
        raise DataError("refusing a pickled array that is not plain numbers held in the pickle")
    dtype = dtype.numpy()
    if math.prod(shape) * dtype.itemsize != len(data):
        raise DataError(f"a pickled array of shape {shape} and {dtype.name} holds {len(data):,} bytes")
    return numpy.frombuffer(data, dtype).reshape(shape, order=order).astype(dtype.newbyteorder("="))


def _reconstruct(subtype, shape, dtype):
    """numpy's ``_reconstruct``, for the empty placeholder of a plain pickled ndarray only."""
    if subtype is not _NDARRAY or shape != (0,) or dtype not in (b"b", "b"):
        raise DataError("refusing a pickled _reconstruct call other than the placeholder of a plain ndarray")
    return _Array()


def _frombuffer(buffer, dtype, shape, order):
    """numpy's ``_frombuffer`` (protocol-5 pickles), for data held in the pickle only."""
    return _array(buffer, dtype, shape, order)


def _latin1_bytes(text, encoding="latin1"):
    """What Python 3 protocol-2 pickles call to make bytes: ``_codecs.encode(text, "latin1")``."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise DataError("refusing a pickled _codecs.encode call other than encode(str, 'latin1')")
    return text.encode("latin1")


#: (module, name) -> object: everything a pickled numpy array refers to, nothing else
_ALLOWED = {
    ("_codecs", "encode"): _latin1_bytes,  # bytes in Python 3 protocol-2 pickles
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # numpy 1.x and Python 2 pickles
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # numpy 2.x pickles
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,  # protocol 5
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _Dtype,
}
SPLITS = ("training", "validation", "test")


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise DataError(
                f"refusing to load {module}.{name} from a pickle: only plain numpy arrays are "
                "accepted (this file is not Nielsen's mnist.pkl.gz, or it was tampered with)"
            ) from None


def read_nielsen_pickle(path) -> dict:
    """``{"training": (images, labels), "validation": ..., "test": ...}`` from mnist.pkl(.gz).

    Images are float32 (n, 784) in [0, 1]; labels are int64 (n,).
    """
    path = Path(path)
    payload = read_bytes(path)  # gzip or not, told apart by content
    _check_sizes(payload, path)
    try:
        content = _ArraysOnly(io.BytesIO(payload), encoding="latin1").load()
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any malformed pickle is a data error here
        raise DataError(f"{path} is not a readable pickle of numpy arrays: {type(exc).__name__}: {exc}") from None
    return _checked(content, path)


def _check_sizes(payload, path):
    """Refuse a pickle that would make the C unpickler allocate more than it holds.

    The unpickler allocates what a counted string announces before reading it, and grows
    its memo to twice the largest index stored into, zeroing it: ten bytes can ask for
    gigabytes. ``pickletools.genops`` reads every count (allocating only what is there)
    and the memo indices are checked against the number of opcodes seen: a real pickle
    stores its objects at 0, 1, 2, ...
    """
    try:
        with warnings.catch_warnings():  # genops warns of odd escapes in STRING opcodes
            warnings.simplefilter("ignore")
            for count, (opcode, arg, _) in enumerate(pickletools.genops(io.BytesIO(payload))):
                if opcode.name in ("PUT", "BINPUT", "LONG_BINPUT") and int(arg) > count:
                    raise ValueError(f"memo index {arg} after {count} opcodes")
    except Exception as exc:  # noqa: BLE001 - any malformed pickle is a data error here
        raise DataError(f"{path} is not a readable pickle of numpy arrays: {type(exc).__name__}: {exc}") from None


def _checked(content, path):
    if not isinstance(content, (tuple, list)) or len(content) != 3:
        raise DataError(f"{path} must hold three (images, labels) pairs: training, validation, test")
    splits = {}
    for name, pair in zip(SPLITS, content):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise DataError(f"{path}: the {name} part must be a pair (images, labels)")
        images, labels = (part.array if isinstance(part, _Array) else part for part in pair)
        if not (isinstance(images, numpy.ndarray) and isinstance(labels, numpy.ndarray)):
            raise DataError(f"{path}: the {name} images and labels must be numpy arrays")
        if images.dtype.kind != "f" or images.ndim != 2:
            raise DataError(f"{path}: the {name} images must be a 2-D float array, got "
                            f"{images.dtype} {images.shape}")
        if labels.dtype.kind not in "iu" or labels.shape != (images.shape[0],):
            raise DataError(f"{path}: the {name} labels must be integers, one per image; got "
                            f"{labels.dtype} {labels.shape} for {images.shape[0]} images")
        splits[name] = (images, labels)
    return splits
