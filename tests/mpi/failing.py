"""Run under mpiexec with 2 or more ranks: rank 1 goes wrong in one way; the job must end.

    mpiexec -n 2 python tests/mpi/failing.py MODE

MODE is one of:
  seed    rank 1 builds its network with another seed (caught before the first step)
  nan     rank 1's training data holds a NaN (bad input on one rank; caught before the first step)
  permuted  rank 1 holds the same training examples in another order (caught before the first step)
  raise   rank 1 raises in the middle of training while rank 0 waits in the next Allreduce
  exit    rank 1 calls sys.exit(0) in the middle of training (a rank that leaves early)
  kill    rank 1 is killed by SIGKILL in the middle of training (mpiexec must end the rest)
"""

from __future__ import annotations

import os
import signal
import sys

from parity import CASES, problem

from xprop import parallel as distributed


class FailOnRankOne:
    """A callback that goes wrong on rank 1 only, after the first epoch."""

    def __init__(self, mode, rank):
        self.mode, self.rank = mode, rank

    def on_epoch_end(self, trainer, record):
        if self.rank != 1:
            return
        if self.mode == "raise":
            raise RuntimeError("injected failure on rank 1")
        if self.mode == "exit":
            sys.exit(0)
        if self.mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)


def main(mode):
    comm = distributed.world()
    rank = comm.Get_rank()
    trainer, X, y = problem(CASES["momentum-l2"], seed=4 if mode == "seed" and rank == 1 else 3,
                            strategy=distributed.DataParallel(comm))
    trainer.epochs = 50  # long enough that rank 0 would wait forever if nothing ended the job
    if mode == "nan" and rank == 1:
        X[5, 2] = float("nan")
    if mode == "permuted" and rank == 1:  # the same rows and labels, their order reversed
        X, y = X[::-1, ...], y[::-1]
    trainer.callbacks.append(FailOnRankOne(mode, rank))
    distributed.run_data_parallel(trainer, X, y)
    print(f"rank {rank} finished training, which it must not", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
