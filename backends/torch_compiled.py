"""torch: the same SGD step, compiled by ``torch.compile`` on the CPU, replayed from a CUDA
graph on a GPU.

The step is ``xprop.backprop.sgd_step`` itself, on torch's own namespace
(``torch_namespace.py``, through which dynamo traces the whole step as one graph).

On the CPU (``TorchCompiled``), ``torch.compile(fullgraph=True, dynamic=False)`` compiles a
function that takes a few mini-batches' worth of gathered rows and applies ``sgd_step``
to each mini-batch in turn (a loop that dynamo unrolls: up to ``CHUNK_STEPS`` steps, as
many as fit in the ~1 MiB that the eager loop gathers at once); inductor generates C++
kernels and a C++ wrapper (``INDUCTOR_OPTIONS``). Each compiled call costs dynamo's guards
and dispatch, about as much as a whole step of the book network at mini-batch 10: one call
for several steps is what makes compiling pay (the figures are in docs/performance-log.md). The rows are gathered from the epoch's permutation, drawn
as the eager loop draws it, so an epoch visits the same mini-batches in the same order.
Full batches left over after the last whole chunk, and the partial last batch, run one
compiled step at a time (``step``, which also serves the Trainer's per-batch interface).

The steps update the network's parameter lists (and the trainer's velocities) in place,
as the eager step does, so checkpoints and roll-back never depend on the strategy. η is a
0-d tensor argument: a schedule changes it without recompiling. The L2 factor 1 − ηλ/n,
the batch size and the number of steps per call are static: each combination has a
function compiled for it alone, with a code object of its own (``_own_code``): dynamo
keeps its graphs per code object, at most 8 (``recompile_limit``; with fullgraph=True the
ninth is an error), and a schedule that halves η seven times with L2 on, or a process
that trains several networks, would reach that on one shared code object. With per-batch hooks (a progress bar) the hooks
are called once per compiled call.

On a GPU (``TorchCudaGraphs``), the eager step is captured once in a ``torch.cuda.CUDAGraph``
per mini-batch size and replayed: each batch is copied into the graph's fixed input
buffers, then one launch runs the step's ~30 kernels. The graph updates the network's
own parameter tensors in place (their addresses are the graph's); a new η or L2 factor
(a schedule) captures the step again, in the same memory pool. ``mode="reduce-overhead"``
of ``torch.compile`` is not used: it skips CUDA graphs for a function that mutates its
inputs (pytorch/pytorch#120733), which is what an SGD step is.
"""

from __future__ import annotations

import time
import types

from .. import backprop
from ..train.steps import Step

#: inductor's options for the CPU steps: its C++ wrapper calls the kernels without Python
#: in between (docs/performance-log.md has what it saves)
INDUCTOR_OPTIONS = {"cpp_wrapper": True}

#: the most mini-batches one compiled call applies (its graph, and its compile time, grow
#: with it)
CHUNK_STEPS = 16

#: eager steps on scratch copies, on a side stream, before a CUDA graph is captured: cuBLAS
#: and the caching allocator set themselves up there, not inside the capture
WARMUP_STEPS = 3


