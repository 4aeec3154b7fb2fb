"""Reporting a run as it goes: the progress bar and epoch lines, and the metrics log.

They are ``xprop.Callback`` objects (the hooks and their order: ``xprop.train.callbacks``),
written to the streams they are given, so that ``xprop train`` and ``net.fit(verbose=...)``
(a terminal, a notebook) print the same lines. Both report in ``report_epoch``, after the
epoch's checkpoint (if any) is written: a line "epoch N" means checkpoint N is on disk.
"""

from __future__ import annotations

import json
import math

from ..progress import ProgressBar
from .callbacks import Callback

_LABELS = (("training_cost", "training cost", "{:.4f}"), ("training_accuracy", "training accuracy", "{:.2%}"),
           ("evaluation_cost", "validation cost", "{:.4f}"),
           ("evaluation_accuracy", "validation accuracy", "{:.2%}"))


def epoch_line(record, epochs) -> str:
    """``epoch  3/30  training cost 0.0412 ... validation accuracy 84.12%  61,200 examples/s  0.9 s``."""
    width = len(str(epochs))
    parts = [f"epoch {record.epoch:>{width}}/{epochs}"]
    for name, label, form in _LABELS:
        value = getattr(record, name)
        if value is not None:
            parts.append(f"{label} {form.format(value)}")
    parts.append(f"{record.examples_per_second:,.0f} examples/s")
    parts.append(f"{record.seconds:.1f} s")
    return "  ".join(parts)


class EpochReport(Callback):
    """A progress bar over each epoch on ``stderr``, then one line per epoch on ``stdout``.

    ``progress``: None draws the bar only when ``stderr`` is a terminal, True always (a
    notebook's output is no terminal but shows carriage returns), False never.
    """

    def __init__(self, n_examples, *, stdout, stderr, progress=None):
        self.n_examples, self.stdout, self.stderr, self.progress = n_examples, stdout, stderr, progress
        self.bar = None

    def on_batch_end(self, trainer, examples_done):
        if self.bar is None:
            self.bar = ProgressBar(self.n_examples, label=f"epoch {trainer.epoch + 1}/{trainer.epochs}",
                                   stream=self.stderr, enabled=self.progress)
        self.bar.update(examples_done)

    def report_epoch(self, trainer, record):
        self._close_bar()
        print(epoch_line(record, trainer.epochs), file=self.stdout, flush=True)

    def on_interrupt(self, trainer):
        """Ctrl-C: erase the bar so the message starts on a clean line; nothing to add to it."""
        self._close_bar()
        return ""

    def _close_bar(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class MetricsLog(Callback):
    """One JSON object per epoch (the EpochRecord's fields), appended to an open text file.

    Each line is written and flushed once the epoch is saved, so an interrupted run keeps
    the epochs it finished. Non-finite numbers are written as null (JSON has no NaN).
    """

    def __init__(self, handle):
        self.handle = handle

    def report_epoch(self, trainer, record):
        fields = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                  for k, v in vars(record).items()}
        self.handle.write(json.dumps(fields) + "\n")
        self.handle.flush()
