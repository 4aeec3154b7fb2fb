"""Datasets stored as ``.npz``, in Keras's layout (``mnist.npz``), read without pickle.

Keys: ``x_train``, ``y_train``, ``x_test``, ``y_test`` and optionally ``x_val``,
``y_val``. Images are (n, h, w) or (n, features), unsigned bytes (0-255) or floats
in [0, 1]; labels are integers. The arrays are read by ``xprop.io.npz.read_archive``, which
parses each member's .npy header itself: object arrays are refused (loading never runs
code stored in the file) and a header claiming more data than the archive holds is
refused before anything is allocated for it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..io.npz import archive_headers, read_archive
from ..errors import InputError
from .dataset import mismatched
from .errors import DataError

REQUIRED = ("x_train", "y_train", "x_test", "y_test")
OPTIONAL = ("x_val", "y_val")


#: part of the dataset -> its (images, labels) arrays
KEYS = {"training": ("x_train", "y_train"), "test": ("x_test", "y_test"), "validation": ("x_val", "y_val")}


def read_npz(path, *, rows=None) -> dict:
    """``{"training": (x, y), "test": (x, y)}`` plus ``"validation"`` when the file has it.

    ``rows`` maps a part to the (start, stop) ranges of its examples to read; a part it
    leaves out is not read at all. Without ``rows`` everything is read.
    """
    path = Path(path)
    parts = _parts(path, npz_headers(path))
    if rows is not None:
        wanted = {key: ranges for part, ranges in rows.items() for key in KEYS[part]}
        arrays = read_arrays(path, rows=wanted)
        return {part: tuple(arrays[key] for key in KEYS[part]) for part in rows}
    arrays = read_arrays(path)
    return {part: tuple(arrays[key] for key in KEYS[part]) for part in parts}


def npz_shapes(path) -> dict:
    """part -> (shape, itemsize) of its images, from the .npy headers only (nothing is
    allocated for the data); DataError when arrays are missing, not arrays of examples, or
    images and labels do not belong together."""
    path = Path(path)
    headers = npz_headers(path)
    return {part: (headers[KEYS[part][0]][0], headers[KEYS[part][0]][2].itemsize)
            for part in _parts(path, headers)}


def npz_headers(path) -> dict:
    """name -> (shape, fortran, dtype) of every array in the dataset .npz ``path``."""
    return _as_data_error(path, lambda: archive_headers(path, what="dataset"))


def _parts(path, headers):
    """The parts the file holds, checked: every array there, one label per image."""
    missing = [k for k in REQUIRED if k not in headers]
    if missing:
        raise DataError(
            f"{path} lacks the arrays {', '.join(missing)}; a dataset .npz holds "
            f"{', '.join(REQUIRED)} (and optionally {', '.join(OPTIONAL)}), as Keras's mnist.npz"
        )
    if ("x_val" in headers) != ("y_val" in headers):
        raise DataError(f"{path} has only one of x_val and y_val; store both or neither")
    parts = [part for part, (x, _) in KEYS.items() if x in headers]
    for part in parts:
        x, y = (headers[key][0] for key in KEYS[part])
        if len(x) < 2 or x[0] == 0:
            raise DataError(f"{path} ({part}): images must be an array of shape (n, ...) with n > 0, got {x}")
        if len(y) != 1 or y[0] != x[0]:
            raise mismatched(f"{path} ({part})", x[0], y)
    return parts


def read_arrays(path, *, what="dataset", rows=None) -> dict:
    """Every array in the .npz file ``path``, by name; DataError if it is not a plain .npz.

    ``what`` names the file in messages; ``rows`` (name -> (start, stop) ranges) keeps
    only those rows of the arrays it names and leaves the other arrays unread.
    """
    path = Path(path)
    return _as_data_error(path, lambda: read_archive(path, what=what, rows=rows))


def _as_data_error(path, read):
    """``read()``, its errors as DataError naming ``path``."""
    if not path.is_file():
        raise DataError(f"cannot read {path}: no such file")
    try:
        if not zipfile.is_zipfile(path):
            raise DataError(f"{path} is not an .npz file (not a zip archive)")
        return read()
    except DataError:
        raise
    except InputError as exc:
        raise DataError(str(exc)) from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
