"""The interface every backend adapter implements: public methods here, hooks in the adapters."""

from __future__ import annotations

import difflib
import importlib
from functools import cached_property
from typing import Any, Callable

from ..errors import BackendUnavailableError, InputError

# The hot spots a backend may fuse: short elementwise chains of the math, each the name of
# its unfused reference in xprop.backprop.UNFUSED (a function taking ``xp=``).
HOT_SPOTS = ("sigmoid", "sigmoid_delta", "quadratic_sigmoid_output_error",
             "sgd_update", "momentum_update")


class Backend:
    """One array library on one device.

    A template: the public methods (``available``, ``unavailable_reason``, ``version()``,
    ``devices()``, ``describe()``, ``fused()``, ``ensure_available()``) are written
    once here and never raise for a library that is missing or broken; they call the
    adapter's hooks only once the library has been imported. Subclasses set ``name``
    (what users type), ``library`` (what is imported) and ``install_hint`` (the pip
    command), and implement the small hooks: ``from_host``, ``to_host``,
    ``is_array``, and where the default does not fit ``_resolve_device``, ``_probe``,
    ``_devices``, ``_version``, ``synchronize``, ``seed``, ``namespace``, ``_fused``.
    The library is imported lazily, on first use, so that ``import xprop`` never pulls
    in a framework the user did not ask for.

    Fused operations (thinc's Ops pattern). The math is written once, in ``xprop/``; a
    few short elementwise chains of it (σ, BP2's product with σ', BP1 of the quadratic
    cost with a sigmoid output, a layer's SGD or momentum update) are hot spots that
    ``fused(name)`` lets an adapter compute with one kernel each:

    * ``name`` is one of ``HOT_SPOTS``, the name of the unfused reference the kernel
      replaces (``xprop.backprop.UNFUSED[name]``, also ``xprop.backprop.<name>``). Any
      other name raises InputError: a misspelt name would otherwise fall back to the
      unfused math without anyone noticing.
    * The kernel has exactly the reference's signature, the keyword ``xp=`` included,
      and its effect: the result, or the arrays the reference updates updated in place
      and returned as it returns them.
    * ``None`` (the default, for every name) means "use the reference". The reference is
      what the math runs without kernels, and what each kernel is tested against on the
      same inputs, to the dtype's tolerance, alone and over a whole epoch
      (tests/test_fused.py).
    * The math reaches the kernels through one mapping made once per run,
      ``xprop.backprop.fused_kernels(backend)`` (None where the backend fuses nothing),
      passed as ``fused=`` to ``sgd_step``; without it the math runs the references
      at no cost.

    An adapter overrides the hook ``_fused(name)``, never ``fused`` itself. ``fused``
    asks it for every valid name on a usable backend only, and answers None for the
    others (cupy without a GPU, torch not installed): the hook may import its library.

    Compiled steps. ``compiled_strategy()`` is the step strategy (``xprop.train.steps``)
    that runs the same ``xprop/backprop.py`` traced or captured by the library's compiler
    (a jax epoch under ``jit`` and ``lax.scan``, ``torch.compile``, a CUDA graph), or
    None when the library runs eagerly and there is nothing to compile (numpy,
    array-api-strict). An adapter overrides the hook ``_compiled_strategy()``; the
    strategy must leave the parameters and velocities where the Trainer keeps them
    after every chunk it applies, so that checkpoints, roll-back and resume never
    depend on it.
    """

    name: str = ""
    library: str = ""
    is_gpu: bool = False
    install_hint: str = "install it with pip"

    def __init__(self, device: Any = None):
        self._device_spec = device

    @property
    def device_spec(self):
        """The device as it was asked for (None: the backend's default), as ``get_backend``
        and ``Network(..., device=...)`` take it."""
        return self._device_spec

    # -- what the library is -------------------------------------------------------
    @cached_property
    def module(self):
        """The imported library (``numpy``, ``cupy``, ...); raises if it cannot be imported."""
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

    # -- the public methods: guarded, never a traceback -------------------------------
    @cached_property
    def _import_failure(self) -> str | None:
        """None once the library is imported, else why it cannot be (one line)."""
        try:
            self.module
        except ModuleNotFoundError as exc:
            if (exc.name or "").partition(".")[0] == self.library.partition(".")[0]:
                return f"{self.library} is not installed; {self.install_hint}"
            return self._unusable(exc)  # the library is there; something it imports is not
        except Exception as exc:  # noqa: BLE001 - a broken install fails in its own way
            return self._unusable(exc)
        return None

    @cached_property
    def unavailable_reason(self) -> str | None:
        """None when the backend can be used here, else one line saying why not."""
        failure = self._import_failure
        if failure is not None:
            return failure
        try:
            return self._probe()
        except Exception as exc:  # noqa: BLE001 - the reason is the message
            return self._unusable(exc)

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None

    def ensure_available(self) -> "Backend":
        """Return self, or raise BackendUnavailableError with the reason."""
        reason = self.unavailable_reason
        if reason is not None:
            raise BackendUnavailableError(f"backend {self.name!r} cannot be used: {reason}")
        return self

    def version(self) -> str | None:
        """The library's version, or None when it cannot be imported."""
        if self._import_failure is not None:
            return None
        try:
            return self._version()
        except Exception:  # noqa: BLE001 - a version is only shown, never needed
            return None

    def devices(self) -> list[str]:
        """Names of the devices this backend can use here (for ``xprop info``); [] if unusable."""
        if not self.available:
            return []
        try:
            return list(self._devices())
        except Exception:  # noqa: BLE001 - the probe passed; a listing failure only shows as "-"
            return []

    def describe(self) -> dict:
        """The row of ``xprop info``: usable or why not, version, devices."""
        return {
            "backend": self.name,
            "usable": self.available,
            "reason": self.unavailable_reason,
            "version": self.version(),
            "devices": self.devices(),
        }

    def fused(self, name: str) -> Callable | None:
        """The backend's fused version of the hot spot ``name``, or None: use xprop/backprop.py.

        The contract is in the class docstring; an unknown ``name`` raises InputError. A
        backend that cannot run here (its library missing or broken) fuses nothing: the
        hook is called only on a usable one.
        """
        if name not in HOT_SPOTS:
            close = difflib.get_close_matches(str(name), HOT_SPOTS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InputError(
                f"unknown fused operation {name!r}; {hint}the hot spots a backend may fuse are "
                f"the functions of xprop/backprop.py named {', '.join(HOT_SPOTS)}"
            )
        return self._fused(name) if self.available else None

    # -- moving data (hooks every adapter implements) ---------------------------------
    def compiled_strategy(self):
        """The compiled step strategy of this backend, or None: nothing to compile here."""
        self.ensure_available()
        return self._compiled_strategy()

    #: why ``compiled_strategy()`` is None, for the one line that says so
    eager_reason = "runs every array operation eagerly; there is nothing to compile"

    def from_host(self, array, dtype: str | None = None):
        """Explicit host -> device copy of a numpy array (or anything numpy accepts)."""
        raise NotImplementedError

    def to_host(self, array):
        """Explicit device -> host copy; returns a numpy array the caller owns.

        Always a copy, even on the CPU: writing to it never changes the device array.
        """
        raise NotImplementedError

    def is_array(self, array) -> bool:
        """Whether ``array`` is an array of this library (any device)."""
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

    # -- hooks with defaults; called only once the library is imported ---------------
    def _resolve_device(self, spec):
        """The device object for the user's ``spec`` (None: the default device)."""
        return spec

    def _probe(self) -> str | None:
        """Return a reason the imported library is unusable here, or None; may raise."""
        return None

    def _version(self) -> str:
        return str(self.module.__version__)

    def _devices(self) -> list[str]:
        """Names of the devices (the probe has passed)."""
        return [str(self.device)]

    def _compiled_strategy(self):
        return None

    def _fused(self, name: str) -> Callable | None:
        """A fused function for the hot spot ``name`` (a valid one), or None."""
        return None

    def _unusable(self, exc: BaseException) -> str:
        """The one-line reason for a library that is installed but fails."""
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        what = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
        return f"{self.library} is installed but unusable: {what}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} device={self._device_spec or 'default'}>"


def _host_zeros():
    import numpy

    return numpy.zeros(1)
