"""Fault injection with real processes: a training script (tests/training_script.py) is
interrupted with SIGINT (Ctrl-C) or killed with SIGKILL in the middle of an epoch, then
resumed from its checkpoint directory; the result equals the uninterrupted run bit for
bit. A process killed while it writes checkpoints never leaves a broken one."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import training_script

from xprop.io.checkpoint import checkpoint_name, latest_checkpoint, load_checkpoint, resume

SCRIPT = Path(training_script.__file__)


# Runs a script or code with Python's own Ctrl-C handler, even where the test runner's
# shell ignores SIGINT (as background jobs do); no preexec_fn, so no fork of this
# multithreaded process (jax) runs Python code.
LAUNCH = """
import runpy, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
kind, target = sys.argv.pop(1), sys.argv.pop(1)
if kind == "code":
    exec(compile(target, "<child>", "exec"), {"__name__": "__main__"})
else:
    sys.argv[0] = target
    runpy.run_path(target, run_name="__main__")
"""


def start(*args, code=None):
    target = ["code", code] if code else ["script", str(SCRIPT)]
    return subprocess.Popen([sys.executable, "-c", LAUNCH, *target, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_line(process, wanted):
    for line in process.stdout:
        if line.strip() == wanted:
            return
    raise AssertionError(f"the child ended before printing {wanted!r}: {process.stderr.read()}")


@pytest.fixture(scope="module")
def uninterrupted():
    X, y = training_script.data()
    trainer = training_script.trainer()
    trainer.run(X, y)
    return trainer


def finish(directory):
    """Resume the run in ``directory`` in this process and train to the end."""
    X, y = training_script.data()
    trainer = resume(directory, callbacks=training_script.callbacks())
    trainer.run(X, y)
    return trainer


def assert_same_run(a, b):
    (wa, ba), (wb, bb) = a.network.parameters_to_host(), b.network.parameters_to_host()
    assert all(np.array_equal(x, y) for x, y in zip(wa + ba, wb + bb))
    assert a.history.column("training_cost") == b.history.column("training_cost")
    assert a.history.column("eta") == b.history.column("eta")


def test_ctrl_c_stops_cleanly_says_how_to_resume_and_resumes_exactly(tmp_path, uninterrupted):
    assert len(set(uninterrupted.history.column("eta"))) > 1, "the schedule must change eta"
    child = start(str(tmp_path))
    wait_for_line(child, "epoch 3")
    time.sleep(0.02)  # into epoch 4's mini-batches
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode != 0 and "done" not in out, err
    found = re.search(r"TrainingInterrupted: training interrupted in epoch (\d+); .* end of epoch (\d+)\. "
                      r"Its checkpoint is in (.+); resume with xprop\.io\.checkpoint\.resume\('(.+)'\)", err)
    assert found, err
    interrupted, kept = int(found.group(1)), int(found.group(2))
    assert kept == interrupted - 1 and 3 <= kept < training_script.EPOCHS
    assert found.group(4) == str(tmp_path)
    assert latest_checkpoint(tmp_path).name == checkpoint_name(kept)
    assert_same_run(finish(tmp_path), uninterrupted)


def test_sigkill_mid_epoch_loses_only_the_running_epoch(tmp_path, uninterrupted):
    child = start(str(tmp_path))
    wait_for_line(child, "epoch 3")
    time.sleep(0.03)
    child.kill()
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    saved = load_checkpoint(latest_checkpoint(tmp_path))
    assert 3 <= saved.epoch < training_script.EPOCHS
    resumed = finish(tmp_path)
    assert_same_run(resumed, uninterrupted)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


WRITER = """
import sys
from xprop import Network, Trainer
from xprop.io.checkpoint import save_checkpoint
trainer = Trainer(Network([300, 300, 10], seed=0), epochs=100_000, batch_size=10, eta=0.1, momentum=0.9)
for epoch in range(1, 100_000):
    trainer.epoch = epoch
    save_checkpoint(sys.argv[1], trainer)
    if epoch == 1:
        print("first", flush=True)
"""


@pytest.mark.parametrize("delay", [0.0, 0.013, 0.031])
def test_sigkill_while_writing_never_leaves_a_broken_checkpoint(tmp_path, delay):
    """A process rewriting one checkpoint file as fast as it can is killed at some moment:
    the file is always a complete checkpoint (the old one or the new one)."""
    path = tmp_path / "checkpoint.npz"
    child = start(str(path), code=WRITER)
    wait_for_line(child, "first")
    time.sleep(delay)
    child.kill()
    child.communicate(timeout=60)
    saved = load_checkpoint(path)
    assert saved.epoch >= 1 and len(saved.state["weights"]) == 2
    leftovers = [p.name for p in tmp_path.iterdir() if p != path]
    assert all(re.fullmatch(r"\.checkpoint\.npz\..+\.tmp", name) for name in leftovers), leftovers
