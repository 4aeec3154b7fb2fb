"""The backend × device × dtype fixture every test can reuse.

``case`` runs a test once per row of CASES, with readable ids such as
``numpy-cpu-float64`` or ``strict-device1-float32``. A backend that cannot run here
(cupy without a GPU, torch or jax not installed) is skipped with the backend's own
reason, so the skip line says exactly what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from xprop.backends import get_backend

# (backend, device, dtype); the non-default strict devices prove device discipline on a CPU.
CASES = [
    ("numpy", None, "float64"),
    ("numpy", None, "float32"),
    ("array_api_strict", "device1", "float64"),
    ("array_api_strict", "device1", "float32"),
    ("array_api_strict", "no_float64", "float32"),
    ("torch", "cpu", "float64"),
    ("torch", "cpu", "float32"),
    ("jax", "cpu", "float32"),
    ("cupy", None, "float64"),
    ("cupy", None, "float32"),
]
_SHORT = {"array_api_strict": "strict"}


def case_id(backend, device, dtype):
    return "-".join([_SHORT.get(backend, backend), device or ("gpu" if backend == "cupy" else "cpu"), dtype])


@dataclass(frozen=True)
class Case:
    """One backend on one device with one dtype, and the helpers tests need."""

    name: str
    device: str | None
    dtype: str

    @property
    def backend(self):
        return get_backend(self.name, self.device)

    @property
    def xp(self):
        return self.backend.namespace

    @property
    def eps(self):
        return float(np.finfo(self.dtype).eps)

    def put(self, host, dtype=None):
        """Host array -> this case's backend and device (floats in this case's dtype)."""
        host = np.asarray(host)
        if dtype is None and host.dtype.kind == "f":
            dtype = self.dtype
        return self.backend.from_host(host, dtype)

    def get(self, array):
        return self.backend.to_host(array)

    def network(self, sizes, **kwargs):
        import xprop

        return xprop.Network(sizes, backend=self.name, device=self.device, dtype=self.dtype, **kwargs)

    def assert_native(self, array):
        """The array belongs to this case's library and device: not quietly numpy."""
        assert self.backend.owns(array), f"{type(array)} on {getattr(array, 'device', '?')} is not {self.name} on {self.backend.device}"
        assert str(array.dtype).endswith(self.dtype), f"dtype {array.dtype} is not {self.dtype}"


def _param(backend, device, dtype):
    marks = [pytest.mark.gpu] if backend == "cupy" else []
    return pytest.param(Case(backend, device, dtype), id=case_id(backend, device, dtype), marks=marks)


@pytest.fixture(params=[_param(*c) for c in CASES])
def case(request):
    """Every backend × device × dtype; skipped with the backend's reason where unusable."""
    selected = request.param
    backend = get_backend(selected.name, selected.device, check=False)
    if not backend.available:
        pytest.skip(f"{selected.name}: {backend.unavailable_reason}")
    return selected


@pytest.fixture
def reference():
    """The numpy float64 case: the reference every backend is compared with."""
    return Case("numpy", None, "float64")
