"""Checkpoints: a training run saved after every epoch, and resumed exactly.

    >>> from xprop.io.checkpoint import Checkpoint, resume
    >>> net.fit(X, y, epochs=30, batch_size=10, eta=3.0, callbacks=[Checkpoint("run1")])
    ... # killed, or Ctrl-C, in epoch 17
    >>> trainer = resume("run1")          # the network and trainer as after epoch 16
    >>> history = trainer.run(X, y)       # epochs 17..30, as if never stopped

A checkpoint is a model file plus the trainer's RunConfig and state
(``xprop.io.modelfile`` describes the format), ``DIR/checkpoint-epoch0016.npz``; like a
model file it keeps the network's optional parts (the standardization its inputs need,
its class names) in the network's part, where one reader finds them in either. Each
file is written atomically, so a kill at any moment leaves every earlier checkpoint
intact; the older ones are then removed, keeping ``keep`` of them. Only files named like
checkpoints are ever removed, and a fresh run refuses a directory that already holds
checkpoints, so the files removed are always the run's own.

A directory takes one run at a time: a run holds an exclusive advisory lock (``flock``) on
``DIR/.xprop-lock`` from its first epoch to its end, with a record of who holds it (pid,
host, command), and a second run is refused naming the first. The kernel releases the
lock when the holding process dies, so a killed run never blocks the next one. The lock
is between processes: within one, the directory's holds are counted and shared.
"""

from __future__ import annotations

import contextlib
import json
import numbers
import os
import re
import shlex
import sys
from pathlib import Path

from ..errors import FileFormatError, InputError
from ..train.callbacks import Callback, check_callbacks, is_stateful
from ..train.records import METRICS
from ..train.schedules import rebuild
from ..train.trainer import Trainer
from ..validation import check_positive
from .atomic import FileWriteError, host_name, remove_stale_temporaries, temporary_pattern
from .modelfile import SavedFile, check_extras, check_metadata, read_file, write_file
from .networks import network_from

_NAME = re.compile(r"checkpoint-epoch(\d+)\.npz")
_TEMPORARY = temporary_pattern(r"checkpoint-epoch\d+\.npz", regex=True)
#: the lock file of a checkpoint directory (see the module's docstring)
LOCK_NAME = ".xprop-lock"


def checkpoint_name(epoch: int) -> str:
    """The file name of the checkpoint taken after ``epoch`` complete epochs."""
    return f"checkpoint-epoch{epoch:04d}.npz"


