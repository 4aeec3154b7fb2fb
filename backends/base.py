"""The interface every backend adapter implements."""

from __future__ import annotations

import importlib
from functools import cached_property
from typing import Any

from ..errors import BackendUnavailableError


class Backend:
    """One array library on one device.

    Subclasses set ``name`` (what users type), ``library`` (what is imported) and
    implement the few hooks below. The library is imported lazily, on first use, so
    that ``import xprop`` never pulls in a framework the user did not ask for.
    """

    name: str = ""
    library: str = ""
    is_gpu: bool = False

    def __init__(self, device: Any = None):
        self._device_spec = device

    # -- what the library is -------------------------------------------------------
    @cached_property
    def module(self):
        """The imported library (``numpy``, ``cupy``, ...)."""
        return importlib.import_module(self.library)

    @cached_property
    def namespace(self):
        """The Array API namespace used for the math on this backend."""
        from array_api_compat import array_namespace

        return array_namespace(self.from_host(_host_zeros()))

    @cached_property
    def device(self):
        """The device object arrays of this backend live on."""
        return self._resolve_device(self._device_spec)

    def version(self) -> str | None:
        """The library's version, or None when it cannot be imported."""
        try:
            return str(self.module.__version__)
        except Exception:  # noqa: BLE001 - any import failure means "not here"
            return None

    # -- usability -----------------------------------------------------------------
    @cached_property
    def unavailable_reason(self) -> str | None:
        """None when the backend can be used here, else one sentence saying why not."""
        try:
            self.module
        except ImportError as exc:
            return f"{self.library} is not installed ({exc}); {self.install_hint}"
        try:
            return self._probe()
        except Exception as exc:  # noqa: BLE001 - the reason is the message
            return f"{self.library} is installed but unusable: {type(exc).__name__}: {exc}"

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None

    def ensure_available(self) -> "Backend":
        """Return self, or raise BackendUnavailableError with the reason."""
        reason = self.unavailable_reason
        if reason is not None:
            raise BackendUnavailableError(f"backend {self.name!r} cannot be used: {reason}")
        return self

    install_hint = "install it with pip"

    # -- moving data ----------------------------------------------------------------
    def from_host(self, array, dtype: str | None = None):
        """Explicit host -> device copy of a numpy array (or anything numpy accepts)."""
        raise NotImplementedError

    def to_host(self, array):
        """Explicit device -> host copy; returns a numpy array the caller owns.

        Always a copy, even on the CPU: writing to it never changes the device array.
        """
        raise NotImplementedError

    def synchronize(self, *arrays) -> None:
        """Block until queued device work is done, ``arrays`` included.

        A no-op on synchronous CPU libraries. Call it before every clock read.
        """

    def seed(self, seed: int) -> None:
        """Seed the library's own global generator.

        xprop itself never uses it: its randomness is drawn on the host from an explicit
        numpy Generator so that one seed gives the same network on every backend. This is
        for code beside xprop (benchmark comparators, user code) that uses the library's
        global generator.
        """

    def owns(self, array) -> bool:
        """Whether ``array`` belongs to this library and this backend's device."""
        from array_api_compat import device as device_of

        return self.is_array(array) and device_of(array) == self.device

    def is_array(self, array) -> bool:
        raise NotImplementedError

    def devices(self) -> list[str]:
        """Names of the devices this backend can use here (for ``xprop info``)."""
        return [str(self.device)] if self.available else []

    # -- hooks -----------------------------------------------------------------------
    def _resolve_device(self, spec):
        return spec

    def _probe(self) -> str | None:
        """Return a reason the library is unusable (after import), or None."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} device={self._device_spec or 'default'}>"


def _host_zeros():
    import numpy

    return numpy.zeros(1)
