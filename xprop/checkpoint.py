"""Checkpoints: a training run saved after every epoch, and resumed exactly.

    >>> from xprop.checkpoint import Checkpoint, resume
    >>> net.fit(X, y, epochs=30, batch_size=10, eta=3.0, callbacks=[Checkpoint("run1")])
    ... # killed, or Ctrl-C, in epoch 17
    >>> trainer = resume("run1")          # the network and trainer as after epoch 16
    >>> history = trainer.run(X, y)       # epochs 17..30, as if never stopped

A checkpoint is one .npz file, ``DIR/checkpoint-epoch0016.npz``: the trainer's state
(``Trainer.state_dict()``: parameters, momentum velocities, the shuffling Generator's
state, epoch, η, the stop flag, the metrics history and the stateful callbacks'
states) with the network's config, its backend's name and the caller's metadata. The
arrays are .npy members; everything else is JSON in the member ``header.json``, with a
format version. Nothing is pickled, in either direction.

Each file is written with ``atomic_write`` (temporary file, fsync, rename), so a kill at
any moment leaves every earlier checkpoint intact; the older ones are then removed,
keeping ``keep`` of them. Only files named like checkpoints are ever removed, and a
fresh run refuses a directory that already holds checkpoints, so the files removed are
always the run's own.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from dataclasses import dataclass
from pathlib import Path

import numpy

from .errors import InputError
from .npzfile import read_npz, write_npz
from .trainer_state import STATE_KEYS
from .validation import check_callbacks, check_positive

FORMAT = "xprop-checkpoint"
VERSION = 1
HEADER = "header.json"
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


# -- one file --------------------------------------------------------------------------------
def save_checkpoint(path, trainer, *, metadata=None) -> Path:
    """Write ``trainer``'s state (and its network's config) to ``path``, atomically."""
    arrays = {}
    header = {
        "format": FORMAT, "version": VERSION,
        "network": trainer.network.config(), "backend": trainer.network.backend.name,
        "state": _split(trainer.state_dict(), arrays, "state"),
        "metadata": _check_metadata(metadata),
    }
    arrays[HEADER] = numpy.frombuffer(
        json.dumps(header, allow_nan=False).encode(), dtype=numpy.uint8)
    return write_npz(path, arrays)


@dataclass
class CheckpointData:
    """What a checkpoint file holds."""

    path: Path
    version: int
    network: dict  # Network.config(): sizes, activations, cost, dtype, init, seed
    backend: str  # the backend it was trained on
    state: dict  # Trainer.state_dict(), arrays as numpy
    metadata: dict  # the caller's, e.g. the command line that started the run

    @property
    def epoch(self) -> int:
        return self.state["epoch"]

    def network_on(self, backend=None, device=None, dtype=None):
        """The network with the checkpoint's parameters, on ``backend`` (default: the
        one it was trained on) and ``device``, in ``dtype`` (default: its own)."""
        from .activations import ACTIVATIONS
        from .costs import COSTS
        from .network import Network

        config = self.network
        unknown = [n for n in config["activations"] if n not in ACTIVATIONS]
        unknown += [] if config["cost"] in COSTS else [config["cost"]]
        if unknown:
            raise InputError(
                f"the network in {self.path} uses {', '.join(map(repr, unknown))}, which a "
                "checkpoint cannot rebuild (custom functions are not stored); build the "
                "Network yourself and call trainer.load_state_dict(load_checkpoint(path).state)")
        return Network.from_parameters(
            self.state["weights"], self.state["biases"], activation=config["activations"],
            cost=config["cost"], backend=backend or self.backend, device=device,
            dtype=dtype or config["dtype"], init=config["init"], seed=config["seed"])


def load_checkpoint(path) -> CheckpointData:
    """Read a checkpoint file, refusing other files and unknown format versions."""
    path = Path(path)
    arrays = read_npz(path, what="checkpoint")
    try:
        raw = arrays.pop(HEADER)
        if raw.dtype != numpy.uint8 or raw.ndim != 1:  # bytes(0-d int array) would allocate its value
            raise TypeError(f"{HEADER} is {raw.dtype} {raw.shape}, not bytes")
        header = json.loads(raw.tobytes().decode())
        if header["format"] != FORMAT:
            raise KeyError("format")
    except (KeyError, TypeError, ValueError, RecursionError):
        raise InputError(f"{path} is not an xprop checkpoint (no valid {HEADER})") from None
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InputError(f"checkpoint {path} has an unknown format version {version!r}")
    if version > VERSION:
        raise InputError(f"checkpoint {path} has format version {version}, newer than this "
                         f"xprop reads (up to {VERSION}); upgrade xprop to resume it")
    try:
        state = _join(header["state"], arrays)
        missing = [k for k in STATE_KEYS if k not in state]
        if missing:
            raise KeyError(", ".join(missing))
        for name in ("weights", "biases"):
            if not all(isinstance(a, numpy.ndarray) and a.dtype.kind == "f" for a in state[name]):
                raise TypeError(f"{name} are not float arrays")
        network = dict(header["network"])
        missing = [k for k in ("activations", "cost", "dtype", "init", "seed") if k not in network]
        if missing:
            raise KeyError(", ".join(missing))
        if not (isinstance(network["activations"], list) and isinstance(network["cost"], str)
                and all(isinstance(a, str) for a in network["activations"])):
            raise TypeError("the network's activations and cost are not names")
        return CheckpointData(path, version, network, str(header["backend"]),
                              state, dict(header["metadata"]))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:
        raise InputError(f"checkpoint {path} is damaged: {type(exc).__name__}: {exc}") from None


# -- the callback and resume ------------------------------------------------------------------
class Checkpoint:
    """Trainer callback: after every epoch, write ``directory/checkpoint-epochNNNN.npz``
    and keep the newest ``keep`` of them (the last, and by default the one before).

    ``metadata`` (a dict of JSON values) is stored in every file. On Ctrl-C, if the
    epoch the trainer was rolled back to has no file yet (the first epoch), it is saved
    then, and the message says how to resume. A fresh run (``resumed_epoch`` None)
    refuses a directory that already holds checkpoints; ``resume`` passes the epoch it
    resumed from, and the directory may then hold that run's checkpoints up to it.
    """

    def __init__(self, directory, *, keep=2, metadata=None, resumed_epoch=None):
        self.directory = Path(directory)
        self.keep = check_positive("keep", keep, numbers.Integral)
        self.metadata = _check_metadata(metadata)
        if self.directory.exists() and not self.directory.is_dir():
            raise InputError(f"checkpoint directory {self.directory} exists and is not a directory")
        found = list_checkpoints(self.directory)
        if found and (resumed_epoch is None or found[-1][0] > resumed_epoch):
            raise InputError(
                f"checkpoint directory {self.directory} already holds checkpoints (up to epoch "
                f"{found[-1][0]}); resume them with xprop.checkpoint.resume({str(self.directory)!r}) "
                "or choose an empty directory: xprop never overwrites them")
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
                f"xprop.checkpoint.resume({str(self.directory)!r}).")

    def _save(self, trainer):
        self.last = save_checkpoint(self.directory / checkpoint_name(trainer.epoch), trainer,
                                    metadata=self.metadata)
        for _, old in list_checkpoints(self.directory)[:-self.keep]:
            old.unlink(missing_ok=True)


def resume(source, *, evaluation=None, callbacks=(), epochs=None, backend=None, device=None,
           dtype=None, checkpoint=True, keep=2, metadata=None):
    """A Trainer that continues the run saved in ``source`` (a checkpoint directory, whose
    newest file is taken, or a checkpoint file); call ``.run(X, Y)`` on it.

    The network is rebuilt on ``backend``/``device``/``dtype`` (default: as saved) and
    the trainer with the saved options; ``epochs`` may extend the run. The caller gives
    what a file cannot hold: the ``evaluation`` data, if the run monitored it, and the
    ``callbacks``, the stateful ones (ReduceOnPlateau, EarlyStopping) of the same kinds
    and settings, in the same order. With ``checkpoint`` True the run goes on writing
    checkpoints into the same directory (a path: into that empty directory instead;
    False: none), keeping ``keep`` of them, with the saved ``metadata`` unless given.
    On numpy the result equals the uninterrupted run's bit for bit.
    """
    from .training import METRICS, Trainer

    path = Path(source)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise InputError(f"no checkpoint in {path}; the files are named {checkpoint_name(1)} etc.")
        path = found
    data = load_checkpoint(path)
    options = data.state["options"]
    callbacks = check_callbacks(callbacks, options["monitor"], METRICS)
    if checkpoint:
        same = checkpoint is True
        callbacks.append(Checkpoint(
            path.parent if same else checkpoint, keep=keep, resumed_epoch=data.epoch if same else None,
            metadata=data.metadata if metadata is None else metadata))
    trainer = Trainer(
        data.network_on(backend, device, dtype), epochs=options["epochs"] if epochs is None else epochs,
        batch_size=options["batch_size"], eta=data.state["eta"], evaluation=evaluation,
        lmbda=options["lmbda"], momentum=options["momentum"], monitor=options["monitor"],
        callbacks=callbacks)
    trainer.load_state_dict(data.state)
    return trainer


# -- JSON with arrays beside it ----------------------------------------------------------------
def _split(value, arrays, key):
    """``value`` as JSON, each numpy array moved into ``arrays`` under a dotted key."""
    if isinstance(value, numpy.ndarray):
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, dict):
        return {k: _split(v, arrays, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_split(v, arrays, f"{key}.{i}") for i, v in enumerate(value)]
    if isinstance(value, numpy.generic):  # a numpy scalar a callback kept
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    return value


def _join(value, arrays):
    """The inverse of ``_split``."""
    if isinstance(value, dict):
        if "__array__" in value:
            return arrays[value["__array__"]]
        if "__float__" in value:
            return float(value["__float__"])
        return {k: _join(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_join(v, arrays) for v in value]
    return value


def _check_metadata(metadata):
    metadata = {} if metadata is None else metadata
    try:
        if not isinstance(metadata, dict):
            raise TypeError(type(metadata).__name__)
        return json.loads(json.dumps(metadata, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InputError(f"metadata must be a dict of JSON values (str, number, list, dict), "
                         f"got {exc}") from None
