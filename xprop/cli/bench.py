"""xprop bench: the throughput benchmarks, delegated to ``xprop.bench.run.main(argv)``.

The benchmark suite lives in the repository's ``bench/`` folder and is installed as
``xprop.bench``. It is imported only when ``xprop bench`` runs, so the other commands
never pay for it (nor for the libraries it compares against).
"""

from __future__ import annotations

import importlib
import importlib.util

from ..errors import XpropError

HELP = "throughput benchmarks (xprop bench --help for their options)"
MODULE = "xprop.bench.run"


class BenchUnavailableError(XpropError, ImportError):
    """The benchmark suite is not installed with this xprop."""


def delegate(argv):
    """Run ``xprop.bench.run.main(argv)``; its return value is the exit status."""
    try:
        found = importlib.util.find_spec(MODULE) is not None
    except ModuleNotFoundError:  # xprop.bench itself is missing
        found = False
    if not found:
        raise BenchUnavailableError(
            f"xprop bench needs the benchmark suite ({MODULE}), which is not installed with this "
            "xprop; install xprop from a source checkout that has the bench/ folder: pip install -e ."
        )
    status = importlib.import_module(MODULE).main(list(argv))
    return 0 if status is None else status
