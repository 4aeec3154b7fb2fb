"""Checks, made by all ranks together, that every rank trains the same model.

Data-parallel SGD is the one-process SGD only if every rank starts from the same
parameters, options, shuffling seed and data, and stays in step. Each rank reduces
what it holds to a short fingerprint (a hash of the exact bytes of its parameters and
options, the row count and sum of each data array); one buffer ``Allgather`` gives every
rank the whole table, so every rank finds the same disagreement and raises the same
error, naming the rank and what differs, before the first step could hang or train
different models.
"""

from __future__ import annotations

import hashlib
import json

import numpy

from ..errors import XpropError

#: fingerprint entries: (name, compared exactly?)
_ENTRIES = (
    ("parameters", True), ("options", True),
    ("training X rows", True), ("training X sum", False),
    ("training Y rows", True), ("training Y sum", False),
    ("evaluation X rows", True), ("evaluation X sum", False),
    ("evaluation y rows", True), ("evaluation y sum", False),
)


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
    xp, backend = net.xp, net.backend
    evaluation = trainer.evaluation if isinstance(trainer.evaluation, (tuple, list)) else ()
    arrays = [X, Y, *evaluation][:4]
    dtype = getattr(xp, net.dtype)
    sums = backend.to_host(xp.stack([xp.astype(xp.sum(a), dtype) for a in arrays]))  # one host copy
    data = []
    for i in range(4):
        data += [arrays[i].shape[0], float(sums[i])] if i < len(arrays) else [-1.0, 0.0]
    return numpy.array([_parameters_hash(trainer), _options_hash(trainer), *data], dtype=numpy.float64)


def _differences(reference, other):
    for (name, exact), a, b in zip(_ENTRIES, reference, other):
        same = a == b if exact else numpy.isclose(a, b, rtol=1e-6, atol=0.0, equal_nan=True)
        if not same:
            yield name if exact or name.endswith("rows") else f"{name} ({b:.9g} vs {a:.9g})"


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