def list_checkpoints(directory) -> list:
    """(epoch, path) of every checkpoint file in ``directory``, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir()
             if (m := _NAME.fullmatch(p.name)) and p.is_file()]
    return sorted(found)


def latest_checkpoint(directory) -> Path | None:
    """The newest checkpoint file in ``directory``, or None."""
    found = list_checkpoints(directory)
    return found[-1][1] if found else None


def find_checkpoint(source) -> Path:
    """``source`` itself (a file), or the newest checkpoint in the directory ``source``."""
    path = Path(source)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise InputError(f"no checkpoint in {path}; the files are named {checkpoint_name(1)} etc.")
        return found
    return path


class CheckpointDirectoryError(InputError):
    """A directory cannot take a run's checkpoints. Its facts: ``directory``; ``problem``,
    one of "file" (it is a file), "no parent" (its parent folder does not exist), "holds"
    (it holds the checkpoints of a run, up to ``epoch``), "locked" (another live run holds
    it: ``holder``, a dict of its ``pid``, ``host`` and ``command``, empty where unknown)."""

    def __init__(self, directory, problem, *, epoch=None, holder=None):
        self.directory, self.problem, self.epoch = Path(directory), problem, epoch
        self.holder = holder
        parent = self.directory.parent if str(self.directory.parent) else Path(".")
        message = {
            "file": f"checkpoint directory {directory} exists and is not a directory",
            "no parent": f"checkpoint directory {directory}: the folder {parent} does not exist; create it first",
            "holds": (f"checkpoint directory {directory} already holds checkpoints (up to epoch {epoch}); "
                      f"resume them with xprop.io.checkpoint.resume({str(directory)!r}) or choose an "
                      "empty directory: xprop never overwrites them"),
            "locked": (f"checkpoint directory {directory} is in use by another run ({describe_holder(holder)}); "
                       "wait for it to end or choose another directory: two runs in one directory would "
                       "mix their checkpoints"),
        }[problem]
        super().__init__(message, argument="checkpoint")


def check_directory(directory, *, resumed_epoch=None) -> Path:
    """Refuse, before any work, a directory that could not take a run's checkpoints: a file,
    a missing parent, one another live run holds (its lock), or one holding another run's
    checkpoints (a fresh run, ``resumed_epoch`` None, takes only a directory without
    checkpoints; a resumed one, one whose checkpoints go no further than the epoch it
    resumed from)."""
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise CheckpointDirectoryError(path, "file")
    parent = path.parent if str(path.parent) else Path(".")
    if not path.exists() and not parent.is_dir():
        raise CheckpointDirectoryError(path, "no parent")
    holder = lock_holder(path)
    if holder is not None:
        raise CheckpointDirectoryError(path, "locked", holder=holder)
    found = list_checkpoints(path)
    if found and (resumed_epoch is None or found[-1][0] > resumed_epoch):
        raise CheckpointDirectoryError(path, "holds", epoch=found[-1][0])
    return path


def is_run_file(name: str) -> bool:
    """Whether a file ``name`` in a checkpoint directory is one of a run's own: a checkpoint,
    the temporary of one being written, or the lock (no other output may take such a name)."""
    return bool(_NAME.fullmatch(name) or _TEMPORARY.fullmatch(name)) or name == LOCK_NAME


# -- one run per directory: the lock -------------------------------------------------------------
_HELD = {}  # the resolved directories this process holds: [file descriptor, holds]


def lock_holder(directory) -> dict | None:
    """Who holds ``directory``'s lock, if another process does: ``{"pid", "host", "command"}``
    as it recorded them (empty if unreadable); None if nobody, or this process, does.
    Reads only: a directory or lock file that does not exist is free."""
    path = Path(directory)
    if os.path.realpath(path) in _HELD or not (path / LOCK_NAME).is_file():
        return None
    try:
        fd = os.open(path / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return None
    try:
        if _try_lock(fd):
            return None  # free: closing the descriptor below releases the probe's lock
        return _read_record(fd)
    finally:
        os.close(fd)


def acquire_directory(directory) -> None:
    """Take ``directory``'s lock for this process (creating the directory and the lock
    file) and record who holds it; refuse with CheckpointDirectoryError ("locked") if
    another process holds it. Holds within one process are counted: each
    ``acquire_directory`` needs its ``release_directory``."""
    path = Path(directory)
    key = os.path.realpath(path)
    if key in _HELD:
        _HELD[key][1] += 1
        return
    lock = path / LOCK_NAME
    while True:
        try:
            path.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise InputError(f"cannot create checkpoint directory {path} and its lock: "
                             f"{exc.strerror or exc}", argument="checkpoint") from None
        if not _try_lock(fd):
            holder = _read_record(fd)
            os.close(fd)
            raise CheckpointDirectoryError(path, "locked", holder=holder)
        if _is_current(fd, lock):
            break
        os.close(fd)  # the lock file of a run that has just ended and removed it: open the new one
    record = json.dumps({"pid": os.getpid(), "host": host_name(), "command": _command()})
    with contextlib.suppress(OSError):  # the record only names the holder; the lock is the flock
        os.ftruncate(fd, 0)
        os.pwrite(fd, record.encode() + b"\n", 0)
    _HELD[key] = [fd, 1]


def release_directory(directory) -> None:
    """Give back one hold of ``directory`` taken by ``acquire_directory``; the last one
    removes the lock file and releases the lock."""
    key = os.path.realpath(directory)
    held = _HELD.get(key)
    if held is None:
        return
    held[1] -= 1
    if held[1] == 0:
        del _HELD[key]
        with contextlib.suppress(OSError):  # removed while still locked: see _is_current
            os.unlink(Path(key) / LOCK_NAME)
        os.close(held[0])  # releases the flock


@contextlib.contextmanager
def holding(directory):
    """``acquire_directory`` for the block's duration."""
    acquire_directory(directory)
    try:
        yield Path(directory)
    finally:
        release_directory(directory)


