"""``mpiexec -n N xprop train --distributed ...``: the same run, data-parallel over MPI.

Every rank runs the same command. Each prepares the run as ``xprop train`` does (the
options checked, the network, the data, on ``--resume`` the checkpoint's state), rank 0
first: it alone checks and later writes the output files and checkpoints, and it alone
may download the dataset, which the other ranks then read. Each rank's Trainer is built
with the data-parallel step strategy (``xprop.parallel.DataParallel``). After each step of the
preparation the ranks tell each other whether it failed (a short ``allgather`` of the
messages), so that bad options or bad input on any rank end every rank at once, with
one line from rank 0 naming the rank, instead of a hang. Then ``xprop.parallel``
checks that every rank holds the same start (``check_agreement``) and trains, as
``run_data_parallel`` does: only rank 0 prints progress and epoch lines and
writes --save, --log, --plot and --checkpoint. Whatever fails later on one rank ends
the whole job through MPI_Abort (``abort_on_error``); a divergence is found by every
rank in the same epoch (the check reads parameters equal on all ranks and sums reduced
over them) and reported once by rank 0, as in one process; a Ctrl-C ends the job with
rank 0's line saying how to resume.
"""

from __future__ import annotations

import io
import os
import sys
import time

from ..errors import DivergenceError, InputError, XpropError
from .stops import Stops

#: how long a rank other than 0 leaves rank 0 to report a Ctrl-C before it does
INTERRUPT_GRACE_SECONDS = 3.0


def run_distributed(args, stdout, stderr, *, prepare, train, stops=None):
    """Run ``xprop train --distributed`` on this rank; ``prepare`` and ``train`` are
    ``xprop train``'s own steps (passed in: this module is below the command); ``stops``
    (a ``Stops``) says which signal stopped the run, if one did."""
    from .. import parallel as distributed

    stops = stops or Stops()  # none given: not entered, so Ctrl-C's
    try:
        comm = distributed.world()
    except ImportError as exc:
        raise InputError(f"--distributed: {exc}") from None
    with distributed.abort_on_error(comm):
        try:
            outcome = _run(comm, distributed, args, stdout, stderr, prepare, train)
        except KeyboardInterrupt as stop:
            if comm.Get_size() == 1:
                raise
            _interrupted(comm, stops.line(stop), stops.status, distributed.ABORT_GRACE_SECONDS)
    if isinstance(outcome, BaseException):  # raised out here: an expected error, no abort
        raise outcome
    return outcome


def _run(comm, distributed, args, stdout, stderr, prepare, train):
    rank, size = comm.Get_rank(), comm.Get_size()
    root = rank == 0
    quiet = io.StringIO()  # what ranks other than 0 would print
    strategy = distributed.DataParallel(comm)
    job, failure = _together(comm, lambda: prepare(args, stderr, root=True, strategy=strategy), here=root)
    if failure is None:  # rank 0 has the data now (downloaded if needed): the others read them
        job_here, failure = _together(
            comm, lambda: prepare(args, quiet, root=False, download=False, strategy=strategy), here=not root)
        job = job if root else job_here
    if failure is not None:
        return failure if root else 1
    job.ranks = size
    strategy.bind(job.trainer.network)
    _, failure = _together(comm, lambda: distributed.check_agreement(comm, job.trainer, job.X, job.y),
                           here=True)
    if failure is not None:
        return failure if root else 1
    try:
        # the Trainer's own run with the data-parallel strategy, the agreement checked;
        # failures raise into abort_on_error, not a hang
        train(job, stdout if root else quiet, stderr if root else quiet, describe=strategy.describe())
    except DivergenceError as error:  # every rank has it; rank 0 says it
        return error if root else 1
    return 0


def _interrupted(comm, line, status, grace):
    """Ctrl-C or SIGTERM (mpiexec passes both on to every rank; a SIGHUP ends mpiexec
    itself, which kills the ranks): rank 0 says what was kept and how to resume, as one
    process does (``line``), and ends the job with ``status``; another rank says the same
    (it knows the same) only if rank 0 has not ended the job within a few seconds, being
    perhaps stuck in a collective that this rank left."""
    if comm.Get_rank() != 0:
        time.sleep(INTERRUPT_GRACE_SECONDS)
    sys.stdout.flush()
    sys.stderr.write(f"\n{line}\n")
    sys.stderr.flush()
    time.sleep(grace)  # let mpiexec forward the line before the job is killed
    comm.Abort(status)
    os._exit(status)


def _together(comm, work, *, here):
    """Run ``work`` where ``here``; then every rank learns whether it failed anywhere.

    Returns (work's result or None, None) when no rank failed, else (None, an InputError
    whose message names the failing rank unless every rank failed alike).
    """
    result, message = None, None
    if here:
        try:
            result = work()
        except (XpropError, OSError) as exc:
            message = _message(exc)
    messages = comm.allgather(message)  # a few short texts and Settings, once: the pickled form is fine
    failed = [(rank, parts) for rank, parts in enumerate(messages) if parts is not None]
    if not failed:
        return result, None
    rank, parts = failed[0]
    alike = len(failed) == len(messages) and len({"".join(map(str, p)) for _, p in failed}) == 1
    return None, InputError(*([] if alike or rank == 0 else [f"rank {rank} of {comm.Get_size()}: "]), *parts)


def _message(exc) -> tuple:
    """The parts of ``exc``'s message (``InputError.parts``: its Settings are spelled as
    flags where the error ends the command)."""
    if isinstance(exc, InputError):
        return exc.parts
    if isinstance(exc, OSError) and not isinstance(exc, XpropError):
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        return (f"{exc.strerror or exc}{where}",)
    return (str(exc),)
