"""PyTorch tensors, on the CPU or a CUDA device."""

from __future__ import annotations

from functools import cached_property

from .base import Backend


class TorchBackend(Backend):
    name = "torch"
    library = "torch"
    install_hint = "install it with pip install 'xprop[torch]'"

    @cached_property
    def namespace(self):
        # torch itself, with the few functions where torch and the standard differ
        # (torch_namespace.py): array-api-compat's wrapper slows the eager step and
        # breaks torch.compile's graph (docs/performance-log.md)
        from .torch_namespace import namespace

        return namespace()

    @property
    def is_gpu(self):
        return self.device.type == "cuda"

    def _resolve_device(self, spec):
        return self.module.device(spec or "cpu")

    def _probe(self):
        torch = self.module
        if self.device.type == "cuda" and not torch.cuda.is_available():
            return "torch is installed but torch.cuda.is_available() is False"
        return None

    def _compiled_strategy(self):
        from .torch_compiled import TorchCompiled, TorchCudaGraphs

        if self.device.type == "cuda":
            return TorchCudaGraphs(self.module, self.device)
        return TorchCompiled(self.module)

    def _fused(self, name):
        """torch's single operations for the hot spot ``name`` (``torch_fused.py``); None
        for the updates, which stay the references."""
        from . import torch_fused

        return torch_fused.KERNELS.get(name)

    def from_host(self, array, dtype=None):
        import numpy

        host = numpy.array(array, dtype=dtype, copy=True)
        return self.module.from_numpy(host).to(self.device)

    def to_host(self, array):
        host = array.detach().cpu().numpy()
        # .cpu() of a CPU tensor is the tensor itself, and .numpy() shares its memory
        return host.copy() if array.device.type == "cpu" else host

    def synchronize(self, *arrays):
        if self.device.type == "cuda":
            self.module.cuda.synchronize(self.device)

    def seed(self, seed):
        self.module.manual_seed(seed)

    def is_array(self, array):
        return isinstance(array, self.module.Tensor)

    def _devices(self):
        torch = self.module
        names = ["cpu"]
        if torch.cuda.is_available():
            names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        return names
