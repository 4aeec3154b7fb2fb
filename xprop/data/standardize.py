"""Standardized features: each feature less its mean, divided by its standard deviation.

The mean and standard deviation are measured on the training split only (what the
validation and test splits must not leak into), then applied to every split the network
sees: in training, and, from the model file that keeps them (its network's ``inputs``),
before evaluating or predicting. A constant feature (deviation 0) is only centred.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy

from .dataset import Split


@dataclass(frozen=True)
class Standardization:
    """``mean`` and ``std`` float32 of shape (features,): ``(x - mean) / std``."""

    mean: numpy.ndarray
    std: numpy.ndarray

    @classmethod
    def of(cls, training: Split) -> Standardization:
        """The mean and deviation of each feature of ``training`` (a deviation 0 becomes 1)."""
        images = training.images.astype(numpy.float64)
        std = images.std(axis=0)
        std[std == 0] = 1.0
        return cls(images.mean(axis=0).astype(numpy.float32), std.astype(numpy.float32))

    def apply(self, split: Split) -> Split:
        """``split`` with standardized features (a new Split; the labels are shared)."""
        return Split(((split.images - self.mean) / self.std).astype(numpy.float32), split.labels)

    def apply_to(self, dataset):
        """``dataset`` with every split standardized."""
        return dataclasses.replace(dataset, training=self.apply(dataset.training),
                                   validation=self.apply(dataset.validation), test=self.apply(dataset.test))

    def to_dict(self) -> dict:
        """The ``inputs`` part of a model file's network."""
        return {"mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, inputs) -> Standardization:
        return cls(numpy.asarray(inputs["mean"], numpy.float32), numpy.asarray(inputs["std"], numpy.float32))
