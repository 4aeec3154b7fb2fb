"""What the benchmark times: xprop on one backend, or one of the references, behind one interface.

Every contender is built from the same host parameters and data and offers
``epoch_seconds(batch, eta)`` (one whole SGD epoch, shuffle and updates, and the seconds
it took, synchronized), ``epochs(count, batch, eta, clock)`` (several, ``clock()`` called
after each: the GPU harness records device events there), ``gradients(x, y)`` (feedforward + backprop of one mini-batch, the
mean gradient), ``batch(start, stop)`` (its own copy of those rows), ``synchronize()``
and ``host_parameters()``. Data loading (the host → device copy) happens in the
constructor and is never timed.

A compiled contender (``Xprop(..., compiled=True)``, named "xprop jax compiled", ...) is the
same ``Trainer`` handed the backend's ``compiled_step``. Its ``warm_up`` runs the epoch that
compiles, before the timed repetitions; ``compile_seconds`` is what the strategy counted
in calls that compiled, kept apart from the throughput, which comes from epochs that
compile nothing (``recompile_seconds`` says so: what the strategy counted after the
warm-up, 0 when nothing compiled again).
"""

from __future__ import annotations

import time

REFERENCES = ("per-example loop", "numpy by hand", "torch by hand", "torch autograd")


class NothingToCompile(Exception):
    """``compiled_step`` gave the eager step: the backend has nothing to compile (the reason)."""


def compiled_strategy(backend):
    """The backend's compiled step strategy (``compiled_step``), or NothingToCompile with
    the one line its CompileNotice says."""
    import warnings

    from xprop.train.steps import CompileNotice, compiled_step

    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always", CompileNotice)
        strategy = compiled_step(backend)
    notices = [w for w in said if issubclass(w.category, CompileNotice)]
    if notices:
        raise NothingToCompile(str(notices[0].message).removeprefix("compile=True: "))
    return strategy


class Xprop:
    """xprop's own ``Trainer`` and ``backprop.gradients`` on one backend; with
    ``compiled=True`` the Trainer runs the backend's compiled step strategy."""

    library = "xprop"

    def __init__(self, backend, weights, biases, X, Y, *, seed=0, compiled=False):
        from xprop import Network

        self.backend = backend
        self.compiled = compiled
        self.name = f"xprop {backend.name}" + (" compiled" if compiled else "")
        self.strategy = compiled_strategy(backend) if compiled else None  # NothingToCompile: no contender
        self.compile_seconds = self.warm_up_seconds = None
        dtype = X.dtype.name
        self.net = Network.from_parameters(weights, biases, backend=backend.name,
                                           device=backend.device_spec, dtype=dtype, seed=seed)
        self.X, self.Y = backend.from_host(X, dtype), backend.from_host(Y, dtype)
        self.examples = X.shape[0]
        self.seed = seed
        self.trainer = None

    def epochs(self, count, batch, eta, clock):
        """``count`` epochs of ``Trainer.run``, ``clock()`` at the end of each (a callback).

        One run for all of them, as a user trains: the input check of ``run`` (one scan of
        the data for NaN) falls in the first epoch, which the harness discards as warm-up.
        """
        from xprop import Trainer

        if self.trainer is None or self.trainer.batch_size != batch or self.trainer.eta != eta:
            strategy = None
            if self.compiled:
                if self.trainer is not None:  # another mini-batch size: a strategy of its own
                    self.strategy = compiled_strategy(self.backend)
                strategy = _StartOnce(self.strategy)
            self.clock = _Clock(clock)
            self.trainer = Trainer(self.net, epochs=1, batch_size=batch, eta=eta, seed=self.seed,
                                   callbacks=[self.clock], strategy=strategy)
            self.trainer.epochs = 0
        self.clock.clock = clock  # this call's: the trainer outlives the call that made it
        self.trainer.epochs += count
        self.trainer.run(self.X, self.Y)

    def epoch_seconds(self, batch, eta):
        """One more epoch of the same run; the trainer's own clock of it.

        ``EpochRecord.seconds`` runs from the epoch's start (the previous epoch ended with
        a host copy: nothing is queued) to the host copy of its end-of-epoch check, so it
        covers shuffle, gather, steps and that check, and leaves out ``run``'s one-off
        scan of the data for NaN, which a real run pays once, not per epoch.
        """
        self.epochs(1, batch, eta, lambda: None)
        return self.trainer.history.records[-1].seconds

    def warm_up(self, batch, eta):
        """The epoch that compiles (a compiled contender's), before any timed one: its
        seconds, compilation included, and the strategy's ``compile_seconds``."""
        self.warm_up_seconds = self.epoch_seconds(batch, eta)
        self.compile_seconds = float(getattr(self.strategy, "compile_seconds", 0.0) or 0.0)
        return self.warm_up_seconds

    @property
    def recompile_seconds(self):
        """Compile time the strategy counted after the warm-up epoch (0: the timed epochs
        compiled nothing); None for an eager contender."""
        if self.compile_seconds is None:
            return None
        return float(getattr(self.strategy, "compile_seconds", 0.0) or 0.0) - self.compile_seconds

    def describe(self):
        """The strategy's own line (``describe()``): what was compiled, and how."""
        return self.strategy.describe() if self.strategy is not None else "eager steps"

    def gradients(self, x, y):
        from xprop import backprop

        net = self.net
        return backprop.gradients(net.weights, net.biases, net.activations, net.cost, x, y, xp=net.xp)

    def batch(self, start, stop):
        return self.X[start:stop, ...], self.Y[start:stop, ...]

    def synchronize(self, *arrays):
        self.backend.synchronize(*(arrays or self.net.weights))

    def host_parameters(self):
        return self.net.parameters_to_host()


