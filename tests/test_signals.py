"""Signals, a closed stdout and running out of memory, through the ``xprop`` command.

Real processes (``python -m xprop train --checkpoint DIR``, numpy, float64) are stopped a
little into epoch 3 by SIGTERM, SIGHUP or SIGINT, once or twice in a row: each must exit
with 128 + the signal's number and one line on stderr naming the signal and the resume
command, leave only complete checkpoints, and that command must finish the run bit for bit
like an uninterrupted one. Without --checkpoint the line says what was (not) kept. A
signal ignored before (``nohup``) stays ignored. A reader that leaves, or a closed stdout,
ends nothing in a traceback; a MemoryError anywhere ends in one line with exit status 1.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
import time

import pytest
from processes import (SIZES, STOPPABLE_EPOCHS, STOPPABLE_RUN, child_env, run_xprop, same_model,
                       uninterrupted_model, wait_for_line, write_dataset)

from xprop.cli import main
from xprop.io.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint
from xprop.io.modelfile import read_file

EPOCHS, RUN = STOPPABLE_EPOCHS, STOPPABLE_RUN

# ``python -m xprop ARGS`` with every stopping signal at its default (a test runner started
# with nohup, or in the background, would pass its ignored SIGHUP or SIGINT on), except
# those named in $XPROP_TEST_IGNORE, which start ignored as under nohup
LAUNCH = """
import os, runpy, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
for name in ("SIGTERM", "SIGHUP"):
    signal.signal(getattr(signal, name), signal.SIG_DFL)
for name in filter(None, os.environ.get("XPROP_TEST_IGNORE", "").split(",")):
    signal.signal(getattr(signal, name), signal.SIG_IGN)
limit = int(os.environ.get("XPROP_TEST_MEMORY", "0"))
if limit:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.argv[0] = "xprop"
runpy.run_module("xprop", run_name="__main__", alter_sys=True)
"""

NAMES = {signal.SIGTERM: "terminated (SIGTERM)", signal.SIGHUP: "hung up (SIGHUP)", signal.SIGINT: "interrupted"}


def start(*args, ignore=(), memory=0, stdout=subprocess.PIPE):
    env = {**child_env(), "XPROP_TEST_IGNORE": ",".join(ignore), "XPROP_TEST_MEMORY": str(memory)}
    return subprocess.Popen([sys.executable, "-c", LAUNCH, *map(str, args)], stdout=stdout,
                            stderr=subprocess.PIPE, text=True, env=env)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "signals.npz", n_train=1500)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, dataset):
    return uninterrupted_model(tmp_path_factory.mktemp("uninterrupted"), dataset)


def stop(child, signals, gap):
    """Wait for epoch 2's line, then send ``signals`` a little into epoch 3, ``gap`` apart."""
    wait_for_line(child, rf"^epoch 2/{EPOCHS} ")
    time.sleep(0.05)
    for i, signum in enumerate(signals):
        if i:
            time.sleep(gap)
        child.send_signal(signum)
    return child.communicate(timeout=60)


def assert_only_complete_checkpoints(ck):
    assert not [p.name for p in ck.iterdir() if p.name.endswith(".tmp")]
    for _, path in list_checkpoints(ck):
        load_checkpoint(path)  # every checkpoint left is whole


# -- a signal with --checkpoint: the line, the status, the checkpoint, the resumed run ----------
# (signals sent, seconds between them, the exit status)
STOPS = [
    pytest.param([signal.SIGTERM], 0, 143, id="SIGTERM"),
    pytest.param([signal.SIGHUP], 0, 129, id="SIGHUP"),
    pytest.param([signal.SIGINT], 0, 130, id="SIGINT"),
    pytest.param([signal.SIGTERM, signal.SIGTERM], 0.0, 143, id="SIGTERM-SIGTERM-at-once"),
    pytest.param([signal.SIGTERM, signal.SIGTERM], 0.001, 143, id="SIGTERM-SIGTERM-1ms"),
    pytest.param([signal.SIGTERM, signal.SIGTERM], 0.005, 143, id="SIGTERM-SIGTERM-5ms"),
    pytest.param([signal.SIGTERM, signal.SIGINT], 0.002, 143, id="SIGTERM-SIGINT"),
    pytest.param([signal.SIGHUP, signal.SIGTERM], 0.002, 129, id="SIGHUP-SIGTERM"),
    pytest.param([signal.SIGINT, signal.SIGINT], 0.002, 130, id="SIGINT-SIGINT"),
]


