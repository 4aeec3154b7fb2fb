"""One contiguous buffer summed over the MPI ranks: the only communication of a step.

A data-parallel step needs Σ_r g_r, where g_r holds rank r's summed gradients of every
layer (BP3 and BP4 without their 1/m). Sending each layer on its own would cost one
message latency per array; ``FlatLayout`` packs them all into one 1-D buffer on the
device with nothing but the Array API (``reshape``, ``concat``), so that a step makes
exactly one buffer-based ``comm.Allreduce`` (never the pickled lower-case
``allreduce``). ``SumOverRanks`` hands that buffer to MPI in the memory MPI can read:

* numpy: the array itself (host memory), summed in place;
* cupy with a CUDA-aware MPI: the device buffer itself, after synchronizing the
  stream (MPI runs on its own streams and would otherwise read unfinished results);
* every other case (cupy with an MPI that is not CUDA-aware; array-api-strict, torch
  and jax): staged explicitly, ``backend.to_host`` → Allreduce into a fresh host
  buffer → ``backend.from_host``.

``cuda_aware_mpi`` says which GPU path is taken and why: ``XPROP_MPI_CUDA_AWARE=1``/``0``
forces it; otherwise the MPI library is asked with ``MPIX_Query_cuda_support()``
(MPICH ≥ 4 and Open MPI ≥ 4 have it); an MPI without that call is taken as not
CUDA-aware.
"""

from __future__ import annotations

import ctypes
import itertools
import math
import os

import numpy

ENV_CUDA_AWARE = "XPROP_MPI_CUDA_AWARE"


class FlatLayout:
    """Where each array lies in one contiguous 1-D buffer (in the order given)."""

    def __init__(self, shapes):
        self.shapes = [tuple(s) for s in shapes]
        self.sizes = [math.prod(s) for s in self.shapes]
        self.offsets = [0, *itertools.accumulate(self.sizes)][:-1]
        self.size = sum(self.sizes)

    def pack(self, arrays, *, xp):
        """One new 1-D array holding every array of ``arrays``, flattened, end to end."""
        return xp.concat([xp.reshape(a, (-1,)) for a in arrays])

    def unpack(self, flat, *, xp):
        """The arrays back from a packed buffer (views of ``flat`` where the library allows)."""
        return [xp.reshape(flat[o:o + n], s) for o, n, s in zip(self.offsets, self.sizes, self.shapes)]


class SumOverRanks:
    """``total = sum_over_ranks(flat)``: Σ over the ranks of a 1-D buffer, one ``Allreduce``.

    ``path`` is "host" (numpy: MPI reads the array), "device" (cupy and a CUDA-aware
    MPI) or "staged" (copied to host memory and back, explicitly); ``reason`` says why.
    """

    def __init__(self, comm, backend, *, cuda_aware=None):
        self.comm, self.backend = comm, backend
        if backend.name == "numpy":
            self.path, self.reason = "host", "numpy arrays are host memory"
        elif backend.name == "cupy":
            aware, why = cuda_aware_mpi() if cuda_aware is None else (bool(cuda_aware), "set by the caller")
            self.path = "device" if aware else "staged"
            self.reason = f"{'CUDA-aware' if aware else 'not CUDA-aware'}: {why}"
        else:
            self.path = "staged"
            self.reason = f"{backend.name} arrays are handed to MPI through backend.to_host/from_host"

    def __call__(self, flat):
        from mpi4py import MPI

        if self.path == "host":
            self.comm.Allreduce(MPI.IN_PLACE, flat)
            return flat
        if self.path == "device":
            self.backend.synchronize(flat)  # the packed gradients must be finished before MPI reads them
            self.comm.Allreduce(MPI.IN_PLACE, flat)
            return flat
        host = self.backend.to_host(flat)  # explicit device -> host copy
        total = numpy.empty_like(host)  # fresh: from_host may keep a view of it
        self.comm.Allreduce(host, total)
        return self.backend.from_host(total)  # explicit host -> device copy

    def describe(self):
        return f"{self.path} ({self.reason})"


def cuda_aware_mpi(environ=None):
    """(whether MPI can read CUDA device memory, how that was decided)."""
    environ = os.environ if environ is None else environ
    forced = environ.get(ENV_CUDA_AWARE, "").strip().lower()
    if forced in ("1", "true", "yes"):
        return True, f"{ENV_CUDA_AWARE}={environ[ENV_CUDA_AWARE]}"
    if forced in ("0", "false", "no"):
        return False, f"{ENV_CUDA_AWARE}={environ[ENV_CUDA_AWARE]}"
    answer = _query_cuda_support()
    if answer is None:
        return False, (f"the MPI library has no MPIX_Query_cuda_support(); set {ENV_CUDA_AWARE}=1 "
                       "if it is CUDA-aware")
    return bool(answer), f"MPIX_Query_cuda_support() returned {answer}"


def _query_cuda_support():
    """MPIX_Query_cuda_support() of the MPI library this process loaded, or None."""
    for path in _loaded_mpi_libraries():
        try:
            query = getattr(ctypes.CDLL(path), "MPIX_Query_cuda_support", None)
        except OSError:
            continue
        if query is not None:
            query.restype = ctypes.c_int
            return int(query())
    return None


def _loaded_mpi_libraries():
    """Paths of the libmpi* shared libraries mapped into this process (Linux), else []."""
    from mpi4py import MPI  # noqa: F401 - loads (and initializes) the MPI library

    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "/libmpi" in line}
    except OSError:
        return []
    return sorted(p for p in paths if os.path.basename(p).startswith("libmpi"))
