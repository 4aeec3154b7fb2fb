"""The IDX reader: good files (gzip or raw, every type code), and every way a file can be wrong."""

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idxfiles import idx_bytes
from xprop.data import DataError, read_idx
from xprop.data.idx import parse_idx


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
def test_reads_images_and_labels(tmp_path, gz):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    labels = np.array([7, 3], dtype=np.uint8)
    for name, array in (("images", images), ("labels", labels)):
        data = idx_bytes(array)
        (tmp_path / name).write_bytes(gzip.compress(data) if gz else data)
    np.testing.assert_array_equal(read_idx(tmp_path / "images"), images)
    np.testing.assert_array_equal(read_idx(tmp_path / "labels"), labels)


@pytest.mark.parametrize("dtype", ["uint8", "int8", ">i2", ">i4", ">f4", ">f8"])
def test_every_type_code_is_decoded_big_endian_into_native_order(dtype):
    array = np.array([[1, -2, 3], [4, 5, -6]]).astype(dtype) if dtype != "uint8" else np.arange(6, dtype=dtype).reshape(2, 3)
    result = parse_idx(idx_bytes(array))
    assert result.dtype.isnative and result.shape == (2, 3)
    np.testing.assert_array_equal(result, array)


def test_the_magic_number_of_mnist_files():
    assert idx_bytes(np.zeros((1, 28, 28), np.uint8))[:4] == (2051).to_bytes(4, "big")
    assert idx_bytes(np.zeros(1, np.uint8))[:4] == (2049).to_bytes(4, "big")


@pytest.mark.parametrize("data, message", [
    (b"", "too short"),
    (b"\x00\x00\x08", "too short"),
    (b"\x01\x00\x08\x01" + b"\x00\x00\x00\x01" + b"\x05", "wrong magic number 0x01000801"),
    (b"\x00\x00\x07\x01" + b"\x00\x00\x00\x01" + b"\x05", "wrong magic number"),
    (b"\x00\x00\x08\x00", "wrong magic number"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated: the header announces 3 dimensions"),
])
def test_bad_headers_are_refused(data, message):
    with pytest.raises(DataError, match=message):
        parse_idx(data, "f.idx")


def test_truncated_data_is_refused_with_the_file_name_and_sizes(tmp_path):
    data = idx_bytes(np.zeros((10, 28, 28), np.uint8))
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(data[:-100])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte is truncated: shape \(10, 28, 28\) of uint8 "
                                        r"needs 7,840 bytes of data, the file has 7,740"):
        read_idx(path)


def test_extra_bytes_are_refused(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(idx_bytes(np.zeros(5, np.uint8)) + b"\x00")
    with pytest.raises(DataError, match="longer than its header says"):
        read_idx(path)


def test_a_truncated_gzip_file_is_refused(tmp_path):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((50, 28, 28), np.uint8)))[:-30])
    with pytest.raises(DataError, match="images.gz is a corrupt or truncated gzip file"):
        read_idx(path)


def test_a_corrupt_gzip_file_is_refused(tmp_path):
    data = bytearray(gzip.compress(idx_bytes(np.arange(3000, dtype=np.uint8) % 251)))
    data[len(data) // 2] ^= 0xFF
    path = tmp_path / "labels.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="corrupt or truncated gzip"):
        read_idx(path)


def test_a_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read .*nothing"):
        read_idx(tmp_path / "nothing")


@settings(max_examples=300, deadline=None, database=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_give_an_array_or_a_data_error(data):
    try:
        parse_idx(data)
    except DataError:
        pass


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(st.integers(0, 255), min_size=1, max_size=40), st.integers(0, 45))
def test_any_cut_of_a_valid_file_is_refused_unless_whole(values, cut):
    data = idx_bytes(np.array(values, np.uint8))
    cut = min(cut, len(data))
    if cut == len(data):
        np.testing.assert_array_equal(parse_idx(data[:cut]), values)
    else:
        with pytest.raises(DataError):
            parse_idx(data[:cut])
