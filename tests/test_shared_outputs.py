"""Outputs that two runs, or one run's options, would share: refused before any work.

- A checkpoint directory takes one run at a time (a flock held for the run): a second run,
  in another process, is refused with one line naming the first; a killed holder never
  blocks the next run.
- The temporaries of a write killed midway are removed by the next write of the same file,
  never those of a live writer, of another file or of another machine.
- An output that is an input (the dataset), another output, a file of the checkpoint
  directory, or a symbolic link is refused with one line, and nothing is written.
- A full disk while writing a checkpoint or the model is one line naming the file and
  saying what is intact.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import numpy as np
import pytest
from processes import SIZES, child_env, run_xprop, start_xprop, wait_for_line, write_dataset

from xprop import Network, Trainer
from xprop.cli import main
from xprop.io.atomic import FileWriteError, atomic_write, host_name
from xprop.io.checkpoint import (LOCK_NAME, Checkpoint, CheckpointDirectoryError, checkpoint_name,
                                 latest_checkpoint, load_checkpoint)
from xprop.io.networks import load_model, save_model

FAST = ["--sizes", *SIZES, "--epochs", 2, "--no-progress", "--monitor", "training_cost", "evaluation_accuracy"]
SLOW = ["--sizes", *SIZES, "--epochs", 5000, "--batch-size", 1, "--no-progress", "--monitor", "training_cost"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "d.npz", n_train=600)


def files(root):
    """Every file under ``root`` with its bytes: what a refused command must leave as it was."""
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def one_error_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xprop: error: "), err
    return lines[0]


# -- one run per checkpoint directory: a real second process holds it ---------------------------
HOLDER = """
import sys
import numpy as np
from xprop import Network, Trainer
from xprop.io.checkpoint import Checkpoint

class Wait:
    def on_train_begin(self, trainer):  # the Checkpoint before it holds the directory now
        print("holding", flush=True)
        sys.stdin.readline()
        raise SystemExit(0)

X = np.random.default_rng(0).random((20, 16)).astype(np.float32)
Trainer(Network([16, 4], seed=0), epochs=1, batch_size=5, eta=1.0,
        callbacks=[Checkpoint(sys.argv[1]), Wait()]).run(X, np.arange(20) % 4)
