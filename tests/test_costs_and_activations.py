"""Costs and activations: values against their textbook formulas, stability, and the
combinations that make no sense refused with a clear error."""

import numpy as np
import pytest

import xprop
from xprop.activations import get_activation
from xprop.costs import get_cost


def test_cost_values_equal_the_books_formulas():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 3))
    y = np.eye(3)[rng.integers(0, 3, 5)]
    a = 1 / (1 + np.exp(-z))
    assert float(get_cost("quadratic").value(z, a, y, xp=np)) == pytest.approx(0.5 * np.sum((y - a) ** 2))
    cross_entropy = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a))  # ch. 3 eq. 63
    assert float(get_cost("cross-entropy").value(z, a, y, xp=np)) == pytest.approx(cross_entropy)
    soft = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    log_likelihood = -np.sum(np.log(soft[y.astype(bool)]))  # ch. 3 eq. 80
    assert float(get_cost("log-likelihood").value(z, soft, y, xp=np)) == pytest.approx(log_likelihood)


def test_costs_and_softmax_are_stable_for_huge_z():
    z = np.array([[800.0, -800.0, 0.0]])
    y = np.array([[0.0, 1.0, 0.0]])
    sigmoid, softmax = get_activation("sigmoid"), get_activation("softmax")
    a = sigmoid(z, xp=np)
    assert np.isfinite(a).all()
    # softplus(800) − 0 + softplus(−800) + 800 + softplus(0): 1600 + ln 2, no log(0)
    assert float(get_cost("cross-entropy").value(z, a, y, xp=np)) == pytest.approx(1600.0 + np.log(2))
    s = softmax(z, xp=np)
    assert np.isfinite(s).all() and s[0, 0] == 1.0
    assert float(get_cost("log-likelihood").value(z, s, y, xp=np)) == pytest.approx(1600.0)


@pytest.mark.parametrize("dtype,eps", [("float32", 2.0**-23), ("float64", 2.0**-52)])
def test_sigmoid_is_accurate_and_never_overflows(dtype, eps):
    """σ = 1/(1 + e^min(−z, 80)): within a few eps of the exact value down to z = −80,
    below it at most 2e-35 off, and no overflow anywhere (RuntimeWarnings fail the tests)."""
    z = np.concatenate([np.linspace(-1000, 1000, 2001), np.linspace(-90, 40, 1301)]).astype(dtype)
    a = get_activation("sigmoid")(z, xp=np)
    assert a.dtype == np.dtype(dtype) and ((a >= 0) & (a <= 1)).all()
    exact = np.exp(-np.logaddexp(0.0, -z.astype(np.longdouble)))  # 1/(1 + e^−z) without overflow
    capped = z < -80
    np.testing.assert_allclose(a[~capped], exact[~capped], rtol=4 * eps, atol=0)
    assert np.max(np.abs(a[capped] - exact[capped])) < 2e-35
    assert a[z == 1000][0] == 1.0


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "linear"])
def test_derivatives_from_the_stored_activation_equal_numeric_ones(name):
    sigma = get_activation(name)
    z = np.linspace(-3, 3, 13) + 0.05  # avoid ReLU's kink at exactly 0
    h = 1e-6
    numeric = (sigma(z + h, xp=np) - sigma(z - h, xp=np)) / (2 * h)
    np.testing.assert_allclose(sigma.derivative(z, sigma(z, xp=np), xp=np), numeric, atol=1e-8)


@pytest.mark.parametrize(
    "options,message",
    [
        (dict(cost="quadratic", output_activation="softmax"), "needs an elementwise output activation"),
        (dict(cost="cross-entropy", output_activation="relu"), "needs a sigmoid output layer"),
        (dict(cost="log-likelihood", output_activation="sigmoid"), "needs a softmax output layer"),
        (dict(activation="softmax", output_activation="softmax", cost="log-likelihood"), "only be the output"),
        (dict(activation="swish"), "unknown activation 'swish'"),
        (dict(cost="hinge"), "unknown cost 'hinge'"),
        (dict(activation=["relu"]), "one activation per layer: expected 2, got 1"),
        (dict(init="xavier"), "unknown init 'xavier'"),
        (dict(activation=(abs, "not callable")), "or a (function, derivative) pair; got <built-in function abs>"),
    ],
)
def test_nonsense_combinations_are_refused(options, message):
    with pytest.raises(xprop.InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        xprop.Network([4, 3, 2], **options)


def test_log_likelihood_defaults_to_a_softmax_output():
    net = xprop.Network([4, 3, 2], cost="log-likelihood", activation="relu")
    assert [a.name for a in net.activations] == ["relu", "softmax"]
    out = net.feedforward(np.ones((3, 4), dtype="float32"))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)


def test_scaled_init_has_the_variance_of_network2():
    weights, _ = xprop.Network([400, 300, 10], init="scaled", dtype="float64").parameters_to_host()
    assert np.std(weights[0]) == pytest.approx(1 / np.sqrt(400), rel=0.02)
    weights, _ = xprop.Network([400, 300, 10], init="large", dtype="float64").parameters_to_host()
    assert np.std(weights[0]) == pytest.approx(1.0, rel=0.02)
