"""The throughput targets xprop is held to, checked as ratios of medians from one run.

Three kinds, each evaluated on every run (the last table of bench.md):

- ``BOOK_TARGETS``: the training throughput (examples/s of whole SGD epochs) of xprop on
  the numpy backend over one reference's, on the book's network;
- ``COMPILED_TARGETS``: a compiled contender (the backend's ``compiled_step``) over an eager
  one, on the book's network;
- on the wide network, xprop numpy's achieved GFLOP/s over the matrix-product peak of the
  same run (``WIDE_FRACTION``), and every compiled contender not slower than its own backend
  eager (``WIDE_NOT_SLOWER``): met when the ratio is ≥ 1, or when the compiled median epoch
  lies inside the eager epochs' interquartile range (their difference is within the noise;
  the measured ratio is shown either way).
"""

from __future__ import annotations

import statistics

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
COMPILED_TARGETS = [  # (dtype, mini-batch, compiled contender, eager contender, at least)
    ("float32", 10, "xprop jax compiled", "xprop numpy", 1.0),
    ("float32", 100, "xprop jax compiled", "xprop numpy", 1.0),
    ("float32", 1000, "xprop jax compiled", "xprop numpy", 1.0),
    ("float32", 10, "xprop jax compiled", "xprop jax", 15.0),
    ("float32", 10, "xprop torch compiled", "xprop torch", 1.5),
]
WIDE_FRACTION = 0.90
WIDE_NOT_SLOWER = [("xprop jax compiled", "xprop jax"), ("xprop torch compiled", "xprop torch")]
XPROP = "xprop numpy"


def find(rows, network, dtype, batch, contender):
    for row in rows:
        if (row["network"], row["dtype"], row["batch"], row["contender"]) == (network, dtype, batch, contender):
            return row
    return None


def evaluate(rows, peak_gflops, skipped=None):
    """One entry per target: what was compared, the measured ratio, met or not (or why not measured).

    ``skipped`` ({contender: why}, the run's) gives the reason of a target whose contender
    did not run; otherwise it reads "not measured in this run".
    """
    skipped = skipped or {}
    checks = []
    for dtype, batch, reference, least in BOOK_TARGETS:
        checks.append(_ratio(rows, "book", dtype, batch, XPROP, reference, least, skipped))
    for dtype, batch, ours, theirs, least in COMPILED_TARGETS:
        checks.append(_ratio(rows, "book", dtype, batch, ours, theirs, least, skipped))
    wide = find(rows, "wide", "float32", 256, XPROP)
    check = {"target": f"wide float32 mini-batch 256: {XPROP} ≥ {WIDE_FRACTION:.0%} of the matmul peak",
             "at_least": WIDE_FRACTION}
    if wide is None or not peak_gflops:
        check.update(ratio=None, met=None, note=_why(XPROP, skipped))
    else:
        ratio = wide["train_gflops"] / peak_gflops
        check.update(ratio=ratio, met=ratio >= WIDE_FRACTION)
    checks.append(check)
    for ours, theirs in WIDE_NOT_SLOWER:
        check = _ratio(rows, "wide", "float32", 256, ours, theirs, 1.0, skipped)
        if check["met"] is False:
            compiled, eager = find(rows, "wide", "float32", 256, ours), find(rows, "wide", "float32", 256, theirs)
            third_quartile = _quartiles(eager["train"]["seconds"])[2]
            if compiled["train"]["median_s"] <= third_quartile:
                check.update(met=True, note="within the spread: the compiled median epoch is inside the eager "
                                            "epochs' interquartile range")
        checks.append(check)
    return checks


def _ratio(rows, network, dtype, batch, ours, theirs, least, skipped):
    """``ours`` ÷ ``theirs`` in training examples/s, against ``least``."""
    mine, other = find(rows, network, dtype, batch, ours), find(rows, network, dtype, batch, theirs)
    check = {"target": f"{network} {dtype} mini-batch {batch}: {ours} ≥ {least:g}× {theirs}", "at_least": least}
    if mine is None or other is None:
        check.update(ratio=None, met=None, note=_why(ours if mine is None else theirs, skipped))
    else:
        ratio = mine["train"]["examples_per_s"] / other["train"]["examples_per_s"]
        check.update(ratio=ratio, met=ratio >= least)
    return check


def _why(contender, skipped):
    reason = skipped.get(contender)
    return f"not measured: {contender}: {reason}" if reason else "not measured in this run"


def _quartiles(values):
    ordered = sorted(values)
    if len(ordered) < 2:
        return [ordered[0]] * 3
    return statistics.quantiles(ordered, n=4, method="inclusive")
