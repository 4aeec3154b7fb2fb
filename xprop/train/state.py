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
from ..validation import (check_count, check_flag, check_host_parameters, check_non_negative,
                          check_optional_number, check_positive)
from .callbacks import is_stateful
from .records import METRICS, EpochRecord, History

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


def check_state(state, *, dtype=None, epochs=None) -> None:
    """Refuse a state (as ``capture`` returns it, with or without the parameters) whose
    parts are not what ``capture`` gives: the same checks as the options given to a
    Trainer. ``epoch`` is an int >= 0 (at most ``epochs``, the run's, if given) with at
    most one history record per epoch (numbered 1, 2, ...), ``eta`` a finite number > 0, ``stop`` a bool, the velocities
    (and parameters) finite float arrays (in ``dtype``'s range, if given), the history's
    records of the right types. The InputError's ``argument`` names the part at fault
    (``"eta"``, ``"history.records[2].eta"``, ``"velocities[0][1]"``).
    """
    check_count("epoch", state["epoch"], most=epochs)
    check_positive("eta", state["eta"])
    check_flag("stop", state["stop"])
    if not isinstance(state["rng"], dict):
        raise InputError(f"rng must be a bit generator's state (a dict), got {state['rng']!r}", argument="rng")
    for name in ("weights", "biases"):
        if name in state:
            check_host_parameters(name, state[name], ndim=2 if name == "weights" else 1, dtype=dtype)
    velocities = state["velocities"]
    if velocities is not None:
        if not isinstance(velocities, (list, tuple)) or len(velocities) != 2:
            raise InputError("velocities must be a pair (of the weights', of the biases') or null",
                             argument="velocities")
        for i, ndim in enumerate((2, 1)):
            check_host_parameters(f"velocities[{i}]", velocities[i], ndim=ndim, dtype=dtype)
    _check_history(state["history"], state["epoch"])
    callbacks = state["callbacks"]
    if not isinstance(callbacks, list) or not all(
            isinstance(c, dict) and isinstance(c.get("type"), str) and "state" in c for c in callbacks):
        raise InputError("callbacks must be a list of {type: name, state: ...} entries",
                         argument="callbacks")


def _check_history(history, epoch):
    if not isinstance(history, dict) or not isinstance(history.get("records"), list):
        raise InputError("history must hold a list of records", argument="history")
    stopped = history.get("stopped_early")
    if stopped is not None and not isinstance(stopped, str):
        raise InputError(f"history.stopped_early must be a text or null, got {stopped!r}",
                         argument="history.stopped_early")
    records = history["records"]
    if len(records) > epoch:
        raise InputError(f"history holds {len(records)} records for {epoch} epochs; at most one "
                         "record per epoch", argument="history.records")
    for i, record in enumerate(records):
        where = f"history.records[{i}]"
        if not isinstance(record, dict):
            raise InputError(f"{where} must be a record (a dict), got {record!r}", argument=where)
        if check_count(f"{where}.epoch", record.get("epoch")) != i + 1:
            raise InputError(f"{where}.epoch is {record['epoch']}, expected {i + 1}",
                             argument=f"{where}.epoch")
        check_positive(f"{where}.eta", record.get("eta"))
        for name in ("seconds", "examples_per_second"):
            check_non_negative(f"{where}.{name}", record.get(name))
        for name in METRICS:
            check_optional_number(f"{where}.{name}", record.get(name))


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
    check_state(state, dtype=trainer.network.dtype)
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
