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
    """Training produced NaN or Inf; the last good parameters were kept.

    ``epoch`` is the epoch (from 1) that diverged. ``trainer`` is the Trainer, rolled
    back to the end of the epoch before: its network holds the last good parameters,
    and ``trainer.state_dict()`` (or ``xprop.checkpoint.save_checkpoint``) saves them.
    """

    def __init__(self, message, *, epoch=None, trainer=None):
        super().__init__(message)
        self.epoch, self.trainer = epoch, trainer

    @property
    def network(self):
        """The network, holding the last good parameters (None without a trainer)."""
        return None if self.trainer is None else self.trainer.network


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped training; the trainer was rolled back to the end of the
    last complete epoch, and the message says how to resume.

    A KeyboardInterrupt, so that it stops a program as Ctrl-C always does (it is not an
    XpropError, which ``except Exception`` would catch). ``epoch`` counts the complete
    epochs the trainer holds and ``trainer`` is the Trainer.
    """

    def __init__(self, message, *, epoch=None, trainer=None):
        super().__init__(message)
        self.epoch, self.trainer = epoch, trainer
