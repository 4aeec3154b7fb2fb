"""Mini-batch SGD as the book states it (eq. 20, 21), on every backend."""

import numpy as np
import pytest

from helpers import data

import xprop
from xprop.train import EarlyStopping, ReduceOnPlateau


def manual_sgd(net, X, Y, epochs, batch_size, eta, seed, lmbda=0.0, momentum=0.0):
    """SGD from the public gradients(): the same permutation, explicit averaging over the
    real size of each batch (the last one may be partial), then eq. 20/21 (+ L2, momentum)."""
    rng = np.random.default_rng(seed)
    weights, biases = net.parameters_to_host()
    vw = [np.zeros_like(w) for w in weights]
    vb = [np.zeros_like(b) for b in biases]
    n = X.shape[0]
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            probe = xprop.Network.from_parameters(weights, biases, dtype="float64",
                                                  activation=net.activations, cost=net.cost)
            gw, gb = probe.gradients(X[idx], Y[idx])
            for i in range(len(weights)):
                gw_i = gw[i] + lmbda / n * weights[i]
                vw[i] = momentum * vw[i] - eta * gw_i
                vb[i] = momentum * vb[i] - eta * gb[i]
                weights[i] = weights[i] + vw[i]
                biases[i] = biases[i] + vb[i]
    return weights, biases


@pytest.mark.parametrize("lmbda,momentum", [(0.0, 0.0), (0.5, 0.0), (0.0, 0.7), (0.5, 0.7)],
                         ids=["plain", "l2", "momentum", "l2+momentum"])
def test_fit_equals_sgd_from_the_public_gradients(lmbda, momentum):
    sizes = [6, 5, 3]
    X, Y = data(sizes, 23, seed=4)  # 23 = 3 batches of 7 + a partial batch of 2
    net = xprop.Network(sizes, dtype="float64", seed=2)
    want_w, want_b = manual_sgd(net, X, Y, epochs=2, batch_size=7, eta=0.8, seed=5,
                                lmbda=lmbda, momentum=momentum)
    net.fit(X, Y, epochs=2, batch_size=7, eta=0.8, seed=5, lmbda=lmbda, momentum=momentum)
    got_w, got_b = net.parameters_to_host()
    for got, want in zip(got_w + got_b, want_w + want_b):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


def test_l2_step_is_gradient_descent_on_the_regularized_cost():
    """One full-batch step with λ equals w − η ∇(C₀ + λ/2n Σ‖w‖²), ∇ from torch.autograd."""
    torch = pytest.importorskip("torch")
    sizes, n, eta, lmbda = [5, 4, 3], 12, 0.5, 3.0
    X, Y = data(sizes, n, seed=7)
    net = xprop.Network(sizes, dtype="float64", seed=8, cost="cross-entropy")
    weights, biases = net.parameters_to_host()
    ws = [torch.tensor(w, requires_grad=True) for w in weights]
    bs = [torch.tensor(b, requires_grad=True) for b in biases]
    a = torch.tensor(X)
    for w, b in zip(ws, bs):
        a = torch.sigmoid(a @ w.T + b)
    cost = torch.nn.functional.binary_cross_entropy(a, torch.tensor(Y), reduction="sum") / n
    cost = cost + lmbda / (2 * n) * sum((w * w).sum() for w in ws)
    cost.backward()
    net.fit(X, Y, epochs=1, batch_size=n, eta=eta, lmbda=lmbda)
    got_w, got_b = net.parameters_to_host()
    for got, p in zip(got_w + got_b, ws + bs):
        np.testing.assert_allclose(got, (p - eta * p.grad).detach().numpy(), rtol=1e-12, atol=1e-14)


TRAJECTORY_BACKENDS = [("numpy", None), ("array_api_strict", "device1"), ("torch", "cpu")]


