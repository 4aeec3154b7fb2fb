"""Run under mpiexec: N ranks must end where one process with the same mini-batch ends.

    mpiexec -n 3 python tests/mpi/parity.py book momentum-l2 strict-device1

For each named case every rank trains data-parallel over COMM_WORLD, then trains the
same network alone (the one-process oracle: same seed, same global mini-batch), and
rank 0 prints one JSON line per case with the largest differences found on any rank.
The data make a partial last batch of one example, so with 2 or 3 ranks some ranks get
an empty slice, and 3 ranks split the full batches of 10 unevenly (4, 3, 3).
"""

from __future__ import annotations

import json
import sys

import numpy as np

import xprop
from xprop import parallel as distributed
from xprop.backends import get_backend

N_TRAIN, N_EVAL, BATCH, EPOCHS = 41, 2, 10, 3
MOMENTUM_L2 = dict(sizes=[12, 9, 7, 4], cost="log-likelihood", eta=0.5, momentum=0.6, lmbda=0.1)
CASES = {
    # the book's plain SGD: sigmoid layers, quadratic cost, no momentum, no L2
    "book": dict(backend="numpy", device=None, dtype="float64", sizes=[12, 9, 4], cost="quadratic", eta=3.0),
    "momentum-l2": dict(backend="numpy", device=None, dtype="float64", **MOMENTUM_L2),
    # a non-default array-api-strict device: the gradients are staged through the host
    "strict-device1": dict(backend="array_api_strict", device="device1", dtype="float64", **MOMENTUM_L2),
}
METRICS = ("training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy")


def problem(spec, *, seed=3, strategy=None):
    """(trainer, X, y): a fresh network and Trainer for ``spec`` (with the step ``strategy``),
    the data on its backend."""
    backend = get_backend(spec["backend"], spec["device"])
    sizes = spec["sizes"]
    rng = np.random.default_rng(7)
    X = backend.from_host(rng.normal(size=(N_TRAIN + N_EVAL, sizes[0])), spec["dtype"])
    y = backend.from_host(rng.integers(0, sizes[-1], size=N_TRAIN + N_EVAL))
    net = xprop.Network(sizes, cost=spec["cost"], backend=spec["backend"], device=spec["device"],
                        dtype=spec["dtype"], seed=seed)
    trainer = xprop.Trainer(net, epochs=EPOCHS, batch_size=BATCH, eta=spec["eta"],
                            momentum=spec.get("momentum", 0.0), lmbda=spec.get("lmbda", 0.0),
                            evaluation=(X[N_TRAIN:, ...], y[N_TRAIN:]), monitor=METRICS, strategy=strategy)
    return trainer, X[:N_TRAIN, ...], y[:N_TRAIN]


def host_state(trainer):
    """Weights, biases and velocities of a trained Trainer, as one float64 host vector."""
    net = trainer.network
    arrays = net.weights + net.biases
    if trainer.velocities is not None:
        arrays = arrays + trainer.velocities[0] + trainer.velocities[1]
    return np.concatenate([np.ravel(net.backend.to_host(a)) for a in arrays]).astype(np.float64)


def compare(spec, comm):
    """The differences between data-parallel training over ``comm`` and training alone."""
    parallel = distributed.DataParallel(comm)
    trainer, X, y = problem(spec, strategy=parallel)
    history = distributed.run_data_parallel(trainer, X, y)
    alone, X1, y1 = problem(spec)
    reference = alone.run(X1, y1)
    state = host_state(trainer)
    metrics = np.array([history.column(m) for m in METRICS], dtype=np.float64)
    local = np.array([np.max(np.abs(state - host_state(alone))),
                      np.max(np.abs(metrics - np.array([reference.column(m) for m in METRICS])))])
    errors = np.empty((comm.size, 2))
    comm.Allgather(local, errors)
    states = np.empty((comm.size, state.size))
    comm.Allgather(state, states)  # independent of the library's own hash check
    return {"size": comm.size, "parameters": float(errors[:, 0].max()), "metrics": float(errors[:, 1].max()),
            "between_ranks": float(np.max(np.abs(states - states[0]))), "path": parallel.sum_over_ranks.path,
            "epochs": len(history)}


def main(names):
    with distributed.abort_on_error() as comm:
        local = distributed.local_rank(comm)  # collective: called once by every rank
        if local != comm.Get_rank():  # one node here: they must match
            raise AssertionError(f"local_rank {local} is not rank {comm.Get_rank()}")
        for name in names:
            result = compare(CASES[name], comm)
            if distributed.is_root(comm):
                print(json.dumps({"case": name, **result}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
