"""Data that is readable but wrong is refused in one line with the right advice.

Tables: non-finite pixels (advice: drop or replace them, not "divide by the maximum"),
labels that are not integers (records, text, bytes, floats, booleans), images with 0
features; each from Python (DataError) and from the command line (one line, exit 1, no
traceback, no training). And ``xprop evaluate`` reads only the split it evaluates, so a
small file with a test split needs no validation split unless ``--split validation``.
"""

from __future__ import annotations

import numpy as np
import pytest

import xprop.train.trainer
from xprop.cli import main
from xprop.data import DataError, load_dataset


def _dataset(tmp_path, name="bad.npz", **replace):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.random((40, 6)).astype(np.float32), "y_train": rng.integers(0, 3, 40),
              "x_test": rng.random((10, 6)).astype(np.float32), "y_test": rng.integers(0, 3, 10)}
    arrays.update(replace)
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def _with(array, index, value):
    array = array.copy()
    array[index] = value
    return array


X = np.random.default_rng(1).random((40, 6)).astype(np.float32)
XT = np.random.default_rng(2).random((10, 6)).astype(np.float32)
RECORDS = np.zeros(40, dtype=[("label", "i8"), ("weight", "f4")])

BAD = {
    # non-finite pixels: drop or replace them
    "nan-pixel": (dict(x_train=_with(X, (3, 2), np.nan)), "NaN or infinite; drop those images or replace"),
    "inf-pixel": (dict(x_train=_with(X, (0, 0), np.inf)), "NaN or infinite; drop those images or replace"),
    "minus-inf-pixel": (dict(x_test=_with(XT, (9, 5), -np.inf)), "NaN or infinite; drop those images or replace"),
    "nan-row-float64": (dict(x_train=_with(X.astype(np.float64), 5, np.nan)), "6 pixels of 1 images are NaN"),
    # labels that are not integers
    "record-labels": (dict(y_train=RECORDS), "got records with fields label, weight"),
    "text-labels": (dict(y_train=np.array(["cat"] * 40)), "got text"),
    "bytes-labels": (dict(y_train=np.array([b"7"] * 40)), "got bytes"),
    "float-labels": (dict(y_test=np.zeros(10, np.float32)), "got floats"),
    "bool-labels": (dict(y_train=np.ones(40, bool)), "got booleans"),
    "complex-labels": (dict(y_train=np.ones(40, np.complex64)), "got complex numbers"),
    # images with nothing in them
    "float-0-features": (dict(x_train=np.zeros((40, 0), np.float32), x_test=np.zeros((10, 0), np.float32)),
                         "0 features each"),
    "bytes-0-features": (dict(x_train=np.zeros((40, 0), np.uint8)), "0 features each"),
    "0-by-28": (dict(x_train=np.zeros((40, 0, 28), np.float32)), "0 features each"),
    "text-images": (dict(x_train=np.array([["a"] * 6] * 40)), "got text"),
    "record-images": (dict(x_train=np.zeros((40, 6), dtype=[("a", "u1")])), "got records with fields a"),
}


@pytest.mark.parametrize("replace, message", BAD.values(), ids=BAD.keys())
def test_bad_data_is_refused_in_one_line(tmp_path, replace, message):
    path = _dataset(tmp_path, **replace)
    with pytest.raises(DataError) as caught:
        load_dataset(path, validation_size=10)
    text = str(caught.value)
    assert message in text and "\n" not in text and str(path) in text
    assert "divide by the maximum" not in text


@pytest.fixture
def no_training(monkeypatch):
    monkeypatch.setattr(xprop.train.trainer.Trainer, "run", lambda *a, **k: pytest.fail("training started"))


@pytest.mark.parametrize("replace, message", BAD.values(), ids=BAD.keys())
def test_bad_data_is_refused_on_the_command_line(tmp_path, capsys, no_training, replace, message):
    path = _dataset(tmp_path, **replace)
    before = sorted(tmp_path.iterdir())
    code = main(["train", "--dataset", str(path), "--sizes", "6", "4", "3", "--validation-size", "10",
                 "--save", str(tmp_path / "m.npz")])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and err.startswith("xprop: error:") and err.count("\n") == 1
    assert message in err and "Traceback" not in err
    assert sorted(tmp_path.iterdir()) == before


# -- evaluate reads only the split it evaluates --------------------------------------------------
@pytest.fixture
def small(tmp_path):
    path = _dataset(tmp_path, "small.npz")  # 40 training examples: no 10,000 to hold out
    model = tmp_path / "m.npz"
    assert main(["train", "--dataset", str(path), "--sizes", "6", "4", "3", "--validation-size", "10",
                 "--epochs", "1", "--save", str(model)]) == 0
    return path, model


@pytest.mark.parametrize("argv, code, expected", [
    ([], 0, "small test: accuracy"),
    (["--split", "test", "--json"], 0, '"split": "test"'),
    (["--split", "validation", "--validation-size", "10"], 0, "small validation: accuracy"),
    (["--split", "training", "--validation-size", "10"], 0, "small training: accuracy"),
    (["--split", "validation"], 1, "cannot hold out 10,000 of 40 training examples"),
    (["--split", "training"], 1, "cannot hold out 10,000 of 40 training examples"),
], ids=["test", "test-json", "validation-sized", "training-sized", "validation-default", "training-default"])
def test_evaluate_needs_a_validation_split_only_when_it_uses_one(small, capsys, argv, code, expected):
    path, model = small
    capsys.readouterr()
    assert main(["evaluate", str(model), "--dataset", str(path), *argv]) == code
    out, err = capsys.readouterr()
    assert expected in (out if code == 0 else err)
    if code:
        assert out == "" and err.count("\n") == 1


def test_evaluate_reads_only_the_test_files(tmp_path, capsys):
    from idxfiles import NAMES, write_idx_dataset

    write_idx_dataset(tmp_path / "d", n_train=30, n_test=20)
    model = tmp_path / "m.npz"
    assert main(["train", "--dataset", str(tmp_path / "d"), "--sizes", "784", "5", "10", "--validation-size", "10",
                 "--epochs", "1", "--save", str(model)]) == 0
    (tmp_path / "d" / (NAMES["train_images"] + ".gz")).write_bytes(b"damaged, and never read")
    capsys.readouterr()
    assert main(["evaluate", str(model), "--dataset", str(tmp_path / "d")]) == 0
    assert "d test: accuracy" in capsys.readouterr().out
