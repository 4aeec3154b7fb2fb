"""A small training run through the Python API, for the tests that interrupt or kill it
(tests/test_interrupt.py). Run as a script it trains from scratch with a checkpoint in
DIR after every epoch, and prints ``epoch N`` once epoch N is checkpointed:

    python tests/training_script.py DIR

The tests import it for the same data, network, options and callbacks, so that they can
resume the run in-process and compare it with an uninterrupted one.
"""

from __future__ import annotations

import sys

import numpy as np

from xprop import Network, ReduceOnPlateau, Trainer
from xprop.io.checkpoint import Checkpoint

EPOCHS = 16
OPTIONS = dict(batch_size=4, eta=2.0, momentum=0.5, lmbda=0.05, monitor=["training_cost"])


def data():
    """Synthetic classification data (seeded): 2000 examples, 20 inputs, 5 classes."""
    rng = np.random.default_rng(4)
    X = rng.random((2000, 20)).astype(np.float32)
    return X, (X @ rng.standard_normal(20) * 3).astype(np.int64) % 5


def network():
    return Network([20, 24, 5], seed=4)


def callbacks():
    """The stateful callbacks of the run: a schedule that halves eta on plateaus."""
    return [ReduceOnPlateau(patience=1, metric="training_cost")]


class Progress:
    """Prints ``epoch N`` once the epoch is complete and checkpointed."""

    def after_epoch(self, trainer):
        print(f"epoch {trainer.epoch}", flush=True)


def trainer(extra=()):
    return Trainer(network(), epochs=EPOCHS, callbacks=[*callbacks(), *extra], **OPTIONS)


if __name__ == "__main__":
    X, y = data()
    trainer([Checkpoint(sys.argv[1]), Progress()]).run(X, y)
    print("done", flush=True)
