"""A dataset in memory: the book's training / validation / test split of features and labels.

Whatever the file format, the arrays end up the same way: features float32 of shape
(n, features), labels int64 of shape (n,). Image files (IDX, .npz, mnist.pkl.gz) hold
pixels, which ``from_arrays`` brings to [0, 1] (bytes are divided by 255, floats
checked); a CSV table's features are taken as they are (``xprop.data.csv``). Files
without a validation part are split as in the book: the last ``validation_size``
(10,000) training examples become the validation set, so MNIST's 60,000 give 50,000 +
10,000. The network turns labels into one-hot targets itself, on its device.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy

from ..validation import check_backend, check_dtype
from .errors import DataError

SPLITS = ("training", "validation", "test")
VALIDATION_SIZE = 10_000


@dataclass(frozen=True)
class Split:
    """One part of a dataset: ``images`` float32 (n, features), the features (an image
    dataset's pixels, a CSV table's number columns); ``labels`` int64 (n,)."""

    images: numpy.ndarray
    labels: numpy.ndarray

    def __len__(self):
        return self.labels.shape[0]

    def head(self, n):
        """The first ``n`` examples (all of them if there are fewer)."""
        return Split(self.images[:n], self.labels[:n])

    def to(self, backend, dtype="float32", *, device=None):
        """``(X, y)`` copied onto ``backend``: X in ``dtype``, y as int32 labels.

        ``backend`` is a backend (``net.backend``) or its name (``"torch"``, with
        ``device``); ``dtype`` a name or a dtype (``np.float64``).
        """
        backend = check_backend(backend, device)
        dtype = check_dtype(dtype)
        return backend.from_host(self.images, dtype), backend.from_host(self.labels, "int32")


@dataclass(frozen=True)
class Dataset:
    """Training, validation and test splits of one dataset, and where it was read from.

    ``classes``: the class names by class number (a CSV file's text labels), or None
    where the labels are class numbers and nothing more (image datasets).
    """

    name: str
    source: str
    training: Split
    validation: Split
    test: Split
    classes: tuple | None = None

    @property
    def n_features(self):
        return self.test.images.shape[1]  # every split has the same width, even an empty one

    @property
    def n_classes(self):
        """1 + the largest label of the splits read (a split not read is empty)."""
        return 1 + max(int(s.labels.max()) for s in (self.training, self.validation, self.test) if len(s))

    def split(self, name) -> Split:
        if name not in SPLITS:
            raise DataError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
        return getattr(self, name)

    def __repr__(self):
        sizes = ", ".join(f"{s} {len(self.split(s)):,}" for s in SPLITS)
        return f"Dataset({self.name!r}: {sizes}; {self.n_features} features, from {self.source})"


def from_arrays(name, source, parts, *, validation_size=VALIDATION_SIZE) -> Dataset:
    """An image Dataset from raw ``{"training": (images, labels), "test": ..., ["validation": ...]}``,
    pixels brought to [0, 1].

    Without a validation part the last ``validation_size`` training examples become it.
    A part given as None was not read (the caller did not need it): it becomes an empty
    split, and no validation part is held out of a training part that was not read.
    """
    splits = {part: _split(*pair, f"{source} ({part})") for part, pair in parts.items() if pair is not None}
    if "validation" not in parts and "training" in splits:
        training = splits["training"]
        cut = holdout(len(training), validation_size, source)
        splits["training"] = Split(training.images[:cut], training.labels[:cut])
        splits["validation"] = Split(training.images[cut:], training.labels[cut:])
    widths = {part: s.images.shape[1] for part, s in splits.items()}
    if len(set(widths.values())) != 1:
        raise DataError(f"{source}: the splits have different numbers of features: {widths}")
    width = next(iter(widths.values()))
    empty = Split(numpy.zeros((0, width), numpy.float32), numpy.zeros(0, numpy.int64))
    return Dataset(name, str(source), *(splits.get(part, empty) for part in SPLITS))


def holdout(n, validation_size, source) -> int:
    """Where the validation part starts in ``n`` training examples (the last
    ``validation_size`` are held out); DataError when that leaves no training example."""
    if n < 2:
        raise DataError(f"{source}: {n:,} training example{'' if n == 1 else 's'}, too few to hold any out for "
                        "validation; give at least two")
    if not 0 < validation_size < n:
        raise DataError(
            f"{source}: cannot hold out {validation_size:,} of {n:,} training examples for "
            f"validation; choose a validation size between 1 and {n - 1:,}"
        )
    return n - validation_size


def _split(images, labels, where) -> Split:
    images, labels = numpy.asarray(images), numpy.asarray(labels)
    if images.ndim < 2 or images.shape[0] == 0:
        raise DataError(f"{where}: images must be an array of shape (n, ...) with n > 0, got {images.shape}")
    if math.prod(images.shape[1:]) == 0:
        raise DataError(f"{where}: the images have shape {images.shape}, 0 features each; "
                        "store at least one pixel per image")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise mismatched(where, images.shape[0], labels.shape)
    if labels.dtype.kind not in "iu":  # records, text, floats, booleans: min() may not even exist
        raise DataError(f"{where}: labels must be non-negative integers (class numbers 0, 1, ...), "
                        f"got {_kind(labels.dtype)}; store them as an integer array")
    if int(labels.min()) < 0:
        raise DataError(f"{where}: labels must be non-negative integers, got {labels.dtype} "
                        f"from {labels.min()} to {labels.max()}")
    return Split(_pixels(images.reshape(images.shape[0], -1), where), labels.astype(numpy.int64))


def mismatched(where, n_images, labels_shape) -> DataError:
    """The error for images and labels that do not belong together."""
    return DataError(f"{where}: {n_images:,} images but labels of shape {tuple(labels_shape)}; "
                     "the files do not belong together")


def _kind(dtype) -> str:
    """``dtype`` in words, for messages."""
    if dtype.fields:
        return f"records with fields {', '.join(dtype.fields)}"
    names = {"U": "text", "S": "bytes", "f": "floats", "b": "booleans", "c": "complex numbers",
             "V": "raw bytes", "M": "dates", "m": "time spans"}
    return f"{names.get(dtype.kind, dtype.kind)} ({dtype})"


def _pixels(images, where):
    """float32 pixels in [0, 1]: bytes divided by 255, floats checked."""
    if images.dtype == numpy.uint8:
        return images.astype(numpy.float32) / numpy.float32(255)
    if images.dtype.kind != "f":
        raise DataError(f"{where}: images must be unsigned bytes (0-255) or floats in [0, 1], got "
                        f"{_kind(images.dtype)}")
    finite = numpy.isfinite(images)
    if not finite.all():
        bad = int(images.size - numpy.count_nonzero(finite))
        rows = int(numpy.count_nonzero(~finite.all(axis=1)))
        raise DataError(f"{where}: {bad:,} pixels of {rows:,} images are NaN or infinite; drop those "
                        "images or replace the values (e.g. by 0 or the pixel's mean) first")
    low, high = float(images.min()), float(images.max())
    if not (0.0 <= low and high <= 1.0):
        raise DataError(f"{where}: float pixels must lie in [0, 1], found values from {low} to {high}; "
                        "divide by the maximum (e.g. 255) first")
    return images.astype(numpy.float32, copy=False)


def fingerprint(*splits) -> dict:
    """Sizes and a hash of the exact bytes of ``splits`` (training first, then validation):
    what proves that a resumed run reads the same data, from wherever it is read."""
    digest = hashlib.blake2b(digest_size=16)
    for split in splits:
        for array in (split.images, split.labels):
            digest.update(str((array.dtype.str, array.shape)).encode())
            digest.update(memoryview(array).cast("B") if array.flags.c_contiguous else array.tobytes())
    return {"training": len(splits[0]), "validation": len(splits[1]), "blake2b": digest.hexdigest()}
