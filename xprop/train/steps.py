"""Step strategies: how the Trainer applies mini-batches and measures a data set.

The Trainer's loop is the book's ``SGD``; what one update *is* is a collaborator handed
to it when it is built (``Trainer(..., strategy=...)``). Every strategy has one small
interface:

- ``start(trainer, X)``: once per ``run``, before the first epoch: make what the strategy
  owns (a vector of ones for BP3, compiled functions, a communication buffer's layout).
- ``run_epoch(trainer, batches, on_batch)``: apply every mini-batch of one shuffled epoch
  (``batches.epoch(trainer.rng)`` yields ``(examples_done, x, y)``; a compiled strategy
  may take ``batches.permutation(trainer.rng)`` and gather on its own), calling
  ``on_batch(examples_done)`` after each one it applies. The default applies ``step``
  to each batch in turn; a compiled strategy applies many at once, and then calls
  ``on_batch`` once per chunk it applies.
- ``step(trainer, x, y)``: one mini-batch, ``trainer.network``'s parameters (and
  ``trainer.velocities``) updated in place.
- ``measure(network, X, targets, labels)``: device scalars (summed cost, correct count)
  of a data set, read back by the caller once.
- ``end_of_epoch(trainer)``: after the epoch is measured, before the callbacks (the
  data-parallel strategy proves there that the ranks are still in step).

A strategy owns only what it makes in ``start``: the parameters, the velocities, η and
the shuffling Generator stay the trainer's, so checkpoints and roll-back never depend
on which strategy ran.
"""

from __future__ import annotations

import functools
import warnings

from .. import backprop


class Step:
    """The local eager step: ``backprop.sgd_step`` on the network's own backend."""

    name = "eager"

    def start(self, trainer, X):
        xp = trainer.network.xp
        # BP3's 1ᵀδ for every mini-batch: made once per run, not once per step
        # (a mini-batch larger than the data set is the whole set: no longer vector is needed)
        self.ones = xp.ones(min(trainer.batch_size, X.shape[0]), dtype=X.dtype, device=X.device)
        # the backend's fused kernels of the math's hot spots (None: it fuses none)
        self.fused = backprop.fused_kernels(trainer.network.backend)

    def run_epoch(self, trainer, batches, on_batch=None):
        step = self.stepper(trainer)
        for done, x, y in batches.epoch(trainer.rng):
            step(x, y)
            if on_batch is not None:
                on_batch(done)

    def step(self, trainer, x, y):
        self._sgd_step(trainer)(x, y)

    def stepper(self, trainer):
        """``step(x, y)`` for the running epoch: η, the L2 factor and the rest bound once, as
        they stay during an epoch. A subclass that overrides ``step`` has its own called."""
        if type(self).step is not Step.step:
            return functools.partial(self.step, trainer)
        return self._sgd_step(trainer)

    def _sgd_step(self, trainer):
        """``backprop.sgd_step`` on ``trainer``'s network and state, all but (x, y) bound."""
        net = trainer.network
        return functools.partial(backprop.sgd_step, net.weights, net.biases, net.activations, net.cost,
                                 eta=trainer.eta, decay=trainer.decay, momentum=trainer.momentum,
                                 velocities=trainer.velocities, xp=net.xp, ones=self.ones, fused=self.fused)

    def measure(self, network, X, targets, labels, *, batch_size=10_000):
        return measure(network, X, targets, labels, batch_size=batch_size)

    def end_of_epoch(self, trainer):
        pass

    def describe(self) -> str:
        return "eager steps"

    def same_run(self, trainer, X) -> bool:
        """Whether this ``start`` is for the same kind of run as the last one: the same
        activations, cost, momentum, mini-batch size, dtype and device. A compiled strategy
        keeps what it compiled for such a run (a second ``run`` or ``fit`` with it, or a
        resumed one, compiles nothing again)."""
        net = trainer.network
        key = (tuple(net.activations), net.cost, trainer.momentum, trainer.batch_size, str(X.dtype),
               str(net.backend.device))
        same = key == getattr(self, "_run", None)
        self._run = key  # holds the objects: their identities stay unique while compared
        return same


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


def compiled_step(backend) -> Step:
    """The step strategy of ``compile=True`` on ``backend``: its compiled strategy, or the
    eager ``Step`` with one warning saying that the backend has nothing to compile."""
    strategy = backend.compiled_strategy()
    if strategy is None:
        warnings.warn(f"compile=True: {backend.name} {backend.eager_reason}; the eager step is used",
                      CompileNotice, stacklevel=3)
        return Step()
    return strategy


class CompileNotice(UserWarning):
    """``compile=True`` on a backend with nothing to compile (said once per place)."""
