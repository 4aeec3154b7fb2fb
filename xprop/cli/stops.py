"""Signals that stop a command as Ctrl-C does: SIGTERM (what ``timeout``, docker, systemd
and SLURM send; mpiexec passes it on to every rank) and SIGHUP (a closed terminal).

``Stops`` turns them into KeyboardInterrupt while a command runs, so that ``xprop train``
rolls back to the last complete epoch, keeps its checkpoint and says how to resume, and
remembers which one came: the one line names it and the exit status is 128 + its number
(130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).
"""

from __future__ import annotations

import signal
import threading

#: the signals that stop a command as Ctrl-C does, and what the one line calls them
STOPPING = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated (SIGTERM)"}
if hasattr(signal, "SIGHUP"):  # not on Windows
    STOPPING[signal.SIGHUP] = "hung up (SIGHUP)"


class Stops:
    """While a command runs: SIGTERM and SIGHUP raise KeyboardInterrupt as Ctrl-C does, and
    once any of the three has, later ones are ignored (SIG_IGN), so that
    the roll-back and the save they start finish. The handlers before are put back after
    a command that no signal stopped; after a stop they stay ignored, since the process
    is ending and a second signal must not kill it on its way out with another status. A
    signal ignored before (``nohup``, a background job) stays ignored. Only the main
    thread can handle signals: elsewhere this does nothing."""

    def __init__(self):
        self.received, self._before = None, {}

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in STOPPING:
            before = signal.getsignal(signum)
            if before is signal.SIG_IGN or before is None:  # ignored on purpose, or not Python's
                continue
            self._before[signum] = before
            signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info):
        if self.received is None:  # after a stop the process is ending: a second signal must
            for signum, before in self._before.items():  # not kill it during the exit
                signal.signal(signum, before)
        self._before = {}
        return False

    def _handle(self, signum, frame):
        if self.received is not None:
            return
        self.received = signum
        for other in self._before:  # SIG_IGN, not a handler: it holds through the interpreter's exit too
            signal.signal(other, signal.SIG_IGN)
        raise KeyboardInterrupt

    @property
    def status(self) -> int:
        """The exit status: 128 + the signal's number (Ctrl-C's when none was caught here,
        e.g. a KeyboardInterrupt raised by Python's own SIGINT handler)."""
        return 128 + (self.received or signal.SIGINT)

    def line(self, stop) -> str:
        """The one line that says what stopped the command, with what ``stop`` (the
        KeyboardInterrupt) says: what was kept and how to resume."""
        return f"xprop: {STOPPING[self.received or signal.SIGINT]}{': ' + str(stop) if str(stop) else ''}"
