"""Backend adapters: the only part of xprop that knows which array library it is talking to.

Each adapter is one small class (``numpy_backend.NumpyBackend`` ...) that puts host
data on its device, brings results back, synchronizes for timing and says whether its
library is usable here and, if not, why. Everything else in xprop is written once
against the Python Array API standard.

This folder lives at the repository root as ``backends/`` and is installed as
``xprop.backends`` (a top-level ``backends`` package would clash with an unrelated
distribution of that name on PyPI).
"""

from .base import Backend
from .registry import BACKEND_NAMES, backend_for, get_backend, describe_backends

__all__ = ["Backend", "BACKEND_NAMES", "backend_for", "get_backend", "describe_backends"]
