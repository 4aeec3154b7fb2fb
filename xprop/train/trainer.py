"""Mini-batch stochastic gradient descent, as the book's ``SGD``, for a whole network.

``Trainer._train`` is the book's loop: for each epoch, shuffle, apply the mini-batches,
evaluate. Where the rows come from is ``Batches``; what one update is, the step
strategy handed to the Trainer (``steps.Step``, the data-parallel step of
``xprop.parallel``, or a compiled one); what happens after an epoch, the callbacks.
Nothing is read back to the host during an epoch: after it, all metrics and a finiteness
check of the parameters travel to the host in one copy, one device synchronization per
epoch.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy

from ..errors import DivergenceError, InputError, TrainingInterrupted
from ..validation import check_values
from . import state
from .batches import Batches
from .callbacks import check_callbacks, hooks
from .config import RunConfig
from .records import METRICS, EpochRecord, History
from .steps import Step


class Trainer:
    """Runs SGD on a Network; holds everything a resumed run needs.

    Options (a ``RunConfig``; ``Trainer.from_config`` takes one whole):
      epochs, batch_size, eta   the book's SGD arguments
      lmbda           L2 regularization λ (ch. 3, eq. 93); n is the training-set size
      momentum        μ of momentum SGD (0 = the book's plain SGD)
      monitor         metric names to compute after each epoch; by default the
                      evaluation metrics when evaluation data is given
      seed            seed of the shuffling Generator (default: the network's seed)
    Collaborators:
      evaluation      (X_eval, y_eval) measured after each epoch (y: labels or one-hot)
      callbacks       ``xprop.Callback`` objects (see ``xprop.train.callbacks`` for the
                      hooks and their order)
      strategy        how a mini-batch is applied and a data set measured (see
                      ``xprop.train.steps``); default the local eager step

    ``state_dict()``/``load_state_dict(state)`` give and restore everything the next
    epoch depends on (see ``xprop.train.state``; ``xprop.io.checkpoint`` saves it).
    """

    def __init__(self, network, *, epochs, batch_size, eta, evaluation=None, lmbda=0.0,
                 momentum=0.0, monitor=None, seed=None, callbacks=(), strategy=None):
        config = RunConfig(epochs=epochs, batch_size=batch_size, eta=eta, lmbda=lmbda,
                           momentum=momentum, monitor=None if monitor is None else _listed(monitor),
                           seed=seed)
        self._build(network, config, evaluation, callbacks, strategy)

    @classmethod
    def from_config(cls, network, config: RunConfig, *, evaluation=None, callbacks=(), strategy=None):
        """The Trainer of the run ``config`` describes."""
        trainer = cls.__new__(cls)
        trainer._build(network, config, evaluation, callbacks, strategy)
        return trainer

    def _build(self, network, config, evaluation, callbacks, strategy):
        self.network, self.config = network, config
        self.epochs, self.batch_size, self.eta = config.epochs, config.batch_size, config.eta
        self.lmbda, self.momentum = config.lmbda, config.momentum
        self.evaluation = evaluation
        self.monitor = config.monitored(evaluation is not None)
        if evaluation is None and any(m.startswith("evaluation") for m in self.monitor):
            raise InputError("monitoring evaluation metrics needs evaluation=(X_eval, y_eval)",
                             argument="monitor")
        self.rng = numpy.random.default_rng(network.seed if config.seed is None else config.seed)
        self.callbacks = check_callbacks(callbacks, self.monitor, METRICS)
        self.strategy = Step() if strategy is None else strategy
        self.history = History()
        self.epoch = 0  # epochs completed
        self.stop = False
        self.decay = 1.0  # the L2 factor 1 − ηλ/n of the running epoch
        self._last_good = None  # the state at the start of the running epoch (state.snapshot)
        self.velocities = (
            ([network.xp.zeros_like(w) for w in network.weights], [network.xp.zeros_like(b) for b in network.biases])
            if self.momentum else None
        )

    def run(self, X, Y):
        """Train on (X, Y) until ``epochs`` are done or a callback stops; returns the History.

        The callbacks' hooks are called in the order ``xprop.train.callbacks`` lists;
        ``on_train_end`` is called however the run ends.

        If training diverges (DivergenceError) or is interrupted (Ctrl-C, raised again as
        TrainingInterrupted), the trainer and its network are first rolled back to the
        end of the last complete epoch, from which they can be saved or run again.
        """
        self._last_good = None
        try:
            return self._train(X, Y)
        except DivergenceError as error:
            self._roll_back()
            error.trainer = self
            raise
        except TrainingInterrupted:
            raise
        except KeyboardInterrupt:
            self._roll_back()
            lines = [f"training interrupted in epoch {self.epoch + 1}; the trainer and its network "
                     f"hold the state at the end of epoch {self.epoch}."]
            lines += [hook(self) for hook in hooks(self.callbacks, "on_interrupt")]
            raise TrainingInterrupted(" ".join(line for line in lines if line),
                                      epoch=self.epoch, trainer=self) from None
        finally:
            self._last_good = None
            for hook in hooks(self.callbacks, "on_train_end"):
                hook(self)

    def state_dict(self) -> dict:
        """Everything the next epoch depends on, copied to the host (see ``state``)."""
        return state.capture(self)

    def load_state_dict(self, saved) -> None:
        """Continue from ``saved`` (a ``state_dict()``, perhaps read from a checkpoint)."""
        state.load(self, saved)

    def _roll_back(self):
        if self._last_good is not None:
            state.roll_back(self, self._last_good)

    # -- the book's SGD ------------------------------------------------------------------
    def _train(self, X, Y):
        data = check_training_data(self.network, X, Y, self.evaluation)
        n = X.shape[0]
        batches = Batches(X, data.targets, self.batch_size, backend=self.network.backend)
        per_batch = hooks(self.callbacks, "on_batch_end")
        on_batch = (lambda done: [hook(self, done) for hook in per_batch]) if per_batch else None
        for hook in hooks(self.callbacks, "on_train_begin"):
            hook(self)
        self.strategy.start(self, X)
        while self.epoch < self.epochs and not self.stop:
            self._last_good = state.snapshot(self)  # device copies, no sync
            started = time.perf_counter()
            self.decay = 1.0 - self.eta * self.lmbda / n  # (eq. 93's factor; η may change)
            self.strategy.run_epoch(self, batches, on_batch)  # shuffle, update
            record = self._evaluate(data, n, started)
            self.history.records.append(record)
            self.epoch += 1
            self.strategy.end_of_epoch(self)
            for hook in hooks(self.callbacks, "on_epoch_end"):
                hook(self, record)
            for hook in hooks(self.callbacks, "after_epoch"):  # the checkpoint holds those decisions
                hook(self)
            for hook in hooks(self.callbacks, "report_epoch"):  # "epoch N" once N is saved
                hook(self, record)
        return self.history

    def _evaluate(self, data, n, started):
        """Measure the monitored metrics and check the parameters: one host copy in all."""
        net, xp = self.network, self.network.xp
        measured = [name for name in ("training", "evaluation")
                    if any(m.startswith(name) for m in self.monitor)]
        values = {"finite": _all_finite(xp, net.weights + net.biases)}
        for name in measured:
            X, targets, labels = data.split(name)
            values[f"{name}_cost"], values[f"{name}_correct"] = self.strategy.measure(net, X, targets, labels)
        if self.lmbda and any(m.endswith("cost") for m in self.monitor):
            values["sum_w2"] = xp.sum(xp.stack([xp.sum(w * w) for w in net.weights]))
        dtype = getattr(xp, net.dtype)
        host = dict(zip(values, net.backend.to_host(xp.stack([xp.astype(v, dtype) for v in values.values()]))))
        seconds = time.perf_counter() - started
        if not host["finite"]:
            raise self._diverged("parameters")
        record = EpochRecord(epoch=self.epoch + 1, eta=self.eta, seconds=seconds,
                             examples_per_second=n / seconds if seconds > 0 else math.inf)
        penalty = 0.5 * self.lmbda * float(host["sum_w2"]) if "sum_w2" in host else 0.0  # (λ/2) Σ‖w‖², eq. 85
        for name in measured:
            size = data.split(name)[0].shape[0]
            if f"{name}_cost" in self.monitor:
                setattr(record, f"{name}_cost", float(host[f"{name}_cost"]) / size + penalty / size)
            if f"{name}_accuracy" in self.monitor:
                setattr(record, f"{name}_accuracy", float(host[f"{name}_correct"]) / size)
        if not all(math.isfinite(v) for v in (record.training_cost, record.evaluation_cost) if v is not None):
            raise self._diverged("cost")
        return record

    def _diverged(self, what):
        kept = f"the end of epoch {self.epoch}" if self.epoch else "before training"
        said = {"parameters": "the parameters hold NaN or Inf", "cost": "the cost is NaN or Inf"}[what]
        return DivergenceError(
            f"training diverged in epoch {self.epoch + 1}: {said} (eta={self.eta:g} is "
            f"probably too large; try eta={self.eta / 10:g}). The network keeps its "
            f"parameters from {kept}.", epoch=self.epoch + 1, what=what, eta=self.eta,
            kept_epoch=self.epoch)


@dataclass
class TrainingData:
    """Checked training data: inputs, float targets, labels (or None), and the same for
    the evaluation set (None when there is none)."""

    X: object
    targets: object
    labels: object
    evaluation: tuple | None  # (X, targets, labels)

    def split(self, name):
        """(X, targets, labels) of "training" or "evaluation"."""
        return (self.X, self.targets, self.labels) if name == "training" else self.evaluation


def check_training_data(network, X, Y, evaluation, *, values=True) -> TrainingData:
    """Check (X, Y) and the evaluation pair against ``network`` before any work: shapes,
    dtypes, backend and device, then (``values``) NaN/Inf and label ranges in one device sync."""
    network.check_inputs(X)
    labels, targets = network.labels_and_targets(Y, X.shape[0], "Y")
    datasets = [("X", X, "Y", labels, targets)]
    checked_evaluation = None
    if evaluation is not None:
        try:
            X_eval, y_eval = evaluation
        except (TypeError, ValueError):
            raise InputError("evaluation must be a pair (X_eval, y_eval)", argument="evaluation") from None
        network.check_inputs(X_eval, "evaluation X")
        eval_labels, eval_targets = network.labels_and_targets(y_eval, X_eval.shape[0], "evaluation y")
        checked_evaluation = (X_eval, eval_targets, eval_labels)
        datasets.append(("evaluation X", X_eval, "evaluation y", eval_labels, eval_targets))
    if values:
        check_values(network.backend, network.sizes[-1], datasets)  # NaN/Inf, labels: one device sync
    return TrainingData(X, targets, labels, checked_evaluation)


def _listed(monitor):
    if isinstance(monitor, str) or not hasattr(monitor, "__iter__"):
        return monitor  # RunConfig refuses it with the list of metrics
    return list(monitor)


def _all_finite(xp, arrays):
    return xp.all(xp.stack([xp.all(xp.isfinite(a)) for a in arrays]))
