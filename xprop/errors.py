"""Exceptions xprop raises on purpose. Each message names the problem and the fix, and
each error carries its facts as attributes, so that no caller parses a message."""


class XpropError(Exception):
    """Base class of every error xprop raises deliberately."""


class BackendError(XpropError, TypeError):
    """An array or backend is not what the network expects (wrong library or device)."""


class BackendUnavailableError(XpropError, RuntimeError):
    """A backend was asked for but cannot run here; the message says why."""


class MissingExtraError(XpropError, ImportError):
    """An optional dependency is not installed; the message says how to install it."""


class Setting:
    """An argument, and optionally a value for it, as an error message names it.

    Python and the command line spell the same argument differently
    (``output_activation='sigmoid'`` and ``--output-activation sigmoid``), so a message
    that names one holds it as a Setting (``InputError`` takes the message's parts):
    ``str`` gives the Python spelling, and a front end renders the parts in its own
    (``InputError.spelled``). Without a value it is the argument's name alone.
    """

    NO_VALUE = object()

    def __init__(self, name, value=NO_VALUE):
        self.name, self.value = name, value

    def __str__(self):
        return self.name if self.value is Setting.NO_VALUE else f"{self.name}={self.value!r}"

    def __repr__(self):
        return f"Setting({self.name!r}" + ("" if self.value is Setting.NO_VALUE else f", {self.value!r}") + ")"


class InputError(XpropError, ValueError):
    """An argument or array is invalid; raised before any work is done.

    The message is given in parts, texts and ``Setting``s (the arguments it names, as
    Python spells them in ``str(error)``), so that a front end can name them in its own
    terms with ``spelled``. ``argument`` names the argument at fault when there is one
    (``"momentum"``).
    """

    def __init__(self, *message, argument=None):
        super().__init__("".join(map(str, message)))
        self.parts, self.argument = message, argument

    def spelled(self, spell) -> str:
        """The message with each Setting written as ``spell(setting)`` says."""
        return "".join(spell(part) if isinstance(part, Setting) else str(part) for part in self.parts)


class FileFormatError(InputError):
    """A file is not an xprop model or checkpoint, is damaged, or has a format version
    this xprop does not read. ``path`` is the file; ``version`` the format version it
    declares (None when it declares none); ``field`` the part of the file at fault
    (``"trainer.eta"``), when one is."""

    def __init__(self, message, *, path=None, version=None, field=None):
        super().__init__(message)
        self.path, self.version, self.field = path, version, field


class DivergenceError(XpropError, FloatingPointError):
    """Training produced NaN or Inf; the last good parameters were kept.

    Its facts: ``epoch``, the epoch (from 1) that diverged; ``what``, what went
    non-finite (``"parameters"`` or ``"cost"``); ``eta``, the learning rate of that epoch;
    ``kept_epoch``, the complete epochs whose parameters the network holds (0: as
    initialised); ``suggested_eta``, a smaller learning rate to try. ``trainer`` is the
    Trainer, rolled back to the end of the epoch before: its network holds the last good
    parameters, and ``trainer.state_dict()`` (or ``xprop.io.checkpoint.save_checkpoint``)
    saves them.
    """

    def __init__(self, message, *, epoch=None, trainer=None, what=None, eta=None, kept_epoch=None):
        super().__init__(message)
        self.epoch, self.trainer, self.what, self.eta = epoch, trainer, what, eta
        self.kept_epoch = kept_epoch

    @property
    def suggested_eta(self):
        return None if self.eta is None else self.eta / 10

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
