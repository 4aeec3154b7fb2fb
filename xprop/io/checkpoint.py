"""Checkpoints: a training run saved after every epoch, and resumed exactly.

    >>> from xprop.io.checkpoint import Checkpoint, resume
    >>> net.fit(X, y, epochs=30, batch_size=10, eta=3.0, callbacks=[Checkpoint("run1")])
    ... # killed, or Ctrl-C, in epoch 17
    >>> trainer = resume("run1")          # the network and trainer as after epoch 16
    >>> history = trainer.run(X, y)       # epochs 17..30, as if never stopped

A checkpoint is a model file plus the trainer's RunConfig and state
(``xprop.io.modelfile`` describes the format), ``DIR/checkpoint-epoch0016.npz``. Each
file is written atomically, so a kill at any moment leaves every earlier checkpoint
intact; the older ones are then removed, keeping ``keep`` of them. Only files named like
checkpoints are ever removed, and a fresh run refuses a directory that already holds
checkpoints, so the files removed are always the run's own.
"""

from __future__ import annotations

import numbers
import re
from pathlib import Path

from ..errors import FileFormatError, InputError
from ..train.callbacks import Callback, check_callbacks, is_stateful
from ..train.records import METRICS
from ..train.schedules import rebuild
from ..train.trainer import Trainer
from ..validation import check_positive
from .modelfile import SavedFile, check_metadata, read_file, write_file

_NAME = re.compile(r"checkpoint-epoch(\d+)\.npz")
_TEMPORARY = re.compile(r"\.checkpoint-epoch\d+\.npz\..+\.tmp")


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
    (it holds the checkpoints of a run, up to ``epoch``)."""

    def __init__(self, directory, problem, *, epoch=None):
        self.directory, self.problem, self.epoch = Path(directory), problem, epoch
        parent = self.directory.parent if str(self.directory.parent) else Path(".")
        message = {
            "file": f"checkpoint directory {directory} exists and is not a directory",
            "no parent": f"checkpoint directory {directory}: the folder {parent} does not exist; create it first",
            "holds": (f"checkpoint directory {directory} already holds checkpoints (up to epoch {epoch}); "
                      f"resume them with xprop.io.checkpoint.resume({str(directory)!r}) or choose an "
                      "empty directory: xprop never overwrites them"),
        }[problem]
        super().__init__(message, argument="checkpoint")


def check_directory(directory, *, resumed_epoch=None) -> Path:
    """Refuse, before any work, a directory that could not take a run's checkpoints: a file,
    a missing parent, or one holding another run's checkpoints (a fresh run,
    ``resumed_epoch`` None, takes only a directory without checkpoints; a resumed one, one
    whose checkpoints go no further than the epoch it resumed from)."""
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise CheckpointDirectoryError(path, "file")
    parent = path.parent if str(path.parent) else Path(".")
    if not path.exists() and not parent.is_dir():
        raise CheckpointDirectoryError(path, "no parent")
    found = list_checkpoints(path)
    if found and (resumed_epoch is None or found[-1][0] > resumed_epoch):
        raise CheckpointDirectoryError(path, "holds", epoch=found[-1][0])
    return path


# -- one file --------------------------------------------------------------------------------
def save_checkpoint(path, trainer, *, metadata=None) -> Path:
    """Write ``trainer``'s network, RunConfig and state to ``path``, atomically."""
    return write_file(path, trainer.network, trainer=trainer, metadata=metadata)


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

    ``metadata`` (a dict of JSON values) is stored in every file. On Ctrl-C, if the
    epoch the trainer was rolled back to has no file yet (the first epoch), it is saved
    then, and the message says how to resume. A fresh run (``resumed_epoch`` None)
    refuses a directory that already holds checkpoints; ``resume`` passes the epoch it
    resumed from, and the directory may then hold that run's checkpoints up to it.
    """

    def __init__(self, directory, *, keep=2, metadata=None, resumed_epoch=None):
        self.directory = check_directory(directory, resumed_epoch=resumed_epoch)
        self.keep = check_positive("keep", keep, numbers.Integral)
        self.metadata = check_metadata(metadata)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create checkpoint directory {self.directory}: {exc}") from None
        for stale in self.directory.iterdir():  # left by a process killed while writing
            if _TEMPORARY.fullmatch(stale.name):
                stale.unlink(missing_ok=True)
        self.last = None  # the newest file written

    def after_epoch(self, trainer):
        self._save(trainer)

    def on_interrupt(self, trainer):
        if not (self.directory / checkpoint_name(trainer.epoch)).exists():
            self._save(trainer)
        return (f"Its checkpoint is in {self.directory}; resume with "
                f"xprop.io.checkpoint.resume({str(self.directory)!r}).")

    def _save(self, trainer):
        self.last = save_checkpoint(self.directory / checkpoint_name(trainer.epoch), trainer,
                                    metadata=self.metadata)
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
    with the saved ``metadata`` unless given. ``saved``, a ``load_checkpoint`` result
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
            metadata=saved.metadata if metadata is None else metadata))
    trainer = Trainer.from_config(saved.network_on(backend, device, dtype), config, evaluation=evaluation,
                                  callbacks=callbacks, strategy=strategy)
    trainer.load_state_dict(saved.state)
    return trainer
