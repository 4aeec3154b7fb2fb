"""Data-parallel training over MPI: the same SGD on N ranks, each taking a share of every
mini-batch.

- ``step``: ``DataParallel``, the step strategy a Trainer is built with;
- ``allreduce``: the one-buffer Allreduce of a step's gradients (host, device or staged);
- ``agreement``: the checks that every rank trains the same model;
- ``mpi``: the communicator, ``mpiexec``, and ``abort_on_error`` (no hangs).

    >>> from xprop.parallel import DataParallel, run_data_parallel
    >>> trainer = Trainer(net, epochs=30, batch_size=10, eta=3.0, strategy=DataParallel())
    >>> history = run_data_parallel(trainer, X, y)      # on every rank: mpiexec -n 4 python ...
"""

from __future__ import annotations

from ..errors import DivergenceError, InputError
from ..train.trainer import check_training_data
from .agreement import RanksDisagreeError, check_agreement, check_parameters
from .mpi import ABORT_GRACE_SECONDS, abort_on_error, find_mpiexec, is_root, local_rank, world
from .step import DataParallel, share

__all__ = ["ABORT_GRACE_SECONDS", "DataParallel", "RanksDisagreeError", "abort_on_error",
           "check_agreement", "check_parameters", "find_mpiexec", "is_root", "local_rank",
           "run_data_parallel", "share", "world"]


def run_data_parallel(trainer, X, Y):
    """Train ``trainer`` (built with ``strategy=DataParallel(comm)``) on (X, Y) over every
    rank of its communicator; returns the History.

    Every rank calls it with the same network, options and data. The ranks first check
    together that they agree (parameters, options, seed, data; ``RanksDisagreeError``
    otherwise); any failure on any rank aborts the whole job (``abort_on_error``), except a
    divergence, which every rank finds in the same epoch: each raises the DivergenceError,
    as one process would, with its trainer rolled back to the last good epoch.
    """
    parallel = trainer.strategy
    if not isinstance(parallel, DataParallel):
        raise InputError("run_data_parallel needs a Trainer built with strategy=DataParallel(comm); "
                         f"this one has {type(parallel).__name__}", argument="strategy")
    with abort_on_error(parallel.comm) as comm:
        # the Trainer's own messages first; values are compared across the ranks next
        check_training_data(trainer.network, X, Y, trainer.evaluation, values=False)
        check_agreement(comm, trainer, X, Y)
        try:
            return trainer.run(X, Y)
        except DivergenceError as error:
            # every rank finds it in the same epoch (the check reads parameters equal on all
            # ranks and costs summed over them): raised on each, as in one process, no abort
            divergence = error
    raise divergence
