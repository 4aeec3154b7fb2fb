"""Data-parallel SGD over MPI: N ranks take one mini-batch together, as one process would.

Every rank holds the same parameters (same seed, checked before the first step), draws
the same permutation each epoch (the Trainer's seeded Generator) and so sees the same
global mini-batches of m examples. Rank r of N takes its own disjoint slice of each,
rows [⌊rm/N⌋, ⌊(r+1)m/N⌋), and computes with BP1–BP4 (``backprop.summed_gradients``)
the sums over its slice

    S_w^l(r) = Σ_{x ∈ slice r} δ^{x,l} (a^{x,l−1})^T        (BP4 without its 1/m)
    S_b^l(r) = Σ_{x ∈ slice r} δ^{x,l}                      (BP3 without its 1/m)

One buffer ``Allreduce`` of all layers packed together gives every rank Σ_r S(r), the
sums over the whole global mini-batch. Dividing by the global m (not by a slice size)
makes the result exactly ∂C/∂w and ∂C/∂b of the mean cost over the batch, however
unevenly the rows fall (including the last, partial batch, and ranks with an empty
slice). Every rank then applies the same update, ``backprop.update_layer`` (eq. 20, 21,
momentum and L2 included), so N ranks end where one process with mini-batch m ends,
up to the rounding of a different summation order.

Only rank 0 should print or write (``is_root``). Evaluation after each epoch is split
over the ranks the same way and its sums reduced. A rank that fails raises on its own
while the others wait in a collective; ``abort_on_error`` turns that into MPI_Abort, so
the job ends within seconds with the failing rank's message instead of hanging.

The entry point is ``run_data_parallel(trainer, X, Y, comm)``; ``mpi4py`` is imported
only when a communicator is needed.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import traceback
from contextlib import contextmanager

from . import backprop
from .agreement import RanksDisagreeError, check_agreement, check_parameters  # noqa: F401 - public
from .allreduce import FlatLayout, SumOverRanks
from .errors import DivergenceError, XpropError
from .training import measure as measure_locally

#: how long a failing rank waits after printing and before MPI_Abort: output not yet
#: forwarded by mpiexec is lost when the job is killed
ABORT_GRACE_SECONDS = 0.5


def find_mpiexec():
    """The ``mpiexec`` to launch ranks with, or None: $XPROP_MPIEXEC, then PATH, then the
    ``bin/`` of this Python's prefix and of its base install (where the ``mpich`` wheel
    puts it when the virtual environment does not have its own)."""
    candidates = [os.environ.get("XPROP_MPIEXEC"), shutil.which("mpiexec")]
    candidates += [os.path.join(prefix, "bin", "mpiexec") for prefix in (sys.prefix, sys.base_prefix)]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def world():
    """MPI.COMM_WORLD, with a clear message when mpi4py is missing."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(
            f"data-parallel training needs mpi4py ({exc}); install it with pip install 'xprop[mpi]', "
            "which brings an MPI (MPICH) too") from None
    return MPI.COMM_WORLD


def is_root(comm=None):
    """Whether this rank is the one that prints, logs and writes files (rank 0)."""
    return (world() if comm is None else comm).Get_rank() == 0


def local_rank(comm=None):
    """This rank's number among the ranks on its own node (0, 1, ...): the GPU to use.

    Make it the current device before building the network (cupy creates new arrays
    on the current device): ``cupy.cuda.Device(local_rank(comm)).use()``, or give each
    rank its own ``CUDA_VISIBLE_DEVICES``. Collective: every rank must call it.
    """
    from mpi4py import MPI

    comm = world() if comm is None else comm
    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return node.Get_rank()
    finally:
        node.Free()


