"""Two numpy references, written plainly with no abstraction: what a user would write instead.

``PerExampleLoop`` is the book's ``network.py`` algorithm: ``update_mini_batch`` loops over
the examples of a mini-batch and ``backprop`` handles one column vector x at a time,
recomputing σ(z) inside σ'(z) as the book does. ``NumpyByHand`` is the same math in the
chapter's "fully matrix-based" form, batch-first like xprop: one matrix product per
layer for the whole mini-batch, σ' from the stored activations (a(1 − a)), the sums of
BP3/BP4 scaled by η/m in the update, the data shuffled by one fancy-indexed copy per epoch.

Both use xprop's sigmoid formula 1/(1 + e^min(−z, 80)) (the book's, with the exponent
capped so that it never overflows), so that they do the same arithmetic as xprop and
their updates equal xprop's to rounding (``tests/test_bench.py`` checks it). Both keep the
book's convention w[j, k] (neuron k of layer l−1 to neuron j of layer l) and the
quadratic cost, δ^L = (a − y) ⊙ σ'(z^L).
"""

from __future__ import annotations

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(np.minimum(-z, 80.0)))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))  # the book's, σ evaluated twice


class NumpyReference:
    """Parameters and data as host numpy arrays; epochs shuffle with a seeded Generator."""

    library = "numpy"

    def __init__(self, weights, biases, X, Y, *, seed=0):
        self.weights = [w.copy() for w in weights]
        self.biases = [b.copy() for b in biases]
        self.X, self.Y = X, Y
        self.rng = np.random.default_rng(seed)

    def synchronize(self):
        pass

    def host_parameters(self):
        return [w.copy() for w in self.weights], [b.copy() for b in self.biases]


class PerExampleLoop(NumpyReference):
    """network.py: SGD whose mini-batch step is a Python loop over column vectors."""

    name = "per-example loop"

    def __init__(self, weights, biases, X, Y, *, seed=0):
        super().__init__(weights, biases, X, Y, seed=seed)
        self.biases = [b.reshape(-1, 1) for b in self.biases]  # the book's (n, 1) columns

    def epoch(self, batch, eta):
        n = self.X.shape[0]
        order = self.rng.permutation(n)
        for k in range(0, n, batch):
            rows = order[k:k + batch]
            self.update_mini_batch(self.X[rows], self.Y[rows], eta)

    def update_mini_batch(self, xs, ys, eta):
        nabla_w, nabla_b = self.summed(xs, ys)
        m = len(xs)
        self.weights = [w - (eta / m) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / m) * nb for b, nb in zip(self.biases, nabla_b)]

    def gradients(self, xs, ys):
        nabla_w, nabla_b = self.summed(xs, ys)
        m = len(xs)
        return [nw / m for nw in nabla_w], [(nb / m).ravel() for nb in nabla_b]

    def summed(self, xs, ys):
        nabla_w = [np.zeros(w.shape, w.dtype) for w in self.weights]
        nabla_b = [np.zeros(b.shape, b.dtype) for b in self.biases]
        for x, y in zip(xs, ys):
            delta_w, delta_b = self.backprop(x.reshape(-1, 1), y.reshape(-1, 1))
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_w)]
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_b)]
        return nabla_w, nabla_b

    def backprop(self, x, y):
        activation, activations, zs = x, [x], []
        for w, b in zip(self.weights, self.biases):
            z = w @ activation + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = (activations[-1] - y) * sigmoid_prime(zs[-1])  # BP1
        nabla_w, nabla_b = [None] * len(self.weights), [None] * len(self.weights)
        nabla_b[-1], nabla_w[-1] = delta, delta @ activations[-2].T  # BP3, BP4
        for l in range(2, len(self.weights) + 1):
            delta = (self.weights[-l + 1].T @ delta) * sigmoid_prime(zs[-l])  # BP2
            nabla_b[-l], nabla_w[-l] = delta, delta @ activations[-l - 1].T
        return nabla_w, nabla_b

    def host_parameters(self):
        return [w.copy() for w in self.weights], [b.ravel().copy() for b in self.biases]


class NumpyByHand(NumpyReference):
    """The matrix form in plain numpy: one product per layer for the whole mini-batch."""

    name = "numpy by hand"

    def epoch(self, batch, eta):
        n = self.X.shape[0]
        order = self.rng.permutation(n)
        X, Y = self.X[order], self.Y[order]
        for k in range(0, n, batch):
            self.update_mini_batch(X[k:k + batch], Y[k:k + batch], eta)

    def update_mini_batch(self, x, y, eta):
        nabla_w, nabla_b = self.summed(x, y)
        scale = eta / x.shape[0]
        for w, b, nw, nb in zip(self.weights, self.biases, nabla_w, nabla_b):
            w -= scale * nw
            b -= scale * nb

    def gradients(self, x, y):
        nabla_w, nabla_b = self.summed(x, y)
        m = x.shape[0]
        return [nw / m for nw in nabla_w], [nb / m for nb in nabla_b]

    def summed(self, x, y):
        a, acts = x, [x]
        for w, b in zip(self.weights, self.biases):
            a = sigmoid(a @ w.T + b)
            acts.append(a)
        delta = (a - y) * (a * (1 - a))  # BP1
        L = len(self.weights)
        nabla_w, nabla_b = [None] * L, [None] * L
        for i in range(L - 1, -1, -1):
            nabla_b[i], nabla_w[i] = delta.sum(axis=0), delta.T @ acts[i]  # BP3, BP4 (× m)
            if i:
                delta = (delta @ self.weights[i]) * (acts[i] * (1 - acts[i]))  # BP2
        return nabla_w, nabla_b