@pytest.mark.parametrize("signals,gap,status", STOPS)
def test_a_stopping_signal_keeps_the_last_epoch_and_says_how_to_resume(tmp_path, dataset, uninterrupted,
                                                                      signals, gap, status):
    ck, model = tmp_path / "ck", tmp_path / "m.npz"
    child = start("train", "--dataset", dataset, *RUN, "--checkpoint", ck, "--save", model)
    _, err = stop(child, signals, gap)
    assert child.returncode == status, err
    assert "Traceback" not in err
    line = err.strip()
    assert "\n" not in line, err
    assert line.startswith(f"xprop: {NAMES[signals[0]]}: stopped in epoch "), err
    assert not model.exists()
    assert_only_complete_checkpoints(ck)
    found = re.search(rf"stopped in epoch (\d+) of {EPOCHS}; the checkpoint of epoch (\d+) is in (.+); ", line)
    assert found and found.group(3) == str(ck), line
    stopped, kept = int(found.group(1)), int(found.group(2))
    assert stopped == kept + 1 and 2 <= kept < EPOCHS
    # its checkpoint is there; a signal that lands between the next epoch's checkpoint and
    # its line rolls the trainer back past a checkpoint already written (the newer one resumes)
    assert any(epoch == kept for epoch, _ in list_checkpoints(ck))
    assert load_checkpoint(latest_checkpoint(ck)).epoch in (kept, kept + 1)
    command = shlex.split(line.split("resume with: ", 1)[1])
    assert command == ["xprop", "train", "--resume", str(ck)]
    done = run_xprop(*command[1:])
    assert done.returncode == 0, done.stderr
    assert same_model(model, uninterrupted)


# -- a signal without --checkpoint: the line says what was kept --------------------------------
# (signal, status, --save given?, what the line must say after "stopped in epoch N of 6; ")
WITHOUT = [
    pytest.param(signal.SIGTERM, 143, False, "nothing was kept (train with --checkpoint DIR", id="SIGTERM"),
    pytest.param(signal.SIGHUP, 129, False, "nothing was kept (train with --checkpoint DIR", id="SIGHUP"),
    pytest.param(signal.SIGTERM, 143, True, "saved the model of epoch ", id="SIGTERM-save"),
]


@pytest.mark.parametrize("signum,status,save,says", WITHOUT)
def test_without_a_checkpoint_the_line_says_what_was_kept(tmp_path, dataset, signum, status, save, says):
    model = tmp_path / "m.npz"
    child = start("train", "--dataset", dataset, *RUN, *(["--save", model] if save else []))
    _, err = stop(child, [signum], 0)
    assert child.returncode == status, err
    line = err.strip()
    assert "\n" not in line and line.startswith(f"xprop: {NAMES[signum]}: stopped in epoch "), err
    assert says in line, line
    assert model.exists() == save
    if save:
        read_file(model)  # whole
    assert [p.name for p in tmp_path.iterdir()] == (["m.npz"] if save else [])


@pytest.mark.parametrize("name", ["SIGHUP", "SIGTERM"])
def test_a_signal_ignored_before_stays_ignored(tmp_path, dataset, name):
    """As under ``nohup``: a closed terminal does not stop the run."""
    model = tmp_path / "m.npz"
    child = start("train", "--dataset", dataset, "--sizes", *SIZES, "--batch-size", 1, "--epochs", 3,
                  "--no-progress", "--save", model, ignore=[name])
    wait_for_line(child, r"^epoch 1/3 ")
    child.send_signal(getattr(signal, name))
    _, err = child.communicate(timeout=60)
    assert child.returncode == 0 and err == "", err
    assert model.exists()


