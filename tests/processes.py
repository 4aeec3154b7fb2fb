"""Helpers of the CLI tests that run ``xprop train`` in real processes (and under mpiexec).

``write_dataset`` writes a small learnable .npz dataset (16 pixels, 4 classes) that
trains in a fraction of a second per epoch; ``start_xprop`` launches
``python -m xprop ...`` with Python's own Ctrl-C handler (a test runner started in the
background may have SIGINT ignored, which children would inherit) and without
``preexec_fn``; ``wait_for_line`` reads the child's stdout until a line matches.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np

# ``python -m xprop ARGS`` with the default SIGINT handler restored (runpy, as -m does).
LAUNCH = """
import runpy, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.argv[0] = "xprop"
runpy.run_module("xprop", run_name="__main__", alter_sys=True)
"""

SIZES = (16, 12, 4)


def write_dataset(path, *, n_train=600, n_val=100, n_test=100, seed=0):
    """A .npz dataset in Keras's layout with its own validation part: class k lights up
    pixels 4k..4k+3 of 16, under noise strong enough that the classes overlap a little."""
    rng = np.random.default_rng(seed)

    def part(n):
        labels = rng.integers(0, 4, n)
        images = rng.random((n, 16)) * 0.6
        for i, k in enumerate(labels):
            images[i, 4 * k: 4 * k + 4] += 0.4 * rng.random()
        return np.clip(images, 0, 1).astype(np.float32), labels.astype(np.uint8)

    (xt, yt), (xv, yv), (xs, ys) = part(n_train), part(n_val), part(n_test)
    np.savez(path, x_train=xt, y_train=yt, x_val=xv, y_val=yv, x_test=xs, y_test=ys)
    return path


def child_env():
    """This environment without an enclosing MPI job's variables (a test may run under one)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "PMIX_", "HYDRA_", "MPIR_"))}


#: a run to stop in its middle: mini-batches of 1 make an epoch of 1,500 steps of a
#: ``write_dataset(..., n_train=1500)`` file, a few tenths of a second, long enough to be
#: killed in, and momentum makes the resumed run depend on the saved velocities too
STOPPABLE_EPOCHS = 6
STOPPABLE_RUN = ["--sizes", *SIZES, "--eta", 1.0, "--momentum", 0.3, "--batch-size", 1, "--dtype", "float64",
                 "--epochs", STOPPABLE_EPOCHS, "--monitor", "training_cost", "evaluation_accuracy", "--no-progress"]


def uninterrupted_model(where, dataset):
    """The model of ``STOPPABLE_RUN`` on ``dataset`` run to its end in this process, saved
    in the folder ``where``: what every stopped and resumed run must equal."""
    from xprop.cli import main

    model = where / "m.npz"
    assert main([str(a) for a in ["train", "--dataset", dataset, *STOPPABLE_RUN, "--save", model]]) == 0
    return model


def reference_run(where, *args):
    """``xprop train ARGS --save where/m.npz --log where/m.jsonl`` in this process, as the
    run others must equal; returns (model, log)."""
    from xprop.cli import main

    model, log = where / "m.npz", where / "m.jsonl"
    assert main([str(a) for a in ["train", *args, "--save", model, "--log", log]]) == 0
    return model, log


def mpiexec_or_skip():
    """The path of ``mpiexec``, or skip the test saying how to get one."""
    import pytest

    from xprop import parallel as distributed

    path = distributed.find_mpiexec()
    if path is None:
        pytest.skip("no mpiexec on PATH, in sys.prefix/bin or sys.base_prefix/bin; "
                    "pip install 'xprop[mpi]' (brings MPICH) or set XPROP_MPIEXEC")
    return path


def start_xprop(*args, cwd=None):
    """``python -m xprop ARGS`` as a child process, its output read as text."""
    return subprocess.Popen([sys.executable, "-c", LAUNCH, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd, env=child_env())


def run_xprop(*args, cwd=None, timeout=120):
    """Run ``python -m xprop ARGS`` to its end; the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "xprop", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=child_env(), timeout=timeout)


def wait_for_line(process, pattern):
    """Read the child's stdout until a line matches ``pattern``; the lines read."""
    lines = []
    for line in process.stdout:
        lines.append(line)
        if re.search(pattern, line):
            return lines
    process.wait(timeout=60)
    raise AssertionError(f"the child ended before printing {pattern!r}:\n{''.join(lines)}{process.stderr.read()}")


def parameters(path) -> list:
    """The weights and biases of a model file (or checkpoint), as host arrays."""
    from xprop.io.modelfile import read_file

    saved = read_file(path)
    return saved.weights + saved.biases


def same_model(a, b) -> bool:
    """Whether two model files hold bit for bit the same parameters and configuration."""
    from xprop.io.modelfile import read_file

    x, y = read_file(a), read_file(b)
    return x.network == y.network and all(
        p.dtype == q.dtype and np.array_equal(p, q) for p, q in zip(x.weights + x.biases, y.weights + y.biases))


def largest_difference(a, b) -> float:
    """The largest absolute difference between the parameters of two model files."""
    return max(float(np.max(np.abs(p - q))) for p, q in zip(parameters(a), parameters(b)))
