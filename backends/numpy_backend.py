"""numpy on the CPU."""

from __future__ import annotations

from functools import cached_property

from .base import Backend


class NumpyBackend(Backend):
    name = "numpy"
    library = "numpy"
    install_hint = "install it with pip install 'numpy>=2.1' (a dependency of xprop)"

    @cached_property
    def namespace(self):
        # numpy >= 2.1 implements the standard itself; its own namespace skips
        # array-api-compat's Python wrappers, which cost about a microsecond per call
        # (measured in bench/namespace_overhead.py). The parity suite runs the math on
        # this namespace and on array-api-strict, so a non-standard call would fail there.
        numpy = self.module
        if tuple(int(p) for p in numpy.__version__.split(".")[:2]) >= (2, 1):
            return numpy
        import array_api_compat.numpy as compat_numpy

        return compat_numpy

    def _resolve_device(self, spec):
        if spec not in (None, "cpu"):
            raise ValueError(f"numpy has only the 'cpu' device, not {spec!r}")
        return "cpu"

    def from_host(self, array, dtype=None):
        return self.module.array(array, dtype=dtype, copy=True)

    def to_host(self, array):
        return self.module.array(array, copy=True)  # a copy: the caller may write to it

    def seed(self, seed):
        self.module.random.seed(seed)

    def is_array(self, array):
        return isinstance(array, self.module.ndarray)
