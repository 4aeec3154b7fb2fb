"""Fault injection through the command line: ``python -m xprop train --checkpoint DIR`` in a
real process is killed in the middle of an epoch (SIGKILL) or interrupted (SIGINT, as
Ctrl-C), then continued with ``xprop train --resume DIR``; the saved model equals the
uninterrupted run's bit for bit (numpy, float64)."""

from __future__ import annotations

import shlex
import signal
import time

import pytest
from processes import (SIZES, STOPPABLE_EPOCHS, STOPPABLE_RUN, run_xprop, same_model, start_xprop,
                       uninterrupted_model, wait_for_line, write_dataset)

from xprop.io.checkpoint import latest_checkpoint, load_checkpoint

EPOCHS, RUN = STOPPABLE_EPOCHS, STOPPABLE_RUN


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "faults.npz", n_train=1500)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, dataset):
    return uninterrupted_model(tmp_path_factory.mktemp("uninterrupted"), dataset)


def start_and_stop(tmp_path, dataset, how):
    """Start the run, wait until epoch 2 is reported, stop it a little into epoch 3."""
    ck, model = tmp_path / "ck", tmp_path / "m.npz"
    child = start_xprop("train", "--dataset", dataset, *RUN, "--checkpoint", ck, "--save", model)
    wait_for_line(child, rf"^epoch 2/{EPOCHS} ")
    time.sleep(0.05)
    child.send_signal(how)
    out, err = child.communicate(timeout=60)
    return child.returncode, out, err, ck, model


def test_sigkill_mid_epoch_then_resume_equals_the_uninterrupted_run(tmp_path, dataset, uninterrupted):
    code, out, _, ck, model = start_and_stop(tmp_path, dataset, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert not model.exists()
    kept = load_checkpoint(latest_checkpoint(ck)).epoch  # epoch 2's line comes after its checkpoint
    assert 2 <= kept < EPOCHS
    done = run_xprop("train", "--resume", ck)
    assert done.returncode == 0, done.stderr
    assert f"{kept} epochs done, training epochs {kept + 1} to {EPOCHS}" in done.stdout
    assert same_model(model, uninterrupted)
    assert not [p.name for p in ck.iterdir() if p.name.endswith(".tmp")]


def test_sigint_mid_epoch_says_how_to_resume_and_that_command_finishes_the_run(tmp_path, dataset, uninterrupted):
    code, out, err, ck, model = start_and_stop(tmp_path, dataset, signal.SIGINT)
    assert code == 130, err
    assert "Traceback" not in err
    line = err.strip()
    assert "\n" not in line and line.startswith("xprop: interrupted: stopped in epoch "), err
    kept = load_checkpoint(latest_checkpoint(ck)).epoch
    assert f"stopped in epoch {kept + 1} of {EPOCHS}; the checkpoint of epoch {kept} is in {ck}; " in line
    command = shlex.split(line.split("resume with: ", 1)[1])
    assert command == ["xprop", "train", "--resume", str(ck)]
    done = run_xprop(*command[1:])  # the very command it printed
    assert done.returncode == 0, done.stderr
    assert same_model(model, uninterrupted)


def test_an_unwritable_checkpoint_directory_is_refused_before_training(tmp_path, dataset):
    done = run_xprop("train", "--dataset", dataset, *RUN, "--checkpoint", "/proc/ck")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("xprop: error: --checkpoint /proc/ck") and done.stderr.count("\n") == 1


def test_a_reader_that_leaves_ends_the_run_quietly(dataset):
    # `xprop train | head -3`: once the pipe is closed, the next line ends the run with
    # SIGPIPE's status and nothing on stderr (no "Broken pipe" error, no traceback)
    child = start_xprop("train", "--dataset", dataset, "--sizes", *SIZES, "--epochs", 10_000, "--no-progress")
    wait_for_line(child, r"^epoch +1/")
    child.stdout.close()
    err = child.stderr.read()
    assert child.wait(timeout=60) == 141, err
    assert err == ""
