"""RunConfig: the options that define a training run, checked once, saved in checkpoints.

What the book's ``SGD(training_data, epochs, mini_batch_size, eta, ...)`` takes besides
the data, plus ch. 3's λ and μ, what is measured after each epoch and the shuffling
seed. A Trainer is built from one (``Trainer.from_config``), a checkpoint stores it, and
a resumed run is built from the stored one: the rules for these options live here and
nowhere else. The command line builds one from its flags; flag names are not part of it.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass

from ..errors import InputError, Setting
from ..validation import check_monitor, check_non_negative, check_positive, check_seed
from .records import METRICS


@dataclass(frozen=True)
class RunConfig:
    """The options of a training run (see ``Trainer`` for their meaning).

    ``eta`` is the initial learning rate (a schedule may change the running one, which
    is part of the trainer's state); ``monitor`` None means the evaluation metrics when
    evaluation data is given; ``seed`` None means the network's seed. ``data`` is a
    JSON-able description of where the training data came from (``xprop.data.DataSource``),
    kept so that a resumed run can load the same data and prove it is the same.
    """

    epochs: int
    batch_size: int
    eta: float
    lmbda: float = 0.0
    momentum: float = 0.0
    monitor: tuple | None = None
    seed: int | None = None
    data: dict | None = None

    def __post_init__(self):
        put = object.__setattr__  # frozen: the checked values replace the given ones
        put(self, "epochs", check_positive("epochs", self.epochs, numbers.Integral))
        put(self, "batch_size", check_positive("batch_size", self.batch_size, numbers.Integral))
        put(self, "eta", check_positive("eta", self.eta))
        put(self, "lmbda", check_non_negative("lmbda", self.lmbda))
        put(self, "momentum", check_non_negative("momentum", self.momentum))
        if self.momentum >= 1:
            raise InputError(Setting("momentum"), f" must be in [0, 1), got {self.momentum!r}", argument="momentum")
        if self.monitor is not None:
            put(self, "monitor", check_monitor(self.monitor, METRICS))
        if self.seed is not None:
            put(self, "seed", check_seed("seed", self.seed))
        if self.data is not None and not isinstance(self.data, dict):
            raise InputError(f"data must be a dict describing the data source, got {self.data!r}",
                             argument="data")

    def replace(self, **changes) -> "RunConfig":
        """A copy with ``changes`` (checked again)."""
        return dataclasses.replace(self, **changes)

    def monitored(self, has_evaluation: bool) -> tuple:
        """The metrics to measure: ``monitor``, or by default the evaluation metrics."""
        if self.monitor is not None:
            return self.monitor
        return ("evaluation_cost", "evaluation_accuracy") if has_evaluation else ()

    def to_dict(self) -> dict:
        values = dataclasses.asdict(self)
        values["monitor"] = None if self.monitor is None else list(self.monitor)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> "RunConfig":
        """The config ``to_dict`` gave; unknown keys are refused (a newer xprop wrote it)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise InputError(f"the run configuration has options this xprop does not know "
                             f"({', '.join(unknown)}); it was written by a newer xprop: upgrade xprop")
        return cls(**values)
