"""cupy on an NVIDIA (CUDA) or AMD (ROCm) GPU."""

from __future__ import annotations

from .base import Backend


class CupyBackend(Backend):
    name = "cupy"
    library = "cupy"
    is_gpu = True
    install_hint = "install it with pip install 'xprop[cuda12]' (or [cuda13]) on a machine with a GPU"

    def _resolve_device(self, spec):
        index = 0 if spec in (None, "cuda", "gpu") else int(str(spec).removeprefix("cuda:"))
        return self.module.cuda.Device(index)

    def _probe(self):
        cupy = self.module
        count = cupy.cuda.runtime.getDeviceCount()  # raises CUDARuntimeError without a driver
        if count == 0:
            return "cupy is installed but no CUDA device is visible"
        index = self.device.id
        if index >= count:
            return f"cupy sees {count} CUDA device(s); device {index} does not exist"
        with self.device:
            cupy.zeros(1).sum()  # a kernel launch proves the runtime, driver and device work
        return None

    def from_host(self, array, dtype=None):
        with self.device:
            return self.module.asarray(array, dtype=dtype)

    def to_host(self, array):
        return self.module.asnumpy(array)

    def synchronize(self, *arrays):
        with self.device:
            self.module.cuda.get_current_stream().synchronize()

    def seed(self, seed):
        with self.device:
            self.module.random.seed(seed)

    def is_array(self, array):
        return isinstance(array, self.module.ndarray)

    def _fused(self, name):
        """The ElementwiseKernel of the hot spot ``name`` (``cupy_fused.py``)."""
        from . import cupy_fused

        return cupy_fused.KERNELS[name]

    def _devices(self):
        runtime = self.module.cuda.runtime
        return [
            f"cuda:{i} {runtime.getDeviceProperties(i)['name'].decode()}"
            for i in range(runtime.getDeviceCount())
        ]
