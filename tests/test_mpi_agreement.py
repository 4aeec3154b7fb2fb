"""The ranks' check that they hold the same data: order-sensitive, exact where it can be.

In this process, the data fingerprint (``xprop.parallel.agreement``) of each case is
compared with the original's through ``check_agreement`` with a stand-in communicator of
two ranks (rank 1's fingerprint made from the changed data): rows in another order,
columns in another order, another value must be refused naming the array; the same data
(a copy, another memory layout) must agree. On numpy and on array-api-strict's
``device1``, in float32 and float64. Then one real ``mpiexec -n 2`` job whose rank 1
holds its training rows in another order ends with RanksDisagreeError within seconds.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from processes import child_env, mpiexec_or_skip

import xprop
from xprop.backends import get_backend
from xprop.parallel.agreement import RanksDisagreeError, check_agreement, data_fingerprint

SCRIPTS = Path(__file__).parent / "mpi"
ABORT_SECONDS = 10
N, FEATURES, CLASSES = 300, 16, 4

DEVICES = [pytest.param("numpy", None, id="numpy"),
           pytest.param("array_api_strict", "device1", id="strict-device1")]
DTYPES = ["float32", "float64"]


def host_data():
    rng = np.random.default_rng(5)
    X = rng.random((N, FEATURES)) * 0.6
    labels = rng.integers(0, CLASSES, N)
    X[np.arange(N), labels * 4] += 0.4  # a learnable, realistic-looking image-like set
    return X, labels


def swap(a, i, j):
    a = a.copy()
    a[[i, j]] = a[[j, i]]
    return a


# (id, change of (X, labels) on the host, what rank 1 must be found to differ in, or None)
CASES = [
    ("a copy", lambda X, y: (X.copy(), y.copy()), None),
    ("Fortran layout", lambda X, y: (np.asfortranarray(X), y), None),
    ("rows reversed", lambda X, y: (X[::-1], y[::-1]), "training X order"),
    ("rows shuffled", lambda X, y: (X[np.random.default_rng(1).permutation(N)], y), "training X order"),
    ("two rows swapped", lambda X, y: (swap(X, 3, 250), swap(y, 3, 250)), "training X order"),
    ("two neighbours swapped", lambda X, y: (swap(X, 10, 11), swap(y, 10, 11)), "training X order"),
    ("columns swapped", lambda X, y: (X[:, [1, 0, *range(2, FEATURES)]], y), "training X order"),
    ("labels only shuffled", lambda X, y: (X, np.random.default_rng(2).permutation(y)), "training Y order"),
    ("one value changed", lambda X, y: (X + (np.arange(X.size).reshape(X.shape) == 77) * 0.25, y),
     "training X sum"),
    ("one row fewer", lambda X, y: (X[:-1], y[:-1]), "training X rows"),
]


class TwoRanks:
    """A communicator of two ranks for rank 0: rank 1 sends the fingerprint ``other``."""

    size = 2

    def __init__(self, other):
        self.other = other

    def Allgather(self, send, table):  # noqa: N802 (mpi4py's name)
        table[0], table[1] = send, self.other


class Recorder:
    """A communicator that keeps the fingerprint it was given."""

    size = 1

    def Allgather(self, send, table):  # noqa: N802
        self.sent = table[0] = send


def trainer_on(backend_name, device, dtype, X, labels):
    backend = get_backend(backend_name, device)
    net = xprop.Network([FEATURES, 8, CLASSES], backend=backend_name, device=device, dtype=dtype, seed=0)
    trainer = xprop.Trainer(net, epochs=1, batch_size=10, eta=0.5)
    return trainer, backend.from_host(X, dtype), backend.from_host(labels)


def fingerprint(backend_name, device, dtype, X, labels):
    trainer, Xd, yd = trainer_on(backend_name, device, dtype, X, labels)
    recorder = Recorder()
    check_agreement(recorder, trainer, Xd, yd)
    return recorder.sent.copy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend_name,device", DEVICES)
@pytest.mark.parametrize("name,change,differs", CASES, ids=[c[0] for c in CASES])
def test_the_ranks_agree_only_on_the_same_data_in_the_same_order(name, change, differs, backend_name, device, dtype):
    X, labels = host_data()
    other = fingerprint(backend_name, device, dtype, *change(X, labels))
    trainer, Xd, yd = trainer_on(backend_name, device, dtype, X, labels)
    if differs is None:
        check_agreement(TwoRanks(other), trainer, Xd, yd)
        return
    with pytest.raises(RanksDisagreeError) as caught:
        check_agreement(TwoRanks(other), trainer, Xd, yd)
    message = str(caught.value)
    assert f"rank 1 differs from rank 0 in its {differs}" in message, message
    assert "\n" not in message


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend_name,device", DEVICES)
def test_the_fingerprint_is_one_host_copy_of_bit_equal_values(backend_name, device, dtype):
    X, labels = host_data()
    backend = get_backend(backend_name, device)
    arrays = [backend.from_host(X, dtype), backend.from_host(labels)]
    xp = backend.namespace
    first = data_fingerprint(xp, arrays, dtype=dtype, backend=backend)
    again = data_fingerprint(xp, [backend.from_host(X.copy(), dtype), backend.from_host(labels)],
                             dtype=dtype, backend=backend)
    assert isinstance(first, np.ndarray) and first.shape == (2, 4) and first.dtype == np.float64
    assert np.array_equal(first, again)  # the same data on the same device: the same bits
    assert np.all(first[:, 1::2] > 0)  # every sum has a tolerance


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_same_data_agrees_across_backends_within_rounding(dtype):
    X, labels = host_data()
    prints = [fingerprint(name, device, dtype, X, labels)[2:] for name, device in (("numpy", None),
                                                                                 ("array_api_strict", "device1"))]
    table = np.array(prints)
    for i in range(4):  # rows equal; each sum within its tolerance
        rows, total, tol, order, order_tol = table[:, 5 * i: 5 * i + 5].T
        assert rows[0] == rows[1]
        assert abs(total[0] - total[1]) <= max(tol) and abs(order[0] - order[1]) <= max(order_tol)


# -- under mpiexec ----------------------------------------------------------------------------
def test_a_rank_with_its_rows_in_another_order_is_refused_within_seconds():
    pytest.importorskip("mpi4py", reason="mpi4py is not installed; pip install 'xprop[mpi]'")
    command = [mpiexec_or_skip(), "-n", "2", sys.executable, str(SCRIPTS / "failing.py"), "permuted"]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=child_env(),
                              cwd=SCRIPTS)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(command)} hung:\n{exc.stdout}\n{exc.stderr}")
    seconds = time.perf_counter() - started
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert seconds < ABORT_SECONDS, f"the job took {seconds:.1f} s to end"
    assert "which it must not" not in output
    assert "RanksDisagreeError" in output, output
    assert "rank 1 differs from rank 0 in its training X order" in output, output