"""


def hold(directory):
    """A Python child process that holds ``directory`` through a Checkpoint callback."""
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(directory)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
    wait_for_line(child, "^holding")
    return child


def end(child, how):
    if how == "exits":
        child.stdin.close()
    else:
        child.kill()
    child.wait(timeout=60)


@pytest.mark.parametrize("contender, how", [
    ("cli --checkpoint", "exits"),
    ("cli --checkpoint", "killed"),
    ("cli --checkpoint with outputs", "killed"),
    ("python Checkpoint", "exits"),
    ("python Checkpoint", "killed"),
], ids=lambda v: v.replace(" ", "-"))
def test_a_directory_held_by_a_live_run_is_refused_naming_it_and_free_once_it_ends(
        tmp_path, dataset, contender, how):
    ck = tmp_path / "ck"
    child = hold(ck)
    try:
        before = files(tmp_path)
        if contender.startswith("cli"):
            outputs = ["--save", tmp_path / "m.npz", "--log", tmp_path / "m.jsonl"] if "outputs" in contender else []
            refused = run_xprop("train", "--dataset", dataset, *FAST, "--checkpoint", ck, *outputs)
            assert refused.returncode == 1
            line = one_error_line(refused.stderr)
            assert f"is in use by another run (pid {child.pid} on {host_name()}: python -c" in line
            assert "epoch 1/" not in refused.stdout
        else:
            with pytest.raises(CheckpointDirectoryError) as caught:
                Checkpoint(ck)
            assert caught.value.problem == "locked" and caught.value.holder["pid"] == child.pid
            assert f"pid {child.pid}" in str(caught.value)
        assert files(tmp_path) == before  # nothing written, nothing removed
    finally:
        end(child, how)
    if contender.startswith("cli"):  # the same command now runs
        done = run_xprop("train", "--dataset", dataset, *FAST, "--checkpoint", ck)
        assert done.returncode == 0, done.stderr
        assert load_checkpoint(latest_checkpoint(ck)).epoch == 2
    else:
        X = np.random.default_rng(0).random((20, 16)).astype(np.float32)
        Trainer(Network([16, 4], seed=0), epochs=1, batch_size=5, eta=1.0,
                callbacks=[Checkpoint(ck)]).run(X, np.arange(20) % 4)
    assert not (ck / LOCK_NAME).exists()  # a run that ends removes its lock file


def test_a_resume_of_a_directory_a_live_cli_run_writes_into_is_refused(tmp_path, dataset):
    ck = tmp_path / "ck"
    child = start_xprop("train", "--dataset", dataset, *SLOW, "--checkpoint", ck)
    try:
        wait_for_line(child, r"^epoch +1/")
        refused = run_xprop("train", "--resume", ck, "--save", tmp_path / "m.npz")
        assert refused.returncode == 1
        line = one_error_line(refused.stderr)
        assert f"is in use by another run (pid {child.pid} on {host_name()}: python -m xprop train" in line
        assert not (tmp_path / "m.npz").exists()
    finally:
        child.kill()
        child.communicate(timeout=60)


# -- temporaries of killed writers ---------------------------------------------------------------
def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("name, writer, removed", [
    (".m.npz.{pid}@{host}.abcd1234.tmp", "dead", True),
    (".m.npz.{pid}@{host}.abcd1234.tmp", "live", False),
    (".m.npz.{pid}@other-machine.abcd1234.tmp", "dead", False),
    (".other.npz.{pid}@{host}.abcd1234.tmp", "dead", False),
    (".m.npz.abcd1234.tmp", "dead", False),  # no writer recorded: cannot tell
    ("m.npz.{pid}@{host}.abcd1234.tmp", "dead", False),  # not a temporary name
], ids=["dead-writer", "live-writer", "other-host", "other-file", "no-writer", "not-hidden"])
def test_the_next_write_removes_only_temporaries_of_dead_writers_of_the_same_file(tmp_path, name, writer, removed):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pid = dead_pid() if writer == "dead" else live.pid
        stale = tmp_path / name.format(pid=pid, host=host_name())
        stale.write_bytes(b"half a file")
        with atomic_write(tmp_path / "m.npz") as f:
            f.write(b"new")
        assert (tmp_path / "m.npz").read_bytes() == b"new"
        assert stale.exists() is not removed
    finally:
        live.kill()
        live.wait()


@pytest.mark.parametrize("writer, removed", [("dead", True), ("live", False)])
def test_a_checkpoint_run_removes_checkpoint_temporaries_of_dead_writers_only(tmp_path, writer, removed):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pid = dead_pid() if writer == "dead" else live.pid
        stale = tmp_path / f".checkpoint-epoch0007.npz.{pid}@{host_name()}.abcd1234.tmp"
        stale.write_bytes(b"half a checkpoint")
        X = np.random.default_rng(0).random((20, 16)).astype(np.float32)
        Trainer(Network([16, 4], seed=0), epochs=1, batch_size=5, eta=1.0,
                callbacks=[Checkpoint(tmp_path)]).run(X, np.arange(20) % 4)
        assert stale.exists() is not removed
    finally:
        live.kill()
        live.wait()


# -- outputs that collide with inputs, with each other, with the checkpoint directory -------------
@pytest.fixture
def place(tmp_path, dataset):
    """A folder with a copy of the dataset (d.npz), an old model (old.npz), links to both,
    and a checkpoint directory of a finished CLI run (run1)."""
    (tmp_path / "d.npz").write_bytes(dataset.read_bytes())
    (tmp_path / "old.npz").write_bytes(b"an old model")
    (tmp_path / "to-data.npz").symlink_to(tmp_path / "d.npz")
    (tmp_path / "to-old.npz").symlink_to(tmp_path / "old.npz")
    assert main([str(a) for a in ["train", "--dataset", tmp_path / "d.npz", *FAST,
                                  "--checkpoint", tmp_path / "run1"]]) == 0
    return tmp_path


COLLISIONS = [
    ("log-is-dataset", ["--log", "d.npz"], "--log d.npz is the dataset"),
    ("save-is-dataset", ["--save", "d.npz"], "--save d.npz is the dataset"),
    ("plot-is-dataset-by-another-spelling", ["--plot", "./d.npz"], "--plot d.npz is the dataset"),
    ("save-is-log", ["--save", "x", "--log", "x"], "--save x and --log x are the same file"),
    ("plot-is-save", ["--save", "x.png", "--plot", "./x.png"], "--save x.png and --plot x.png are the same file"),
    ("save-is-a-link-to-the-dataset", ["--save", "to-data.npz"], "--save to-data.npz: that is a symbolic link"),
    ("log-is-a-link", ["--log", "to-old.npz"], "--log to-old.npz: that is a symbolic link"),
    ("save-is-a-checkpoint", ["--checkpoint", "new", "--save", "new/checkpoint-epoch0001.npz"], None),
    ("log-is-the-lock", ["--checkpoint", "new", "--log", "new/.xprop-lock"], "a file of the checkpoint directory new"),
    ("save-is-the-checkpoint-directory", ["--checkpoint", "new", "--save", "new"],
     "--save new: that is the checkpoint directory new"),
    ("resume-save-is-its-checkpoint", ["--resume", "run1", "--save", "run1/checkpoint-epoch0002.npz"],
     "--save run1/checkpoint-epoch0002.npz: that is a file of the checkpoint directory run1"),
    ("resume-log-is-its-dataset", ["--resume", "run1", "--log", "d.npz"], "--log d.npz is the dataset"),
]


@pytest.mark.parametrize("args, says", [row[1:] for row in COLLISIONS], ids=[row[0] for row in COLLISIONS])
def test_an_output_that_is_an_input_another_output_or_a_run_file_is_refused(place, args, says, capsys):
    if any(str(a).startswith("new/") for a in args):  # (not for --save new: there it does not exist yet)
        (place / "new").mkdir()
    before = files(place)
    os.chdir(place)
    resumed = args[0] == "--resume"
    command = ["train", *([] if resumed else ["--dataset", "d.npz", *FAST]), *args]
    assert main([str(a) for a in command]) == 1
    out, err = capsys.readouterr()
    line = one_error_line(err)
    assert says is None or says in line, line
    assert "epoch 1/" not in out
    assert files(place) == before  # the dataset, the model, the checkpoints: all as they were


# -- a full disk --------------------------------------------------------------------------------
@pytest.fixture
def full_disk(monkeypatch):
    """``fill(name)``: from now on, an fsync of a file whose name contains ``name`` fails
    with ENOSPC, as on a full disk."""
    import xprop.io.atomic as atomic

    real = os.fsync

    def fill(name):
        def fsync(fd):
            if name in os.readlink(f"/proc/self/fd/{fd}").rsplit("/", 1)[-1]:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(fd)
        monkeypatch.setattr(atomic.os, "fsync", fsync)
    return fill


@pytest.mark.parametrize("fails_at, says", [
    (3, "the previous checkpoint, {dir}/checkpoint-epoch0002.npz, is intact"),
    (1, "no checkpoint of this run was written before it"),
])
def test_a_full_disk_while_checkpointing_names_the_file_and_keeps_the_previous_one(
        tmp_path, full_disk, fails_at, says):
    full_disk(checkpoint_name(fails_at))
    X = np.random.default_rng(0).random((20, 16)).astype(np.float32)
    trainer = Trainer(Network([16, 4], seed=0), epochs=5, batch_size=5, eta=1.0, callbacks=[Checkpoint(tmp_path)])
    with pytest.raises(FileWriteError) as caught:
        trainer.run(X, np.arange(20) % 4)
    error = caught.value
    assert error.errno == errno.ENOSPC and error.path == tmp_path / checkpoint_name(fails_at)
    assert str(error).startswith(f"cannot write {error.path}: No space left on device; ")
    assert says.format(dir=tmp_path) in str(error)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    if fails_at > 1:
        assert load_checkpoint(latest_checkpoint(tmp_path)).epoch == fails_at - 1
    assert not (tmp_path / LOCK_NAME).exists()  # released


@pytest.mark.parametrize("target, args, says", [
    ("checkpoint-epoch0002.npz", ["--checkpoint", "ck"],
     "cannot write ck/checkpoint-epoch0002.npz: No space left on device; the previous checkpoint, "
     "ck/checkpoint-epoch0001.npz, is intact"),
    ("m.npz", ["--checkpoint", "ck", "--save", "m.npz"],
     "cannot write m.npz: No space left on device; whatever m.npz held before is intact; the run's "
     "checkpoints in ck are intact: free some space, then write the outputs with xprop train --resume ck"),
    ("m.npz", ["--save", "m.npz"], "cannot write m.npz: No space left on device; whatever m.npz held before is intact"),
])
def test_a_full_disk_on_the_command_line_is_one_line_saying_what_is_intact(
        tmp_path, dataset, full_disk, capsys, target, args, says):
    os.chdir(tmp_path)
    (tmp_path / "m.npz").write_bytes(b"the model before")
    full_disk(target)
    assert main([str(a) for a in ["train", "--dataset", dataset, *FAST, *args]]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert line == f"xprop: error: {says}" or line.startswith(f"xprop: error: {says}"), line
    assert (tmp_path / "m.npz").read_bytes() == b"the model before"
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_save_model_on_a_full_disk_keeps_the_old_file(tmp_path, full_disk):
    path = tmp_path / "m.npz"
    save_model(Network([4, 2], seed=0), path)
    full_disk("m.npz")
    with pytest.raises(FileWriteError) as caught:
        save_model(Network([4, 3], seed=0), path)
    assert isinstance(caught.value, OSError) and caught.value.filename == str(path)
    assert load_model(path).sizes == [4, 2]
