"""The benchmark's fixed problems: sizes, seeded synthetic data, the book's start parameters.

Inputs are uniform on [0, 1) like pixel intensities (never zeros, which would let
sparse shortcuts or denormals distort a timing), labels uniform over the classes; both
are drawn from seeded numpy Generators, so every contender sees the same data, and the
initial parameters are the book's N(0, 1) draw (``xprop.initializers``), the same for all.
"""

from __future__ import annotations

import numpy

from xprop.initializers import initial_parameters

BOOK = (784, 30, 10)
WIDE = (784, 1024, 1024, 10)
ETA = 3.0  # the book's η for [784, 30, 10] with the quadratic cost


def data(n, sizes, dtype, seed=1):
    """Host arrays (X (n, n_in), Y one-hot (n, n_out)) of ``dtype``."""
    rng = numpy.random.default_rng(seed)
    X = rng.random((n, sizes[0])).astype(dtype)
    Y = numpy.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], n)]
    return X, Y


def parameters(sizes, dtype, seed=0):
    """The book's initial weights and biases, as host arrays of ``dtype``."""
    weights, biases = initial_parameters(list(sizes), "large", seed)
    return [w.astype(dtype) for w in weights], [b.astype(dtype) for b in biases]


def flops_per_example(sizes):
    """Flops of one example's forward + backward pass: 3 × the forward's products, 2 per MAC.

    Forward: Σ n_l n_{l−1} multiply-adds; backward: the same again for BP2 and for BP4
    (BP2 is skipped for the first layer; the count keeps it, as is customary: ≈ 3×).
    """
    return 3 * 2 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