@pytest.mark.parametrize("backend,device", TRAJECTORY_BACKENDS, ids=["numpy", "strict-device1", "torch"])
def test_two_epochs_give_the_same_parameters_on_every_backend(backend, device):
    pytest.importorskip({"array_api_strict": "array_api_strict"}.get(backend, backend))
    sizes = [6, 5, 3]
    X, y = data(sizes, 30, seed=3, labels=True)
    reference = xprop.Network(sizes, dtype="float64", seed=1)
    reference.fit(X, y, epochs=2, batch_size=4, eta=1.5, momentum=0.3, lmbda=0.1)
    net = xprop.Network(sizes, backend=backend, device=device, dtype="float64", seed=1)
    put = net.backend.from_host
    net.fit(put(X, "float64"), put(y), epochs=2, batch_size=4, eta=1.5, momentum=0.3, lmbda=0.1)
    for got, want in zip(*map(lambda p: p[0] + p[1], (net.parameters_to_host(), reference.parameters_to_host()))):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)


def test_fit_never_mutates_the_callers_arrays(case):
    sizes = [6, 5, 3]
    X, Y = data(sizes, 20)
    Xd, Yd = case.put(X), case.put(Y)
    net = case.network(sizes)
    net.fit(Xd, Yd, epochs=2, batch_size=3, eta=0.5, evaluation=(Xd, Yd))
    np.testing.assert_array_equal(case.get(Xd), X.astype(case.dtype))
    np.testing.assert_array_equal(case.get(Yd), Y.astype(case.dtype))


def test_fit_learns_and_reports_every_epoch(case):
    sizes = [6, 8, 3]
    X, y = data(sizes, 90, seed=1, labels=True)
    X[np.arange(90), y] += 2.0  # make the classes separable
    net = case.network(sizes, cost="cross-entropy", init="scaled")
    history = net.fit(case.put(X), case.put(y), epochs=6, batch_size=10, eta=1.0,
                      evaluation=(case.put(X), case.put(y)),
                      monitor=["training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy"])
    assert [r.epoch for r in history] == list(range(1, 7))
    costs = history.column("training_cost")
    assert costs[-1] < costs[0]
    assert history[-1].evaluation_accuracy > 0.8
    assert history[-1].evaluation_accuracy == history[-1].training_accuracy
    assert all(r.examples_per_second > 0 for r in history)


def test_the_same_seed_gives_bit_identical_training():
    sizes = [6, 5, 3]
    X, Y = data(sizes, 25)
    runs = []
    for _ in range(2):
        net = xprop.Network(sizes, seed=4)
        net.fit(X.astype("float32"), Y.astype("float32"), epochs=2, batch_size=4, eta=2.0)
        runs.append(net.parameters_to_host())
    for a, b in zip(runs[0][0] + runs[0][1], runs[1][0] + runs[1][1]):
        np.testing.assert_array_equal(a, b)


class _Seen:
    """Records the ``examples_done`` of every on_batch_end."""

    def __init__(self):
        self.done = []

    def on_batch_end(self, trainer, examples_done):
        self.done.append(examples_done)


# 6 float64 inputs = 48 bytes a row; batch 7 of 23 rows: 3 full batches and one of 2
@pytest.mark.parametrize("gather_bytes,rows_per_gather", [(1, 7), (14 * 48, 14), (2**20, 23)],
                         ids=["one batch per gather", "two batches per gather", "the epoch in one gather"])