def test_the_handlers_before_are_put_back(tmp_path):
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    assert main(["info"]) == 0
    assert main(["evaluate", str(tmp_path / "missing.npz")]) == 1
    assert {s: signal.getsignal(s) for s in before} == before


# -- stdout closed or left --------------------------------------------------------------------
# (command, how stdout ends, exit status)
CLOSED = [
    pytest.param(["train", "--epochs", 10_000], "reader leaves", 141, id="train-reader-leaves"),
    pytest.param(["train", "--epochs", 3], "closed", 0, id="train-stdout-closed"),
    pytest.param(["info"], "closed", 0, id="info-stdout-closed"),
    pytest.param(["info"], "reader leaves at once", 141, id="info-reader-leaves"),
]


@pytest.mark.parametrize("command,how,status", CLOSED)
def test_a_closed_stdout_ends_without_a_traceback(tmp_path, dataset, command, how, status):
    args = [*command, *(["--dataset", dataset, "--sizes", *SIZES, "--no-progress", "--save", tmp_path / "m.npz"]
                        if command[0] == "train" else [])]
    if how == "closed":  # started with stdout closed, as `xprop ... >&-`
        done = subprocess.run(["bash", "-c", 'exec "$@" >&-', "bash", sys.executable, "-c", LAUNCH,
                               *map(str, args)], stderr=subprocess.PIPE, text=True, env=child_env(), timeout=120)
        code, err = done.returncode, done.stderr
        assert (tmp_path / "m.npz").exists() == (command[0] == "train")
    else:
        child = start(*args)
        if how == "reader leaves":
            wait_for_line(child, r"^epoch +1/")
        child.stdout.close()
        err = child.stderr.read()
        code = child.wait(timeout=60)
    assert code == status, err
    assert err == "", err


# -- out of memory ----------------------------------------------------------------------------
# (what the MemoryError says, what the line must hold after "out of memory while running xprop train (")
MEMORY = [
    pytest.param("Unable to allocate 7.45 GiB for an array with shape (1000000000,) and data type float64",
                 "Unable to allocate 7.45 GiB", id="numpy"),
    pytest.param("Out of memory allocating 8,000,000,000 bytes (allocated so far: 0 bytes).",
                 "Out of memory allocating", id="cupy"),
    pytest.param("", "no memory left", id="no-message"),
    pytest.param("first line\nsecond line", "first line", id="two-lines"),
]


@pytest.mark.parametrize("said,shown", MEMORY)
def test_a_memory_error_is_one_line(tmp_path, monkeypatch, capsys, said, shown):
    from xprop.cli import train

    def run(args):
        raise MemoryError(said)

    monkeypatch.setattr(train, "run", run)
    assert main(["train", "--save", str(tmp_path / "m.npz")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"xprop: error: out of memory while running xprop train ({shown}")
    assert err.rstrip().endswith("use a smaller network, mini-batch or data set, or free memory")
    assert list(tmp_path.iterdir()) == []


def test_a_real_memory_error_in_training_is_one_line(tmp_path, dataset, monkeypatch, capsys):
    """numpy's own MemoryError (an array of 10^16 floats), raised in the middle of a run."""
    import numpy as np

    from xprop.train import Trainer

    def run(trainer, X, y):
        return np.empty((10 ** 8, 10 ** 8))

    monkeypatch.setattr(Trainer, "run", run)
    model = tmp_path / "m.npz"
    assert main([str(a) for a in ["train", "--dataset", dataset, *RUN, "--save", model]]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("xprop: error: out of memory while running xprop train ("), err
    assert not model.exists()
