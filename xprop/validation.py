"""Checks on what users pass in, run before any work. Each error names the argument,
what was wrong and what is expected.

The structural checks (types, shapes, dtypes, backend and device) read only metadata
and cost nothing on a device. The checks of values (NaN/Inf, labels out of range) need
the data itself: ``check_values`` does them all with one device reduction and one
device -> host copy, once per ``fit`` or ``evaluate`` call, never per mini-batch.
"""

from __future__ import annotations

import difflib
import math
import numbers

from .errors import BackendError, InputError, Setting

DTYPES = ("float32", "float64")

#: seeds are 0 <= seed < 2**63: what an int64 holds, so that every file (a version-1 model
#: stores it as an int64 array), array library (torch's manual_seed) and MPI message can
#: carry it; numpy's default_rng would take larger ones, which no other reader could.
SEED_LIMIT = 2**63
#: the most bytes one array may span: numpy (and every library here) indexes with int64
ARRAY_BYTES_LIMIT = 2**63 - 1


# -- scalars and names ---------------------------------------------------------------------
def check_sizes(sizes):
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise InputError(f"sizes must be a list of layer widths like [784, 30, 10], got {sizes!r}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise InputError(Setting("sizes", sizes), " needs at least two layers (input and output); e.g. ",
                         Setting("sizes", [784, 30, 10]), argument="sizes")
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n <= 0:
            raise InputError(Setting("sizes"), f" must be positive integers, got {n!r} in {sizes!r}", argument="sizes")
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        if int(n_in) * int(n_out) * 8 > ARRAY_BYTES_LIMIT:  # float64: the widest dtype
            raise InputError(Setting("sizes", sizes), f": a layer of {n_in} x {n_out} weights is larger than "
                             "any array can be (2**63 bytes); use layer widths that fit in memory",
                             argument="sizes")
    return [int(n) for n in sizes]


def check_dtype(dtype):
    """The name ("float32" or "float64") of ``dtype``: a name, a numpy dtype or scalar type
    (``np.float32``, ``np.dtype("float64")``), or another library's (``torch.float32``).

    Strings must be the names: numpy's codes ("f4", "d") and Python's ``float`` are
    refused, so that files, messages and configs spell a dtype one way.
    """
    if isinstance(dtype, str):
        name = dtype.rsplit(".", 1)[-1]  # "float32", or "torch.float32" as a library prints it
    elif isinstance(dtype, type):  # numpy's (and jax's) scalar types: np.float32
        name = _scalar_type_name(dtype)
    else:
        name = getattr(dtype, "name", None) or str(dtype).rsplit(".", 1)[-1]
    if name not in DTYPES:
        raise InputError(f"dtype must be {' or '.join(DTYPES)} (a name, or a dtype such as np.float32), "
                         f"got {dtype!r}{_numpy_code_hint(dtype)}", argument="dtype")
    return name


def _numpy_code_hint(dtype):
    """"; write 'float32'" for a numpy code of an accepted dtype ("f4", "<f8", "single")."""
    import numpy

    try:
        name = numpy.dtype(dtype).name if isinstance(dtype, str) else ""
    except TypeError:
        return ""
    return f"; write {name!r}" if name in DTYPES else ""


def _scalar_type_name(scalar_type):
    """numpy's name for a scalar type (np.float32, jnp.float32), or "" for other types."""
    import numpy

    inner = getattr(scalar_type, "dtype", None)  # jax's scalar types carry their numpy dtype
    if isinstance(inner, numpy.dtype):
        return inner.name
    return numpy.dtype(scalar_type).name if issubclass(scalar_type, numpy.generic) else ""


def check_positive(name, value, kind=numbers.Real):
    """A finite number > 0 (an integer with ``kind=numbers.Integral``); bools are refused.

    Returned as a Python int or float (numpy scalars too), so that it can be saved as JSON.
    """
    integral = kind is numbers.Integral
    if (isinstance(value, bool) or not isinstance(value, kind) or not value > 0
            or not math.isfinite(value)):
        what = "a positive integer" if integral else "a finite number > 0"
        raise InputError(Setting(name), f" must be {what}, got {value!r}", argument=name)
    return int(value) if integral else float(value)


