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

from ..io.npz import read_archive
from ..errors import InputError
from .errors import DataError

REQUIRED = ("x_train", "y_train", "x_test", "y_test")
OPTIONAL = ("x_val", "y_val")


def read_npz(path) -> dict:
    """``{"training": (x, y), "test": (x, y)}`` plus ``"validation"`` when the file has it."""
    path = Path(path)
    arrays = read_arrays(path)
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        raise DataError(
            f"{path} lacks the arrays {', '.join(missing)}; a dataset .npz holds "
            f"{', '.join(REQUIRED)} (and optionally {', '.join(OPTIONAL)}), as Keras's mnist.npz"
        )
    if ("x_val" in arrays) != ("y_val" in arrays):
        raise DataError(f"{path} has only one of x_val and y_val; store both or neither")
    splits = {"training": (arrays["x_train"], arrays["y_train"]), "test": (arrays["x_test"], arrays["y_test"])}
    if "x_val" in arrays:
        splits["validation"] = (arrays["x_val"], arrays["y_val"])
    return splits


def read_arrays(path, *, what="dataset") -> dict:
    """Every array in the .npz file ``path``, by name; DataError if it is not a plain .npz.

    ``what`` names the file in messages.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"cannot read {path}: no such file")
    try:
        if not zipfile.is_zipfile(path):
            raise DataError(f"{path} is not an .npz file (not a zip archive)")
        return read_archive(path, what=what)
    except DataError:
        raise
    except InputError as exc:
        raise DataError(str(exc)) from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
