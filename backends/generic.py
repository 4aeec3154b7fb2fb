"""``backend="module:NAME"``: a backend made from any importable Array API namespace.

Built on the standard alone, so that a library xprop has no adapter for can still be
tried: the module must have ``__array_namespace_info__`` (devices and dtypes come from
it), its arrays are recognized by ``__array_namespace__()`` returning the module, data
enters through ``asarray`` and leaves through DLPack (``numpy.from_dlpack``), or
``numpy.asarray`` for an array on a CPU device. An array on any other device is refused
with one line: the standard has no portable way to name "the host", and a device copy
is never made behind the user's back. It has no fused kernels and no compiled step.
"""

from __future__ import annotations

from functools import cached_property

from ..errors import BackendError
from .base import Backend

PREFIX = "module:"
_DLPACK_CPU = 1  # DLDeviceType kDLCPU, the first item of ``__dlpack_device__()``


class ModuleBackend(Backend):
    """One Array API namespace, by its module name, on one of its devices."""

    def __init__(self, module_name: str, device=None):
        super().__init__(device)
        self.library = module_name
        self.name = PREFIX + module_name
        self.install_hint = (f"install the distribution that provides it with pip, or name an "
                             f"importable module after {PREFIX!r}")

    @cached_property
    def namespace(self):
        return self.module

    @property
    def _info(self):
        return self.module.__array_namespace_info__()

    def _probe(self):
        if not hasattr(self.module, "__array_namespace_info__"):
            return (f"{self.library} is not an Array API namespace (it has no __array_namespace_info__); "
                    f"use a module that implements the standard, e.g. {PREFIX}array_api_strict")
        return None

    def _resolve_device(self, spec):
        if spec is None:
            return self._info.default_device()
        for device in self._info.devices():
            if device == spec or str(device) == str(spec):
                return device
        raise ValueError(f"{self.library} has no device {spec!r}; its devices: "
                         f"{', '.join(str(d) for d in self._info.devices())}")

    def _devices(self):
        return [str(d) for d in self._info.devices()]

    def _version(self):
        return str(getattr(self.module, "__version__", "unknown"))

    def from_host(self, array, dtype=None):
        import numpy

        xp = self.module
        dtypes = self._info.dtypes(device=self.device)
        wanted = dtypes[dtype] if isinstance(dtype, str) else dtype
        return xp.asarray(numpy.asarray(array), dtype=wanted, device=self.device, copy=True)

    def to_host(self, array):
        import numpy

        try:
            return numpy.from_dlpack(array, copy=True)
        except (BufferError, TypeError, AttributeError, ValueError, RuntimeError):
            pass
        kind = getattr(array, "__dlpack_device__", lambda: (None, None))()[0]
        if kind != _DLPACK_CPU:
            raise BackendError(
                f"an array of {self.library} on device {getattr(array, 'device', '?')} cannot be copied "
                f"to the host through the standard (DLPack refused it and it is not on a CPU device); "
                f"move it to a CPU device with {self.library}.asarray(x, device=..., copy=True) first"
            )
        return numpy.array(numpy.asarray(array), copy=True)

    def is_array(self, array):
        namespace = getattr(array, "__array_namespace__", None)
        try:
            return namespace is not None and namespace() is self.module
        except Exception:  # noqa: BLE001 - an object that cannot say its namespace is not ours
            return False