def test_gathering_several_batches_at_once_changes_no_bit(monkeypatch, gather_bytes, rows_per_gather):
    """The trainer gathers shuffled rows ~GATHER_BYTES at a time and slices its batches
    from them: the batches, the partial last one, the update and the progress counts are
    those of one gather per batch (``manual_sgd``), whatever the size of a gather."""
    from xprop.train import batches as training

    monkeypatch.setattr(training, "GATHER_BYTES", gather_bytes)
    sizes = [6, 5, 3]
    X, Y = data(sizes, 23, seed=4)
    net = xprop.Network(sizes, dtype="float64", seed=2)
    assert min(training.gathered_rows(7, X, xp=net.xp), 23) == rows_per_gather
    want_w, want_b = manual_sgd(net, X, Y, epochs=2, batch_size=7, eta=0.8, seed=5, momentum=0.5)
    seen, takes, real_take = _Seen(), [], net.xp.take

    def counted_take(*args, **kwargs):
        takes.append(args[0].shape)
        return real_take(*args, **kwargs)

    monkeypatch.setattr(net.xp, "take", counted_take)
    xprop.Trainer(net, epochs=2, batch_size=7, eta=0.8, seed=5, momentum=0.5, callbacks=[seen]).run(X, Y)
    monkeypatch.setattr(net.xp, "take", real_take)
    assert len(takes) == 2 * 2 * -(-23 // rows_per_gather)  # X and targets, per gather, 2 epochs
    got_w, got_b = net.parameters_to_host()
    for got, want in zip(got_w + got_b, want_w + want_b):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
    assert seen.done == [7, 14, 21, 23] * 2
    monkeypatch.setattr(training, "GATHER_BYTES", 1)
    one_per_batch = xprop.Network(sizes, dtype="float64", seed=2)
    xprop.Trainer(one_per_batch, epochs=2, batch_size=7, eta=0.8, seed=5, momentum=0.5).run(X, Y)
    for got, per_batch in zip(got_w + got_b, sum(one_per_batch.parameters_to_host(), [])):
        np.testing.assert_array_equal(got, per_batch)


def test_a_step_given_the_trainers_ones_equals_one_making_its_own():
    from xprop.backprop import sgd_step

    sizes = [6, 5, 3]
    X, Y = data(sizes, 7, seed=3)
    nets = [xprop.Network(sizes, dtype="float64", seed=1) for _ in range(2)]
    for net, ones in zip(nets, (None, np.ones(10))):  # longer than the batch: its first 7 are used
        sgd_step(net.weights, net.biases, net.activations, net.cost, X, Y, eta=0.5, decay=1.0,
                 momentum=0.0, velocities=None, xp=net.xp, ones=ones)
    for a, b in zip(*(sum(net.parameters_to_host(), []) for net in nets)):
        np.testing.assert_array_equal(a, b)


def test_shuffling_differs_between_epochs_and_seeds():
    sizes = [6, 5, 3]
    X, Y = data(sizes, 25)
    finals = []
    for seed in (0, 1):
        net = xprop.Network(sizes, dtype="float64", seed=0)
        net.fit(X, Y, epochs=1, batch_size=5, eta=2.0, seed=seed)
        finals.append(net.parameters_to_host()[0][0])
    assert not np.array_equal(*finals)


def test_plateau_schedule_divides_eta_and_stops():
    sizes = [6, 5, 3]
    X, y = data(sizes, 20, labels=True)
    net = xprop.Network(sizes, dtype="float64")
    schedule = ReduceOnPlateau(patience=1, factor=2.0, min_ratio=1 / 4)
    # eta so small that accuracy never improves after the first epoch
    history = net.fit(X, y, epochs=50, batch_size=5, eta=1e-9, evaluation=(X, y), callbacks=[schedule])
    # epoch 1 sets the best; each later epoch is a plateau of patience 1, so η halves
    assert history.column("eta")[:4] == [1e-9, 1e-9, 5e-10, 2.5e-10]
    assert len(history) < 50 and "eta fell below" in history.stopped_early


def test_early_stopping_keeps_the_best_parameters():
    sizes = [6, 5, 3]
    X, y = data(sizes, 20, labels=True)
    net = xprop.Network(sizes, dtype="float64")
    stopper = EarlyStopping(patience=2)
    history = net.fit(X, y, epochs=40, batch_size=5, eta=1e-9, evaluation=(X, y), callbacks=[stopper])
    assert len(history) == 3 and "no improvement" in history.stopped_early
    best_w = stopper.best_parameters[0]
    for got, want in zip(net.weights, best_w):
        np.testing.assert_array_equal(got, want)
