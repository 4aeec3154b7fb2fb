"""Checks, made by all ranks together, that every rank trains the same model.

Data-parallel SGD is the one-process SGD only if every rank starts from the same
parameters, options, shuffling seed and data, and stays in step. Each rank reduces
what it holds to a short fingerprint (a hash of the exact bytes of its parameters and
options; for each data array its row count, its sum and an order-sensitive sum, see
``data_fingerprint``); one buffer ``Allgather`` gives every
rank the whole table, so every rank finds the same disagreement and raises the same
error, naming the rank and what differs, before the first step could hang or train
different models.
"""

from __future__ import annotations

import hashlib
import json

import numpy

from ..errors import XpropError

#: the data arrays of the fingerprint, in order; each adds five entries to it: its rows
#: (compared exactly), its sum and how far another rank's may be off, its weighted sum and
#: how far another rank's may be off
_DATA = ("training X", "training Y", "evaluation X", "evaluation y")
#: the tolerance of a sum, in units of the dtype's eps times the sum of its terms'
#: magnitudes: equal data reduced on other hardware (another BLAS, another GPU) may add in
#: another order; on equal ranks the sums are bit for bit equal
_ULPS = 100
#: the position weights: w_i = frac(i·φ) − ½, a low-discrepancy sequence of mean 0 computed
#: the same (IEEE multiply and floor) on every device; columns get the same sequence
_GOLDEN = 0.6180339887498949


class RanksDisagreeError(XpropError, RuntimeError):
    """The ranks of a data-parallel run do not hold the same model, options or data."""


def check_agreement(comm, trainer, X, Y):
    """Raise RanksDisagreeError on every rank unless all ranks hold the same start."""
    table = _gather(comm, _fingerprint(trainer, X, Y))
    problems = [f"rank {rank} differs from rank 0 in its {what}"
                for rank in range(1, comm.size) for what in _differences(table[0], table[rank])]
    if problems:
        raise RanksDisagreeError(
            "the ranks do not start from the same place: " + "; ".join(problems) + ". Every rank "
            "must build the network with the same sizes and seed, the Trainer with the same "
            "options, and load the same data")


def check_parameters(comm, trainer):
    """Raise RanksDisagreeError on every rank if their parameters are not bit for bit equal."""
    table = _gather(comm, numpy.array([_parameters_hash(trainer)]))
    differing = [rank for rank in range(1, comm.size) if table[rank, 0] != table[0, 0]]
    if differing:
        raise RanksDisagreeError(
            f"after epoch {trainer.epoch} rank(s) {differing} hold different parameters than "
            "rank 0, so the ranks no longer apply the same update (different code or options on "
            "some rank, or an MPI whose Allreduce does not give every rank the same sum)")


def _gather(comm, values):
    table = numpy.empty((comm.size, values.size), dtype=numpy.float64)
    comm.Allgather(numpy.ascontiguousarray(values, dtype=numpy.float64), table)
    return table


def _fingerprint(trainer, X, Y):
    net = trainer.network
    evaluation = trainer.evaluation if isinstance(trainer.evaluation, (tuple, list)) else ()
    arrays = [X, Y, *evaluation][:len(_DATA)]
    sums = data_fingerprint(net.xp, arrays, dtype=net.dtype, backend=net.backend)
    data = []
    for i in range(len(_DATA)):
        if i < len(arrays):
            data += [arrays[i].shape[0], *(float(v) for v in sums[i])]
        else:
            data += [-1.0, 0.0, 0.0, 0.0, 0.0]
    return numpy.array([_parameters_hash(trainer), _options_hash(trainer), *data], dtype=numpy.float64)


def data_fingerprint(xp, arrays, *, dtype, backend):
    """Per array (rows, or rows × columns) a: its sum, the sum's tolerance, its
    position-weighted sum Σ_ij w_i w_j a_ij and that sum's tolerance, reduced on the
    arrays' device in ``dtype`` (one matrix-vector product and a few sums per array) and
    brought to the host in one copy, as a (len(arrays), 4) float64 numpy array.

    The weighted sum changes when rows (or columns) trade places, which a plain sum does
    not see. A tolerance is ``_ULPS`` eps of ``dtype`` times the sum of the magnitudes of
    the terms, so that equal data reduced in another order still agree. Blind spot: two
    rows whose row sums (weighted by column) agree within that tolerance may swap unseen.
    """
    kind = getattr(xp, dtype)
    values = []
    for a in arrays:
        a = xp.astype(a, kind)
        values += [xp.sum(a), xp.sum(xp.abs(a))]
        if a.ndim == 2:
            a = a @ _weights(xp, a.shape[1], kind, backend.device)  # Σ_j w_j a_ij: a column's place counts
        w = _weights(xp, a.shape[0], kind, backend.device)
        values += [xp.sum(w * a), xp.sum(xp.abs(w * a))]
    if not values:
        return numpy.empty((0, 4))
    table = backend.to_host(xp.stack(values)).astype(numpy.float64).reshape(len(arrays), 4)  # one host copy
    table[:, 1::2] *= _ULPS * numpy.finfo(dtype).eps
    return table


def _weights(xp, n, kind, device):
    place = xp.arange(n, dtype=kind, device=device) * _GOLDEN
    return place - xp.floor(place) - 0.5


def _differences(reference, other):
    yield from (name for name, a, b in zip(("parameters", "options"), reference[:2], other[:2]) if a != b)
    for i, name in enumerate(_DATA):
        rows_a, sum_a, tol_a, order_a, order_tol_a = reference[2 + 5 * i: 7 + 5 * i]
        rows_b, sum_b, tol_b, order_b, order_tol_b = other[2 + 5 * i: 7 + 5 * i]
        if rows_a != rows_b:
            yield f"{name} rows"
        elif not _close(sum_a, sum_b, max(tol_a, tol_b)):
            yield f"{name} sum ({sum_b:.9g} vs {sum_a:.9g})"
        elif not _close(order_a, order_b, max(order_tol_a, order_tol_b)):
            yield f"{name} order (the same values, in another order of rows or columns)"


def _close(a, b, tolerance):
    if numpy.isnan(a) or numpy.isnan(b):
        return bool(numpy.isnan(a) and numpy.isnan(b))
    return a == b or abs(a - b) <= tolerance


def _parameters_hash(trainer):
    """A 52-bit hash (exact in float64) of the bytes of every parameter and velocity."""
    net = trainer.network
    arrays = net.weights + net.biases
    if trainer.velocities is not None:
        arrays = arrays + trainer.velocities[0] + trainer.velocities[1]
    digest = hashlib.blake2b(digest_size=8)
    for a in arrays:
        digest.update(numpy.ascontiguousarray(net.backend.to_host(a)).tobytes())
    return _to_52_bits(digest)


def _options_hash(trainer):
    """A 52-bit hash of everything besides the parameters that decides the updates."""
    net = trainer.network
    options = {
        "network": net.config(), "backend": net.backend.name, "epochs": trainer.epochs,
        "epoch": trainer.epoch, "batch_size": trainer.batch_size, "eta": trainer.eta,
        "lmbda": trainer.lmbda, "momentum": trainer.momentum, "monitor": list(trainer.monitor),
        "rng": trainer.rng.bit_generator.state,
    }
    return _to_52_bits(hashlib.blake2b(json.dumps(options, sort_keys=True, default=str).encode(),
                                       digest_size=8))


def _to_52_bits(digest):
    return float(int.from_bytes(digest.digest(), "big") >> 12)
