"""Every backend computes the same gradients as the numpy float64 reference, and returns
them in its own namespace, on its own device, in its own dtype."""

import numpy as np
import pytest

from helpers import ARCHITECTURES, BATCH_SIZES, COMBOS, combo_id, data, max_relative_error

import xprop

# Relative error allowed per dtype, in units of that dtype's eps: the gradients go
# through a few matmuls of width <= 8 and a sigmoid; 64 eps leaves room for the summation
# order of different BLAS kernels while still catching any error in the math (a wrong
# term changes results by O(1), i.e. ~10^7 eps in float32).
EPS_UNITS = 64


def _reference_gradients(sizes, X, Y, **kwargs):
    kwargs.setdefault("seed", 3)
    net = xprop.Network(sizes, dtype="float64", **kwargs)
    return net.gradients(X, Y)


@pytest.mark.parametrize("batch", BATCH_SIZES, ids=lambda m: f"m{m}")
@pytest.mark.parametrize("arch", ARCHITECTURES, ids=str)
def test_gradients_match_numpy_float64(case, arch, batch):
    sizes = ARCHITECTURES[arch]
    X, Y = data(sizes, batch, seed=batch)
    want_w, want_b = _reference_gradients(sizes, X, Y)

    net = case.network(sizes, seed=3)
    got_w, got_b = net.gradients(case.put(X), case.put(Y))

    for g in got_w + got_b:
        case.assert_native(g)
    assert [tuple(g.shape) for g in got_w] == [w.shape for w in want_w]
    err = max_relative_error([case.get(g) for g in got_w + got_b], want_w + want_b)
    assert err <= EPS_UNITS * case.eps, f"relative error {err:.2e} > {EPS_UNITS} eps"


def test_same_seed_same_network_on_every_backend(case):
    want_w, want_b = xprop.Network([5, 4, 3], dtype="float64", seed=11).parameters_to_host()
    got_w, got_b = case.network([5, 4, 3], seed=11).parameters_to_host()
    for got, want in zip(got_w + got_b, want_w + want_b):
        np.testing.assert_array_equal(got, want.astype(case.dtype))


def test_feedforward_and_evaluate_match(case):
    sizes = [6, 5, 3]
    X, y = data(sizes, 40, seed=5, labels=True)
    ref = xprop.Network(sizes, dtype="float64", seed=1)
    net = case.network(sizes, seed=1)
    out = net.feedforward(case.put(X))
    case.assert_native(out)
    np.testing.assert_allclose(case.get(out), ref.feedforward(X), rtol=0, atol=EPS_UNITS * case.eps)
    got, want = net.evaluate(case.put(X), case.put(y)), ref.evaluate(X, y)
    assert got["correct"] == want["correct"]
    assert got["cost"] == pytest.approx(want["cost"], rel=EPS_UNITS * case.eps)


def test_labels_and_one_hot_targets_give_the_same_gradients(case):
    sizes = [6, 5, 3]
    X, y = data(sizes, 9, labels=True)
    net = case.network(sizes)
    from_labels = net.gradients(case.put(X), case.put(y))
    from_one_hot = net.gradients(case.put(X), case.put(np.eye(3)[y]))
    for a, b in zip(from_labels[0] + from_labels[1], from_one_hot[0] + from_one_hot[1]):
        np.testing.assert_array_equal(case.get(a), case.get(b))


@pytest.mark.parametrize("hidden,cost,output", COMBOS, ids=map(combo_id, COMBOS))
def test_every_cost_and_activation_agrees_across_backends(case, hidden, cost, output):
    sizes = ARCHITECTURES["odd"]
    X, Y = data(sizes, 7, seed=3)
    options = dict(activation=hidden, cost=cost, output_activation=output, init="scaled", seed=5)
    want_w, want_b = _reference_gradients(sizes, X, Y, **options)
    got_w, got_b = case.network(sizes, **options).gradients(case.put(X), case.put(Y))
    for g in got_w + got_b:
        case.assert_native(g)
    err = max_relative_error([case.get(g) for g in got_w + got_b], want_w + want_b)
    assert err <= EPS_UNITS * case.eps, f"relative error {err:.2e} > {EPS_UNITS} eps"


def test_per_layer_activations_agree_across_backends(case):
    sizes = ARCHITECTURES["three-hidden"]
    X, Y = data(sizes, 7, seed=4)
    options = dict(activation=["relu", "tanh", "linear", "sigmoid"], cost="cross-entropy", seed=2)
    want = _reference_gradients(sizes, X, Y, **options)
    got = case.network(sizes, **options).gradients(case.put(X), case.put(Y))
    err = max_relative_error([case.get(g) for g in got[0] + got[1]], want[0] + want[1])
    assert err <= EPS_UNITS * case.eps
