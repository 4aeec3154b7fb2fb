"""MPI for data-parallel training: the communicator, the launcher, and no hangs.

``mpi4py`` is imported only when a communicator is needed, with a one-line message and
the install command when it is missing. Only rank 0 should print or write
(``is_root``). A rank that fails raises on its own while the others wait in a
collective; ``abort_on_error`` turns that into MPI_Abort, so the job ends within
seconds with the failing rank's message instead of hanging.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import traceback
from contextlib import contextmanager

from ..errors import XpropError

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
