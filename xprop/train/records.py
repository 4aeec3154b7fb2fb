"""What a training run measured: one EpochRecord per epoch, gathered in a History."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

#: the metrics a Trainer can measure after each epoch
METRICS = ("training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy")


@dataclass
class EpochRecord:
    """What one epoch measured. Metrics that were not monitored are None."""

    epoch: int
    eta: float
    seconds: float
    examples_per_second: float
    training_cost: float | None = None
    training_accuracy: float | None = None
    evaluation_cost: float | None = None
    evaluation_accuracy: float | None = None

    @classmethod
    def from_dict(cls, values: dict) -> "EpochRecord":
        """A record from ``asdict(record)``, ignoring keys this version does not know."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass
class History:
    """Per-epoch records of a training run, plus why it stopped."""

    records: list = field(default_factory=list)
    stopped_early: str | None = None

    def __len__(self):
        return len(self.records)

    def __getitem__(self, i):
        return self.records[i]

    def column(self, name):
        """One metric over the epochs, e.g. ``history.column("evaluation_accuracy")``."""
        return [getattr(r, name) for r in self.records]

    def to_dicts(self):
        return [asdict(r) for r in self.records]
