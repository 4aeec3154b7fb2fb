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
up to the rounding of a different summation order. Evaluation after each epoch is
split over the ranks the same way and its sums reduced.

``DataParallel`` is a step strategy (``xprop.train.steps``): it is handed to the
Trainer when the Trainer is built, ``Trainer(net, ..., strategy=DataParallel(comm))``.
"""

from __future__ import annotations

from .. import backprop
from ..train.steps import Step, measure as measure_locally
from .agreement import check_parameters
from .allreduce import FlatLayout, SumOverRanks


def share(m, rank, size):
    """Rows [lo, hi) of a batch of m that rank ``rank`` of ``size`` takes: disjoint, covering,
    sizes differing by at most one (empty when there are more ranks than rows)."""
    return rank * m // size, (rank + 1) * m // size


class DataParallel(Step):
    """The step, the measure and the end-of-epoch check of one rank of ``comm``.

    ``cuda_aware`` (None: ask the MPI library) only matters for cupy. What it owns, made
    in ``start``: the layout of the packed gradients and the sum over the ranks.
    """

    name = "data-parallel"

    def __init__(self, comm=None, *, cuda_aware=None):
        from .mpi import world

        self.comm = world() if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.cuda_aware = cuda_aware
        self.layout = self.sum_over_ranks = None

    def start(self, trainer, X):
        super().start(trainer, X)
        self.bind(trainer.network)

    def bind(self, net):
        """Make the packed layout of ``net``'s gradients and the reduction over the ranks."""
        self.network = net
        self.layout = FlatLayout([tuple(w.shape) for w in net.weights] + [tuple(b.shape) for b in net.biases])
        self.sum_over_ranks = SumOverRanks(self.comm, net.backend, cuda_aware=self.cuda_aware)

    def step(self, trainer, x, y):
        """One SGD step on the global mini-batch (x, y), of which this rank takes its share."""
        net, xp = trainer.network, trainer.network.xp
        weights, biases = net.weights, net.biases
        m = x.shape[0]
        lo, hi = share(m, self.rank, self.size)
        if hi > lo:
            sum_w, sum_b = backprop.summed_gradients(
                weights, biases, net.activations, net.cost, x[lo:hi, ...], y[lo:hi, ...], xp=xp,
                ones=self.ones, fused=self.fused)  # BP1–BP4, Σ over the slice
            flat = self.layout.pack(sum_w + sum_b, xp=xp)
        else:
            flat = self._zeros(net, self.layout.size)  # an empty slice adds nothing to the sums
        total = self.sum_over_ranks(flat)  # Σ over the ranks = Σ over the global mini-batch
        steps = self.layout.unpack((trainer.eta / m) * total, xp=xp)  # η ∂C/∂w, η ∂C/∂b of the mean over m
        n = len(weights)
        for i in range(n):
            backprop.update_layer(weights, biases, i, steps[i], steps[n + i], decay=trainer.decay,
                                  momentum=trainer.momentum, velocities=trainer.velocities, xp=xp,
                                  fused=self.fused)

    def measure(self, net, X, targets, labels, *, batch_size=10_000):
        """(summed cost, correct count) over the whole set, each rank measuring its share."""
        xp = net.xp
        if self.sum_over_ranks is None:
            self.bind(net)
        lo, hi = share(X.shape[0], self.rank, self.size)
        if hi > lo:
            part = measure_locally(net, X[lo:hi, ...], targets[lo:hi, ...],
                                   None if labels is None else labels[lo:hi], batch_size=batch_size)
            local = xp.stack([xp.astype(v, getattr(xp, net.dtype)) for v in part])
        else:
            local = self._zeros(net, 2)
        total = self.sum_over_ranks(local)
        return [total[0], total[1]]

    def end_of_epoch(self, trainer):
        """Prove the ranks are still in step: their parameters must be bit for bit equal."""
        check_parameters(self.comm, trainer)

    @staticmethod
    def _zeros(net, n):
        xp = net.xp
        return xp.zeros(n, dtype=getattr(xp, net.dtype), device=net.backend.device)

    def describe(self):
        if self.layout is None:
            return f"data-parallel over {self.size} rank(s)"
        return (f"data-parallel over {self.size} rank(s); gradients of {self.layout.size} values "
                f"summed by one Allreduce per step through {self.sum_over_ranks.describe()}")