class TorchCompiled(Step):
    """The step strategy of ``compile=True`` on torch's CPU (see the module's docstring)."""

    name = "compiled (torch.compile, inductor C++)"

    def __init__(self, torch):
        self.torch = torch
        self.compile_seconds = 0.0  # time spent in calls that compiled
        self._compiled = {}
        self._eta = (None, None)  # (η as a float, the same as a 0-d tensor)

    def start(self, trainer, X):
        if self.same_run(trainer, X):
            return  # what was compiled for it still holds
        super().start(trainer, X)
        net = trainer.network
        xp, activations, cost, momentum, ones = net.xp, net.activations, net.cost, trainer.momentum, self.ones
        fused = self.fused  # the backend's kernels of the hot spots, as the eager step has them (None: none)

        def sgd_steps(count):
            def apply(weights, biases, velocities, xs, ys, eta, decay):
                m = xs.shape[0] // count
                for j in range(count):  # unrolled by dynamo: one graph for the count steps
                    backprop.sgd_step(weights, biases, activations, cost, xs[j * m:(j + 1) * m, ...],
                                      ys[j * m:(j + 1) * m, ...], eta=eta, decay=decay, momentum=momentum,
                                      velocities=velocities, xp=xp, ones=ones, fused=fused)
            return apply

        self._sgd_steps, self._compiled = sgd_steps, {}

    def run_epoch(self, trainer, batches, on_batch=None):
        xp, m, n = trainer.network.xp, trainer.batch_size, batches.n
        order = batches.permutation(trainer.rng)  # the eager loop's draw: the same mini-batches
        full = n // m
        count = steps_per_call(full, max(1, batches.gather // m))
        done = 0  # mini-batches applied
        while count > 1 and done + count <= full:
            rows = order[done * m:(done + count) * m]
            self._apply(trainer, xp.take(batches.X, rows, axis=0), xp.take(batches.targets, rows, axis=0), count)
            done += count
            if on_batch is not None:
                on_batch(done * m)
        while done * m < n:  # one at a time: the full batches left over, the partial last one
            rows = order[done * m:min((done + 1) * m, n)]
            self.step(trainer, xp.take(batches.X, rows, axis=0), xp.take(batches.targets, rows, axis=0))
            done += 1
            if on_batch is not None:
                on_batch(min(done * m, n))

    def step(self, trainer, x, y):
        self._apply(trainer, x, y, 1)

    def _apply(self, trainer, xs, ys, count):
        """``count`` mini-batches of equal size, the rows of ``xs``/``ys`` in order, in one call."""
        net = trainer.network
        key = (count, xs.shape[0], trainer.decay)
        args = (net.weights, net.biases, trainer.velocities, xs, ys, self._eta_tensor(trainer.eta), trainer.decay)
        compiled = self._compiled.get(key)
        if compiled is not None:
            compiled(*args)
            return
        compiled = self._compiled[key] = self.torch.compile(
            _own_code(self._sgd_steps(count)), fullgraph=True, dynamic=False, options=INDUCTOR_OPTIONS)
        started = time.perf_counter()
        compiled(*args)  # compiles, then applies the batches
        self.compile_seconds += time.perf_counter() - started

    def _eta_tensor(self, eta):
        """η as a 0-d float64 tensor, made again only when η changes (rounded as the eager
        step rounds the Python float: η/m is formed in float64, then meets the arrays)."""
        if self._eta[0] != eta:
            self._eta = (eta, self.torch.tensor(eta, dtype=self.torch.float64))
        return self._eta[1]

    def describe(self):
        return f"{self.name}; {self.compile_seconds:.1f} s compiling so far"


def steps_per_call(full, most):
    """How many of an epoch's ``full`` mini-batches one compiled call applies: at most
    ``most`` and ``CHUNK_STEPS``; a divisor of ``full`` where one is at least half of
    that, so that no full batch is left over to compile a single step for."""
    count = max(1, min(CHUNK_STEPS, most, full))
    for divisor in range(count, count // 2, -1):
        if full % divisor == 0:
            return divisor
    return count


class TorchCudaGraphs(Step):
    """The step strategy of ``compile=True`` on a CUDA device (see the module's docstring).

    The graph's fixed addresses are the network's own parameter tensors (and the
    trainer's velocities) as they were at ``start``: ``_adopt`` copies the values of any
    tensor that replaced one of them (a roll-back, a loaded checkpoint) back into those,
    before each step.
    """

    name = "captured (torch.cuda.CUDAGraph of the eager step)"

    def __init__(self, torch, device):
        self.torch, self.device = torch, device
        self.compile_seconds = 0.0  # time spent warming up and capturing
        self._graphs = {}

    def start(self, trainer, X):
        super().start(trainer, X)
        net = trainer.network
        self._params = (list(net.weights), list(net.biases))
        self._velocities = None if trainer.velocities is None else tuple(list(v) for v in trainer.velocities)
        self._graphs = {}  # m -> (eta, decay, graph, x buffer, y buffer)
        # one memory pool for all the run's graphs: it holds only each replay's temporaries
        # (what lasts, parameters, velocities, input buffers, lives outside it), and the
        # graphs never run at the same time, so they may share it
        self._pool = self.torch.cuda.graph_pool_handle()

    def step(self, trainer, x, y):
        net = trainer.network
        _adopt(net.weights, self._params[0])
        _adopt(net.biases, self._params[1])
        if trainer.velocities is not None:
            _adopt(trainer.velocities[0], self._velocities[0])
            _adopt(trainer.velocities[1], self._velocities[1])
        m = x.shape[0]
        captured = self._graphs.get(m)
        if captured is None or captured[:2] != (trainer.eta, trainer.decay):
            captured = self._graphs[m] = self._capture(trainer, x, y)
        _, _, graph, x_in, y_in = captured
        x_in.copy_(x)
        y_in.copy_(y)
        graph.replay()

    def _capture(self, trainer, x, y):
        """Capture one step for batches shaped as (x, y), with the trainer's η and L2 factor."""
        torch, net = self.torch, trainer.network
        started = time.perf_counter()
        self._graphs.pop(x.shape[0], None)  # its memory returns to the pool
        x_in, y_in = torch.empty_like(x), torch.empty_like(y)
        x_in.copy_(x)
        y_in.copy_(y)
        params = self._params[0] + self._params[1]
        moving = [] if self._velocities is None else self._velocities[0] + self._velocities[1]

        def sgd_step(weights, biases, velocities):
            backprop.sgd_step(weights, biases, net.activations, net.cost, x_in, y_in, eta=trainer.eta,
                              decay=trainer.decay, momentum=trainer.momentum, velocities=velocities,
                              xp=net.xp, ones=self.ones, fused=self.fused)

        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(WARMUP_STEPS):  # on copies: the parameters are not changed
                scratch = [a.clone() for a in params + moving]
                sgd_step(*_as_lists(scratch, len(self._params[0]), trainer.velocities is not None))
        torch.cuda.current_stream(self.device).wait_stream(side)

        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self._pool):
            slots = _as_lists(list(params + moving), len(self._params[0]), trainer.velocities is not None)
            sgd_step(*slots)
            # the math may rebind a slot instead of writing in place (v = μv − step): the
            # graph copies such a new value into the fixed tensor it replaced
            updated = slots[0] + slots[1] + ([] if slots[2] is None else slots[2][0] + slots[2][1])
            for new, fixed in zip(updated, params + moving):
                if new is not fixed:
                    fixed.copy_(new)
        self.compile_seconds += time.perf_counter() - started
        return trainer.eta, trainer.decay, graph, x_in, y_in

    def describe(self):
        return f"{self.name}; {self.compile_seconds:.2f} s capturing so far"


def _own_code(function):
    """``function`` with a code object of its own.

    Dynamo keeps its compiled graphs, their guards and its recompile limit per code
    object; the step functions made in ``start`` all share one. A copy per compiled
    function keeps each (steps, batch size, L2 factor) in a cache of its own: none counts
    against another's limit, and a call never searches the guards of the others.
    """
    return types.FunctionType(function.__code__.replace(), function.__globals__, function.__name__,
                              function.__defaults__, function.__closure__)


def _adopt(current, fixed):
    """Make ``current[i]`` the tensor ``fixed[i]`` again, holding ``current[i]``'s values."""
    for i, (a, f) in enumerate(zip(current, fixed)):
        if a is not f:
            f.copy_(a)
            current[i] = f


def _as_lists(arrays, layers, momentum):
    """(weights, biases, velocities or None) as lists from the flat list ``arrays``."""
    weights, biases = arrays[:layers], arrays[layers:2 * layers]
    velocities = (arrays[2 * layers:3 * layers], arrays[3 * layers:]) if momentum else None
    return weights, biases, velocities
