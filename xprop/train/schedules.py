"""The book's ch. 3 schedules as callbacks: a variable learning rate and early stopping.

Their counters decide later epochs, so they are stateful: their state (and the settings
they were built with) is part of the trainer's, saved in checkpoints. A resumed run that
is given no such callbacks rebuilds them from the saved settings (``rebuild``).
"""

from __future__ import annotations

import math
import numbers

from ..errors import InputError
from ..validation import check_choice, check_positive
from .callbacks import Callback, run_is_over
from .records import METRICS


class Stateful(Callback):
    """A callback whose counters are part of the trainer's state (checkpoints, resume).

    ``SETTINGS`` name its constructor's options: they are saved with the state and
    must match on loading, or the resumed run would not continue the same schedule.
    """

    SETTINGS: tuple = ()
    STATE: tuple = ()

    def settings(self) -> dict:
        """The constructor's options, as saved: ``type(self)(**settings())`` rebuilds it."""
        return {k: getattr(self, k) for k in self.SETTINGS}

    def state_dict(self, trainer):
        return {"settings": self.settings(), **{k: getattr(self, k) for k in self.STATE}}

    def load_state_dict(self, trainer, state):
        if state["settings"] != self.settings():
            raise InputError(
                f"{type(self).__name__} was saved with {state['settings']}, this one has "
                f"{self.settings()}; build it with the saved settings to continue the run",
                argument="callbacks")
        for key in self.STATE:
            setattr(self, key, state[key])


class ReduceOnPlateau(Stateful):
    """Divide η by ``factor`` when the watched metric has not improved for ``patience``
    epochs; stop once η falls below ``min_ratio`` × its initial value.

    The learning-rate schedule of the book's ch. 3 ("variable learning rate": halve η
    until it is 1/128 of its start). Watches evaluation accuracy by default.
    """

    SETTINGS = ("patience", "factor", "min_ratio", "metric")
    STATE = ("best", "waited", "initial_eta")

    def __init__(self, patience=10, factor=2.0, min_ratio=1 / 128, metric="evaluation_accuracy"):
        self.patience = check_positive("patience", patience, numbers.Integral)
        self.factor = float(check_positive("factor", factor))
        if self.factor <= 1:
            raise InputError(f"factor must be > 1 (η is divided by it), got {factor!r}", argument="factor")
        self.min_ratio = float(check_positive("min_ratio", min_ratio))
        self.metric = check_choice("metric", metric, METRICS)
        self.best, self.waited, self.initial_eta = -math.inf, 0, None

    def on_epoch_end(self, trainer, record):
        if self.initial_eta is None:
            self.initial_eta = record.eta
        value = watched(record, self.metric)
        if value > self.best:
            self.best, self.waited = value, 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            trainer.eta /= self.factor
            self.waited = 0
            if trainer.eta < self.min_ratio * self.initial_eta:
                trainer.stop = True
                trainer.history.stopped_early = (
                    f"eta fell below {self.min_ratio:g} of its initial value")


class EarlyStopping(Stateful):
    """Stop after ``patience`` epochs without improvement of the watched metric
    (ch. 3, "early stopping"); with ``restore_best`` the network ends the run with the
    best parameters, whether patience ran out or the epochs did.

    When patience runs out the best parameters are put back at once (``on_epoch_end``),
    so the last checkpoint holds them. When the epochs run out they are put back at the
    end of the run (``on_train_end``), after the last checkpoint: that checkpoint keeps
    the last epoch's parameters, so that a run resumed with more epochs goes on from
    where training was, as an uninterrupted longer run would; its own end then puts
    back the best again. A run interrupted or diverged is not over and is left as
    rolled back. ``restored_epoch`` is the epoch whose parameters were put back (None
    if none were)."""

    SETTINGS = ("patience", "metric", "restore_best")
    STATE = ("best", "best_epoch")

    def __init__(self, patience=10, metric="evaluation_accuracy", restore_best=True):
        self.patience = check_positive("patience", patience, numbers.Integral)
        self.metric, self.restore_best = check_choice("metric", metric, METRICS), bool(restore_best)
        self.best, self.best_epoch, self.best_parameters = -math.inf, 0, None
        self.restored_epoch = None

    def on_epoch_end(self, trainer, record):
        value = watched(record, self.metric)
        net = trainer.network
        if value > self.best:
            self.best, self.best_epoch = value, record.epoch
            if self.restore_best:
                self.best_parameters = net.parameter_copies()
            return
        if record.epoch - self.best_epoch >= self.patience:
            trainer.stop = True
            trainer.history.stopped_early = (
                f"no improvement of {self.metric} in {self.patience} epochs; best "
                f"{self.best:.4f} at epoch {self.best_epoch}")
            self._restore(trainer)

    def on_train_end(self, trainer):
        if run_is_over(trainer):
            self._restore(trainer)

    def _restore(self, trainer):
        if self.restore_best and self.best_parameters is not None:
            net = trainer.network  # copies: a later run must not train the kept ones in place
            weights, biases = self.best_parameters
            net.weights[:], net.biases[:] = net.copies(weights), net.copies(biases)
            self.restored_epoch = self.best_epoch

    def state_dict(self, trainer):
        state = super().state_dict(trainer)
        net = trainer.network
        state["best_parameters"] = None if self.best_parameters is None else [
            net.host_copies(p) for p in self.best_parameters]
        return state

    def load_state_dict(self, trainer, state):
        super().load_state_dict(trainer, state)
        net, saved = trainer.network, state["best_parameters"]
        self.best_parameters = None if saved is None else tuple(
            net.device_copies(arrays, like, "best parameters")
            for arrays, like in zip(saved, (net.weights, net.biases)))


#: the stateful callbacks a checkpoint can rebuild by name
STATEFUL = {cls.__name__: cls for cls in (ReduceOnPlateau, EarlyStopping)}


def rebuild(saved_callbacks) -> list:
    """The stateful callbacks a trainer state lists (``[{"type", "state"}]``), built anew
    from their saved settings; their counters are then loaded with the state."""
    rebuilt = []
    for entry in saved_callbacks:
        cls = STATEFUL.get(entry["type"])
        if cls is None:
            raise InputError(f"the run used the callback {entry['type']}, which xprop cannot rebuild; "
                             "pass it (built with the same settings) in callbacks=[...]",
                             argument="callbacks")
        rebuilt.append(cls(**entry["state"]["settings"]))
    return rebuilt


def watched(record, metric):
    """The value of ``metric`` in ``record``, larger is better (costs are negated)."""
    value = getattr(record, metric, None)
    if value is None:
        raise InputError(f"{metric} is not monitored; add it to monitor=... or watch another metric",
                         argument="metric")
    return -value if metric.endswith("cost") else value
