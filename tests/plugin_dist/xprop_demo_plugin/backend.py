"""numpy under another name: what a third-party adapter looks like (the hooks of
``xprop.backends.Backend`` and nothing else), so that training on it must equal numpy's."""

from xprop.backends import Backend


class DemoNumpyBackend(Backend):
    name = "demo_numpy"
    library = "numpy"
    install_hint = "install it with pip install numpy"

    @property
    def namespace(self):
        return self.module

    def _resolve_device(self, spec):
        if spec not in (None, "cpu"):
            raise ValueError(f"demo_numpy has only the 'cpu' device, not {spec!r}")
        return "cpu"

    def from_host(self, array, dtype=None):
        return self.module.array(array, dtype=dtype, copy=True)

    def to_host(self, array):
        return self.module.array(array, copy=True)

    def is_array(self, array):
        return isinstance(array, self.module.ndarray)
