"""Writing files so that a crash, a kill or a full disk never leaves half a file behind.

A file is written under a temporary name beside it, ``.NAME.PID@HOST.XXXXXXXX.tmp``, then
renamed over ``NAME``. The temporary name records its writer, so that the next write of
the same file can tell the temporaries of a dead writer (a process killed while writing:
removed) from those of a live one (left alone).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
from pathlib import Path

from ..errors import XpropError


class FileWriteError(XpropError, OSError):
    """A file could not be written (a full disk, a read-only folder, ...); what was at
    ``path`` before is untouched. Its facts: ``path``, and the ``errno``/``strerror`` of the
    OSError (it is one, so ``except OSError`` catches it)."""

    def __init__(self, path, errno, strerror, *, note=""):
        OSError.__init__(self, errno, strerror, str(path))
        self.path, self.note = Path(path), note
        self.message = (f"cannot write {path}: {strerror}; "
                        + (note or f"whatever {path} held before is intact"))

    def __str__(self):
        return self.message


def host_name() -> str:
    """This machine's name as it appears in temporary names and lock records."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "localhost"


def temporary_pattern(name: str, *, regex: bool = False) -> re.Pattern:
    """The temporary names of writes of the file ``name`` (with ``regex``, of the files
    whose names the regular expression ``name`` matches): group 1 is the writer's pid,
    group 2 its host."""
    name = name if regex else re.escape(name)
    return re.compile(rf"\.(?:{name})\.(\d+)@([A-Za-z0-9-]+)\.[a-z0-9_]+\.tmp")


def is_alive(pid: int) -> bool:
    """Whether the process ``pid`` exists on this machine (one of another user counts)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_temporaries(directory, pattern: re.Pattern) -> list:
    """The files of ``directory`` that ``pattern`` (as ``temporary_pattern``) matches and
    whose writer is dead: written on this machine by a process that no longer exists.
    A temporary of another machine, or of a live process, is never stale."""
    found = []
    with contextlib.suppress(OSError):
        for entry in Path(directory).iterdir():
            match = pattern.fullmatch(entry.name)
            if match and match.group(2) == host_name() and not is_alive(int(match.group(1))):
                found.append(entry)
    return found


def remove_stale_temporaries(directory, pattern: re.Pattern) -> list:
    """Remove ``stale_temporaries(directory, pattern)``; returns what was removed."""
    removed = []
    for stale in stale_temporaries(directory, pattern):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
            removed.append(stale)
    return removed


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Open a temporary file beside ``path``; on success fsync it and rename it over ``path``.

    If the block raises, the temporary file is removed and whatever was at ``path`` before
    is untouched: readers see the old file or the new one, never a mixture. A process
    killed while writing leaves its temporary, which the next write of ``path`` removes
    (it names its dead writer). An OSError while writing (a full disk) is raised as a
    ``FileWriteError`` naming ``path``. The directory is fsynced after the rename so that
    the new name survives a power cut.

        with atomic_write("model.npz") as f:
            numpy.savez(f, ...)
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the directory {directory} does not exist")
    remove_stale_temporaries(directory, temporary_pattern(path.name))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}@{host_name()}.", suffix=".tmp",
                                   dir=directory)
    except OSError as exc:
        raise FileWriteError(path, exc.errno, exc.strerror or str(exc)) from exc
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file open()'s usual mode
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, FileWriteError):
            raise FileWriteError(path, exc.errno, exc.strerror or str(exc)) from exc
        raise
    _fsync_directory(directory)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_directory(directory):
    with contextlib.suppress(OSError):  # not every platform lets a directory be opened
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