def describe_holder(holder) -> str:
    """``pid 123 on host h: xprop train ...``, as much of it as the record holds."""
    holder = holder or {}
    said = " ".join(part for part in (f"pid {holder['pid']}" if holder.get("pid") else "",
                                      f"on {holder['host']}" if holder.get("host") else "") if part)
    if holder.get("command"):
        said = f"{said}: {holder['command']}" if said else holder["command"]
    return said or "its record is unreadable"


def _try_lock(fd) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _is_current(fd, lock) -> bool:
    """Whether the locked descriptor ``fd`` is still the file at ``lock``: a run removes its
    lock file before it releases the lock, so a lock taken on a removed file is void."""
    try:
        mine, there = os.fstat(fd), os.stat(lock)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)


def _read_record(fd) -> dict:
    try:
        record = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _command() -> str:
    """This process's command line, as a user would type it."""
    argv = list(sys.argv) or ["python"]
    if Path(argv[0]).name == "__main__.py":  # python -m PACKAGE
        argv[0:1] = ["python", "-m", Path(argv[0]).parent.name]
    elif argv[0] in ("-c", ""):
        argv[0:1] = ["python", "-c", "..."]
    else:
        argv[0] = Path(argv[0]).name
    return shlex.join(argv)[:500]


# -- one file --------------------------------------------------------------------------------
def save_checkpoint(path, trainer, *, metadata=None, inputs=None, classes=None) -> Path:
    """Write ``trainer``'s network, RunConfig and state to ``path``, atomically, with the
    network's optional parts ``inputs`` and ``classes`` as a model file keeps them."""
    return write_file(path, trainer.network, trainer=trainer, metadata=metadata, inputs=inputs, classes=classes)


def load_checkpoint(path) -> SavedFile:
    """Read a checkpoint file (either format version), refusing model files and other files."""
    saved = read_file(path, what="checkpoint")
    if not saved.is_checkpoint:
        raise FileFormatError(f"{path} is an xprop model file, not an xprop checkpoint: it holds no "
                              "trainer state to resume", path=saved.path, version=saved.version)
    return saved