@contextmanager
def abort_on_error(comm=None):
    """Bring every rank down within seconds when this one fails, instead of a hang.

    Any exception (SystemExit and KeyboardInterrupt included: a rank that leaves early
    leaves the others waiting forever) is printed with this rank's number, then
    ``comm.Abort(1)`` ends the whole job (and this process at once, should MPI_Abort
    return). With one rank the exception propagates.
    """
    comm = world() if comm is None else comm
    try:
        yield comm
    except BaseException as exc:
        if comm.Get_size() == 1:
            raise
        rank, size = comm.Get_rank(), comm.Get_size()
        if not isinstance(exc, (XpropError, KeyboardInterrupt)):  # these say all in their message
            traceback.print_exc(file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.write(f"xprop: rank {rank} of {size} failed: {type(exc).__name__}: {exc}\n"
                         f"xprop: aborting all {size} ranks (MPI_Abort)\n")  # one write: lines stay whole
        sys.stderr.flush()
        time.sleep(ABORT_GRACE_SECONDS)  # let mpiexec forward the message before the kill
        comm.Abort(1)
        os._exit(1)  # MPICH's MPI_Abort may return before the process manager acts: never go on


def share(m, rank, size):
    """Rows [lo, hi) of a batch of m that rank ``rank`` of ``size`` takes: disjoint, covering,
    sizes differing by at most one (empty when there are more ranks than rows)."""
    return rank * m // size, (rank + 1) * m // size


class DataParallel:
    """The per-batch step, the per-epoch measure and the epoch-end check of one rank.

    Built by ``data_parallel(trainer, comm)``, which plugs it into the Trainer.
    """

    def __init__(self, trainer, comm, *, cuda_aware=None):
        net = trainer.network
        self.network, self.comm = net, comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.layout = FlatLayout([tuple(w.shape) for w in net.weights] + [tuple(b.shape) for b in net.biases])
        self.sum_over_ranks = SumOverRanks(comm, net.backend, cuda_aware=cuda_aware)
        self._n_layers = len(net.weights)

    def step(self, weights, biases, activations, cost, x, y, *, eta, decay, momentum, velocities, xp, ones=None):
        """One SGD step on the global mini-batch (x, y), of which this rank takes its share.

        ``ones`` is the Trainer's vector of ones for BP3 (see ``backprop.sgd_step``).
        """
        m = x.shape[0]
        lo, hi = share(m, self.rank, self.size)
        if hi > lo:
            sum_w, sum_b = backprop.summed_gradients(
                weights, biases, activations, cost, x[lo:hi, ...], y[lo:hi, ...], xp=xp,
                ones=ones)  # BP1–BP4, Σ over the slice
            flat = self.layout.pack(sum_w + sum_b, xp=xp)
        else:
            flat = self._zeros(self.layout.size, xp=xp)  # an empty slice adds nothing to the sums
        total = self.sum_over_ranks(flat)  # Σ over the ranks = Σ over the global mini-batch
        steps = self.layout.unpack((eta / m) * total, xp=xp)  # η ∂C/∂w, η ∂C/∂b of the mean over m
        n = self._n_layers
        for i in range(n):
            backprop.update_layer(weights, biases, i, steps[i], steps[n + i],
                                  decay=decay, momentum=momentum, velocities=velocities)

    def measure(self, net, X, targets, labels, *, batch_size=10_000):
        """(summed cost, correct count) over the whole set, each rank measuring its share."""
        xp = net.xp
        lo, hi = share(X.shape[0], self.rank, self.size)
        if hi > lo:
            part = measure_locally(net, X[lo:hi, ...], targets[lo:hi, ...],
                                   None if labels is None else labels[lo:hi], batch_size=batch_size)
            local = xp.stack([xp.astype(v, getattr(xp, net.dtype)) for v in part])
        else:
            local = self._zeros(2, xp=xp)
        total = self.sum_over_ranks(local)
        return [total[0], total[1]]

    def _zeros(self, n, *, xp):
        return xp.zeros(n, dtype=getattr(xp, self.network.dtype), device=self.network.backend.device)

    def on_epoch_end(self, trainer, record):
        """Prove the ranks are still in step: their parameters must be bit for bit equal."""
        check_parameters(self.comm, trainer)

    def describe(self):
        return (f"data-parallel over {self.size} rank(s); gradients of {self.layout.size} values "
                f"summed by one Allreduce per step through {self.sum_over_ranks.describe()}")


def data_parallel(trainer, comm=None, *, cuda_aware=None):
    """Plug data-parallel training over ``comm`` into ``trainer``; returns the DataParallel.

    Sets ``trainer.step`` and ``trainer.measure`` and puts the epoch-end agreement check
    first among the callbacks (replacing any earlier DataParallel). ``cuda_aware``
    (None: ask the MPI library) only matters for cupy.
    """
    comm = world() if comm is None else comm
    parallel = DataParallel(trainer, comm, cuda_aware=cuda_aware)
    trainer.step, trainer.measure = parallel.step, parallel.measure
    trainer.callbacks[:] = [parallel] + [c for c in trainer.callbacks if not isinstance(c, DataParallel)]
    return parallel


def run_data_parallel(trainer, X, Y, comm=None, *, cuda_aware=None):
    """Train ``trainer`` on (X, Y) over every rank of ``comm``; returns the History.

    Every rank calls it with the same network, options and data. The ranks first check
    together that they agree (parameters, options, seed, data; ``RanksDisagreeError``
    otherwise); any failure on any rank aborts the whole job (``abort_on_error``), except a
    divergence, which every rank finds in the same epoch: each raises the DivergenceError,
    as one process would, with its trainer rolled back to the last good epoch.
    A DataParallel already plugged in over ``comm`` (by ``data_parallel``, e.g. to log
    its ``describe()`` first) is used as it is.
    """
    with abort_on_error(comm) as comm:
        net = trainer.network
        net._check_inputs(X)  # the Trainer's own checks first, for its clear messages
        net._labels_and_targets(Y, X.shape[0], "Y")
        trainer._checked_evaluation()
        if not any(isinstance(c, DataParallel) and c.comm is comm for c in trainer.callbacks):
            data_parallel(trainer, comm, cuda_aware=cuda_aware)
        check_agreement(comm, trainer, X, Y)
        try:
            return trainer.run(X, Y)
        except DivergenceError as error:
            # every rank finds it in the same epoch (the check reads parameters equal on all
            # ranks and costs summed over them): raised on each, as in one process, no abort
            divergence = error
    raise divergence
