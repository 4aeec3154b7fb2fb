"""The shuffled mini-batches of an epoch, gathered from the data on its own device.

Each epoch the Trainer's seeded numpy Generator draws a permutation on the host, which
is copied to the device once. The rows of the next few mini-batches are then gathered by
their slice of it: one ``take`` of about ``GATHER_BYTES`` at a time, whose mini-batches
are views of it. Never a shuffled copy of the whole data set (that would double the
data's memory), and not one ``take`` per mini-batch either (each gather has a fixed
cost). Nothing is read back to the host.
"""

from __future__ import annotations

#: the size that one gather of shuffled rows aims at (a multiple of the mini-batch, at least one)
GATHER_BYTES = 2**20


def gathered_rows(batch_size, X, *, xp) -> int:
    """How many shuffled rows to gather at once: whole mini-batches, about ``GATHER_BYTES``.

    ``X`` is the training data, already checked to be 2-D and of the network's float dtype.
    """
    row_bytes = X.shape[1] * xp.finfo(X.dtype).bits // 8
    return batch_size * max(1, GATHER_BYTES // (batch_size * row_bytes))


class Batches:
    """The mini-batches of (X, targets), shuffled anew for each epoch.

    >>> for done, x, y in Batches(X, Y, 10, backend=net.backend).epoch(rng):
    ...     step(x, y)       # ``done``: examples of the epoch once this batch is applied

    The last mini-batch of an epoch holds the remainder when ``batch_size`` does not
    divide n, as in the book.
    """

    def __init__(self, X, targets, batch_size, *, backend, gather=None):
        self.X, self.targets, self.batch_size, self.backend = X, targets, batch_size, backend
        self.n = X.shape[0]
        self.gather = gather or gathered_rows(batch_size, X, xp=backend.namespace)
        self.index_dtype = "int32" if self.n < 2**31 else "int64"

    def permutation(self, rng):
        """This epoch's order of the rows, drawn on the host and copied to the device once."""
        return self.backend.from_host(rng.permutation(self.n), self.index_dtype)

    def epoch(self, rng):
        """Yield ``(examples_done, x, y)`` for every mini-batch of one shuffled epoch."""
        xp, n, size = self.backend.namespace, self.n, self.batch_size
        order = self.permutation(rng)
        for first in range(0, n, self.gather):
            last = min(first + self.gather, n)  # (the standard allows no slice past the end)
            rows = order[first:last]  # the shuffled rows of the next mini-batches
            xs, ys = xp.take(self.X, rows, axis=0), xp.take(self.targets, rows, axis=0)
            for start in range(0, last - first, size):
                stop = min(start + size, last - first)  # the last batch may be partial
                yield first + stop, xs[start:stop, ...], ys[start:stop, ...]
