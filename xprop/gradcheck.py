"""Checking backpropagation against finite differences, on any backend.

For a random sample of entries of every weight matrix and bias vector, the gradient
from BP1-BP4 (``Network.gradients``) is compared with the central difference

    ∂C/∂p ≈ (C(p + h) − C(p − h)) / 2h

of the mean cost C over a batch. The cost is evaluated on the network's own backend and
device; only the perturbed array is copied there for each evaluation, and the two costs
come back as one small copy.

Per array the relative error is ‖g − g_fd‖ / (‖g‖ + ‖g_fd‖) over the sampled entries.
A difference quotient cannot resolve derivatives smaller than about eps·|C|/h (the
rounding of C divided by the step): arrays whose sampled gradients are all below 100
times that resolution (a saturated sigmoid layer, for instance) are reported as too
small to check instead of being given a meaningless error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy

from . import backprop


@dataclass(frozen=True)
class ArrayCheck:
    """The comparison for one weight matrix or bias vector (``name`` like "w0" or "b1")."""

    name: str
    relative_error: float
    largest_gradient: float  # max |∂C/∂p| over the sampled entries
    resolution: float        # the smallest derivative the difference quotient resolves
    entries: int

    @property
    def conclusive(self):
        return self.largest_gradient >= 100 * self.resolution


@dataclass(frozen=True)
class GradientCheck:
    arrays: list

    @property
    def max_relative_error(self):
        """The largest relative error over the arrays that could be checked (nan if none)."""
        errors = [a.relative_error for a in self.arrays if a.conclusive]
        return max(errors) if errors else math.nan

    @property
    def worst(self):
        checked = [a for a in self.arrays if a.conclusive]
        return max(checked, key=lambda a: a.relative_error).name if checked else None


def check_gradients(network, X, Y, *, samples=20, seed=0, step=None) -> GradientCheck:
    """Compare backprop with finite differences on ``samples`` random entries of every array.

    ``X`` (m, n_in) and ``Y`` (targets (m, n_out) or labels (m,)) live on the network's
    backend. ``step`` is h, by default eps^(1/3) of the dtype, times max(1, |p|).
    """
    backend, xp = network.backend, network.xp
    grad_w, grad_b = network.gradients(X, Y)
    targets = _one_hot(Y, network) if Y.ndim == 1 else Y
    host_w, host_b = network.parameters_to_host()
    rng = numpy.random.default_rng(seed)
    eps = float(numpy.finfo(network.dtype).eps)
    base_step = step if step is not None else eps ** (1 / 3)

    def costs(kind, i, moved):
        """C with array ``kind``/``i`` replaced by each host array in ``moved``, in one copy back."""
        values = []
        for host in moved:
            layers = {"w": list(network.weights), "b": list(network.biases)}
            layers[kind][i] = backend.from_host(host, network.dtype)
            zs, acts = backprop.forward_pass(layers["w"], layers["b"], network.activations, X, xp=xp)
            values.append(network.cost.value(zs[-1], acts[-1], targets, xp=xp) / X.shape[0])
        return backend.to_host(xp.stack(values)).astype(float)

    results = []
    for kind, params, grads in (("w", host_w, grad_w), ("b", host_b, grad_b)):
        for i, param in enumerate(params):
            analytic_all = backend.to_host(grads[i])
            picks = rng.choice(param.size, size=min(samples, param.size), replace=False)
            analytic, numeric, resolution = [], [], 0.0
            for position in zip(*numpy.unravel_index(picks, param.shape)):
                h = base_step * max(1.0, abs(float(param[position])))
                plus, minus = param.copy(), param.copy()
                plus[position] += h
                minus[position] -= h
                c_plus, c_minus = costs(kind, i, (plus, minus))
                analytic.append(float(analytic_all[position]))
                numeric.append((c_plus - c_minus) / (2 * h))
                resolution = max(resolution, eps * max(abs(c_plus), abs(c_minus)) / h)
            results.append(_compare(f"{kind}{i}", numpy.array(analytic), numpy.array(numeric), resolution))
    order = {f"{k}{i}": (i, k == "b") for k, ps in (("w", host_w), ("b", host_b)) for i in range(len(ps))}
    return GradientCheck(sorted(results, key=lambda r: order[r.name]))


def _one_hot(labels, network):
    """Targets (m, n_out) from integer labels (m,), made on the labels' device."""
    xp = network.xp
    classes = xp.arange(network.sizes[-1], dtype=labels.dtype, device=network.backend.device)
    return xp.astype(labels[:, None] == classes, getattr(xp, network.dtype))


def _compare(name, analytic, numeric, resolution):
    norm = numpy.linalg.norm(analytic) + numpy.linalg.norm(numeric)
    error = float(numpy.linalg.norm(analytic - numeric) / norm) if norm > 0 else 0.0
    return ArrayCheck(name, error, float(numpy.abs(analytic).max()), resolution, analytic.size)
