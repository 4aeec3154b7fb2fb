"""Run under mpiexec: a run that diverges ends with a DivergenceError on every rank, no abort.

    mpiexec -n 2 python tests/mpi/diverging.py

A linear network with a far too large η blows up in the first epochs. Every rank finds
the divergence in the same epoch (the check reads parameters equal on all ranks and
costs summed over them), catches the DivergenceError as one process would, and prints
one JSON line: its rank, the epoch named, and whether its trainer was rolled back to
parameters that are finite.
"""

from __future__ import annotations

import json

import numpy as np

import xprop
from xprop import parallel as distributed


def main():
    comm = distributed.world()
    rng = np.random.default_rng(0)
    X, y = rng.random((60, 4)), rng.integers(0, 3, 60)
    net = xprop.Network([4, 8, 3], activation="linear", dtype="float64", seed=0)
    trainer = xprop.Trainer(net, epochs=30, batch_size=6, eta=50.0, monitor=["training_cost"],
                            strategy=distributed.DataParallel(comm))
    try:
        distributed.run_data_parallel(trainer, X, y)
    except xprop.DivergenceError as error:
        finite = all(np.isfinite(a).all() for a in sum(error.trainer.network.parameters_to_host(), []))
        print(json.dumps({"rank": comm.Get_rank(), "epoch": error.epoch, "finite": bool(finite)}), flush=True)
    else:
        print(json.dumps({"rank": comm.Get_rank(), "epoch": None}), flush=True)


if __name__ == "__main__":
    main()
