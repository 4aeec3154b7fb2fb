"""What a run will allocate, and the memory it may have: refused in one line before any work.

A network that cannot fit should cost a second, not a traceback after minutes of
allocating. ``training_estimate`` adds up what a training run holds at its peak, in the
network's dtype:

- the data: training and evaluation examples, the training labels' one-hot targets;
- the parameters, their gradients and the copy kept each epoch to roll back a divergence
  (and the velocities with momentum), plus the float64 host copy they are drawn as;
- the activations of the largest mini-batch, forward and backward (z, a and the error
  of every layer) and the vector of ones a step makes for the mini-batch;
- the rows gathered for the next mini-batches (a copy of at most ``gather_bytes``).

``check_fits`` compares an estimate with ``memory_limit``: an explicit limit
(``max_memory``, the command line's ``--max-memory SIZE``) or the physical memory
available now (``/proc/meminfo``'s MemAvailable, ``os.sysconf`` elsewhere), and raises
``MemoryLimitError`` with the facts as attributes. The dataset readers check what they
will produce against the same limit before decompressing anything (``xprop.data``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .errors import InputError, Setting

#: float64 on the host: how initial parameters are drawn before the copy to the device
HOST_BYTES = 8
#: bytes of a float32, the dtype datasets are read as
FLOAT32_BYTES = 4
#: per example and layer unit, what a mini-batch keeps: z and a forward, the error backward
ACTIVATION_COPIES = 3
#: the mini-batch ``Network.evaluate`` feeds forward at once
EVALUATION_BATCH = 10_000
_SKIP_CHUNK = 1 << 20
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([KMGT]?)(?:I?B)?\s*", re.IGNORECASE)


class MemoryLimitError(InputError):
    """What was asked for needs more memory than this machine has, or than a limit allows.

    ``needed`` and ``limit`` are in bytes; ``what`` says what needed it ("the network
    [784, 100000000, 10]"); ``source`` says where the limit came from ("max_memory", the
    argument, or "available memory"). The message is given in parts, as InputError's.
    """

    def __init__(self, *message, needed=None, limit=None, what=None, source=None, argument=None):
        super().__init__(*message, argument=argument)
        self.needed, self.limit, self.what, self.source = needed, limit, what, source


def parse_size(text) -> int:
    """Bytes from ``"4G"``, ``"500M"``, ``"1.5GiB"``, ``"64k"`` or a plain number of bytes
    (units are powers of 1024); InputError for anything else or for 0."""
    match = _SIZE.fullmatch(str(text))
    if match is None:
        raise InputError(f"expected a size such as 4G, 500M or 64K, got {text!r}", argument="max_memory")
    size = int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    if size <= 0:
        raise InputError(f"expected a size above 0, such as 4G, got {text!r}", argument="max_memory")
    return size


def format_size(n) -> str:
    """``n`` bytes for a person: 7.6 GiB, 500 MiB, 12 kiB, 300 bytes."""
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("kiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:,} bytes"


def available_memory() -> int | None:
    """Memory this process may still allocate, in bytes (None where the system does not say):
    the physical memory available (``/proc/meminfo``'s MemAvailable, else ``os.sysconf``),
    less where a cgroup's memory.max or this process's address-space limit is lower."""
    found = [_meminfo_available(), _cgroup_room(), _address_space_room()]
    found = [n for n in found if n is not None]
    if not found:
        try:
            found = [os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")]
        except (OSError, ValueError, AttributeError):
            return None
    return max(0, min(found))


def _meminfo_available():
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room():
    """memory.max less memory.current of this process's cgroup (v2), when it sets one."""
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as file:
            maximum = file.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as file:
            current = int(file.read())
        return None if maximum == "max" else int(maximum) - current
    except (OSError, ValueError):
        return None


def _address_space_room():
    """RLIMIT_AS less the address space in use, when a limit is set (``ulimit -v``)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/statm", encoding="ascii") as statm:
            used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        return soft - used
    except (ImportError, OSError, ValueError, IndexError):
        return None


#: ``Limit.source`` of a limit the caller set: the argument that sets it
MAX_MEMORY = "max_memory"


@dataclass(frozen=True)
class Limit:
    """A number of bytes not to exceed, and where it came from (for messages): the
    argument ``MAX_MEMORY``, or "available memory"."""

    bytes: int | None
    source: str

    def named(self) -> tuple:
        """Where the limit came from, as message parts (the argument as a Setting)."""
        return (Setting(self.source),) if self.source == MAX_MEMORY else (self.source,)

    def fix(self) -> tuple:
        """How to give a run more room, in the limit's own terms, as message parts."""
        if self.source == MAX_MEMORY:
            return ("raise ", Setting(MAX_MEMORY), " if this machine has more")
        return ("free memory, or run on a machine with more",)


def memory_limit(max_memory=None) -> Limit:
    """The explicit ``max_memory`` (bytes, or a size such as ``"4G"``), else the memory
    available now; a limit of None bytes means unknown, and nothing is refused."""
    if max_memory is not None:
        return Limit(max_memory if isinstance(max_memory, int) else parse_size(max_memory), MAX_MEMORY)
    return Limit(available_memory(), "available memory")


def parameter_count(sizes) -> int:
    """Weights and biases of a network of layer widths ``sizes``."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def network_bytes(sizes, itemsize) -> int:
    """What making a network costs at its peak: the float64 host draw and the device copy."""
    return parameter_count(sizes) * (HOST_BYTES + itemsize)


def training_estimate(sizes, *, n_training, n_evaluation=0, batch_size, itemsize, momentum=False,
                      gather_bytes=0) -> dict:
    """Bytes a training run holds at its peak, by part (see the module's docstring)."""
    m = min(batch_size, n_training)
    units = sum(sizes)
    parameters = parameter_count(sizes) * itemsize
    return {
        "data": (n_training * (sizes[0] + sizes[-1]) + n_evaluation * sizes[0]) * itemsize,
        "parameters": parameters * (3 + bool(momentum)) + parameter_count(sizes) * HOST_BYTES,
        "activations": (max(m, min(n_evaluation, EVALUATION_BATCH)) * units * ACTIVATION_COPIES
                        + batch_size) * itemsize,
        "gather": max(gather_bytes, m * (sizes[0] + sizes[-1]) * itemsize),
    }


def check_fits(needed, what, fix, *, limit: Limit | None = None, argument=None, error=MemoryLimitError):
    """Raise MemoryLimitError when ``needed`` bytes (an int or a dict of parts) exceed
    ``limit`` (default: the memory available now). ``what`` names what needs it; ``fix``
    says how to need less (a text, or a message's parts: texts and Settings); ``error`` is
    the class raised (a MemoryLimitError)."""
    limit = limit or memory_limit()
    parts = needed if isinstance(needed, dict) else None
    total = sum(parts.values()) if parts else needed
    if limit.bytes is None or total <= limit.bytes:
        return
    detail = ""
    if parts:
        detail = " (" + ", ".join(f"{name} {format_size(n)}" for name, n in parts.items() if n) + ")"
    fix = (fix,) if isinstance(fix, str) else tuple(fix)
    raise error(
        f"{what} needs about {format_size(total)}{detail}, more than the {format_size(limit.bytes)} of ",
        *limit.named(), "; ", *fix, ", or ", *limit.fix(),
        needed=total, limit=limit.bytes, what=what, source=limit.source, argument=argument)


def check_network(sizes, itemsize, *, limit: Limit | None = None):
    """Refuse, before drawing a weight, layer widths whose parameters cannot fit."""
    check_fits(network_bytes(sizes, itemsize), f"the network {list(sizes)} "
               f"({parameter_count(sizes):,} parameters)", "choose smaller layers", limit=limit,
               argument="sizes")


def check_training(sizes, *, n_training, n_evaluation, batch_size, itemsize, momentum=False,
                   gather_bytes=0, limit: Limit | None = None):
    """Refuse, before any work, a training run that cannot fit (``training_estimate``)."""
    parts = training_estimate(sizes, n_training=n_training, n_evaluation=n_evaluation,
                              batch_size=batch_size, itemsize=itemsize, momentum=momentum,
                              gather_bytes=gather_bytes)
    check_fits(parts, f"training {list(sizes)} on {n_training:,} examples with mini-batches of "
               f"{batch_size:,}", ("use smaller layers, a smaller ", Setting("batch_size"), " or ", Setting("limit")),
               limit=limit)


def read_rows(stream, n_rows, row_bytes, ranges, read):
    """(kept, length): the rows in ``ranges`` ((start, stop) pairs, in order) of the
    ``n_rows`` rows of ``row_bytes`` bytes that ``stream`` holds next, and how many bytes
    of those rows the stream really held. ``read(stream, n)`` returns at most n bytes,
    fewer at the end. The other rows are read in chunks and dropped, so memory grows only
    with the rows kept; a length short of ``n_rows * row_bytes`` means a truncated stream."""
    kept, position, end = bytearray(), 0, n_rows * row_bytes
    for start, stop in [*ranges, (n_rows, n_rows)]:
        while position < start * row_bytes:  # skipped rows: read in chunks, dropped
            chunk = read(stream, min(_SKIP_CHUNK, start * row_bytes - position))
            if not chunk:
                return kept, position
            position += len(chunk)
        chunk = read(stream, (stop - start) * row_bytes)
        kept += chunk
        position += len(chunk)
        if position < stop * row_bytes:
            return kept, position
    return kept, min(position, end)
