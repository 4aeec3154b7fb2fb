"""Two PyTorch references on the CPU, with the same thread count as numpy's BLAS.

``TorchByHand`` is ``NumpyByHand`` line for line in torch (no autograd). ``TorchAutograd``
is what a PyTorch user writes: ``nn.Sequential`` of ``nn.Linear`` and ``nn.Sigmoid``, the
quadratic cost C = (1/2m) Σ_x ‖a − y‖² as the loss, ``loss.backward()`` and
``torch.optim.SGD``. ``nn.Linear`` stores its weight as (out, in): the book's w[j, k].
Both start from the same parameters and data as every contender and shuffle with the same
seeded numpy Generator, so one epoch's updates agree with xprop's to rounding.
"""

from __future__ import annotations

import numpy as np


def _torch(threads):
    import torch

    if threads:
        torch.set_num_threads(threads)
    return torch


class TorchReference:
    library = "torch"

    def __init__(self, weights, biases, X, Y, *, seed=0, threads=None):
        torch = self.torch = _torch(threads)
        self.X, self.Y = torch.from_numpy(X), torch.from_numpy(Y)
        self.weights = [torch.from_numpy(w.copy()) for w in weights]
        self.biases = [torch.from_numpy(b.copy()) for b in biases]
        self.rng = np.random.default_rng(seed)

    def synchronize(self):
        pass  # CPU tensors: every call has finished when it returns

    def host_parameters(self):
        return ([w.detach().numpy().copy() for w in self.weights],
                [b.detach().numpy().copy() for b in self.biases])

    def epoch(self, batch, eta):
        n = self.X.shape[0]
        order = self.torch.from_numpy(self.rng.permutation(n))
        X, Y = self.X[order], self.Y[order]
        for k in range(0, n, batch):
            self.update_mini_batch(X[k:k + batch], Y[k:k + batch], eta)


def sigmoid(torch, z):
    return 1.0 / (1.0 + torch.exp(torch.clamp(-z, max=80.0)))


class TorchByHand(TorchReference):
    name = "torch by hand"

    def update_mini_batch(self, x, y, eta):
        with self.torch.no_grad():
            nabla_w, nabla_b = self.summed(x, y)
            scale = eta / x.shape[0]
            for w, b, nw, nb in zip(self.weights, self.biases, nabla_w, nabla_b):
                w -= scale * nw
                b -= scale * nb

    def gradients(self, x, y):
        with self.torch.no_grad():
            nabla_w, nabla_b = self.summed(x, y)
            m = x.shape[0]
            return [nw / m for nw in nabla_w], [nb / m for nb in nabla_b]

    def summed(self, x, y):
        torch = self.torch
        a, acts = x, [x]
        for w, b in zip(self.weights, self.biases):
            a = sigmoid(torch, a @ w.T + b)
            acts.append(a)
        delta = (a - y) * (a * (1 - a))  # BP1
        L = len(self.weights)
        nabla_w, nabla_b = [None] * L, [None] * L
        for i in range(L - 1, -1, -1):
            nabla_b[i], nabla_w[i] = delta.sum(dim=0), delta.T @ acts[i]  # BP3, BP4 (× m)
            if i:
                delta = (delta @ self.weights[i]) * (acts[i] * (1 - acts[i]))  # BP2
        return nabla_w, nabla_b


class TorchAutograd(TorchReference):
    name = "torch autograd"

    def __init__(self, weights, biases, X, Y, *, seed=0, threads=None):
        super().__init__(weights, biases, X, Y, seed=seed, threads=threads)
        torch, nn = self.torch, self.torch.nn
        layers = []
        for w, b in zip(self.weights, self.biases):
            linear = nn.Linear(w.shape[1], w.shape[0], dtype=w.dtype)
            with torch.no_grad():
                linear.weight.copy_(w)
                linear.bias.copy_(b)
            layers += [linear, nn.Sigmoid()]
        self.model = nn.Sequential(*layers)
        self.weights = [layer.weight for layer in self.model[::2]]
        self.biases = [layer.bias for layer in self.model[::2]]
        self.optimizer = None

    def loss(self, x, y):
        return 0.5 * ((self.model(x) - y) ** 2).sum() / x.shape[0]  # C, the mean quadratic cost

    def update_mini_batch(self, x, y, eta):
        if self.optimizer is None or self.optimizer.param_groups[0]["lr"] != eta:
            self.optimizer = self.torch.optim.SGD(self.model.parameters(), lr=eta)
        self.optimizer.zero_grad()
        self.loss(x, y).backward()
        self.optimizer.step()

    def gradients(self, x, y):
        self.model.zero_grad()
        self.loss(x, y).backward()
        return [w.grad for w in self.weights], [b.grad for b in self.biases]
