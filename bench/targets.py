"""The throughput targets xprop is held to, checked as ratios of medians from one run.

Each target compares the training throughput (examples/s of whole SGD epochs) of xprop
on the numpy backend with one reference on the book's network, or the wide network's
achieved GFLOP/s with the matrix-product peak of the same run.
"""

from __future__ import annotations

BOOK_TARGETS = [  # (dtype, mini-batch, reference, at least)
    ("float64", 10, "numpy by hand", 1.0),
    ("float64", 10, "per-example loop", 5.0),
    ("float64", 10, "torch by hand", 1.8),
    ("float64", 10, "torch autograd", 4.0),
    ("float64", 100, "numpy by hand", 1.0),
    ("float64", 100, "torch by hand", 1.0),
    ("float64", 1000, "numpy by hand", 1.0),
    ("float64", 1000, "torch by hand", 1.0),
]
WIDE_FRACTION = 0.85
XPROP = "xprop numpy"


def find(rows, network, dtype, batch, contender):
    for row in rows:
        if (row["network"], row["dtype"], row["batch"], row["contender"]) == (network, dtype, batch, contender):
            return row
    return None


def evaluate(rows, peak_gflops):
    """One entry per target: what was compared, the measured ratio, met or not (or why not measured)."""
    checks = []
    for dtype, batch, reference, least in BOOK_TARGETS:
        ours, theirs = find(rows, "book", dtype, batch, XPROP), find(rows, "book", dtype, batch, reference)
        check = {"target": f"book {dtype} mini-batch {batch}: {XPROP} ≥ {least:g}× {reference}",
                 "at_least": least}
        if ours is None or theirs is None:
            check.update(ratio=None, met=None, note="not measured in this run")
        else:
            ratio = ours["train"]["examples_per_s"] / theirs["train"]["examples_per_s"]
            check.update(ratio=ratio, met=ratio >= least)
        checks.append(check)
    wide = find(rows, "wide", "float32", 256, XPROP)
    check = {"target": f"wide float32 mini-batch 256: {XPROP} ≥ {WIDE_FRACTION:.0%} of the matmul peak",
             "at_least": WIDE_FRACTION}
    if wide is None or not peak_gflops:
        check.update(ratio=None, met=None, note="not measured in this run")
    else:
        ratio = wide["train_gflops"] / peak_gflops
        check.update(ratio=ratio, met=ratio >= WIDE_FRACTION)
    checks.append(check)
    return checks
