"""Numbers that overflow, refused where they enter, with one line: seeds beyond what an
int64 holds, layer sizes no array can have, labels that would wrap or compare wrongly in
a narrow dtype, and torch device names that parse but are no device to compute on.
Through the Python API and the command line (one line, exit 1, nothing written).
"""

from __future__ import annotations

import numpy as np
import pytest
from processes import SIZES, write_dataset

import xprop
from xprop.backends import get_backend
from xprop.cli import main
from xprop.errors import InputError


def _torch_or_skip():
    backend = get_backend("torch", check=False)
    if not backend.available:
        pytest.skip(f"torch: {backend.unavailable_reason}")


# -- the Python API: (id, call, words); each raises InputError --------------------------------
API_ROWS = [
    ("seed-2**63", lambda: xprop.Network([4, 3], seed=2**63), "below 2**63"),
    ("seed-2**64", lambda: xprop.Network([4, 3], seed=2**64), "below 2**63"),
    ("seed-2**200", lambda: xprop.Network([4, 3], seed=2**200), "below 2**63"),
    ("seed-numpy-uint64", lambda: xprop.Network([4, 3], seed=np.uint64(2**63 + 5)), "below 2**63"),
    ("fit-seed-2**63", lambda: xprop.Network([4, 3]).fit(
        np.zeros((2, 4), np.float32), np.zeros(2, np.int64), epochs=1, batch_size=1, eta=1.0, seed=2**63),
     "below 2**63"),
    ("size-overflows-bytes", lambda: xprop.Network([4, 2**62, 3]), "larger than any array"),
    ("size-beyond-int64", lambda: xprop.Network([4, 2**70, 3]), "larger than any array"),
    ("size-square-overflow", lambda: xprop.Network([2**31, 2**31]), "larger than any array"),
    ("labels-uint64-2**63", lambda: xprop.Network([4, 3], dtype="float64").evaluate(
        np.zeros((2, 4)), np.array([2**63, 1], np.uint64)), "labels must lie in 0..2"),
    ("labels-uint64-max", lambda: xprop.Network([4, 3], dtype="float64").gradients(
        np.zeros((2, 4)), np.array([2**64 - 1, 1], np.uint64)), "labels must lie in 0..2"),
    ("labels-int8-negative", lambda: xprop.Network([4, 300], dtype="float64").evaluate(
        np.zeros((2, 4)), np.array([-1, 1], np.int8)), "labels must lie in 0..299"),
    ("from-parameters-float32-range", lambda: xprop.Network.from_parameters(
        [np.full((3, 4), 1e300)], [np.zeros(3)], dtype="float32"), "float32's range"),
    ("to-float32-range", lambda: xprop.Network.from_parameters(
        [np.full((3, 4), 1e300)], [np.zeros(3)]).to("numpy", dtype="float32"), "float32's range"),
]


@pytest.mark.parametrize("call, words", [r[1:] for r in API_ROWS], ids=[r[0] for r in API_ROWS])
def test_numbers_out_of_range_are_one_line(call, words):
    with pytest.raises(InputError) as caught:
        call()
    assert words in str(caught.value) and "\n" not in str(caught.value)


TORCH_DEVICES = [("meta", "meta"), ("mps", "mps"), ("cpu:0", "did you mean 'cpu'"),
                 ("cpu:3", "did you mean 'cpu'")]


@pytest.mark.parametrize("device, words", TORCH_DEVICES, ids=[d for d, _ in TORCH_DEVICES])
def test_torch_devices_that_are_no_device_here_are_one_line(device, words):
    _torch_or_skip()
    with pytest.raises(InputError) as caught:
        xprop.Network([4, 3], backend="torch", device=device)
    message = str(caught.value)
    assert words in message and "devices here: cpu" in message and "\n" not in message
    assert caught.value.argument == "device"


# -- labels in narrow dtypes: exact one-hot targets, whatever the outputs ------------------------
NARROW = [("uint8", 300), ("int8", 200), ("uint16", 70_000), ("uint8", 256), ("uint8", 257)]


@pytest.mark.parametrize("dtype, n_out", NARROW, ids=[f"{d}-{n}" for d, n in NARROW])
def test_labels_in_a_narrow_dtype_give_one_hot_targets(dtype, n_out):
    net = xprop.Network([2, n_out], dtype="float32")
    labels = np.array([0, 1, np.iinfo(dtype).max // 2, np.iinfo(dtype).max], dtype=dtype)
    kept, targets = net.labels_and_targets(labels, 4)
    assert (targets.sum(axis=1) == 1).all()  # one-hot: an arange in uint8 would wrap to two-hot
    assert (np.argmax(targets, axis=1) == labels.astype(np.int64)).all()
    assert (np.asarray(kept) == labels.astype(np.int64)).all()


def test_labels_in_a_narrow_dtype_on_array_api_strict():
    net = xprop.Network([2, 300], backend="array_api_strict", dtype="float32")
    xp = net.xp
    labels = xp.asarray(np.array([0, 255, 44], np.uint8))
    _, targets = net.labels_and_targets(labels, 3)
    assert np.asarray(xp.sum(targets, axis=1)).tolist() == [1.0, 1.0, 1.0]


# -- the command line: (id, extra arguments, words) -> one line, exit 1, nothing written ---------
CLI_ROWS = [
    ("seed-2**63", ["--seed", str(2**63)], "below 2**63"),
    ("seed-2**64", ["--seed", str(2**64)], "below 2**63"),
    ("seed-huge", ["--seed", "9" * 40], "below 2**63"),
    ("torch-meta", ["--backend", "torch", "--device", "meta"], "devices here: cpu"),
    ("torch-mps", ["--backend", "torch", "--device", "mps"], "devices here: cpu"),
    ("torch-cpu:0", ["--backend", "torch", "--device", "cpu:0"], "did you mean 'cpu'"),
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "small.npz")


@pytest.mark.parametrize("extra, words", [r[1:] for r in CLI_ROWS], ids=[r[0] for r in CLI_ROWS])
def test_numbers_out_of_range_on_the_command_line(capsys, tmp_path, dataset, extra, words):
    if "torch" in extra:
        _torch_or_skip()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code = main(["train", "--dataset", str(dataset), "--sizes", *map(str, SIZES), "--epochs", "1",
                 "--no-progress", "--save", str(out_dir / "m.npz"), "--checkpoint", str(out_dir / "run"),
                 *extra])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("xprop: error:"), err
    assert words in lines[0] and "Traceback" not in err
    assert "epoch" not in out.lower()
    assert list(out_dir.iterdir()) == []  # nothing written
