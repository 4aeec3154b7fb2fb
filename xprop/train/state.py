"""What a Trainer's state is, so that training can stop anywhere and go on exactly.

Two forms of the same state:

- ``capture``/``load``: a host copy (numpy arrays and JSON-able values) of everything
  the next epoch depends on: parameters, momentum velocities, the shuffling Generator's
  state, the epoch count, η (a schedule may have changed it), whether a callback asked
  to stop, the metrics history and each stateful callback's state. Checkpoints are this
  (``xprop.io.checkpoint`` writes it to disk, beside the run's RunConfig); loading it
  into a Trainer built from the same RunConfig continues the run as if it had never
  stopped (bit for bit on numpy).
- ``snapshot``/``roll_back``: the same state kept in memory, with device-side copies
  of the parameters, taken once at the start of every epoch (no device -> host
  transfer) so that a divergence or a Ctrl-C can put the trainer back at the end of the
  last complete epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy

from ..errors import InputError
from .callbacks import is_stateful
from .records import EpochRecord, History

#: the state's parts; part of a checkpoint's format
STATE_KEYS = ("epoch", "eta", "stop", "rng", "weights", "biases", "velocities", "history", "callbacks")


def capture(trainer) -> dict:
    """The trainer's state on the host: numpy copies of the arrays, JSON-able values else."""
    net = trainer.network
    return {
        "epoch": trainer.epoch,
        "eta": trainer.eta,
        "stop": trainer.stop,
        "rng": trainer.rng.bit_generator.state,
        "weights": net.host_copies(net.weights),
        "biases": net.host_copies(net.biases),
        "velocities": (None if trainer.velocities is None
                       else [net.host_copies(v) for v in trainer.velocities]),
        "history": {"records": trainer.history.to_dicts(),
                    "stopped_early": trainer.history.stopped_early},
        "callbacks": [{"type": type(c).__name__, "state": c.state_dict(trainer)}
                      for c in stateful_callbacks(trainer)],
    }


def load(trainer, state) -> None:
    """Put ``trainer`` and its network in ``state`` (as ``capture`` returned it).

    The trainer must have been built for the same network architecture, with momentum
    if and only if the state has velocities, and with callbacks of the same kinds (in
    the same order) for the states of the stateful ones. The options (epochs,
    batch_size, lmbda, momentum, monitor: its RunConfig) stay the trainer's own.
    """
    missing = [k for k in STATE_KEYS if k not in state]
    if missing:
        raise InputError(f"the trainer state lacks {', '.join(missing)}; it is not a state_dict()")
    try:
        converted = _converted(trainer, state)
    except InputError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"the trainer state is damaged: {type(exc).__name__}: {exc}") from None
    # Everything is checked and converted: now change the trainer, all at once.
    weights, biases, velocities, rng, records = converted
    net = trainer.network
    net.weights[:], net.biases[:] = weights, biases
    if velocities is not None:
        trainer.velocities[0][:], trainer.velocities[1][:] = velocities
    trainer.rng = rng
    trainer.epoch, trainer.eta, trainer.stop = int(state["epoch"]), float(state["eta"]), bool(state["stop"])
    trainer.history = History(records, state["history"]["stopped_early"])


def _converted(trainer, state):
    """The state's parts checked and put on the trainer's backend; callbacks loaded."""
    net = trainer.network
    weights = net.device_copies(state["weights"], net.weights, "weights")
    biases = net.device_copies(state["biases"], net.biases, "biases")
    if (state["velocities"] is None) != (trainer.velocities is None):
        saved = "with" if state["velocities"] is not None else "without"
        raise InputError(f"the state was saved {saved} momentum, the trainer has momentum="
                         f"{trainer.momentum}; build the Trainer with the saved options")
    velocities = None if state["velocities"] is None else tuple(
        net.device_copies(v, p, "velocities") for v, p in zip(state["velocities"], (net.weights, net.biases)))
    rng = numpy.random.default_rng()
    rng.bit_generator.state = state["rng"]  # refuses another bit generator's state
    records = [EpochRecord.from_dict(r) for r in state["history"]["records"]]
    _check_callbacks(trainer, state["callbacks"])
    for callback, saved in zip(stateful_callbacks(trainer), state["callbacks"]):
        callback.load_state_dict(trainer, saved["state"])
    return weights, biases, velocities, rng, records


def stateful_callbacks(trainer):
    """The callbacks whose state is part of the trainer's (those with ``state_dict``)."""
    return [c for c in trainer.callbacks if is_stateful(c)]


def _check_callbacks(trainer, saved):
    have = [type(c).__name__ for c in stateful_callbacks(trainer)]
    want = [entry["type"] for entry in saved]
    if have != want:
        raise InputError(f"the state holds the states of the callbacks [{', '.join(want)}], "
                         f"the trainer has [{', '.join(have)}]; pass callbacks of the same "
                         "kinds, in the same order, to continue the run")


@dataclass
class Snapshot:
    """The trainer's state at the start of an epoch, in memory (see ``snapshot``)."""

    weights: list
    biases: list
    velocities: tuple | None
    rng: dict
    epoch: int
    eta: float
    stop: bool
    records: int
    stopped_early: str | None
    callbacks: list


def snapshot(trainer) -> Snapshot:
    """Device-side copies of the parameters and velocities and the host-side rest.

    Costs one copy of the parameters on the device per epoch and no synchronization.
    Callbacks' attributes are copied shallowly: their states are small values or
    lists they replace rather than modify (EarlyStopping's best parameters).
    """
    net = trainer.network
    weights, biases = net.parameter_copies()
    return Snapshot(
        weights=weights, biases=biases,
        velocities=None if trainer.velocities is None else tuple(net.copies(v) for v in trainer.velocities),
        rng=trainer.rng.bit_generator.state, epoch=trainer.epoch, eta=trainer.eta,
        stop=trainer.stop, records=len(trainer.history.records),
        stopped_early=trainer.history.stopped_early,
        callbacks=[(c, dict(vars(c))) for c in stateful_callbacks(trainer)],
    )


def roll_back(trainer, snap: Snapshot) -> None:
    """Put the trainer back where ``snap`` was taken (the snapshot's arrays are reused)."""
    net = trainer.network
    net.weights[:], net.biases[:] = snap.weights, snap.biases
    if snap.velocities is not None:
        trainer.velocities[0][:], trainer.velocities[1][:] = snap.velocities
    trainer.rng.bit_generator.state = snap.rng
    trainer.epoch, trainer.eta, trainer.stop = snap.epoch, snap.eta, snap.stop
    del trainer.history.records[snap.records:]
    trainer.history.stopped_early = snap.stopped_early
    for callback, attributes in snap.callbacks:
        vars(callback).clear()
        vars(callback).update(attributes)
