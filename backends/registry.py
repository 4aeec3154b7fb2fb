"""Find a backend by name, or by the type of an array (cached).

A name is a built-in adapter's, a plugin's (the entry-point group ``xprop.backends``,
``plugins.py``; a built-in name always wins), or ``module:NAME`` for any Array API
namespace (``generic.py``).
"""

from __future__ import annotations

from ..errors import BackendError
from . import plugins
from .cupy_backend import CupyBackend
from .generic import PREFIX, ModuleBackend
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
    key = _ALIASES.get(name, name) if isinstance(name, str) else name
    cache_key = (key, None if device is None else str(device))
    backend = _by_name.get(cache_key)
    if backend is None:
        backend = _by_name[cache_key] = _make(key, device)
    return backend.ensure_available() if check else backend


def _make(key, device):
    """A new backend object for the name ``key``, or BackendError naming the choices."""
    if key in _CLASSES:
        return _CLASSES[key](device)
    if isinstance(key, str) and key.startswith(PREFIX) and key[len(PREFIX):]:
        return ModuleBackend(key[len(PREFIX):], device)
    found = plugins.plugin(key, BACKEND_NAMES) if isinstance(key, str) else None
    if found is not None and found.backend_class is not None:
        return found.backend_class(device)
    if found is not None:
        raise BackendError(f"backend plugin {key!r} ({found.origin}) cannot be used: {found.reason}")
    raise BackendError(
        f"unknown backend {key!r}; choose one of {', '.join(BACKEND_NAMES + tuple(plugins.names()))}, "
        f"or {PREFIX}NAME for any Array API module"
    )


def backend_for(array):
    """The backend that owns ``array``: found by its type and device, cached.

    Raises BackendError for an object no backend knows (a list, a scalar, an
    unsupported array library).
    """
    from array_api_compat import device as device_of

    kind = type(array)
    name = _by_type.get(kind)
    if name is None:
        for candidate in _known_names():
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


def _known_names() -> list:
    """Built-ins first, then the plugins and ``module:`` backends already made: an array
    of a library no backend has been asked for cannot belong to a network."""
    made = [key for key, _ in _by_name if key not in _CLASSES]
    made += [p.name for p in plugins.loaded() if p.backend_class is not None]
    return list(BACKEND_NAMES) + list(dict.fromkeys(made))


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
    version, devices; the built-ins first, then a plugin's row with its ``origin`` (which
    entry point of which distribution). Every declared plugin is imported here; one that
    cannot be used is a row with its reason. Never raises for a library or plugin that is
    missing or broken."""
    rows = [get_backend(name, check=False).describe() for name in BACKEND_NAMES]
    for found in plugins.all_plugins(BACKEND_NAMES):
        if found.backend_class is None:
            row = {"backend": found.name, "usable": False, "reason": found.reason, "version": None, "devices": []}
        else:
            row = _describe_plugin(found)
        rows.append(dict(row, origin=found.origin))
    return rows


def _describe_plugin(found) -> dict:
    """A loaded plugin's row; a plugin whose own hooks raise is described by the error."""
    try:
        return get_backend(found.name, check=False).describe()
    except Exception as exc:  # noqa: BLE001 - third-party code: its failure is the reason
        return {"backend": found.name, "usable": False, "version": None, "devices": [],
                "reason": f"the plugin failed: {type(exc).__name__}: {exc}".splitlines()[0]}


def reload_plugins() -> None:
    """Forget the plugins read so far (and the backends made from them): the entry points
    are read again on the next lookup, e.g. after a distribution was installed in this process."""
    plugins.forget()
    for key in [key for key in _by_name if key[0] not in _CLASSES]:
        del _by_name[key]
    _by_type.clear()
