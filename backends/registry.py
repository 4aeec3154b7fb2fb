"""Find a backend by name, or by the type of an array (cached)."""

from __future__ import annotations

from ..errors import BackendError
from .cupy_backend import CupyBackend
from .jax_backend import JaxBackend
from .numpy_backend import NumpyBackend
from .strict_backend import StrictBackend
from .torch_backend import TorchBackend

_CLASSES = {cls.name: cls for cls in (NumpyBackend, CupyBackend, StrictBackend, TorchBackend, JaxBackend)}
BACKEND_NAMES = tuple(_CLASSES)
_ALIASES = {"strict": "array_api_strict", "array-api-strict": "array_api_strict", "np": "numpy"}

_by_name: dict = {}
_by_type: dict = {}


def get_backend(name: str = "numpy", device=None, *, check: bool = True):
    """The backend called ``name`` on ``device`` (its default device if None).

    With ``check`` (the default) a backend that cannot run here raises
    BackendUnavailableError at once, naming the reason.
    """
    key = _ALIASES.get(name, name)
    if key not in _CLASSES:
        raise BackendError(
            f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}"
        )
    cache_key = (key, None if device is None else str(device))
    backend = _by_name.get(cache_key)
    if backend is None:
        backend = _by_name[cache_key] = _CLASSES[key](device)
    return backend.ensure_available() if check else backend


def backend_for(array):
    """The backend that owns ``array``: found by its type and device, cached.

    Raises BackendError for an object no backend knows (a list, a scalar, an
    unsupported array library).
    """
    from array_api_compat import device as device_of

    kind = type(array)
    name = _by_type.get(kind)
    if name is None:
        for candidate in BACKEND_NAMES:
            backend = get_backend(candidate, check=False)
            if _imported(backend) and backend.is_array(array):
                name = _by_type[kind] = candidate
                break
        else:
            raise BackendError(
                f"expected an array of one of the backends {', '.join(BACKEND_NAMES)}, "
                f"got {kind.__module__}.{kind.__qualname__}; convert it with numpy.asarray(...) "
                "or the backend's from_host(...)"
            )
    return get_backend(name, _device_key(name, device_of(array)), check=False)


def _device_key(name, device):
    """How a device object is spelled as a ``get_backend`` argument."""
    if name == "cupy":
        return f"cuda:{device.id}"
    if name == "jax":
        return f"{device.platform}:{device.id}"
    return device


def _imported(backend) -> bool:
    """Whether the library is already imported: an array of it cannot exist otherwise.

    (``sys.modules`` may hold None for a library whose import is blocked.)
    """
    import sys

    return sys.modules.get(backend.library) is not None


def describe_backends() -> list[dict]:
    """One row per backend for ``xprop info`` (``Backend.describe``): usable or why not,
    version, devices. Never raises for a library that is missing or broken."""
    return [get_backend(name, check=False).describe() for name in BACKEND_NAMES]
