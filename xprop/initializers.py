"""Initial weights and biases, drawn on the host from an explicitly seeded Generator.

Drawing on the host (numpy's PCG64) and copying to the backend afterwards means one seed
gives the same network on every backend and device, as thinc does. This module touches
numpy only for that draw; no math of the network lives here.
"""

from __future__ import annotations

import numpy

from .errors import InputError


def large(rng, n_out, n_in):
    """The book's ch. 1/2 choice: w, b ~ N(0, 1) (``network.py``)."""
    return rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)


def scaled(rng, n_out, n_in):
    """``network2.py``'s default: w ~ N(0, 1/n_in), b ~ N(0, 1) (ch. 3, "weight initialization")."""
    return rng.standard_normal((n_out, n_in)) / numpy.sqrt(n_in), rng.standard_normal(n_out)


INITIALIZERS = {"large": large, "scaled": scaled}


def initial_parameters(sizes, init="large", seed=0):
    """Host (numpy float64) weights and biases for ``sizes``, from ``seed``.

    Layer by layer, the weights are drawn before the biases.
    """
    if init not in INITIALIZERS:
        raise InputError(f"unknown init {init!r}; choose one of {', '.join(INITIALIZERS)}")
    rng = numpy.random.default_rng(seed)
    draw = INITIALIZERS[init]
    pairs = [draw(rng, n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return [w for w, _ in pairs], [b for _, b in pairs]
