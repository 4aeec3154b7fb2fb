"""torch's own namespace for the math: ``torch`` itself, where torch and the standard differ
a few functions of the standard's own.

Through array-api-compat's ``array_api_compat.torch`` every call goes through a Python
wrapper that checks its arguments and promotes types (``minimum(-z, 80.0)`` asks
``torch.result_type``): that halves torch's eager speed on the book's network at mini-batch
10, and ``torch.compile`` breaks its graph there (docs/performance-log.md, "torch: its own
namespace and compiled steps"). Here every name is torch's own (``exp``, ``tanh``,
``ones(n, dtype=, device=)``, ``arange``, ``zeros_like``, ``asarray(copy=True)``,
``isfinite``; torch takes the standard's ``axis=``/``keepdims=`` for ``dim=``/``keepdim=``,
so ``sum``, ``argmax``, ``all``, ``stack``, ``concat`` agree as they are), except the
functions below, each a line or two of torch:

- ``minimum``, ``maximum``, ``logaddexp``: the standard takes a Python scalar for either
  argument (the sigmoid's cap, ReLU, the cross-entropy's softplus); torch wants tensors.
- ``max``, ``min``: torch's return (values, indices) when given an axis: ``amax``/``amin``.
- ``take(x, indices, axis=)``: torch's ``take`` flattens ``x``; this is ``index_select``.
- ``astype``, ``isdtype``, ``finfo`` of an array, ``__array_namespace_info__``: torch has
  no such function, or no such argument (the last two are array-api-compat's, called once
  per public call, never per mini-batch).

Every override is a plain function that ``torch.compile`` traces without a graph break.
The parity suite runs the math on this namespace against numpy in float64, and
``tests/test_math_is_standard_only.py`` with array-api-strict keeps the math standard, so a
call missing here fails a test rather than passing through torch unchecked.
"""

from __future__ import annotations

import types

import torch
from array_api_compat.torch import __array_namespace_info__, isdtype

_SCALARS = (bool, int, float)


def minimum(x1, x2, /):
    if isinstance(x2, _SCALARS):
        return torch.clamp(x1, max=x2)
    if isinstance(x1, _SCALARS):
        return torch.clamp(x2, max=x1)
    return torch.minimum(x1, x2)


def maximum(x1, x2, /):
    if isinstance(x2, _SCALARS):
        return torch.clamp(x1, min=x2)
    if isinstance(x1, _SCALARS):
        return torch.clamp(x2, min=x1)
    return torch.maximum(x1, x2)


def logaddexp(x1, x2, /):
    if isinstance(x1, _SCALARS):
        x1 = torch.full((), x1, dtype=x2.dtype, device=x2.device)
    elif isinstance(x2, _SCALARS):
        x2 = torch.full((), x2, dtype=x1.dtype, device=x1.device)
    return torch.logaddexp(x1, x2)


def max(x, /, *, axis=None, keepdims=False):  # noqa: A001 - the standard's name
    return torch.amax(x, dim=() if axis is None else axis, keepdim=keepdims)


def min(x, /, *, axis=None, keepdims=False):  # noqa: A001 - the standard's name
    return torch.amin(x, dim=() if axis is None else axis, keepdim=keepdims)


def take(x, indices, /, *, axis=None):
    if axis is None:
        if x.ndim != 1:
            raise ValueError("take needs axis= for an array of more than one dimension")
        axis = 0
    return torch.index_select(x, axis, indices)


def astype(x, dtype, /, *, copy=True, device=None):
    return x.to(dtype=dtype, device=device, copy=copy)


def finfo(type, /):  # noqa: A002 - the standard's name
    return torch.finfo(type.dtype if isinstance(type, torch.Tensor) else type)


OVERRIDES = {f.__name__: f for f in (minimum, maximum, logaddexp, max, min, take, astype, finfo, isdtype)}


def namespace() -> types.ModuleType:
    """A module holding torch's public names, with the overrides above in their place.

    A copy of torch's names, not a wrapper object: ``xp.exp`` is one dictionary lookup
    and ``torch.exp`` itself. Names torch loads lazily are looked up on torch.
    """
    xp = types.ModuleType("xprop.backends.torch_namespace.xp", __doc__)
    xp.__dict__.update((k, v) for k, v in vars(torch).items() if not k.startswith("__"))
    xp.__dict__.update(OVERRIDES)
    xp.__array_namespace_info__ = __array_namespace_info__
    xp.__array_api_version__ = "2024.12"  # the version whose Python scalars these overrides take
    xp.__getattr__ = lambda name: getattr(torch, name)  # PEP 562: torch's lazily loaded names
    return xp
