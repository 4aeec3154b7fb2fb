"""jax: whole epochs of the same SGD step, compiled by XLA.

The step is ``xprop.backprop.sgd_step`` itself, traced: on jax ``w -= step`` rebinds the
list slot, so a function that takes the parameter lists and returns them makes it
functional. An epoch's full mini-batches run inside one ``jax.lax.scan`` under
``jax.jit``; the rows of each batch are gathered inside the scan from the data and the
epoch's permutation (no shuffled copy of the data). The partial last batch, whose shape
differs, is one more jitted step. Python never runs per mini-batch: a step costs no
dispatch. With per-batch hooks (a progress bar) the epoch runs in about ``CHUNKS``
compiled chunks, and the hooks are called once per chunk.

η is a traced argument (a schedule changes it without recompiling); the L2 factor
1 − ηλ/n and the shapes are static (a new value compiles anew). On a GPU the parameter
buffers are donated to the compiled call; the Trainer's roll-back snapshot holds copies,
so it stays valid.
"""

from __future__ import annotations

import time

from .. import backprop
from ..train.steps import Step

#: how many compiled chunks an epoch is cut into when per-batch hooks need to run
CHUNKS = 20


class JaxCompiled(Step):
    """The step strategy of ``compile=True`` on jax (see the module's docstring)."""

    name = "compiled (jax.jit, lax.scan)"

    def __init__(self, jax, *, donate=False):
        self.jax, self.donate = jax, donate
        self.compile_seconds = 0.0  # time spent in calls that compiled
        self._compiled_shapes = set()

    def start(self, trainer, X):
        if self.same_run(trainer, X):
            return  # what was compiled for it still holds
        super().start(trainer, X)
        jax = self.jax
        net = trainer.network
        jnp, activations, cost, momentum, ones = net.xp, net.activations, net.cost, trainer.momentum, self.ones
        batch = trainer.batch_size

        def one_step(parameters, velocities, x, y, eta, decay):
            weights, biases = list(parameters[0]), list(parameters[1])
            moving = None if velocities is None else (list(velocities[0]), list(velocities[1]))
            backprop.sgd_step(weights, biases, activations, cost, x, y, eta=eta, decay=decay,
                              momentum=momentum, velocities=moving, xp=jnp, ones=ones)
            return (weights, biases), moving

        def chunk(parameters, velocities, X, targets, order, first, eta, decay, count):
            def body(carry, i):
                rows = jax.lax.dynamic_slice(order, (first + i * batch,), (batch,))
                x, y = jnp.take(X, rows, axis=0), jnp.take(targets, rows, axis=0)
                return one_step(*carry, x, y, eta, decay), None

            carry, _ = jax.lax.scan(body, (parameters, velocities), jnp.arange(count))
            return carry

        donated = (0, 1) if self.donate else ()
        self._compiled_shapes = set()  # new functions: every shape compiles anew
        self._chunk = jax.jit(chunk, static_argnames=("decay", "count"), donate_argnums=donated)
        self._step = jax.jit(one_step, static_argnames=("decay",), donate_argnums=donated)

    def run_epoch(self, trainer, batches, on_batch=None):
        net, batch = trainer.network, trainer.batch_size
        order = batches.permutation(trainer.rng)
        full = batches.n // batch
        size = full if on_batch is None else max(1, -(-full // CHUNKS))
        carry = (list(net.weights), list(net.biases)), trainer.velocities
        done = 0
        while done < full:
            count = min(size, full - done)
            carry = self._timed(("chunk", count, trainer.decay), self._chunk, *carry, batches.X, batches.targets,
                                order, done * batch, trainer.eta, decay=trainer.decay, count=count)
            self._keep(trainer, carry)
            done += count
            if on_batch is not None:
                on_batch(done * batch)
        if full * batch < batches.n:  # the partial last batch: a shape of its own
            rows = order[full * batch:]
            x, y = net.xp.take(batches.X, rows, axis=0), net.xp.take(batches.targets, rows, axis=0)
            carry = self._timed(("step", x.shape, trainer.decay), self._step, *carry, x, y, trainer.eta,
                                decay=trainer.decay)
            self._keep(trainer, carry)
            if on_batch is not None:
                on_batch(batches.n)

    def step(self, trainer, x, y):
        net = trainer.network
        carry = self._timed(("step", x.shape, trainer.decay), self._step,
                            (list(net.weights), list(net.biases)), trainer.velocities, x, y, trainer.eta,
                            decay=trainer.decay)
        self._keep(trainer, carry)

    def _timed(self, key, function, *args, **kwargs):
        """Call ``function``; the first call of each shape (it compiles) counts as compile time."""
        if key in self._compiled_shapes:
            return function(*args, **kwargs)
        started = time.perf_counter()
        result = function(*args, **kwargs)
        self.jax.block_until_ready(result)
        self.compile_seconds += time.perf_counter() - started
        self._compiled_shapes.add(key)
        return result

    @staticmethod
    def _keep(trainer, carry):
        """Put the new parameters and velocities where the Trainer keeps them."""
        (weights, biases), velocities = carry
        net = trainer.network
        net.weights[:], net.biases[:] = weights, biases
        if velocities is not None:
            trainer.velocities[0][:], trainer.velocities[1][:] = velocities

    def describe(self):
        return f"{self.name}; {self.compile_seconds:.1f} s compiling so far"
