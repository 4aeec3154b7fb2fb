"""What a checkpoint or model file may hold: every field read from a file is checked by
the same checks as the value given through the API or the command line, before anything
is used. One row per damaged field: load_checkpoint / load_model / resume refuse it with a
FileFormatError naming the file and the field, and the command line (`xprop evaluate FILE`,
`xprop train --resume DIR`) answers with one line, exit status 1, writing nothing.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from helpers import rewrite_header
from processes import SIZES, write_dataset

from xprop.cli import main
from xprop.errors import FileFormatError
from xprop.io.checkpoint import latest_checkpoint, load_checkpoint, resume
from xprop.io.networks import load_model
from xprop.io.npz import read_archive, write_archive


def _array(member, change):
    """Replace the array member ``member`` of a file by ``change(array)``."""
    def damage(path):
        arrays = read_archive(path)
        arrays[member] = change(arrays[member])
        write_archive(path, arrays)
    return damage


def _set(*keys, value):
    def change(header):
        node = header
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return lambda path: rewrite_header(path, change)


def _nan(a):
    a = a.copy()
    a.flat[0] = np.nan
    return a


def _huge(a):  # float64 beyond float32's range, in a float32 network's file
    return np.full(a.shape, 1e300, np.float64)


# (id, damage(path), field named, words in the message); the checkpoint is of a float32
# network [16, 12, 4] trained 2 of 3 epochs with momentum.
ROWS = [
    ("nan-weights", _array("network.weights.0", _nan), "network.weights[0]", "NaN or Inf"),
    ("inf-biases", _array("network.biases.1", lambda a: np.full_like(a, np.inf)), "network.biases[1]", "NaN or Inf"),
    ("huge-weights", _array("network.weights.1", _huge), "network.weights[1]", "float32's range"),
    ("nan-velocity", _array("trainer.velocities.0.0", _nan), "trainer.velocities[0][0]", "NaN or Inf"),
    ("huge-velocity", _array("trainer.velocities.1.0", _huge), "trainer.velocities[1][0]", "float32's range"),
    ("eta-negative", _set("trainer", "eta", value=-1), "trainer.eta", "finite number > 0"),
    ("eta-zero", _set("trainer", "eta", value=0), "trainer.eta", "finite number > 0"),
    ("eta-string", _set("trainer", "eta", value="0.5"), "trainer.eta", "finite number > 0"),
    ("epoch-string", _set("trainer", "epoch", value="2"), "trainer.epoch", "integer >= 0"),
    ("epoch-negative", _set("trainer", "epoch", value=-1), "trainer.epoch", "integer >= 0"),
    ("epoch-beyond-run", _set("trainer", "epoch", value=7), "trainer.epoch", "more than 3"),
    ("epoch-below-history", _set("trainer", "epoch", value=1), "trainer.history.records", "one record per epoch"),
    ("stop-int", _set("trainer", "stop", value=0), "trainer.stop", "true or false"),
    ("stop-string", _set("trainer", "stop", value="false"), "trainer.stop", "true or false"),
    ("rng-not-dict", _set("trainer", "rng", value=[1, 2]), "trainer.rng", "bit generator"),
    ("history-not-dict", _set("trainer", "history", value=[]), "trainer.history", "list of records"),
    ("record-eta-string", _set("trainer", "history", "records", 0, "eta", value="2"),
     "trainer.history.records[0].eta", "finite number > 0"),
    ("record-cost-string", _set("trainer", "history", "records", 1, "evaluation_cost", value="low"),
     "trainer.history.records[1].evaluation_cost", "number or null"),
    ("record-epoch-wrong", _set("trainer", "history", "records", 1, "epoch", value=5),
     "trainer.history.records[1].epoch", "expected 2"),
    ("record-not-dict", _set("trainer", "history", "records", 0, value=3), "trainer.history.records[0]",
     "must be a record"),
    ("stopped-early-number", _set("trainer", "history", "stopped_early", value=3),
     "trainer.history.stopped_early", "text or null"),
    ("callbacks-not-list", _set("trainer", "callbacks", value={"type": "x"}), "trainer.callbacks", "list"),
    ("run-eta-negative", _set("run", "eta", value=-1.0), "run.eta", "finite number > 0"),
    ("run-epochs-string", _set("run", "epochs", value="3"), "run.epochs", "positive integer"),
    ("run-momentum-one", _set("run", "momentum", value=1.0), "run.momentum", "[0, 1)"),
    ("run-seed-huge", _set("run", "seed", value=2**64), "run.seed", "below 2**63"),
    ("network-seed-huge", _set("network", "seed", value=2**70), "network.seed", "below 2**63"),
    ("network-seed-bool", _set("network", "seed", value=True), "network.seed", "non-negative integer"),
    ("network-sizes-string", _set("network", "sizes", value=[16, "12", 4]), "network.sizes", "positive integers"),
    ("network-sizes-float", _set("network", "sizes", value=[16, 12.5, 4]), "network.sizes", "positive integers"),
    ("network-dtype", _set("network", "dtype", value="float16"), "network.dtype", "float32 or float64"),
    ("network-init", _set("network", "init", value="zeros"), "network.init", "large, scaled"),
    ("backend-number", _set("backend", value=3), "backend", "backend's name"),
    ("metadata-list", _set("metadata", value=[1]), "metadata", "dict of JSON values"),
]
IDS = [row[0] for row in ROWS]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "small.npz")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, dataset):
    """A run directory with the checkpoints of 2 of 3 epochs, written by `xprop train`."""
    run = tmp_path_factory.mktemp("pristine") / "run"
    code = main(["train", "--dataset", str(dataset), "--sizes", *map(str, SIZES), "--eta", "1.0",
                 "--momentum", "0.5", "--epochs", "2", "--no-progress", "--checkpoint", str(run)])
    assert code == 0
    # a run of 3 epochs that has done 2: raise the run's epochs in both checkpoints
    for path in run.glob("checkpoint-*.npz"):
        rewrite_header(path, lambda h: h["run"].update(epochs=3))
    return run


@pytest.fixture
def damaged(tmp_path, pristine, request):
    """A copy of the pristine run whose newest checkpoint is damaged by the row's change."""
    run = tmp_path / "run"
    shutil.copytree(pristine, run)
    path = latest_checkpoint(run)
    request.param(path)
    return run, path


