"""Writing small IDX, .npz and mnist.pkl.gz files for the data and CLI tests.

The images are learnable on purpose: class k lights up a 4x4 block at position k of the
28x28 image, plus noise, so a few epochs on a thousand examples reach high accuracy.
"""

from __future__ import annotations

import gzip
import struct

import numpy as np

CODES = {np.dtype("uint8"): 0x08, np.dtype("int8"): 0x09, np.dtype(">i2"): 0x0B, np.dtype(">i4"): 0x0C,
         np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}
NAMES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
         "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


def idx_bytes(array) -> bytes:
    """``array`` encoded as IDX (big-endian)."""
    array = np.asarray(array)
    big = array.astype(array.dtype.newbyteorder(">")) if array.dtype.itemsize > 1 else array
    header = bytes([0, 0, CODES[big.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + big.tobytes()


def images_and_labels(n, seed=0, classes=10):
    """``n`` learnable 28x28 uint8 images and their labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n).astype(np.uint8)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(labels):
        row, col = divmod(int(k), 5)
        images[i, 4 + 8 * row: 8 + 8 * row, 2 + 5 * col: 6 + 5 * col] = 255
    return images, labels


def write_idx_dataset(directory, n_train=1200, n_test=300, *, gz=True, seed=0):
    """The four IDX files of a synthetic dataset in ``directory``; returns the arrays."""
    directory.mkdir(parents=True, exist_ok=True)
    train = images_and_labels(n_train, seed)
    test = images_and_labels(n_test, seed + 1)
    arrays = {"train_images": train[0], "train_labels": train[1], "test_images": test[0], "test_labels": test[1]}
    for role, array in arrays.items():
        data = idx_bytes(array)
        name = NAMES[role] + (".gz" if gz else "")
        (directory / name).write_bytes(gzip.compress(data) if gz else data)
    return arrays
