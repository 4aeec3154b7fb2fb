"""Plain references the tests compare xprop with: written independently of xprop's code."""

from __future__ import annotations

import numpy as np

ARCHITECTURES = {
    "one-hidden": [6, 5, 3],
    "three-hidden": [8, 7, 6, 5, 4],
    "odd": [7, 5, 3, 2],
}
BATCH_SIZES = [1, 7, 32]


def data(sizes, m, seed=0, labels=False):
    """Seeded inputs in [0, 1) and one-hot targets (or integer labels)."""
    rng = np.random.default_rng(seed)
    X = rng.random((m, sizes[0]))
    y = rng.integers(0, sizes[-1], size=m)
    return X, (y if labels else np.eye(sizes[-1])[y])


def book_backprop(weights, biases, x, y):
    """The book's network.py ``backprop`` for ONE example, column vectors, numpy float64.

    Sigmoid layers, quadratic cost; returns (nabla_w, nabla_b) of C_x = ½‖y − a‖².
    """
    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    activation = x.reshape(-1, 1)
    activations, zs = [activation], []
    for w, b in zip(weights, biases):
        z = w @ activation + b.reshape(-1, 1)
        zs.append(z)
        activation = sigmoid(z)
        activations.append(activation)
    sp = sigmoid(zs[-1]) * (1 - sigmoid(zs[-1]))
    delta = (activations[-1] - y.reshape(-1, 1)) * sp
    nabla_w, nabla_b = [None] * len(weights), [None] * len(weights)
    nabla_b[-1], nabla_w[-1] = delta[:, 0], delta @ activations[-2].T
    for layer in range(2, len(weights) + 1):
        sp = sigmoid(zs[-layer]) * (1 - sigmoid(zs[-layer]))
        delta = (weights[-layer + 1].T @ delta) * sp
        nabla_b[-layer], nabla_w[-layer] = delta[:, 0], delta @ activations[-layer - 1].T
    return nabla_w, nabla_b


def book_mean_gradients(weights, biases, X, Y):
    """Σ_x of book_backprop over the batch, divided by m: the gradient of the mean cost."""
    m = X.shape[0]
    sums_w = [np.zeros_like(w) for w in weights]
    sums_b = [np.zeros_like(b) for b in biases]
    for x, y in zip(X, Y):
        nabla_w, nabla_b = book_backprop(weights, biases, x, y)
        sums_w = [s + n for s, n in zip(sums_w, nabla_w)]
        sums_b = [s + n for s, n in zip(sums_b, nabla_b)]
    return [s / m for s in sums_w], [s / m for s in sums_b]


def max_relative_error(got, want):
    """max |got − want| / max(|want|), over lists of arrays."""
    scale = max(float(np.max(np.abs(w))) for w in want)
    return max(float(np.max(np.abs(g - w))) for g, w in zip(got, want)) / scale


HIDDEN = ["sigmoid", "tanh", "relu", "linear"]
OUTPUTS = [  # (cost, output activation): every combination the costs allow
    ("quadratic", "sigmoid"),
    ("quadratic", "tanh"),
    ("quadratic", "relu"),
    ("quadratic", "linear"),
    ("cross-entropy", "sigmoid"),
    ("log-likelihood", "softmax"),
]
COMBOS = [(h, c, o) for h in HIDDEN for c, o in OUTPUTS]


def combo_id(combo):
    hidden, cost, output = combo
    return f"{hidden}>{output}+{cost}"
