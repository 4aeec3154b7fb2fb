"""cupy's fused kernels: each hot spot of the math in one ``cupy.ElementwiseKernel`` launch.

An eager cupy step of the book's network launches one kernel per array operation, about
thirty; cuBLAS calls cannot be captured in a CUDA graph from cupy (cupy/cupy#6290), so what
can be saved is the elementwise chains between the matrix products. Each function below
replaces the unfused reference of the same name (``xprop.backprop.UNFUSED``):

* It has exactly the reference's signature, ``xp=`` included (unused: the kernel is cupy's),
  and its effect: a new array, or the arrays the reference updates updated in place and
  returned as the reference returns them.
* It computes the reference's operations in the reference's order, and the kernels are
  compiled with ``--fmad=false`` so that no multiply-add is contracted into one rounding:
  the fused step rounds like the eager one (only ``exp`` may differ from numpy's by an ulp).
* A Python scalar passed for a ``T`` parameter is cast to the arrays' dtype first, as numpy
  and cupy cast a Python float that meets a float32 array; ``1 − decay`` is taken on the
  host in double precision, as the reference takes it.
* σ caps the exponent as the reference does, NaN included: ``t > 80 ? 80 : t`` keeps a NaN
  (CUDA's ``min``/``fminf`` would drop it and hide a diverged network).

The module imports cupy: ``CupyBackend._fused`` imports it only on a usable cupy backend.
The kernels compile on their first call on each device (cached by cupy on disk too).
"""

from __future__ import annotations

import cupy

_OPTIONS = ("--fmad=false",)


def _kernel(in_params, out_params, operation, name):
    return cupy.ElementwiseKernel(in_params, out_params, operation, name, options=_OPTIONS)


_SIGMOID = _kernel(
    "T z", "T a",
    "T t = -z; t = t > (T)80 ? (T)80 : t; a = (T)1 / ((T)1 + exp(t));",
    "xprop_sigmoid",
)
_SIGMOID_DELTA = _kernel(
    "T g, T a", "T d",
    "d = g * (a * ((T)1 - a));",
    "xprop_sigmoid_delta",
)
_QUADRATIC_SIGMOID_OUTPUT_ERROR = _kernel(
    "T a, T y, T scale", "T d",
    "d = scale * ((a - y) * (a * ((T)1 - a)));",
    "xprop_quadratic_sigmoid_output_error",
)
_SGD_UPDATE = _kernel(  # w is read and written: an output parameter, updated in place
    "T step, T decay", "T w",
    "w = decay * w - step;",
    "xprop_sgd_update",
)
_MOMENTUM_UPDATE = _kernel(  # w and v are read and written in place
    "T step, T mu, T shrink", "T w, T v",
    "T u = mu * v - step; if (shrink != (T)0) { u = u - shrink * w; } v = u; w = w + u;",
    "xprop_momentum_update",
)


def sigmoid(z, *, xp):
    """σ(z) = 1/(1 + e^min(−z, 80)): ``xprop.activations.sigmoid`` in one launch."""
    return _SIGMOID(z)


def sigmoid_delta(g, a, *, xp):
    """g ⊙ a(1 − a): ``xprop.activations.sigmoid_delta`` in one launch."""
    return _SIGMOID_DELTA(g, a)


def quadratic_sigmoid_output_error(a, y, scale, *, xp):
    """scale × (a − y) ⊙ a(1 − a): ``xprop.costs.quadratic_sigmoid_output_error`` in one launch."""
    return _QUADRATIC_SIGMOID_OUTPUT_ERROR(a, y, scale)


def sgd_update(w, step, decay, *, xp):
    """w → decay·w − step in place: ``xprop.backprop.sgd_update`` in one launch."""
    _SGD_UPDATE(step, decay, w)
    return w


def momentum_update(w, v, step, momentum, decay, *, xp):
    """v → μv − step − (1 − decay)w, w → w + v, both in place: ``xprop.backprop.momentum_update``
    in one launch."""
    _MOMENTUM_UPDATE(step, momentum, 1.0 - decay, w, v)
    return w, v


#: the kernel of each hot spot, by its name in ``HOT_SPOTS``
KERNELS = {
    "sigmoid": sigmoid,
    "sigmoid_delta": sigmoid_delta,
    "quadratic_sigmoid_output_error": quadratic_sigmoid_output_error,
    "sgd_update": sgd_update,
    "momentum_update": momentum_update,
}