class _StartOnce:
    """A step strategy whose ``start`` runs once, for the first ``Trainer.run`` only.

    The harness calls ``Trainer.run`` once per timed epoch (to interleave the contenders),
    and every ``run`` calls ``strategy.start``. A compiled strategy builds its compiled
    functions there, and building them again compiles again: a user's ``fit`` of 30 epochs
    pays that once, so the benchmark does too. Everything else is the strategy's own.
    """

    def __init__(self, strategy):
        self.inner, self.started = strategy, False

    def start(self, trainer, X):
        if not self.started:
            self.inner.start(trainer, X)
            self.started = True

    def __getattr__(self, name):
        return getattr(self.inner, name)


class _Clock:
    def __init__(self, clock):
        self.clock = clock

    def on_epoch_end(self, trainer, record):
        self.clock()


def reference(name, weights, biases, X, Y, *, seed=0, threads=None):
    """One of ``REFERENCES``, ready to train from the same start as xprop."""
    from xprop.bench import reference_numpy, reference_torch

    classes = {"per-example loop": reference_numpy.PerExampleLoop,
               "numpy by hand": reference_numpy.NumpyByHand,
               "torch by hand": reference_torch.TorchByHand,
               "torch autograd": reference_torch.TorchAutograd}
    cls = classes[name]
    options = {"threads": threads} if cls.library == "torch" else {}
    return _Harnessed(cls(weights, biases, X, Y, seed=seed, **options))


class _Harnessed:
    """Gives a reference the harness's ``epochs`` and ``batch`` around its own ``epoch``."""

    def __init__(self, inner):
        self.inner, self.name, self.library = inner, inner.name, inner.library
        self.examples = inner.X.shape[0]

    def epoch_seconds(self, batch, eta):
        self.inner.synchronize()
        started = time.perf_counter()
        self.inner.epoch(batch, eta)
        self.inner.synchronize()
        return time.perf_counter() - started

    def epochs(self, count, batch, eta, clock):
        for _ in range(count):
            self.inner.epoch(batch, eta)
            clock()

    def gradients(self, x, y):
        return self.inner.gradients(x, y)

    def batch(self, start, stop):
        return self.inner.X[start:stop], self.inner.Y[start:stop]

    def synchronize(self, *arrays):
        self.inner.synchronize()

    def host_parameters(self):
        return self.inner.host_parameters()
