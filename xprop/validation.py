"""Checks on what users pass in, run before any work. Each error names the argument,
what was wrong and what is expected."""

from __future__ import annotations

import numbers

from .errors import BackendError, InputError

DTYPES = ("float32", "float64")


def check_sizes(sizes):
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise InputError(f"sizes must be a list of layer widths like [784, 30, 10], got {sizes!r}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise InputError(
            f"sizes needs at least two layers (input and output), got {sizes!r}; e.g. [784, 30, 10]"
        )
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n <= 0:
            raise InputError(f"sizes must be positive integers, got {n!r} in {sizes!r}")
    return [int(n) for n in sizes]


def check_dtype(dtype):
    name = getattr(dtype, "name", None) or str(dtype)
    name = name.rsplit(".", 1)[-1]
    if name not in DTYPES:
        raise InputError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    return name


def check_positive(name, value, kind=numbers.Real):
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
        what = "a positive integer" if kind is numbers.Integral else "a positive number"
        raise InputError(f"{name} must be {what}, got {value!r}")
    return value


def check_non_negative(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise InputError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def check_array(backend, dtype, array, name, *, ndim, width=None, floating=True):
    """Refuse ``array`` unless it belongs to the network's backend and device, has ``ndim``
    dimensions, ``width`` columns and (``floating``) the network's dtype.

    Nothing is ever copied silently: the message says how to move or convert it.
    """
    from .backends import backend_for

    if not backend.owns(array):
        try:
            owner = backend_for(array)
            found = f"an array of backend {owner.name!r} on device {owner.device}"
        except BackendError:
            found = f"a {type(array).__module__}.{type(array).__qualname__}"
        raise BackendError(
            f"{name} is {found}, but the network runs on backend {backend.name!r} "
            f"(device {backend.device}); move it explicitly with "
            f"net.backend.from_host(...) (or net.to({_backend_name(array)!r}) to move the "
            "network instead). xprop never copies between backends silently."
        )
    shape = tuple(array.shape)
    if len(shape) != ndim:
        raise InputError(f"{name} must have {ndim} dimension(s), got shape {shape}")
    if shape[0] == 0:
        raise InputError(f"{name} is empty (shape {shape}); pass at least one example")
    if width is not None and shape[-1] != width:
        raise InputError(f"{name} has {shape[-1]} columns but the network expects {width} (shape {shape})")
    if floating and _dtype_name(array) != dtype:
        raise InputError(
            f"{name} has dtype {_dtype_name(array)} but the network uses {dtype}; convert it "
            f"explicitly, e.g. xp.astype({name}, xp.{dtype}), or build the network with dtype="
            f"{_dtype_name(array)!r}"
        )


def _dtype_name(array):
    return str(array.dtype).rsplit(".", 1)[-1]


def _backend_name(array):
    from .backends import backend_for

    try:
        return backend_for(array).name
    except BackendError:
        return "numpy"
