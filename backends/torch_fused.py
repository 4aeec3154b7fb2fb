"""torch's fused hot spots: a step's elementwise chains in fewer torch operations.

An eager torch step of the book's network is bound by torch's dispatch, a few µs per
operation (docs/performance-log.md), not by arithmetic: what can be saved is operations.
torch has single operations for two of the math's chains, and each function below
replaces the unfused reference of the same name (``xprop.backprop.UNFUSED``) with them:

* ``sigmoid``: ``torch.sigmoid``, one operation for the reference's five
  (1/(1 + e^min(−z, 80))). torch computes σ without overflow for any z, so it needs no cap;
  a NaN stays NaN. Where z < −80 it gives σ(z) itself (e.g. 3.7e-44 at −100, float32)
  where the reference's cap gives σ(−80) ≈ 1.8e-35: both are 0 to any tolerance.
* ``sigmoid_delta``: ``aten.sigmoid_backward(g, a)`` = g ⊙ a(1 − a), the operation torch's
  own autograd uses for σ', one for the reference's three.
* ``quadratic_sigmoid_output_error``: the same, on a − y, times η/m in place: three
  operations for five.

Each has exactly the reference's signature, ``xp=`` included (unused), and returns a new
tensor as the reference does. The updates (``sgd_update``, ``momentum_update``) are left to
the references: they are in-place torch operations already, one per arithmetic step, and
torch has no single operation for them. Rounding differs from the references' by a few
ulps (tests/test_fused.py holds each to 64 eps and whole epochs to the dtype's tolerance).
The same functions run inside ``torch.compile`` and CUDA graphs (backends/torch_compiled.py).

The module imports torch: ``TorchBackend._fused`` imports it only on a usable backend.
"""

from __future__ import annotations

import torch

_sigmoid_backward = torch.ops.aten.sigmoid_backward


def sigmoid(z, *, xp):
    return torch.sigmoid(z)


def sigmoid_delta(g, a, *, xp):
    return _sigmoid_backward(g, a)


def quadratic_sigmoid_output_error(a, y, scale, *, xp):
    return _sigmoid_backward(a - y, a).mul_(scale)


#: the hot spots torch computes in fewer operations, by name
KERNELS = {"sigmoid": sigmoid, "sigmoid_delta": sigmoid_delta,
           "quadratic_sigmoid_output_error": quadratic_sigmoid_output_error}
