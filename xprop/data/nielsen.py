"""Nielsen's ``mnist.pkl.gz``, the book's own data file, read without running pickled code.

The file is a gzip-compressed Python 2 pickle of three pairs ``(images, labels)`` for
training (50,000), validation (10,000) and test (10,000): images float32 (n, 784) in
[0, 1], labels int64 (n,). A pickle can call any function it names, so this reader uses
an Unpickler that resolves only the names a plain numpy array needs (``_reconstruct``,
``_frombuffer``, ``ndarray``, ``dtype``, and a latin-1-only ``_codecs.encode`` for bytes in pickles
written by Python 3 with protocol 2); any other name, such as ``os.system``,
raises DataError before it is called. The result must then have exactly the
structure above, with numeric arrays only.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy

from .errors import DataError
from .idx import read_bytes

_RECONSTRUCT = numpy._core.multiarray._reconstruct


def _latin1_bytes(text, encoding="latin1"):
    """What Python 3 protocol-2 pickles call to make bytes: ``_codecs.encode(text, "latin1")``."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise DataError("refusing a pickled _codecs.encode call other than encode(str, 'latin1')")
    return text.encode("latin1")


#: (module, name) -> object: everything a pickled numpy array refers to, nothing else
_ALLOWED = {
    ("_codecs", "encode"): _latin1_bytes,  # bytes in Python 3 protocol-2 pickles
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,  # numpy 1.x and Python 2 pickles
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,  # numpy 2.x pickles
    ("numpy._core.numeric", "_frombuffer"): numpy._core.numeric._frombuffer,  # protocol 5
    ("numpy.core.numeric", "_frombuffer"): numpy._core.numeric._frombuffer,
    ("numpy", "ndarray"): numpy.ndarray,
    ("numpy", "dtype"): numpy.dtype,
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
    try:
        content = _ArraysOnly(io.BytesIO(payload), encoding="latin1").load()
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any malformed pickle is a data error here
        raise DataError(f"{path} is not a readable pickle of numpy arrays: {type(exc).__name__}: {exc}") from None
    return _checked(content, path)


def _checked(content, path):
    if not isinstance(content, (tuple, list)) or len(content) != 3:
        raise DataError(f"{path} must hold three (images, labels) pairs: training, validation, test")
    splits = {}
    for name, pair in zip(SPLITS, content):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise DataError(f"{path}: the {name} part must be a pair (images, labels)")
        images, labels = pair
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
