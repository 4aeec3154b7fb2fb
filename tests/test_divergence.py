"""Divergence: NaN or Inf is caught at the end of the epoch, training stops with a message
naming the epoch and a smaller η, and the last good state is kept.

Faults are injected through the Trainer's step strategy (handed to it when it is built):
a step that spoils the weights once, in the middle of a chosen epoch, on every backend.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from xprop import DivergenceError, Network, QuadraticCost, Step, Trainer

OPTIONS = dict(batch_size=8, eta=0.5, momentum=0.5, lmbda=0.1, monitor=["training_cost"])


def data(case=None):
    rng = np.random.default_rng(5)
    X = rng.random((64, 5))
    y = (X @ np.arange(5)).astype(np.int64) % 3
    if case is None:
        return X.astype(np.float32), y
    return case.put(X), case.put(y)


class NaNOnce(Step):
    """The eager step that, once, in mini-batch ``batch`` of epoch ``epoch`` (from 1), makes
    the first weight matrix NaN after the ordinary update."""

    def __init__(self, epoch, batch=3):
        self.epoch, self.batch, self.seen, self.fired = epoch, batch, 0, False

    def step(self, trainer, x, y):
        super().step(trainer, x, y)
        if trainer.epoch + 1 == self.epoch and not self.fired:
            self.seen += 1
            if self.seen == self.batch:
                weights = trainer.network.weights
                weights[0] = weights[0] * math.nan
                self.fired = True


def trainer(net, epochs, **options):
    return Trainer(net, epochs=epochs, **{**OPTIONS, **options})


def parameters(net):
    weights, biases = net.parameters_to_host()
    return weights + biases


def assert_same(a, b):
    assert all(np.array_equal(x, y) for x, y in zip(parameters(a), parameters(b)))


def test_nan_mid_epoch_stops_naming_the_epoch_and_keeps_the_last_good_parameters(case):
    X, y = data(case)
    run = trainer(case.network([5, 6, 3], seed=2), epochs=4, strategy=NaNOnce(epoch=2))
    with pytest.raises(DivergenceError) as caught:
        run.run(X, y)
    error = caught.value
    assert error.epoch == 2 and error.trainer is run and error.network is run.network
    assert (error.what, error.eta, error.kept_epoch, error.suggested_eta) == ("parameters", 0.5, 1, 0.05)
    assert "epoch 2" in str(error) and "try eta=0.05" in str(error) and "end of epoch 1" in str(error)
    reference = trainer(case.network([5, 6, 3], seed=2), epochs=1)
    reference.run(X, y)
    assert_same(run.network, reference.network)  # the state at the end of epoch 1, exactly
    assert run.epoch == 1 and len(run.history) == 1
    for w in run.network.weights:
        case.assert_native(w)


def test_after_divergence_the_trainer_continues_as_if_nothing_happened():
    """The rollback covers everything the next epoch uses: parameters, momentum, the
    shuffling Generator and η. Running on gives the uninterrupted result bit for bit."""
    X, y = data()
    run = trainer(Network([5, 6, 3], seed=2), epochs=5, strategy=NaNOnce(epoch=3))
    with pytest.raises(DivergenceError):
        run.run(X, y)
    run.run(X, y)  # the fault fired once; the same step object now behaves
    reference = trainer(Network([5, 6, 3], seed=2), epochs=5)
    reference.run(X, y)
    assert_same(run.network, reference.network)
    assert run.history.column("training_cost") == reference.history.column("training_cost")


def test_a_schedule_raising_eta_diverges_for_real_and_keeps_epoch_one():
    X, y = data()

    class Boost:
        def on_epoch_end(self, trainer, record):
            trainer.eta = 1e30

    net = Network([5, 6, 3], activation="linear", output_activation="linear", seed=2)
    with np.errstate(all="ignore"), pytest.raises(DivergenceError) as caught:
        trainer(net, epochs=4, eta=0.01, callbacks=[Boost()]).run(X, y)
    assert "epoch 2" in str(caught.value) and "try eta=1e+29" in str(caught.value)
    reference = Network([5, 6, 3], activation="linear", output_activation="linear", seed=2)
    trainer(reference, epochs=1, eta=0.01).run(X, y)
    assert_same(net, reference)
    assert all(np.isfinite(p).all() for p in parameters(net))


def test_an_infinite_cost_with_finite_parameters_is_divergence_too():
    X, y = data()

    class Overflowing(QuadraticCost):
        """The quadratic cost, whose reported value becomes Inf once armed."""

        armed = False

        def value(self, z, a, y, *, xp):
            return super().value(z, a, y, xp=xp) * (math.inf if self.armed else 1.0)

    class Arm:
        def on_epoch_end(self, trainer, record):
            trainer.network.cost.armed = True

    net = Network([5, 6, 3], cost=Overflowing(), seed=2)
    with pytest.raises(DivergenceError, match="epoch 2: the cost is NaN or Inf") as caught:
        trainer(net, epochs=3, callbacks=[Arm()]).run(X, y)
    assert caught.value.what == "cost" and caught.value.epoch == 2
    reference = Network([5, 6, 3], seed=2)
    trainer(reference, epochs=1).run(X, y)
    assert_same(net, reference)


def test_divergence_in_the_first_epoch_keeps_the_initial_parameters():
    X, y = data()
    net = Network([5, 6, 3], seed=2)
    run = trainer(net, epochs=3, strategy=NaNOnce(epoch=1))
    with pytest.raises(DivergenceError, match="keeps its parameters from before training"):
        run.run(X, y)
    assert_same(net, Network([5, 6, 3], seed=2))


def test_checks_cost_one_host_copy_per_fit_and_one_per_epoch(monkeypatch):
    """The value checks of the data and the divergence check never sync per batch."""
    X, y = data()
    net = Network([5, 6, 3], seed=2)
    copies = []
    to_host = net.backend.to_host
    monkeypatch.setattr(net.backend, "to_host", lambda a: copies.append(a.shape) or to_host(a))
    net.fit(X, y, epochs=4, evaluation=(X, y), **OPTIONS)
    assert len(copies) == 1 + 4  # the data's checks (training and evaluation), then one per epoch
