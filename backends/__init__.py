"""Backend adapters: the only part of xprop that knows which array library it is talking to.

Everything else in xprop is written once against the Python Array API standard. The
adapters follow a few rules:

* One small class per library (``numpy_backend.NumpyBackend`` ...), a subclass of
  ``base.Backend``. It implements hooks only: ``from_host``/``to_host`` (every copy
  between host and device is explicit and is a copy), ``is_array``, and where needed
  ``_resolve_device``, ``_probe``, ``_devices``, ``synchronize``, ``seed``.
* The public methods (``available``, ``unavailable_reason``, ``version()``,
  ``devices()``, ``describe()``, ``fused()``) are written once, in ``Backend``, and never
  raise for a missing or broken library: not installed gives a reason with the pip
  command, installed but broken a one-line reason. A hook runs only once its library
  has been imported.
* Imports are lazy: a library is imported on first use, through ``Backend.module``, never
  by ``import xprop``; describing a backend (``xprop info``) imports nothing but that
  backend's own library, and only if it is installed.
* A backend is found by name (``get_backend``) or by the type of an array
  (``backend_for``, searched only among libraries already imported, then cached per type).
  An array of another library or device is refused with the call that moves it, never
  converted silently.
* Other distributions add backends through the entry-point group ``xprop.backends``
  (``plugins.py``); ``module:NAME`` adapts any Array API module (``generic.py``). See
  docs/plugins.md.
* The math lives in ``xprop/backprop.py``. An adapter may return a fused version of a
  named hot spot from ``_fused`` (thinc's Ops pattern; contract in ``Backend``): cupy's
  are ``cupy_fused.py``, torch's ``torch_fused.py``, the other adapters have none; the
  unfused function is the reference a fused one is tested against.

This folder lives at the repository root as ``backends/`` and is installed as
``xprop.backends`` (a top-level ``backends`` package would clash with an unrelated
distribution of that name on PyPI).
"""

from .base import HOT_SPOTS, Backend
from .registry import BACKEND_NAMES, backend_for, get_backend, describe_backends

__all__ = ["Backend", "HOT_SPOTS", "BACKEND_NAMES", "backend_for", "get_backend", "describe_backends"]
