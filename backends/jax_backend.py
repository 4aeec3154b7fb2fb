"""JAX arrays, on its CPU or GPU devices.

JAX arrays are immutable; the math's ``w -= update`` rebinds the name instead of
writing in place, which the standard allows.
"""

from __future__ import annotations

from functools import cached_property

from .base import Backend


class JaxBackend(Backend):
    name = "jax"
    library = "jax"
    install_hint = "install it with pip install 'xprop[jax]'"

    @cached_property
    def namespace(self):
        return self.module.numpy

    @property
    def is_gpu(self):
        return self.device.platform == "gpu"

    def _resolve_device(self, spec):
        jax = self.module
        if spec is None:
            return jax.devices()[0]
        if not isinstance(spec, str):
            return spec
        platform, _, index = spec.partition(":")
        return jax.devices(platform)[int(index or 0)]

    def _probe(self):
        self.device  # raises RuntimeError when the platform is missing
        return None

    def _compiled_strategy(self):
        from .jax_compiled import JaxCompiled

        return JaxCompiled(self.module, donate=self.device.platform != "cpu")  # CPU buffers cannot be donated

    def from_host(self, array, dtype=None):
        import numpy

        host = numpy.asarray(array, dtype=dtype)
        if host.dtype == numpy.float64 and not self.module.config.jax_enable_x64:
            raise TypeError(
                "jax is running without float64; set JAX_ENABLE_X64=1 (or "
                "jax.config.update('jax_enable_x64', True)) before using dtype float64"
            )
        return self.module.device_put(host, self.device)

    def to_host(self, array):
        import numpy

        return numpy.array(self.module.device_get(array), copy=True)  # device_get may share a CPU buffer

    def synchronize(self, *arrays):
        # JAX dispatches asynchronously and has no per-device "wait for all": block on
        # the results the caller is about to time.
        self.module.block_until_ready(arrays)

    def is_array(self, array):
        return isinstance(array, self.module.Array)

    def _devices(self):
        return [str(d) for d in self.module.devices()]
