"""array-api-strict: the standard and nothing else, with fake devices.

Used by the tests to prove device discipline on a CPU: arrays on ``device1`` cannot be
mixed with arrays on the default device nor turned into numpy implicitly, which is what
cupy demands of real GPU arrays. The ``no_float64`` device has no float64 at all.
"""

from __future__ import annotations

from functools import cached_property

from .base import Backend


class StrictBackend(Backend):
    name = "array_api_strict"
    library = "array_api_strict"
    install_hint = "install it with pip install array-api-strict"

    @cached_property
    def namespace(self):
        return self.module

    def _resolve_device(self, spec):
        if spec is None:
            return self.module.Device()
        if isinstance(spec, self.module.Device):
            return spec
        return self.module.Device(str(spec))

    def from_host(self, array, dtype=None):
        xp = self.module
        host = xp.asarray(array, dtype=getattr(xp, dtype) if isinstance(dtype, str) else dtype)
        return xp.asarray(host, device=self.device, copy=True) if self.device != host.device else host

    def to_host(self, array):
        import numpy

        if array.device != self.module.Device():
            return numpy.asarray(self.module.asarray(array, device=self.module.Device(), copy=True))
        return numpy.array(array, copy=True)

    def is_array(self, array):
        return isinstance(array, self.module._array_object.Array)

    def _devices(self):
        return [str(d) for d in self.module.__array_namespace_info__().devices()]
