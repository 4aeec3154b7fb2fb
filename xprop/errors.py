"""Exceptions xprop raises on purpose. Each message names the problem and the fix."""


class XpropError(Exception):
    """Base class of every error xprop raises deliberately."""


class BackendError(XpropError, TypeError):
    """An array or backend is not what the network expects (wrong library or device)."""


class BackendUnavailableError(XpropError, RuntimeError):
    """A backend was asked for but cannot run here; the message says why."""


class InputError(XpropError, ValueError):
    """An argument or array is invalid; raised before any work is done."""


class DivergenceError(XpropError, FloatingPointError):
    """Training produced NaN or Inf; the last good parameters were kept."""
