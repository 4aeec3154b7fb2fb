"""Trainer callbacks of ``xprop train``: the progress bar and epoch lines, the metrics log.

They live in ``xprop.train.report``, where ``net.fit(verbose=...)`` uses them too; the
CLI takes them from here.
"""

from ..train.report import EpochReport, MetricsLog, epoch_line

__all__ = ["EpochReport", "MetricsLog", "epoch_line"]
