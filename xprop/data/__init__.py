"""Datasets for xprop: IDX, .npz, Nielsen's mnist.pkl.gz and CSV, found locally or downloaded.

    >>> from xprop.data import load_dataset
    >>> data = load_dataset("fashion-mnist")          # or "mnist", or a path
    >>> data.training.images.shape, data.validation.labels.shape
    ((50000, 784), (10000,))

``load_dataset`` takes a name from ``DATASETS`` (looked up as ``xprop.data.locate``
describes, downloaded into the user cache when absent) or the path of a ``.npz`` file,
a ``mnist.pkl.gz``, a folder of IDX files or a ``.csv`` file (``xprop.data.csv``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import math
from dataclasses import dataclass

from ..errors import Setting
from ..memory import FLOAT32_BYTES, Limit, check_fits, memory_limit
from .csv import read_csv_dataset
from .catalog import DATASETS, ROLES, DatasetSpec
from .dataset import SPLITS, VALIDATION_SIZE, Dataset, Split, fingerprint, from_arrays, holdout, mismatched
from .download import download_dataset
from .errors import DataError, DatasetNotFoundError, DataTooLargeError, DownloadError
from .idx import declared_size, idx_header, read_idx
from .locate import Found, cache_dir, find, find_in, not_found_message, places
from .nielsen import read_nielsen_pickle
from .npz import npz_shapes, read_npz

__all__ = [
    "DATASETS", "DataError", "DataTooLargeError", "Dataset", "DatasetNotFoundError", "DatasetSpec", "DownloadError",
    "SPLITS", "Split", "fingerprint", "load_dataset", "locate_dataset", "read_idx", "read_nielsen_pickle",
    "read_npz",
]


def load_dataset(name, *, data_dir=None, download=True, validation_size=VALIDATION_SIZE,
                 log=sys.stderr, env=None, limit=None, splits=SPLITS, max_memory=None,
                 label_column=None, header=None, test_path=None) -> Dataset:
    """The dataset ``name`` (see ``DATASETS``) or at the path ``name``, split as in the book.

    ``data_dir`` is searched first; with ``download`` a named dataset missing everywhere
    is fetched into the user cache (progress and messages go to ``log``). If it cannot
    be found, DatasetNotFoundError lists every place looked at and how to fix it.

    Only what is asked for is read: with ``limit`` the first ``limit`` training examples
    (the validation part is still the last ``validation_size`` of the file's), and only the
    ``splits`` named (the others are empty; a file too small to hold out a validation part
    is then no error unless "training" or "validation" is asked for). Before any data is
    read, what the files announce is checked against ``max_memory`` (bytes or a size such
    as "4G"; default: the memory available) as float32: DataTooLargeError if it cannot fit.

    A ``.csv`` file is read whole (``xprop.data.csv``): ``label_column`` and ``header`` say
    how, ``test_path`` is a second CSV file holding its test split (else it has none).
    """
    if data_dir is not None and Path(data_dir).is_file():
        raise DataError(Setting("data_dir"), f" takes a folder of dataset files; {data_dir} is a file: to read it "
                        "as the dataset, give ", Setting("name", str(data_dir)))
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise DataError(f"unknown splits {unknown or list(splits)}; choose some of {', '.join(SPLITS)}")
    reading = _Reading(validation_size, limit, tuple(splits), memory_limit(max_memory))
    spec = DATASETS.get(str(name).lower())
    if spec is None and str(name).lower().endswith(".csv"):
        return _read_csv(Path(name), reading, label_column=label_column, header=header, test_path=test_path)
    if test_path is not None:
        raise DataError(f"a separate test file ({test_path}) goes with a CSV dataset only; {name} has its own test split")
    if spec is None:
        return _read_path(Path(name), reading)
    found = locate_dataset(spec, data_dir=data_dir, download=download, log=log, env=env)
    return _read_found(spec.name, found, reading)


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
    raise DatasetNotFoundError(*not_found_message(spec, searched, env, failures, downloads_allowed=download))


#: the fix of data that cannot fit even when a single training example is read
NOT_EVEN_ONE = ("it does not fit even with ", Setting("limit", 1))


@dataclass(frozen=True)
class _Reading:
    """What ``load_dataset`` was asked to read, and the memory it may use."""

    validation_size: int
    limit: int | None
    splits: tuple
    memory: Limit

    def plan(self, source, rows, *, holds_validation):
        """part -> (array, (start, stop) ranges) to read, for a file whose arrays have
        ``rows`` examples by part ("training", "test", "validation" if ``holds_validation``).
        Without a validation part it is the end of the training array: the training part's
        ranges then come first, the validation part's after them."""
        wanted = set(self.splits)
        plan = {}
        if "test" in wanted:
            plan["test"] = ("test", [(0, rows["test"])])
        if holds_validation:
            if "validation" in wanted:
                plan["validation"] = ("validation", [(0, rows["validation"])])
            if "training" in wanted:
                plan["training"] = ("training", [(0, self.head(rows["training"]))])
        elif wanted & {"training", "validation"}:
            cut = holdout(rows["training"], self.validation_size, source)
            if "training" in wanted:
                plan["training"] = ("training", [(0, self.head(cut))])
            if "validation" in wanted:
                plan["validation"] = ("training", [(cut, rows["training"])])
        return plan

    def head(self, n):
        """How many of ``n`` training examples are read (``limit``)."""
        return n if self.limit is None else min(n, self.limit)

    def check(self, source, plan, shapes):
        """Refuse, before reading, a plan whose images cannot fit as float32 (with the
        bytes they are read as, and int64 labels); ``shapes``: array -> (shape, itemsize)."""
        per_row = {part: math.prod(shapes[name][0][1:]) * (FLOAT32_BYTES + shapes[name][1]) + 8
                   for part, (name, _) in plan.items()}
        counts = {part: sum(stop - start for start, stop in ranges) for part, (_, ranges) in plan.items()}
        needed = sum(counts[part] * per_row[part] for part in plan)
        if self.memory.bytes is None or needed <= self.memory.bytes:
            return
        features = max(math.prod(shape[1:]) for shape, _ in shapes.values())
        training = counts.get("training", 0) * per_row.get("training", 0)
        room = (self.memory.bytes - needed + training) // per_row.get("training", 1)
        if counts.get("training", 0) and room > 0:
            fix = ("read fewer training examples with ", Setting("limit", room))
        elif counts.get("training", 0):
            fix = NOT_EVEN_ONE
        else:  # a limit trims the training part only, which is not read here
            fix = ("the parts read here cannot be read in fewer rows",)
        examples = ", ".join(f"{part} {counts[part]:,}" for part in SPLITS if part in counts)
        check_fits(needed, f"{source} ({examples} examples of {features:,} values, as float32)", fix,
                   limit=self.memory, error=DataTooLargeError)


def _divided(plan, arrays):
    """part -> (images, labels) from ``arrays`` (array name -> (images, labels) read with
    the plan's ranges joined by name); None for a part not read."""
    parts, offsets = {}, {}
    for part in ("training", "validation", "test"):
        if part not in plan:
            continue
        name, ranges = plan[part]
        start = offsets.get(name, 0)
        stop = offsets[name] = start + sum(b - a for a, b in ranges)
        images, labels = arrays[name]
        parts[part] = (images[start:stop], labels[start:stop])
    return parts


def _joined(plan):
    """array name -> its ranges, in the order ``_divided`` takes them."""
    ranges = {}
    for part in ("training", "validation", "test"):
        if part in plan:
            name, part_ranges = plan[part]
            ranges.setdefault(name, []).extend(part_ranges)
    return ranges


def _read_found(name, found: Found, reading) -> Dataset:
    if found.pickle is not None:
        return _read_pickle(name, found.pickle, reading)
    roles = {"training": ("train_images", "train_labels"), "test": ("test_images", "test_labels")}
    needed = {"test"} & set(reading.splits) | ({"training"} if {"training", "validation"} & set(reading.splits) else set())
    headers = {role: idx_header(found.paths[role]) for part in needed for role in roles[part]}  # nothing else read
    for part in needed:
        images, labels = (headers[role][0] for role in roles[part])
        if len(labels) != 1:
            raise DataError(f"{found.directory}: the {roles[part][1].replace('_', ' ')} file holds an array of "
                            f"shape {labels}, not a list of labels; are the files swapped?")
        if images[0] != labels[0]:
            raise mismatched(f"{found.directory} ({part})", images[0], labels)
    shapes = {part: (headers[roles[part][0]][0], headers[roles[part][0]][1].itemsize) for part in needed}
    plan = reading.plan(found.directory, {part: shape[0] for part, (shape, _) in shapes.items()},
                        holds_validation=False)
    reading.check(found.directory, plan, shapes)
    arrays = {part: tuple(read_idx(found.paths[role], rows=ranges) for role in roles[part])
              for part, ranges in _joined(plan).items()}
    parts = _divided(plan, arrays)
    return from_arrays(name, found.directory, {part: parts.get(part) for part in SPLITS})


def _read_npz(path, reading) -> Dataset:
    shapes = npz_shapes(path)  # part -> (shape of its images, itemsize)
    plan = reading.plan(path, {part: shape[0] for part, (shape, _) in shapes.items()},
                        holds_validation="validation" in shapes)
    reading.check(path, plan, shapes)
    arrays = read_npz(path, rows=_joined(plan))
    parts = _divided(plan, arrays)
    return from_arrays(path.stem, path, {part: parts.get(part) for part in SPLITS})


def _read_pickle(name, path, reading) -> Dataset:
    size = declared_size(path)
    check_fits(2 * size, f"{path} ({size:,} bytes of pickle, then its arrays)", NOT_EVEN_ONE,
               limit=reading.memory, error=DataTooLargeError)
    arrays = read_nielsen_pickle(path)
    parts = {part: tuple(a[:reading.head(len(a))] if part == "training" else a for a in pair)
             for part, pair in arrays.items()}
    return from_arrays(name, path, {part: parts[part] if part in reading.splits else None for part in SPLITS})


def _read_csv(path, reading, **how) -> Dataset:
    """A CSV dataset (and its test file), refused before reading if the files cannot fit."""
    test_path = how.get("test_path")
    if test_path is not None and (Path(test_path).is_dir() or not str(test_path).lower().endswith(".csv")):
        what = "a folder" if Path(test_path).is_dir() else "not a .csv file"
        raise DataError(Setting("test_path"), f" takes a CSV file of the columns of {path}; {test_path} is {what}")
    paths = [p for p in (path, test_path) if p is not None]
    for each in paths:
        if not Path(each).is_file():
            raise DataError(f"{each}: no such CSV file")
    size = sum(Path(p).stat().st_size for p in paths)
    check_fits(2 * size, f"{path} ({size:,} bytes of CSV, then its arrays)", "split the file",
               limit=reading.memory, error=DataTooLargeError)
    return read_csv_dataset(path, validation_size=reading.validation_size, limit=reading.limit, **how)


def _read_path(path: Path, reading) -> Dataset:
    """A dataset from a file or folder the user named."""
    if path.is_dir():
        found = find_in(DATASETS["mnist"], path)  # the same four file names for every IDX dataset
        if found is None:
            names = ", ".join(DATASETS["mnist"].local_names(r)[0] for r in ROLES)
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".csv", ".npz") and p.is_file())
            hint = ("; to read a file in it, give its path: ", Setting("name", str(files[0]))) if files else ()
            raise DataError(f"{path} does not hold the four IDX files {names} (gzip or raw), nor mnist.pkl.gz",
                            *hint)
        return _read_found(path.name, found, reading)
    if path.suffix == ".npz":
        return _read_npz(path, reading)
    if path.name.endswith((".pkl.gz", ".pkl")):
        return _read_pickle(path.name.split(".")[0], path, reading)
    if not path.exists():
        raise DataError(f"unknown dataset {str(path)!r}: choose one of {', '.join(DATASETS)}, or give "
                        "the path of a .npz or .csv file, of Nielsen's mnist.pkl.gz, or of a folder of IDX files")
    raise DataError(f"{path}: cannot tell the format; xprop reads .npz and .csv files, mnist.pkl.gz and folders "
                    "of IDX files")
