"""Mini-batch stochastic gradient descent, as the book's ``SGD``, for a whole network.

The batch loop runs on the device: it shuffles once per epoch on the host (a seeded
numpy Generator), copies that permutation to the device once, and gathers the rows of
the next few mini-batches from the data by their slice of it: one ``take`` of about
``GATHER_BYTES`` at a time, whose mini-batches are then views of it. Never a shuffled
copy of the whole data set (that copy doubled the data's memory and streamed it
through the caches once more per epoch), and not one ``take`` per mini-batch either:
at mini-batch 10 two gathers per step cost ~17 µs against ~9 µs per step for gathers
of ~1 MiB (numpy, [784, 30, 10], float64). Nothing is read back. After each epoch
all metrics and a finiteness check of the parameters travel to the host in one copy:
one device synchronization per epoch.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import asdict, dataclass, field

import numpy

from . import backprop, trainer_state
from .errors import DivergenceError, InputError, TrainingInterrupted
from .validation import (check_callbacks, check_choice, check_monitor, check_non_negative,
                         check_positive, check_seed, check_values)

#: the size that one gather of shuffled rows aims at (a multiple of the mini-batch, at least one)
GATHER_BYTES = 2**20

METRICS = ("training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy")


@dataclass
class EpochRecord:
    """What one epoch measured. Metrics that were not monitored are None."""

    epoch: int
    eta: float
    seconds: float
    examples_per_second: float
    training_cost: float | None = None
    training_accuracy: float | None = None
    evaluation_cost: float | None = None
    evaluation_accuracy: float | None = None


@dataclass
class History:
    """Per-epoch records of a training run, plus why it stopped."""

    records: list = field(default_factory=list)
    stopped_early: str | None = None

    def __len__(self):
        return len(self.records)

    def __getitem__(self, i):
        return self.records[i]

    def column(self, name):
        """One metric over the epochs, e.g. ``history.column("evaluation_accuracy")``."""
        return [getattr(r, name) for r in self.records]

    def to_dicts(self):
        return [asdict(r) for r in self.records]


class Trainer:
    """Runs SGD on a Network; holds everything a resumed run needs.

    Options:
      evaluation      (X_eval, y_eval) measured after each epoch (y: labels or one-hot)
      lmbda           L2 regularization λ (ch. 3, eq. 93); n is the training-set size
      momentum        μ of momentum SGD (0 = the book's plain SGD)
      monitor         metric names to compute after each epoch; by default the
                      evaluation metrics when evaluation data is given
      seed            seed of the shuffling Generator (default: the network's seed)
      callbacks       objects with one or more of the hooks
                      ``on_epoch_end(trainer, record)`` (may set ``trainer.stop``
                      or ``trainer.eta``), ``on_batch_end(trainer, examples_done)``,
                      ``after_epoch(trainer)`` (once every on_epoch_end has run: the
                      state is complete, the point where a checkpoint is taken) and
                      ``on_interrupt(trainer)`` (Ctrl-C; may return a line for the
                      message). A callback with ``state_dict(trainer)`` and
                      ``load_state_dict(trainer, state)`` has its state checkpointed.

    ``state_dict()``/``load_state_dict(state)`` give and restore everything the next
    epoch depends on (see ``xprop.trainer_state``; ``xprop.checkpoint`` saves it).
    """

    def __init__(self, network, *, epochs, batch_size, eta, evaluation=None, lmbda=0.0,
                 momentum=0.0, monitor=None, seed=None, callbacks=()):
        self.network = network
        self.epochs = check_positive("epochs", epochs, numbers.Integral)
        self.batch_size = check_positive("batch_size", batch_size, numbers.Integral)
        self.eta = float(check_positive("eta", eta))
        self.lmbda = check_non_negative("lmbda", lmbda)
        self.momentum = check_non_negative("momentum", momentum)
        if self.momentum >= 1:
            raise InputError(f"momentum must be in [0, 1), got {momentum!r}")
        self.evaluation = evaluation
        if monitor is None:
            monitor = ("evaluation_cost", "evaluation_accuracy") if evaluation is not None else ()
        self.monitor = check_monitor(monitor, METRICS)
        if evaluation is None and any(m.startswith("evaluation") for m in monitor):
            raise InputError("monitoring evaluation metrics needs evaluation=(X_eval, y_eval)")
        self.rng = numpy.random.default_rng(network.seed if seed is None else check_seed("seed", seed))
        self.callbacks = check_callbacks(callbacks, self.monitor, METRICS)
        self.history = History()
        self.epoch = 0  # epochs completed
        self.stop = False
        self._last_good = None  # the state at the start of the running epoch (trainer_state.snapshot)
        #: the function that applies one mini-batch; a data-parallel trainer swaps in its own
        self.step = backprop.sgd_step
        #: the function that measures (summed cost, correct count) of a data set after each
        #: epoch; a data-parallel trainer swaps in one that splits the set over the ranks
        self.measure = measure
        xp = network.xp
        self.velocities = (
            ([xp.zeros_like(w) for w in network.weights], [xp.zeros_like(b) for b in network.biases])
            if self.momentum else None
        )

    def run(self, X, Y):
        """Train on (X, Y) until ``epochs`` are done or a callback stops; returns the History.

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
            lines += [c.on_interrupt(self) for c in self.callbacks if hasattr(c, "on_interrupt")]
            raise TrainingInterrupted(" ".join(line for line in lines if line),
                                      epoch=self.epoch, trainer=self) from None
        finally:
            self._last_good = None

    def state_dict(self) -> dict:
        """Everything the next epoch depends on, copied to the host (see trainer_state)."""
        return trainer_state.capture(self)

    def load_state_dict(self, state) -> None:
        """Continue from ``state`` (a ``state_dict()``, perhaps read from a checkpoint)."""
        trainer_state.load(self, state)

    def _roll_back(self):
        if self._last_good is not None:
            trainer_state.roll_back(self, self._last_good)

    def _train(self, X, Y):
        net = self.network
        net._check_inputs(X)
        labels, targets = net._labels_and_targets(Y, X.shape[0], "Y")
        evaluation = self._checked_evaluation()
        datasets = [("X", X, "Y", labels, targets)]
        if evaluation is not None:
            datasets.append(("evaluation X", evaluation[0], "evaluation y", evaluation[2], evaluation[1]))
        check_values(net.backend, net.sizes[-1], datasets)  # NaN/Inf, labels: one device sync
        xp, backend = net.xp, net.backend
        n = X.shape[0]
        step_options = dict(
            eta=self.eta, decay=1.0 - self.eta * self.lmbda / n, momentum=self.momentum,
            velocities=self.velocities, xp=xp,
        )
        batch_hooks = [c.on_batch_end for c in self.callbacks if hasattr(c, "on_batch_end")]
        epoch_hooks = [c.on_epoch_end for c in self.callbacks if hasattr(c, "on_epoch_end")]
        after_hooks = [c.after_epoch for c in self.callbacks if hasattr(c, "after_epoch")]
        index_dtype = "int32" if n < 2**31 else "int64"
        # BP3's 1ᵀδ for every mini-batch: made once here, not once per step
        step_options["ones"] = xp.ones(self.batch_size, dtype=X.dtype, device=X.device)
        gather = gathered_rows(self.batch_size, X, xp=xp)
        while self.epoch < self.epochs and not self.stop:
            self._last_good = trainer_state.snapshot(self)  # device copies, no sync
            started = time.perf_counter()
            order = backend.from_host(self.rng.permutation(n), index_dtype)
            step_options["eta"] = self.eta
            step_options["decay"] = 1.0 - self.eta * self.lmbda / n
            for first in range(0, n, gather):
                last = min(first + gather, n)  # (the standard allows no slice past the end)
                rows = order[first:last]  # the shuffled rows of the next mini-batches
                xs, ys = xp.take(X, rows, axis=0), xp.take(targets, rows, axis=0)
                for start in range(0, last - first, self.batch_size):
                    stop = min(start + self.batch_size, last - first)  # the last batch may be partial
                    self.step(net.weights, net.biases, net.activations, net.cost,
                              xs[start:stop, ...], ys[start:stop, ...], **step_options)
                    for hook in batch_hooks:
                        hook(self, first + stop)
            del order, rows, xs, ys
            record = self._end_of_epoch(X, targets, labels, evaluation, n, started)
            self.history.records.append(record)
            self.epoch += 1
            for hook in epoch_hooks:
                hook(self, record)
            for hook in after_hooks:
                hook(self)
        return self.history

    def _checked_evaluation(self):
        if self.evaluation is None:
            return None
        net = self.network
        try:
            X_eval, y_eval = self.evaluation
        except (TypeError, ValueError):
            raise InputError("evaluation must be a pair (X_eval, y_eval)") from None
        net._check_inputs(X_eval, "evaluation X")
        labels, targets = net._labels_and_targets(y_eval, X_eval.shape[0], "evaluation y")
        return X_eval, targets, labels

    def _end_of_epoch(self, X, targets, labels, evaluation, n, started):
        """Measure the monitored metrics and check the parameters: one host copy in all."""
        net, xp = self.network, self.network.xp
        values = [_all_finite(xp, net.weights + net.biases)]
        wanted = {"training": X is not None and any(m.startswith("training") for m in self.monitor),
                  "evaluation": any(m.startswith("evaluation") for m in self.monitor)}
        sets = {"training": (X, targets, labels), "evaluation": evaluation}
        for name in ("training", "evaluation"):
            if wanted[name]:
                values += self.measure(net, sets[name][0], sets[name][1], sets[name][2])
        if self.lmbda and any(m.endswith("cost") for m in self.monitor):
            values.append(xp.sum(xp.stack([xp.sum(w * w) for w in net.weights])))
        host = net.backend.to_host(xp.stack([xp.astype(v, getattr(xp, net.dtype)) for v in values]))
        seconds = time.perf_counter() - started
        if not host[0]:
            raise self._diverged("the parameters hold NaN or Inf")
        record = EpochRecord(epoch=self.epoch + 1, eta=self.eta, seconds=seconds,
                             examples_per_second=n / seconds if seconds > 0 else math.inf)
        penalty = 0.5 * self.lmbda * float(host[-1]) if self.lmbda and len(host) > 1 else 0.0
        position = 1
        for name, data in (("training", (X,)), ("evaluation", evaluation)):
            if not wanted[name]:
                continue
            size = data[0].shape[0]
            cost, correct = float(host[position]), float(host[position + 1])
            position += 2
            if f"{name}_cost" in self.monitor:
                setattr(record, f"{name}_cost", cost / size + penalty / size)
            if f"{name}_accuracy" in self.monitor:
                setattr(record, f"{name}_accuracy", correct / size)
        if not all(math.isfinite(v) for v in (record.training_cost, record.evaluation_cost) if v is not None):
            raise self._diverged("the cost is NaN or Inf")
        return record

    def _diverged(self, what):
        kept = f"the end of epoch {self.epoch}" if self.epoch else "before training"
        return DivergenceError(
            f"training diverged in epoch {self.epoch + 1}: {what} (eta={self.eta:g} is "
            f"probably too large; try eta={self.eta / 10:g}). The network keeps its "
            f"parameters from {kept}.", epoch=self.epoch + 1)


def gathered_rows(batch_size, X, *, xp) -> int:
    """How many shuffled rows to gather at once: whole mini-batches, about ``GATHER_BYTES``.

    ``X`` is the training data, already checked to be 2-D and of the network's float dtype.
    """
    row_bytes = X.shape[1] * xp.finfo(X.dtype).bits // 8
    return batch_size * max(1, GATHER_BYTES // (batch_size * row_bytes))


def measure(net, X, targets, labels, *, batch_size=10_000):
    """Device scalars (summed cost, correct count) of ``net`` on a data set, in chunks.

    Nothing is read back: the caller copies the results to the host once.
    """
    xp = net.xp
    cost_sum = correct = None
    n = X.shape[0]
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        x, y = X[start:stop, ...], targets[start:stop, ...]
        zs, acts = backprop.forward_pass(net.weights, net.biases, net.activations, x, xp=xp)
        c = net.cost.value(zs[-1], acts[-1], y, xp=xp)
        truth = labels[start:stop] if labels is not None else xp.argmax(y, axis=1)
        hits = xp.sum(xp.astype(xp.argmax(acts[-1], axis=1) == truth, acts[-1].dtype))
        cost_sum = c if cost_sum is None else cost_sum + c
        correct = hits if correct is None else correct + hits
    return [cost_sum, correct]


def _all_finite(xp, arrays):
    return xp.all(xp.stack([xp.all(xp.isfinite(a)) for a in arrays]))


class _Stateful:
    """A callback whose counters are part of the trainer's state (checkpoints, resume).

    ``SETTINGS`` name its constructor's options: they are saved with the state and
    must match on loading, or the resumed run would not continue the same schedule.
    """

    SETTINGS: tuple = ()
    STATE: tuple = ()

    def state_dict(self, trainer):
        return {"settings": self._settings(), **{k: getattr(self, k) for k in self.STATE}}

    def load_state_dict(self, trainer, state):
        if state["settings"] != self._settings():
            raise InputError(
                f"{type(self).__name__} was saved with {state['settings']}, this one has "
                f"{self._settings()}; build it with the saved settings to continue the run")
        for key in self.STATE:
            setattr(self, key, state[key])

    def _settings(self):
        return {k: getattr(self, k) for k in self.SETTINGS}


class ReduceOnPlateau(_Stateful):
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
            raise InputError(f"factor must be > 1 (η is divided by it), got {factor!r}")
        self.min_ratio = float(check_positive("min_ratio", min_ratio))
        self.metric = check_choice("metric", metric, METRICS)
        self.best, self.waited, self.initial_eta = -math.inf, 0, None

    def on_epoch_end(self, trainer, record):
        if self.initial_eta is None:
            self.initial_eta = record.eta
        value = _watched(record, self.metric)
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


class EarlyStopping(_Stateful):
    """Stop after ``patience`` epochs without improvement of the watched metric
    (ch. 3, "early stopping"); with ``restore_best`` put back the best parameters."""

    SETTINGS = ("patience", "metric", "restore_best")
    STATE = ("best", "best_epoch")

    def __init__(self, patience=10, metric="evaluation_accuracy", restore_best=True):
        self.patience = check_positive("patience", patience, numbers.Integral)
        self.metric, self.restore_best = check_choice("metric", metric, METRICS), bool(restore_best)
        self.best, self.best_epoch, self.best_parameters = -math.inf, 0, None

    def on_epoch_end(self, trainer, record):
        value = _watched(record, self.metric)
        net = trainer.network
        if value > self.best:
            self.best, self.best_epoch = value, record.epoch
            if self.restore_best:
                xp = net.xp
                self.best_parameters = ([xp.asarray(w, copy=True) for w in net.weights],
                                        [xp.asarray(b, copy=True) for b in net.biases])
            return
        if record.epoch - self.best_epoch >= self.patience:
            trainer.stop = True
            trainer.history.stopped_early = (
                f"no improvement of {self.metric} in {self.patience} epochs; best "
                f"{self.best:.4f} at epoch {self.best_epoch}")
            if self.restore_best and self.best_parameters is not None:
                net.weights[:], net.biases[:] = self.best_parameters

    def state_dict(self, trainer):
        state = super().state_dict(trainer)
        state["best_parameters"] = None if self.best_parameters is None else [
            trainer_state.host_copies(trainer.network, p) for p in self.best_parameters]
        return state

    def load_state_dict(self, trainer, state):
        super().load_state_dict(trainer, state)
        net, saved = trainer.network, state["best_parameters"]
        self.best_parameters = None if saved is None else tuple(
            trainer_state.device_copies(net, arrays, like, "best parameters")
            for arrays, like in zip(saved, (net.weights, net.biases)))


def _watched(record, metric):
    value = getattr(record, metric, None)
    if value is None:
        raise InputError(f"{metric} is not monitored; add it to monitor=... or watch another metric")
    return -value if metric.endswith("cost") else value