def check_non_negative(name, value):
    """A finite number >= 0, returned as a float."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0
            or not math.isfinite(value)):
        raise InputError(Setting(name), f" must be a finite number >= 0, got {value!r}", argument=name)
    return float(value)


def check_seed(name, seed):
    """A seed for numpy's Generator: an integer in 0 <= seed < 2**63 (``SEED_LIMIT``)."""
    if (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
            or seed >= SEED_LIMIT):
        raise InputError(Setting(name), f" must be a non-negative integer below 2**63 ({SEED_LIMIT}), "
                         f"got {seed!r}", argument=name)
    return int(seed)


def check_count(name, value, *, most=None):
    """An integer >= 0 (not a bool, not a string of digits), at most ``most`` if given."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise InputError(Setting(name), f" must be an integer >= 0, got {value!r}", argument=name)
    if most is not None and value > most:
        raise InputError(Setting(name), f" is {value}, more than {most}", argument=name)
    return int(value)


def check_flag(name, value):
    """A bool (True or False; not 0, 1 or "true")."""
    if not isinstance(value, bool):
        raise InputError(f"{name} must be true or false, got {value!r}", argument=name)
    return value


def check_optional_number(name, value):
    """None or a real number (not a bool), returned as a float."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a number or null, got {value!r}", argument=name)
    return float(value)


def check_choice(name, value, choices):
    """``value`` must be one of ``choices`` (names); the message lists them."""
    if not isinstance(value, str) or value not in choices:
        raise InputError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}", argument=name)
    return value


def check_options(call, options, allowed):
    """Refuse keyword options ``call`` does not know, suggesting the closest known one."""
    for key in options:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InputError(f"unknown option {key!r} for {call}; {hint}known options: "
                             f"{', '.join(sorted(allowed))}")


