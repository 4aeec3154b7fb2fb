"""A tiny text progress bar for a terminal, used for training epochs and downloads.

It writes to a stream (stderr by default) with carriage returns, redraws at most every
``interval`` seconds (the first time after one interval, so a task that ends sooner
leaves no trace), and stays silent when the stream is not a terminal, so logs and pipes
get clean lines instead of thousands of redraws. ``update`` is cheap between
redraws (a comparison and a clock read), so it can be called once per mini-batch.
"""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """``[#####-----]  52%  26,000/50,000  31,200/s  ETA 1s`` for ``total`` units.

    >>> bar = ProgressBar(50_000, label="epoch 1/30")
    >>> bar.update(10)       # after each mini-batch: how many units are done in all
    >>> bar.close()          # erase the bar so the next line starts clean
    """

    def __init__(self, total, *, label="", unit="", stream=None, enabled=None, width=24, interval=0.1):
        self.total = max(int(total), 1)
        self.label, self.unit, self.width, self.interval = label, unit, width, interval
        self.stream = sys.stderr if stream is None else stream
        self.enabled = _is_terminal(self.stream) if enabled is None else bool(enabled)
        self.started = time.perf_counter()
        self._next_draw = self.started + interval  # the first draw waits too: its rate means something
        self._drawn = 0  # length of the last drawn line, to erase it

    def update(self, done):
        """Say that ``done`` units (in all, not since the last call) are finished."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if now < self._next_draw and done < self.total:
            return
        self._next_draw = now + self.interval
        self._draw(self.render(done, now - self.started))

    def render(self, done, elapsed):
        """The bar's text for ``done`` units after ``elapsed`` seconds."""
        fraction = min(max(done / self.total, 0.0), 1.0)
        filled = int(round(fraction * self.width))
        rate = done / elapsed if elapsed > 0 else 0.0
        parts = [self.label, f"[{'#' * filled}{'-' * (self.width - filled)}]", f"{fraction:4.0%}",
                 f"{_count(done, self.unit)}/{_count(self.total, self.unit)}"]
        if rate > 0:
            parts.append(f"{_count(rate, self.unit)}/s")
            if done < self.total:
                parts.append(f"ETA {_duration((self.total - done) / rate)}")
        return "  ".join(p for p in parts if p)

    def close(self):
        """Erase the bar (the caller then prints its own summary line)."""
        if self.enabled and self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self.stream.flush()
            self._drawn = 0

    def _draw(self, text):
        padding = " " * max(self._drawn - len(text), 0)
        self.stream.write("\r" + text + padding)
        self.stream.flush()
        self._drawn = len(text)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _count(value, unit):
    if unit == "B":
        for prefix in ("B", "kB", "MB", "GB"):
            if value < 1000 or prefix == "GB":
                return f"{value:.0f} {prefix}" if prefix == "B" else f"{value:.1f} {prefix}"
            value /= 1000
    return f"{value:,.0f}"


def _duration(seconds):
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
