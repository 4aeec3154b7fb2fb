"""The finite-difference check of backprop's gradients, on every backend × device × dtype."""

import math

import numpy as np
import pytest

import xprop
import xprop.backprop
from xprop.gradcheck import check_gradients

TOLERANCE = {"float64": 1e-6, "float32": 1e-2}
NETWORKS = {
    "book": ([12, 6, 4], {}),
    "cross-entropy": ([12, 6, 4], {"cost": "cross-entropy", "init": "scaled"}),
    "softmax-tanh": ([12, 6, 5, 4], {"cost": "log-likelihood", "activation": "tanh"}),
}


def batch(case, net, m=8, seed=0):
    rng = np.random.default_rng(seed)
    return case.put(rng.random((m, net.sizes[0]))), case.put(rng.integers(0, net.sizes[-1], m), "int32")


@pytest.mark.parametrize("kind", NETWORKS)
def test_backprop_agrees_with_finite_differences(case, kind):
    sizes, options = NETWORKS[kind]
    net = case.network(sizes, seed=2, **options)
    result = check_gradients(net, *batch(case, net), samples=8)
    assert [a.name for a in result.arrays] == [f"{k}{i}" for i in range(len(sizes) - 1) for k in "wb"]
    assert all(a.conclusive for a in result.arrays)
    assert result.max_relative_error < TOLERANCE[case.dtype]


def test_a_wrong_gradient_is_caught(reference, monkeypatch):
    net = reference.network([12, 6, 4], seed=2)
    true_gradients = xprop.backprop.gradients

    def off_by_ten_percent(*args, **kwargs):
        grad_w, grad_b = true_gradients(*args, **kwargs)
        return [grad_w[0] * 1.1] + grad_w[1:], grad_b

    monkeypatch.setattr(xprop.backprop, "gradients", off_by_ten_percent)
    result = check_gradients(net, *batch(reference, net))
    assert result.worst == "w0"
    assert result.max_relative_error == pytest.approx(0.1 / 2.1, rel=1e-3)  # ‖0.1g‖ / (‖1.1g‖ + ‖g‖)


def test_gradients_below_the_finite_difference_resolution_are_not_judged(reference):
    weights = [np.full((3, 4), 100.0), np.full((2, 3), 1.0)]
    biases = [np.zeros(3), np.zeros(2)]
    net = xprop.Network.from_parameters(weights, biases, dtype="float64")  # the first layer saturates
    result = check_gradients(net, *batch(reference, net))
    first = result.arrays[0]
    assert first.name == "w0" and not first.conclusive and first.largest_gradient < 100 * first.resolution
    assert result.arrays[2].conclusive and not math.isnan(result.max_relative_error)


def test_sampling_is_seeded_and_bounded_by_the_array_size(reference):
    net = reference.network([5, 2, 2], seed=1)
    X, y = batch(reference, net)
    first, second = check_gradients(net, X, y, samples=3, seed=7), check_gradients(net, X, y, samples=3, seed=7)
    assert first == second
    assert [a.entries for a in check_gradients(net, X, y, samples=50).arrays] == [10, 2, 4, 2]
