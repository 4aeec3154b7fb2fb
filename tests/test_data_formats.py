"""Dataset files other than IDX: Keras-style .npz, and Nielsen's mnist.pkl.gz read safely."""

import gzip
import io
import os
import pickle

import numpy as np
import pytest

from xprop.data import DataError, load_dataset, read_nielsen_pickle, read_npz


def nielsen_parts(n=(50, 10, 10), seed=0):
    rng = np.random.default_rng(seed)
    return tuple((rng.random((k, 784), dtype=np.float32), rng.integers(0, 10, k)) for k in n)


class Python2Style(pickle.Pickler):
    """Pickles arrays as Python 2 did: the dtype tag and the raw data are str, not bytes."""

    def reducer_override(self, obj):
        if type(obj) is np.ndarray:
            function, (cls, shape, tag), (version, shp, dtype, fortran, raw) = obj.__reduce__()
            return function, (cls, shape, tag.decode()), (version, shp, dtype, fortran, raw.decode("latin1"))
        return NotImplemented


def python2_pickle(obj):
    buffer = io.BytesIO()
    Python2Style(buffer, protocol=2).dump(obj)
    data = buffer.getvalue()
    assert b"_codecs" not in data
    return data.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")  # numpy 1.x's name


@pytest.mark.parametrize("protocol", ["python2", 2, 4, 5])
def test_nielsen_pickle_round_trip(tmp_path, protocol):
    parts = nielsen_parts()
    data = python2_pickle(parts) if protocol == "python2" else pickle.dumps(parts, protocol=protocol)
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(data))
    splits = read_nielsen_pickle(path)
    assert list(splits) == ["training", "validation", "test"]
    for (images, labels), (want_images, want_labels) in zip(splits.values(), parts):
        np.testing.assert_array_equal(images, want_images)
        np.testing.assert_array_equal(labels, want_labels)


def test_the_book_split_of_nielsens_file_is_kept(tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(nielsen_parts((30, 7, 5)))))
    data = load_dataset(path)
    assert (len(data.training), len(data.validation), len(data.test)) == (30, 7, 5)
    assert data.training.images.dtype == np.float32 and data.training.labels.dtype == np.int64


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_pickle_that_runs_code_is_refused_before_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps((Exploit(marker),))))
    with pytest.raises(DataError, match=r"refusing to load (posix|os)\.system"):
        read_nielsen_pickle(path)
    assert not marker.exists()


@pytest.mark.parametrize("content, message", [
    ([1, 2], "three .* pairs"),
    ([1, 2, 3], "must be a pair"),
    (((np.zeros((2, 784), np.float32), np.zeros(2, np.int64)),) * 2, "three"),
    ((("a", "b"),) * 3, "numpy arrays"),
    (((np.zeros((2, 784), np.int64), np.zeros(2, np.int64)),) * 3, "2-D float array"),
    (((np.zeros((2, 784), np.float32), np.zeros(3, np.int64)),) * 3, "one per image"),
    (((np.zeros((2, 784), np.float32), np.array(["a", "b"], dtype=object)),) * 3, "refusing|integers"),
])
def test_pickles_of_the_wrong_structure_are_refused(tmp_path, content, message):
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(content)))
    with pytest.raises(DataError, match=message):
        read_nielsen_pickle(path)


def test_a_truncated_pickle_is_a_data_error(tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(nielsen_parts())[:-200]))
    with pytest.raises(DataError, match="not a readable pickle"):
        read_nielsen_pickle(path)


def keras_arrays(n_train=60, n_test=20):
    rng = np.random.default_rng(1)
    return {"x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
            "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            "y_test": rng.integers(0, 10, n_test, dtype=np.uint8)}


def test_npz_in_keras_layout_is_split_as_in_the_book(tmp_path):
    arrays = keras_arrays()
    path = tmp_path / "mnist.npz"
    np.savez(path, **arrays)
    data = load_dataset(path, validation_size=10)
    assert (len(data.training), len(data.validation), len(data.test)) == (50, 10, 20)
    np.testing.assert_allclose(data.validation.images, arrays["x_train"][50:].reshape(10, 784) / 255, rtol=1e-6)
    np.testing.assert_array_equal(data.training.labels, arrays["y_train"][:50])
    assert data.name == "mnist" and data.n_features == 784


def test_npz_with_its_own_validation_part_keeps_it(tmp_path):
    arrays = keras_arrays()
    arrays.update(x_val=arrays["x_test"][:5], y_val=arrays["y_test"][:5])
    np.savez(tmp_path / "d.npz", **arrays)
    splits = read_npz(tmp_path / "d.npz")
    assert len(splits["validation"][1]) == 5
    assert len(load_dataset(tmp_path / "d.npz").training) == 60


@pytest.mark.parametrize("change, message", [
    (lambda a: a.pop("y_test"), "lacks the arrays y_test"),
    (lambda a: a.update(x_val=a["x_test"]), "only one of x_val and y_val"),
    (lambda a: a.update(y_train=np.array([None] * 60, dtype=object)), "pickled objects"),
])
def test_bad_npz_files_are_refused(tmp_path, change, message):
    arrays = keras_arrays()
    change(arrays)
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(DataError, match=message):
        read_npz(tmp_path / "d.npz")


def test_a_file_that_is_not_npz_is_refused(tmp_path):
    (tmp_path / "d.npz").write_bytes(b"not a zip archive at all")
    with pytest.raises(DataError, match="not an .npz file"):
        read_npz(tmp_path / "d.npz")


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(x_train=a["x_train"].astype(np.float32)), r"float pixels must lie in \[0, 1\]"),
    (lambda a: a.update(x_train=a["x_train"].astype(np.int32)), "unsigned bytes"),
    (lambda a: a.update(y_train=a["y_train"][:-1]), "the files do not belong together"),
    (lambda a: a.update(y_train=a["y_train"].astype(np.float64)), "labels must be non-negative integers"),
    (lambda a: a.update(x_test=a["x_test"][:, :20]), "different numbers of features"),
])
def test_inconsistent_arrays_are_refused(tmp_path, change, message):
    arrays = keras_arrays()
    change(arrays)
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(DataError, match=message):
        load_dataset(tmp_path / "d.npz", validation_size=10)


def test_validation_size_must_leave_training_examples(tmp_path):
    np.savez(tmp_path / "d.npz", **keras_arrays(n_train=60))
    with pytest.raises(DataError, match="cannot hold out 60 of 60"):
        load_dataset(tmp_path / "d.npz", validation_size=60)


def test_float_pixels_in_range_are_kept(tmp_path):
    arrays = keras_arrays()
    arrays["x_train"] = arrays["x_train"].astype(np.float64) / 255
    np.savez(tmp_path / "d.npz", **arrays)
    data = load_dataset(tmp_path / "d.npz", validation_size=10)
    assert data.training.images.dtype == np.float32
    assert 0.0 <= data.training.images.min() and data.training.images.max() <= 1.0