def _files(folder):
    return sorted((p.relative_to(folder), p.stat().st_mtime_ns, p.stat().st_size)
                  for p in folder.rglob("*"))


def _refused(error, path, field, words):
    message = str(error)
    assert "\n" not in message
    assert str(path) in message and field in message and words in message, message
    assert error.path == path and error.field == field


@pytest.mark.parametrize("damaged, field, words", [r[1:] for r in ROWS], ids=IDS, indirect=["damaged"])
def test_a_damaged_field_is_refused_by_the_library(damaged, field, words):
    run, path = damaged
    before = _files(run)
    for read in (load_checkpoint, load_model, lambda p: resume(p, checkpoint=False)):
        with pytest.raises(FileFormatError) as caught:
            read(path)
        _refused(caught.value, path, field, words)
    with pytest.raises(FileFormatError) as caught:
        resume(run)  # the directory: its newest checkpoint
    _refused(caught.value, path, field, words)
    assert _files(run) == before  # nothing written, nothing removed


@pytest.mark.parametrize("damaged, field, words", [r[1:] for r in ROWS], ids=IDS, indirect=["damaged"])
@pytest.mark.parametrize("command", ["evaluate", "resume"])
def test_a_damaged_field_is_one_line_on_the_command_line(capsys, tmp_path, dataset, damaged, field, words,
                                                         command):
    run, path = damaged
    before = _files(tmp_path)
    if command == "evaluate":
        argv = ["evaluate", str(path), "--dataset", str(dataset)]
    else:
        argv = ["train", "--resume", str(run), "--no-progress", "--save", str(tmp_path / "m.npz")]
    code = main(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert lines[0].startswith("xprop: error:") and field in lines[0] and words in lines[0], lines[0]
    assert "Traceback" not in err and "epoch" not in out.lower()
    assert _files(tmp_path) == before  # no model saved, no checkpoint written or removed


def test_the_pristine_run_resumes(capsys, tmp_path, pristine):
    """The undamaged copy is accepted: the rows above fail for the damage alone."""
    run = tmp_path / "run"
    shutil.copytree(pristine, run)
    assert load_checkpoint(latest_checkpoint(run)).epoch == 2
    code = main(["train", "--resume", str(run), "--no-progress", "--save", str(tmp_path / "m.npz")])
    capsys.readouterr()
    assert code == 0 and (tmp_path / "m.npz").is_file()
