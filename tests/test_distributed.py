"""Data-parallel training over MPI (xprop.distributed) equals one process.

Two kinds of tests:
* in this process, on one rank (MPI.COMM_SELF): the pieces (slices, the packed buffer,
  summed gradients, the Allreduce path) and one-rank parity on every backend;
* under ``mpiexec -n K`` for K = 1, 2, 3 (tests/mpi/*.py, launched with a timeout):
  parity with one process including a partial last batch, empty slices, momentum and
  L2, and a failing rank bringing the whole job down within seconds.
Skipped, with the reason, where mpi4py or an mpiexec is missing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import xprop
from processes import child_env, mpiexec_or_skip

pytest.importorskip("mpi4py", reason="mpi4py is not installed; pip install 'xprop[mpi]'")

from xprop import backprop
from xprop import parallel as distributed  # noqa: E402
from xprop.parallel.allreduce import ENV_CUDA_AWARE, FlatLayout, SumOverRanks, cuda_aware_mpi  # noqa: E402
from xprop.backends import get_backend  # noqa: E402

SCRIPTS = Path(__file__).parent / "mpi"
FLOAT64_TOLERANCE = 200 * np.finfo(np.float64).eps  # a few roundings; a weighting error is ~1e-2
ABORT_SECONDS = 10  # a failing rank must end the job well within this
_spec = importlib.util.spec_from_file_location("mpi_parity", SCRIPTS / "parity.py")
parity = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(parity)


# -- the pieces, in this process -------------------------------------------------------------
@pytest.mark.parametrize("size", [1, 2, 3, 5])
@pytest.mark.parametrize("m", [0, 1, 2, 7, 10])
def test_shares_are_disjoint_and_cover_the_batch(m, size):
    shares = [distributed.share(m, r, size) for r in range(size)]
    rows = [i for lo, hi in shares for i in range(lo, hi)]
    assert rows == list(range(m))
    lengths = [hi - lo for lo, hi in shares]
    assert max(lengths) - min(lengths) <= 1


def test_layout_round_trip(case):
    xp, rng = case.xp, np.random.default_rng(0)
    shapes = [(3, 2), (4, 3), (3,), (4,)]
    arrays = [case.put(rng.normal(size=s)) for s in shapes]
    layout = FlatLayout(shapes)
    flat = layout.pack(arrays, xp=xp)
    case.assert_native(flat)
    assert flat.shape == (layout.size,) == (6 + 12 + 3 + 4,)
    for original, back in zip(arrays, layout.unpack(flat, xp=xp)):
        case.assert_native(back)
        np.testing.assert_array_equal(case.get(back), case.get(original))


def test_summed_gradients_of_slices_add_up_to_the_batch(case):
    """Σ over disjoint slices of BP3/BP4-without-1/m equals m × the mean gradient."""
    net = case.network([5, 4, 3], seed=1)
    rng = np.random.default_rng(2)
    x, y = case.put(rng.normal(size=(7, 5))), case.put(np.eye(3)[rng.integers(0, 3, 7)])
    args = (net.weights, net.biases, net.activations, net.cost)
    mean_w, mean_b = backprop.gradients(*args, x, y, xp=case.xp)
    total_w, total_b = None, None
    for lo, hi in (distributed.share(7, r, 3) for r in range(3)):
        sum_w, sum_b = backprop.summed_gradients(*args, x[lo:hi, ...], y[lo:hi, ...], xp=case.xp)
        sum_w, sum_b = [case.get(g) for g in sum_w], [case.get(g) for g in sum_b]
        total_w = sum_w if total_w is None else [a + b for a, b in zip(total_w, sum_w)]
        total_b = sum_b if total_b is None else [a + b for a, b in zip(total_b, sum_b)]
    for total, mean in zip(total_w + total_b, mean_w + mean_b):
        np.testing.assert_allclose(total / 7, case.get(mean), rtol=100 * case.eps, atol=100 * case.eps)


@pytest.mark.parametrize("name,cuda_aware,path", [
    ("numpy", None, "host"), ("array_api_strict", None, "staged"), ("torch", None, "staged"),
    ("cupy", True, "device"), ("cupy", False, "staged"),
])
def test_allreduce_path(name, cuda_aware, path):
    """Host memory goes to MPI as it is, device memory only to a CUDA-aware MPI."""
    from mpi4py import MPI

    backend = get_backend(name, check=False)  # choosing the path needs no GPU
    assert SumOverRanks(MPI.COMM_SELF, backend, cuda_aware=cuda_aware).path == path


def test_sum_over_one_rank_keeps_values_namespace_and_device(case):
    from mpi4py import MPI

    flat = case.put(np.arange(6.0))
    total = SumOverRanks(MPI.COMM_SELF, case.backend)(flat)
    case.assert_native(total)
    np.testing.assert_array_equal(case.get(total), np.arange(6.0))


@pytest.mark.parametrize("value,expected", [("1", True), ("0", False), ("yes", True), ("false", False)])
def test_cuda_awareness_can_be_forced(value, expected):
    aware, why = cuda_aware_mpi({ENV_CUDA_AWARE: value})
    assert aware is expected and ENV_CUDA_AWARE in why


def test_cuda_awareness_is_asked_of_the_mpi_library():
    aware, why = cuda_aware_mpi({})
    assert isinstance(aware, bool) and "MPIX_Query_cuda_support" in why


def test_the_data_parallel_strategy_is_handed_to_the_trainer_not_patched_in():
    from mpi4py import MPI

    spec = dict(parity.MOMENTUM_L2, backend="numpy", device=None, dtype="float64")
    parallel = distributed.DataParallel(MPI.COMM_SELF)
    trainer, X, y = parity.problem(spec, strategy=parallel)
    assert trainer.strategy is parallel and not any(isinstance(c, distributed.DataParallel) for c in trainer.callbacks)
    assert distributed.is_root(MPI.COMM_SELF) and distributed.local_rank(MPI.COMM_SELF) == 0
    distributed.run_data_parallel(trainer, X, y)
    assert trainer.strategy is parallel and "1 rank(s)" in parallel.describe() and "Allreduce" in parallel.describe()
    eager, X, y = parity.problem(spec)
    with pytest.raises(xprop.InputError, match="strategy=DataParallel"):
        distributed.run_data_parallel(eager, X, y)


def test_find_mpiexec_honours_the_override(tmp_path, monkeypatch):
    launcher = tmp_path / "my-mpiexec"
    launcher.write_text("#!/bin/sh\n")
    launcher.chmod(0o755)
    monkeypatch.setenv("XPROP_MPIEXEC", str(launcher))
    assert distributed.find_mpiexec() == str(launcher)
    monkeypatch.setenv("XPROP_MPIEXEC", str(tmp_path / "missing"))
    monkeypatch.setenv("PATH", str(tmp_path))
    found = distributed.find_mpiexec()
    assert found is None or os.path.dirname(found) in (os.path.join(sys.prefix, "bin"), os.path.join(sys.base_prefix, "bin"))


def test_one_rank_equals_one_process_on_every_backend(case):
    """The data-parallel step, measure and checks on COMM_SELF, against Trainer.run alone."""
    from mpi4py import MPI

    spec = dict(parity.MOMENTUM_L2, backend=case.name, device=case.device, dtype=case.dtype)
    trainer, X, y = parity.problem(spec, strategy=distributed.DataParallel(MPI.COMM_SELF))
    history = distributed.run_data_parallel(trainer, X, y)
    alone, X1, y1 = parity.problem(spec)
    reference = alone.run(X1, y1)
    for w in trainer.network.weights:
        case.assert_native(w)
    tolerance = 1000 * case.eps
    np.testing.assert_allclose(parity.host_state(trainer), parity.host_state(alone), rtol=0, atol=tolerance)
    for metric in parity.METRICS:
        np.testing.assert_allclose(history.column(metric), reference.column(metric), rtol=tolerance)


# -- under mpiexec ---------------------------------------------------------------------------
def _launch(ranks, script, *args, timeout=60):
    command = [mpiexec_or_skip(), "-n", str(ranks), sys.executable, str(SCRIPTS / script), *args]
    env = child_env()
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(command)} hung for {timeout} s:\n{exc.stdout}\n{exc.stderr}")
    return done, time.perf_counter() - started


@pytest.mark.parametrize("ranks", [1, 2, 3])
def test_ranks_end_where_one_process_ends(ranks):
    done, _ = _launch(ranks, "parity.py", *parity.CASES)
    assert done.returncode == 0, done.stdout + done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [r["case"] for r in results] == list(parity.CASES), done.stdout + done.stderr
    for r in results:
        assert r["size"] == ranks, f"mpiexec started ranks of a world of {r['size']}: it does not match mpi4py's MPI"
        assert r["epochs"] == parity.EPOCHS
        assert r["parameters"] <= FLOAT64_TOLERANCE, r
        assert r["metrics"] <= FLOAT64_TOLERANCE, r
        assert r["between_ranks"] == 0.0, r  # every rank applied the very same update
        assert r["path"] == ("staged" if r["case"].startswith("strict") else "host"), r


@pytest.mark.parametrize("mode,message", [
    ("seed", "rank 1 differs from rank 0 in its parameters"),
    ("nan", "rank 1 differs from rank 0 in its training X sum (nan"),
    ("raise", "rank 1 of 2 failed: RuntimeError: injected failure on rank 1"),
    ("exit", "rank 1 of 2 failed: SystemExit"),
    ("kill", ""),  # nothing of ours can print; mpiexec ends the others
])
def test_a_failing_rank_ends_the_job_within_seconds(mode, message):
    done, seconds = _launch(2, "failing.py", mode, timeout=60)
    assert done.returncode != 0, done.stdout + done.stderr
    assert seconds < ABORT_SECONDS, f"the job took {seconds:.1f} s to end"
    assert "which it must not" not in done.stdout
    assert message in done.stderr + done.stdout


def test_a_divergence_is_raised_on_every_rank_not_an_abort():
    done, seconds = _launch(2, "diverging.py", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    # the ranks' lines reach mpiexec's stdout concurrently and may run together
    results = sorted((json.loads(text) for text in re.findall(r"\{[^{}]*\}", done.stdout)),
                     key=lambda r: r["rank"])
    assert [r["rank"] for r in results] == [0, 1], done.stdout + done.stderr
    assert results[0]["epoch"] is not None and results[0]["epoch"] == results[1]["epoch"]
    assert all(r["finite"] for r in results)  # each trainer rolled back to the last good epoch
    assert "MPI_Abort" not in done.stderr and "failed" not in done.stderr
