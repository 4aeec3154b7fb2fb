"""Learning curves as a PNG: cost and accuracy per epoch, training and validation.

matplotlib is an optional extra (``pip install 'xprop[plot]'``). ``require_matplotlib``
says so before a long run starts; the figure is drawn with matplotlib's object API on
the Agg canvas (no pyplot, no GUI backend, no global state) and written atomically.
"""

from __future__ import annotations

import importlib.util

from .errors import MissingExtraError
from .io.atomic import atomic_write

INSTALL_HINT = "pip install 'xprop[plot]' (or pip install matplotlib)"
_PANELS = (("cost", "training_cost", "evaluation_cost"), ("accuracy", "training_accuracy", "evaluation_accuracy"))


def require_matplotlib(needs="plot_history"):
    """Raise MissingExtraError now, rather than after training, if matplotlib is absent;
    ``needs`` names what asked for the plot (a command line names its option)."""
    if importlib.util.find_spec("matplotlib") is None:
        raise MissingExtraError(f"{needs} needs matplotlib, which is not installed; {INSTALL_HINT}")


def plot_history(history, path, *, title=""):
    """Draw ``history`` (an xprop History) into the PNG file ``path``."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(9, 3.6), layout="constrained")
    FigureCanvasAgg(figure)
    epochs = history.column("epoch")
    for axes, (quantity, training, validation) in zip(figure.subplots(1, 2), _PANELS):
        for column, label in ((training, "training"), (validation, "validation")):
            values = history.column(column)
            if any(v is not None for v in values):
                points = [(e, v) for e, v in zip(epochs, values) if v is not None]
                axes.plot(*zip(*points), marker="o", markersize=3, label=label)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("epoch")
        axes.set_ylabel(quantity)
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend()
        else:
            axes.text(0.5, 0.5, f"{quantity} not monitored", ha="center", va="center", transform=axes.transAxes)
    if title:
        figure.suptitle(title)
    with atomic_write(path) as handle:
        figure.savefig(handle, format="png", dpi=100)