# -- backends and devices ------------------------------------------------------------------
def check_backend(name, device=None):
    """The backend ``name`` on ``device``, refusing an unknown name, a device the backend
    does not have, and a backend that cannot run here, each with its own message.

    ``name`` may also be a backend object (``net.backend``, ``backend_for(X)``), which
    carries its own device."""
    from .backends import Backend, get_backend

    if isinstance(name, Backend):
        if device is not None:
            raise InputError(Setting("device", device), f" goes with a backend name; the backend {name.name!r} "
                             "given has its own device: pass its name, or leave device out", argument="device")
        return name.ensure_available()

    backend = get_backend(name, device, check=False)  # an unknown name raises BackendError
    if device is not None and backend.version() is not None:
        try:
            backend.device
        except Exception as exc:  # noqa: BLE001 - each library words a bad device its own way
            raise InputError(
                f"device {device!r} is not a device of backend {backend.name!r} ({exc}); "
                f"devices here: {', '.join(_devices(backend.name)) or 'none'}", argument="device"
            ) from None
    backend.ensure_available()
    if device is not None:
        # A name the library parses may still be no device xprop can compute on here: torch's
        # "meta" (no data), "mps" without Apple's GPU, or "cpu:0", which torch's arrays never
        # report (they say "cpu"), so that they would all look foreign to the network.
        here = _devices(backend.name)
        if str(backend.device) not in here:
            close = difflib.get_close_matches(str(device), here, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InputError(f"device {device!r} is not a device backend {backend.name!r} can compute "
                             f"on here; {hint}devices here: {', '.join(here) or 'none'}", argument="device")
    return backend


def _devices(name):
    from .backends import get_backend

    try:
        return get_backend(name, check=False).devices()
    except Exception:  # noqa: BLE001 - only for the message
        return []


# -- arrays ----------------------------------------------------------------------------------
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
        raise InputError(_dtype_message(name, _dtype_name(array), dtype))


def _dtype_message(name, found, dtype):
    if found == "bool" or found.startswith(("int", "uint")):
        kind = "booleans" if found == "bool" else "integers"
        return (f"{name} holds {kind} (dtype {found}) but xprop computes in floating point "
                f"({dtype}); convert it explicitly, e.g. {name} = xp.astype({name}, xp.{dtype})"
                " (for pixel values, divide by 255 after converting)")
    return (f"{name} has dtype {found} but the network uses {dtype}; convert it "
            f"explicitly, e.g. xp.astype({name}, xp.{dtype}), or build the network with "
            f"dtype={found!r}")


def check_values(backend, n_classes, datasets):
    """Refuse NaN/Inf in inputs and float targets, and class labels outside [0, n_classes).

    ``datasets`` holds tuples (x_name, X, y_name, labels or None, targets), as
    ``Network.labels_and_targets`` returns them. All the tests are stacked into one
    boolean vector and copied to the host once: a single device synchronization however
    many arrays are checked. Only when something is wrong are more values read back, to
    say what.
    """
    xp = backend.namespace
    finite, ranges = [], []
    for x_name, X, y_name, labels, targets in datasets:
        finite.append((x_name, X))
        if labels is None:
            finite.append((y_name, targets))
        else:
            ranges.append((y_name, labels))
    flags = [xp.all(xp.isfinite(a)) for _, a in finite]
    flags += [xp.all((y >= 0) & (y < n_classes)) for _, y in ranges]
    if not flags:
        return
    ok = backend.to_host(xp.stack(flags))
    for (name, a), good in zip(finite, ok):
        if not good:
            bad = int((~backend.to_host(xp.isfinite(a))).sum())
            raise InputError(f"{name} contains {bad} NaN or Inf value(s); clean the data "
                             "(drop or impute those entries) before training or evaluating")
    for (name, y), good in zip(ranges, ok[len(finite):]):
        if not good:
            low, high = (int(backend.to_host(f(y))) for f in (xp.min, xp.max))
            raise InputError(
                f"{name} holds class labels from {low} to {high}, but the network has "
                f"{n_classes} outputs, so labels must lie in 0..{n_classes - 1}")


def check_host_parameters(name, arrays, ndim, dtype=None):
    """Host (numpy) float parameter arrays (``Network.from_parameters``, a model file, a
    trainer's state): a list of ``ndim``-dimensional floating arrays without NaN or Inf,
    and, with ``dtype``, whose values that dtype can hold (float64 weights of 1e300 would
    become Inf in float32)."""
    import numpy

    if isinstance(arrays, (str, bytes, numpy.ndarray)) or not isinstance(arrays, (list, tuple)):
        raise InputError(f"{name} must be a list with one array per layer, got {type(arrays).__name__}",
                         argument=name)
    checked = []
    for i, array in enumerate(arrays):
        label = f"{name}[{i}]"
        if not isinstance(array, (numpy.ndarray, list, tuple)):
            raise BackendError(
                f"{label} is a {type(array).__module__}.{type(array).__qualname__}; "
                "from_parameters takes host (numpy) arrays: copy it with the backend's "
                "to_host(...) (or use net.to(...) to move a whole network)")
        try:
            array = numpy.asarray(array)
        except ValueError as exc:
            raise InputError(f"{label} is not a rectangular array: {exc}", argument=label) from None
        if array.dtype.kind != "f":
            raise InputError(f"{label} has dtype {array.dtype}; parameters must be floating "
                             f"point: convert with {label}.astype('float32')", argument=label)
        if array.ndim != ndim:
            raise InputError(f"{label} must have {ndim} dimension(s), got shape {array.shape}", argument=label)
        if not numpy.isfinite(array).all():
            raise InputError(f"{label} contains NaN or Inf; parameters must be finite", argument=label)
        checked.append(array)
    if dtype is not None:
        check_fits_dtype(name, checked, dtype)
    return checked


def check_fits_dtype(name, arrays, dtype):
    """Refuse finite host arrays holding values that ``dtype`` cannot hold (float64
    weights of 1e300 would become Inf in float32)."""
    import numpy

    largest = float(numpy.finfo(check_dtype(dtype)).max)
    for i, array in enumerate(arrays):
        top = float(numpy.abs(array).max()) if array.size else 0.0
        if top > largest:
            raise InputError(f"{name}[{i}] holds values up to {top:.3g}, beyond {dtype}'s range "
                             f"(+-{largest:.3g}): they would become Inf; keep ", Setting("dtype", "float64"),
                             argument=f"{name}[{i}]")


def check_monitor(monitor, metrics):
    if isinstance(monitor, str) or not hasattr(monitor, "__iter__"):
        raise InputError(f"monitor must be a list of metric names ({', '.join(metrics)}), got {monitor!r}",
                         argument="monitor")
    unknown = [m for m in monitor if m not in metrics]
    if unknown:
        raise InputError(f"unknown metrics {unknown}; choose from {', '.join(metrics)}", argument="monitor")
    return tuple(monitor)


def _dtype_name(array):
    return str(array.dtype).rsplit(".", 1)[-1]


def _backend_name(array):
    from .backends import backend_for

    try:
        return backend_for(array).name
    except BackendError:
        return "numpy"
