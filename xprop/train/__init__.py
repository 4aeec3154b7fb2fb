"""Training: the book's SGD loop and what plugs into it.

- ``trainer``: the Trainer (epochs → shuffle → mini-batches → update → evaluate);
- ``config``: RunConfig, the options that define a run (what a checkpoint stores);
- ``steps``: the step strategies (how one mini-batch is applied, how a set is measured);
- ``batches``: the shuffled mini-batches of an epoch, gathered on the device;
- ``callbacks``: the Callback base class, the hook contract;
- ``schedules``: ch. 3's variable learning rate and early stopping;
- ``records``: EpochRecord and History;
- ``report``: the progress bar, the epoch lines and the metrics log (``fit(verbose=...)`` and
  ``xprop train``);
- ``state``: the trainer's state, captured, loaded, snapshotted and rolled back.
"""

from .callbacks import Callback
from .config import RunConfig
from .records import METRICS, EpochRecord, History
from .schedules import EarlyStopping, ReduceOnPlateau
from .steps import Step
from .trainer import Trainer

__all__ = ["Callback", "EarlyStopping", "EpochRecord", "History", "METRICS", "ReduceOnPlateau",
           "RunConfig", "Step", "Trainer"]