# -- the callback and resume ------------------------------------------------------------------
class Checkpoint(Callback):
    """Trainer callback: after every epoch, write ``directory/checkpoint-epochNNNN.npz``
    and keep the newest ``keep`` of them (the last, and by default the one before).

    ``metadata`` (a dict of JSON values) is stored in every file, and so are the
    network's optional parts, ``inputs`` ({"mean", "std"}: the standardization its inputs
    need) and ``classes`` (its class names), checked when the run begins. On Ctrl-C, if the
    epoch the trainer was rolled back to has no file yet (the first epoch), it is saved
    then, and the message says how to resume. A fresh run (``resumed_epoch`` None)
    refuses a directory that already holds checkpoints; ``resume`` passes the epoch it
    resumed from, and the directory may then hold that run's checkpoints up to it.

    From the start of a run to its end the callback holds the directory's lock: a second
    run given the same directory is refused, naming the first. A failed write (a full
    disk) raises a ``FileWriteError`` that names the file and the previous checkpoint,
    which is intact.
    """

    def __init__(self, directory, *, keep=2, metadata=None, resumed_epoch=None, inputs=None, classes=None):
        self.directory = check_directory(directory, resumed_epoch=resumed_epoch)
        self.keep = check_positive("keep", keep, numbers.Integral)
        self.metadata = check_metadata(metadata)
        self.extras = {"inputs": inputs, "classes": classes}  # checked against the network in on_train_begin
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create checkpoint directory {self.directory}: {exc}") from None
        self.last = None  # the newest file written
        self._holding = False

    def on_train_begin(self, trainer):
        """Check the optional parts against the network, take the directory's lock for the
        run, then remove the temporaries of writers killed while writing (only checkpoints'
        temporaries, only of dead processes)."""
        self.extras = check_extras(**self.extras, sizes=trainer.network.sizes)
        acquire_directory(self.directory)
        self._holding = True
        remove_stale_temporaries(self.directory, _TEMPORARY)

    def after_epoch(self, trainer):
        self._save(trainer)

    def on_interrupt(self, trainer):
        if not (self.directory / checkpoint_name(trainer.epoch)).exists():
            self._save(trainer)
        return (f"Its checkpoint is in {self.directory}; resume with "
                f"xprop.io.checkpoint.resume({str(self.directory)!r}).")

    def on_train_end(self, trainer):
        """Release the directory's lock: the next run may take it."""
        if self._holding:
            self._holding = False
            release_directory(self.directory)

    def _save(self, trainer):
        path = self.directory / checkpoint_name(trainer.epoch)
        try:
            self.last = save_checkpoint(path, trainer, metadata=self.metadata, **self.extras)
        except OSError as exc:  # a full disk: the previous checkpoint is whole, say so
            previous = latest_checkpoint(self.directory)  # the new one was never renamed in
            kept = (f"the previous checkpoint, {previous}, is intact" if previous is not None
                    else "no checkpoint of this run was written before it")
            raise FileWriteError(path, exc.errno, exc.strerror or str(exc),
                                 note=f"{kept}; free some space, then resume the run") from None
        for _, old in list_checkpoints(self.directory)[:-self.keep]:
            old.unlink(missing_ok=True)


def resume(source, *, evaluation=None, callbacks=(), epochs=None, backend=None, device=None,
           dtype=None, checkpoint=True, keep=2, metadata=None, strategy=None, saved=None):
    """A Trainer that continues the run saved in ``source`` (a checkpoint directory, whose
    newest file is taken, or a checkpoint file); call ``.run(X, Y)`` on it.

    The network is rebuilt on ``backend``/``device``/``dtype`` (default: as saved) and
    the trainer from the saved RunConfig; ``epochs`` may extend the run. The caller gives
    what a file cannot hold: the ``evaluation`` data, if the run monitored it, its own
    ``callbacks`` and the step ``strategy``. The run's stateful callbacks (ReduceOnPlateau,
    EarlyStopping) are rebuilt from their saved settings, unless ``callbacks`` holds
    stateful ones: those must then be of the same kinds and settings, in the same order.
    With ``checkpoint`` True the run goes on writing checkpoints into the same directory
    (a path: into that empty directory instead; False: none), keeping ``keep`` of them,
    with the saved ``metadata`` unless given and the saved network's optional parts
    (``SavedFile.extras``). ``saved``, a ``load_checkpoint`` result
    the caller has read already, saves reading it again. On numpy the result equals the
    uninterrupted run's bit for bit.
    """
    path = find_checkpoint(source)
    saved = load_checkpoint(path) if saved is None else saved
    config = saved.run
    if epochs is not None:
        config = config.replace(epochs=epochs)
        if config.epochs < saved.epoch:
            raise InputError(f"epochs={epochs}: the run in {path} has already trained {saved.epoch} "
                             f"epochs; give {saved.epoch + 1} or more to train on", argument="epochs")
    callbacks = check_callbacks(callbacks, config.monitored(evaluation is not None), METRICS)
    if not any(is_stateful(c) for c in callbacks):
        callbacks = rebuild(saved.state["callbacks"]) + callbacks
    if checkpoint:
        same = checkpoint is True
        callbacks.append(Checkpoint(
            path.parent if same else checkpoint, keep=keep, resumed_epoch=saved.epoch if same else None,
            metadata=saved.metadata if metadata is None else metadata, **saved.extras))
    trainer = Trainer.from_config(network_from(saved, backend, device, dtype), config, evaluation=evaluation,
                                  callbacks=callbacks, strategy=strategy)
    trainer.load_state_dict(saved.state)
    return trainer
