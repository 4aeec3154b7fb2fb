"""The Trainer's hooks: the ``Callback`` base class is the contract.

A callback overrides any of the hooks below; the Trainer calls them in this order:

- ``on_train_begin(trainer)`` once per ``run``, after the data are checked and before
  the first epoch: where a resource the run holds is taken (a checkpoint directory's lock).
- ``on_batch_end(trainer, examples_done)`` after each mini-batch (examples done in the
  epoch so far). A step strategy that applies many mini-batches at once (a compiled
  epoch) calls it once per chunk it applies, never silently not at all.
- ``on_epoch_end(trainer, record)`` once the epoch's EpochRecord is made; it may set
  ``trainer.stop`` or change ``trainer.eta`` (a schedule, early stopping). Decisions go
  here, reports do not: a report here would come before the epoch is saved.
- ``after_epoch(trainer)`` once every ``on_epoch_end`` has run: the trainer's state is
  complete, which is where a checkpoint is taken.
- ``report_epoch(trainer, record)`` once every ``after_epoch`` has run: what the user
  sees or logs of the epoch (the epoch line, the metrics log). Reporting last keeps the
  promise that a reported epoch N has its checkpoint N on disk.
- ``on_interrupt(trainer)`` on Ctrl-C, after the roll-back; it may return a line for
  the message.
- ``on_train_end(trainer)`` once per ``run``, however it ends (finished, stopped, diverged,
  interrupted, failed; after the roll-back and ``on_interrupt``), even if
  ``on_train_begin`` was never reached: it releases what the run held. A run is over
  when ``trainer.stop`` is set or ``trainer.epoch >= trainer.epochs``; early stopping
  then puts back the best parameters, whether patience ran out or the epochs did.

A callback whose counters decide later epochs (a schedule, early stopping) also defines
``state_dict(trainer)`` and ``load_state_dict(trainer, state)``, so that its state is
part of the trainer's (checkpoints, resume). Duck-typed objects with the same methods
work as well as subclasses.
"""

from __future__ import annotations

from ..errors import InputError

#: the hooks a Trainer calls, in the order of an epoch
HOOKS = ("on_train_begin", "on_batch_end", "on_epoch_end", "after_epoch", "report_epoch", "on_interrupt",
         "on_train_end")


class Callback:
    """Base class of Trainer callbacks: every hook does nothing until overridden."""

    def on_train_begin(self, trainer):
        """Before the first epoch of a run, once the data are checked."""

    def on_batch_end(self, trainer, examples_done):
        """After a mini-batch (or a compiled chunk of them): ``examples_done`` in this epoch."""

    def on_epoch_end(self, trainer, record):
        """After an epoch's metrics are measured; may set ``trainer.stop`` or ``trainer.eta``."""

    def after_epoch(self, trainer):
        """After every ``on_epoch_end``: the trainer's state is complete (checkpoints)."""

    def report_epoch(self, trainer, record):
        """After every ``after_epoch``: show or log what the epoch measured."""

    def on_interrupt(self, trainer):
        """Ctrl-C, after the roll-back; may return one line for the message."""
        return ""

    def on_train_end(self, trainer):
        """At the end of a run, however it ended: release what ``on_train_begin`` took."""


def run_is_over(trainer) -> bool:
    """Whether the trainer's run ended as planned: its epochs done, or a callback stopped it."""
    return bool(trainer.stop) or trainer.epoch >= trainer.epochs


def hooks(callbacks, name) -> list:
    """The bound ``name`` hooks of the callbacks that really have one (the base's own
    do-nothing hooks are skipped, so a per-batch hook costs nothing when none is set)."""
    found = []
    for callback in callbacks:
        method = getattr(callback, name, None)
        if method is None or getattr(type(callback), name, None) is getattr(Callback, name):
            continue
        found.append(method)
    return found


def is_stateful(callback) -> bool:
    """Whether ``callback``'s state is part of the trainer's (it has ``state_dict``)."""
    return hasattr(callback, "state_dict") and hasattr(callback, "load_state_dict")


def check_callbacks(callbacks, monitor, metrics):
    """A list of callbacks, each with at least one hook; a callback that watches a
    ``metric`` must watch a known and monitored one (checked now, not after an epoch)."""
    if isinstance(callbacks, Callback) or any(hasattr(callbacks, hook) for hook in HOOKS):
        raise InputError("callbacks must be a list of callbacks; wrap the single one: callbacks=[cb]",
                         argument="callbacks")
    try:
        callbacks = list(callbacks)
    except TypeError:
        raise InputError(f"callbacks must be a list of callbacks, got {callbacks!r}",
                         argument="callbacks") from None
    for i, callback in enumerate(callbacks):
        found = [h for h in HOOKS if hasattr(callback, h)]
        if not found:
            raise InputError(f"callbacks[{i}] ({callback!r}) has none of the hooks "
                             f"{', '.join(HOOKS)}; a callback defines at least one "
                             "(or subclasses xprop.Callback)", argument="callbacks")
        for hook in found:
            if not callable(getattr(callback, hook)):
                raise InputError(f"callbacks[{i}].{hook} must be a method, got {getattr(callback, hook)!r}",
                                 argument="callbacks")
        metric = getattr(callback, "metric", None)
        if metric is not None and metric not in monitor:
            need = ("evaluation=(X_eval, y_eval)" if metric.startswith("evaluation")
                    else f"monitor=[{metric!r}, ...]")
            raise InputError(f"{type(callback).__name__} watches {metric}, which is not "
                             f"monitored (monitoring: {', '.join(monitor) or 'nothing'}); "
                             f"pass {need}, or watch one of {', '.join(metrics)}", argument="callbacks")
    return callbacks
