"""The gradients are right, not only consistent: float64 backprop equals central finite
differences (the book's eq. 46), independent autograd (torch.autograd, jax.grad), and the
book's own per-example algorithm summed over the batch."""

import numpy as np
import pytest

from helpers import ARCHITECTURES, BATCH_SIZES, COMBOS, book_mean_gradients, combo_id, data, max_relative_error

import xprop


def _mean_cost(net, weights, biases, X, Y):
    a = X
    for w, b, sigma in zip(weights, biases, net.activations):
        z = a @ w.T + b
        a = sigma(z, xp=np)
    return float(net.cost.value(z, a, Y, xp=np)) / X.shape[0]


def finite_difference_gradients(net, X, Y, h=1e-6):
    """∂C/∂p ≈ (C(p + h) − C(p − h)) / 2h for every parameter p (central eq. 46)."""
    weights, biases = net.parameters_to_host()
    grads = []
    for params in (weights, biases):
        for p in params:
            g = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                saved = p[idx]
                p[idx] = saved + h
                up = _mean_cost(net, weights, biases, X, Y)
                p[idx] = saved - h
                down = _mean_cost(net, weights, biases, X, Y)
                p[idx] = saved
                g[idx] = (up - down) / (2 * h)
            grads.append(g)
    return grads


@pytest.mark.parametrize("hidden,cost,output", COMBOS, ids=map(combo_id, COMBOS))
def test_backprop_equals_finite_differences(hidden, cost, output):
    sizes = ARCHITECTURES["odd"]
    X, Y = data(sizes, 7, seed=2)
    net = xprop.Network(sizes, dtype="float64", seed=4, cost=cost, activation=hidden,
                        output_activation=output)
    grad_w, grad_b = net.gradients(X, Y)
    err = max_relative_error(grad_w + grad_b, finite_difference_gradients(net, X, Y))
    assert err < 1e-7, f"backprop differs from finite differences by {err:.1e}"


@pytest.mark.parametrize("batch", BATCH_SIZES, ids=lambda m: f"m{m}")
@pytest.mark.parametrize("arch", ARCHITECTURES, ids=str)
def test_batched_equals_the_books_per_example_loop(arch, batch):
    sizes = ARCHITECTURES[arch]
    X, Y = data(sizes, batch, seed=batch)
    net = xprop.Network(sizes, dtype="float64", seed=9)
    weights, biases = net.parameters_to_host()
    grad_w, grad_b = net.gradients(X, Y)
    want_w, want_b = book_mean_gradients(weights, biases, X, Y)
    assert max_relative_error(grad_w + grad_b, want_w + want_b) < 1e-13


def _torch_gradients(weights, biases, X, Y, cost, activations):
    torch = pytest.importorskip("torch")
    ws = [torch.tensor(w, requires_grad=True) for w in weights]
    bs = [torch.tensor(b, requires_grad=True) for b in biases]
    a, Yt = torch.tensor(X), torch.tensor(Y)
    funcs = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,  # torch's own
             "linear": lambda z: z, "softmax": lambda z: z}
    for w, b, name in zip(ws, bs, activations):
        z = a @ w.T + b
        a = funcs[name](z)
    m = X.shape[0]
    if cost == "quadratic":
        loss = 0.5 * ((a - Yt) ** 2).sum() / m
    elif cost == "cross-entropy":
        # from the logits: exact where a saturates (torch clamps log(a) at -100 otherwise)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, Yt, reduction="sum") / m
    else:  # log-likelihood on the softmax of the last z
        loss = torch.nn.functional.cross_entropy(z, Yt.argmax(1), reduction="sum") / m
    loss.backward()
    return [w.grad.numpy() for w in ws] + [b.grad.numpy() for b in bs]


def _jax_gradients(weights, biases, X, Y):
    jax = pytest.importorskip("jax")
    jnp = jax.numpy

    def mean_quadratic_cost(params):
        a = jnp.asarray(X)
        for w, b in params:
            a = jax.nn.sigmoid(a @ w.T + b)
        return 0.5 * jnp.sum((a - Y) ** 2) / X.shape[0]

    with jax.enable_x64(True):
        params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in zip(weights, biases)]
        grads = jax.grad(mean_quadratic_cost)(params)
        return [np.asarray(g[0]) for g in grads] + [np.asarray(g[1]) for g in grads]


@pytest.mark.parametrize("hidden,cost,output", COMBOS, ids=map(combo_id, COMBOS))
def test_backprop_equals_torch_autograd(hidden, cost, output):
    sizes = ARCHITECTURES["three-hidden"]
    X, Y = data(sizes, 7, seed=1)
    net = xprop.Network(sizes, dtype="float64", seed=6, cost=cost, activation=hidden,
                        output_activation=output)
    grad_w, grad_b = net.gradients(X, Y)
    weights, biases = net.parameters_to_host()
    want = _torch_gradients(weights, biases, X, Y, cost, [a.name for a in net.activations])
    assert max_relative_error(grad_w + grad_b, want) < 1e-12


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=str)
def test_backprop_equals_jax_grad(arch):
    sizes = ARCHITECTURES[arch]
    X, Y = data(sizes, 7, seed=8)
    net = xprop.Network(sizes, dtype="float64", seed=2)
    grad_w, grad_b = net.gradients(X, Y)
    weights, biases = net.parameters_to_host()
    assert max_relative_error(grad_w + grad_b, _jax_gradients(weights, biases, X, Y)) < 1e-12


def test_finite_differences_catch_a_wrong_gradient():
    """The check has teeth: a gradient off by a small factor in one layer fails it."""
    sizes = ARCHITECTURES["odd"]
    X, Y = data(sizes, 7)
    net = xprop.Network(sizes, dtype="float64")
    grad_w, grad_b = net.gradients(X, Y)
    grad_w[1] = grad_w[1] * 1.001
    assert max_relative_error(grad_w + grad_b, finite_difference_gradients(net, X, Y)) > 1e-7


def test_a_custom_activation_pair_equals_the_builtin_it_mimics():
    """A user's (function, derivative) pair for softplus-free tanh: same gradients as 'tanh'."""
    sizes = ARCHITECTURES["odd"]
    X, Y = data(sizes, 7)

    def my_tanh(z):
        xp = z.__array_namespace__()
        return xp.tanh(z)

    def my_tanh_derivative(z):
        xp = z.__array_namespace__()
        return 1.0 - xp.tanh(z) ** 2

    custom = xprop.Network(sizes, dtype="float64", activation=(my_tanh, my_tanh_derivative),
                           output_activation="sigmoid")
    builtin = xprop.Network(sizes, dtype="float64", activation="tanh", output_activation="sigmoid")
    got, want = custom.gradients(X, Y), builtin.gradients(X, Y)
    assert max_relative_error(got[0] + got[1], want[0] + want[1]) < 1e-14
    err = max_relative_error(got[0] + got[1], finite_difference_gradients(custom, X, Y))
    assert err < 1e-7
