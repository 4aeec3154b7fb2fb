"""Datasets for xprop: IDX, .npz and Nielsen's mnist.pkl.gz, found locally or downloaded.

    >>> from xprop.data import load_dataset
    >>> data = load_dataset("fashion-mnist")          # or "mnist", or a path
    >>> data.training.images.shape, data.validation.labels.shape
    ((50000, 784), (10000,))

``load_dataset`` takes a name from ``DATASETS`` (looked up as ``xprop.data.locate``
describes, downloaded into the user cache when absent) or the path of a ``.npz`` file,
a ``mnist.pkl.gz`` or a folder of IDX files.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .catalog import DATASETS, ROLES, DatasetSpec
from .dataset import SPLITS, VALIDATION_SIZE, Dataset, Split, fingerprint, from_arrays
from .download import download_dataset
from .errors import DataError, DatasetNotFoundError, DownloadError
from .idx import read_idx
from .locate import Found, cache_dir, find, find_in, not_found_message, places
from .nielsen import read_nielsen_pickle
from .npz import read_npz

__all__ = [
    "DATASETS", "DataError", "Dataset", "DatasetNotFoundError", "DatasetSpec", "DownloadError",
    "SPLITS", "Split", "fingerprint", "load_dataset", "locate_dataset", "read_idx", "read_nielsen_pickle",
    "read_npz",
]


def load_dataset(name, *, data_dir=None, download=True, validation_size=VALIDATION_SIZE,
                 log=sys.stderr, env=None) -> Dataset:
    """The dataset ``name`` (see ``DATASETS``) or at the path ``name``, split as in the book.

    ``data_dir`` is searched first; with ``download`` a named dataset missing everywhere
    is fetched into the user cache (progress and messages go to ``log``). If it cannot
    be found, DatasetNotFoundError lists every place looked at and how to fix it.
    """
    spec = DATASETS.get(str(name).lower())
    if spec is None:
        return _read_path(Path(name), validation_size)
    found = locate_dataset(spec, data_dir=data_dir, download=download, log=log, env=env)
    return _read_found(spec.name, found, validation_size)


def locate_dataset(spec: DatasetSpec, *, data_dir=None, download=True, log=sys.stderr, env=None) -> Found:
    """Where ``spec``'s files are, downloading them into the cache if allowed and needed."""
    env = os.environ if env is None else env
    searched = places(spec, data_dir, env)
    found = find(spec, searched)
    if found is not None:
        return found
    failures = []
    if download:
        cache = cache_dir(spec.name, env)
        present = find_in(spec, cache)
        missing = [r for r in ROLES if not (cache / spec.files[r].name).is_file()] if present is None else []
        if log:
            size = sum(spec.files[r].size for r in missing) / 1e6
            print(f"xprop: {spec.name} is not on this machine; downloading {len(missing)} files "
                  f"({size:.0f} MB) into {cache}", file=log, flush=True)
        failures = download_dataset(spec, cache, missing=missing, log=log)
        found = find_in(spec, cache)
        if found is not None:
            return found
    raise DatasetNotFoundError(not_found_message(spec, searched, env, failures, downloads_allowed=download))


def _read_found(name, found: Found, validation_size) -> Dataset:
    if found.pickle is not None:
        return from_arrays(name, found.pickle, read_nielsen_pickle(found.pickle))
    arrays = {role: read_idx(path) for role, path in found.paths.items()}
    return from_arrays(name, found.directory, _idx_parts(arrays, found.directory), validation_size=validation_size)


def _idx_parts(arrays, where):
    for role in ("train_labels", "test_labels"):
        if arrays[role].ndim != 1:
            raise DataError(f"{where}: the {role.replace('_', ' ')} file holds an array of shape "
                            f"{arrays[role].shape}, not a list of labels; are the files swapped?")
    return {"training": (arrays["train_images"], arrays["train_labels"]),
            "test": (arrays["test_images"], arrays["test_labels"])}


def _read_path(path: Path, validation_size) -> Dataset:
    """A dataset from a file or folder the user named."""
    if path.is_dir():
        found = find_in(DATASETS["mnist"], path)  # the same four file names for every IDX dataset
        if found is None:
            names = ", ".join(DATASETS["mnist"].local_names(r)[0] for r in ROLES)
            raise DataError(f"{path} does not hold the four IDX files {names} (gzip or raw), nor mnist.pkl.gz")
        return _read_found(path.name, found, validation_size)
    if path.suffix == ".npz":
        return from_arrays(path.stem, path, read_npz(path), validation_size=validation_size)
    if path.name.endswith((".pkl.gz", ".pkl")):
        return from_arrays(path.name.split(".")[0], path, read_nielsen_pickle(path))
    if not path.exists():
        raise DataError(f"unknown dataset {str(path)!r}: choose one of {', '.join(DATASETS)}, or give "
                        "the path of a .npz file, of Nielsen's mnist.pkl.gz, or of a folder of IDX files")
    raise DataError(f"{path}: cannot tell the format; xprop reads .npz files, mnist.pkl.gz and folders of IDX files")
