"""Repetitions, interleaved: warm-up, then each repetition times every contender once.

A shared machine is noisy (other processes). Timing contender A's five epochs and then
B's would give each a different stretch of that noise; taking turns within each
repetition gives them the same, so the ratios of medians compare like with like. Each
turn runs the measured work twice and keeps the second: right after another library
ran, its idle threads still spin for a while before they sleep, which would bill one
contender for the previous one's threads. Every clock read is preceded by the
contender's ``synchronize()``; on a GPU the epoch times come from device events instead
(``xprop.bench.gpu``).
"""

from __future__ import annotations

import statistics
import time


def summary(seconds, examples):
    """Median, spread and throughput of repetitions that each processed ``examples``."""
    ordered = sorted(seconds)
    median = statistics.median(ordered)
    quartiles = statistics.quantiles(ordered, n=4, method="inclusive") if len(ordered) > 1 else [median] * 3
    return {"seconds": seconds, "median_s": median, "min_s": ordered[0], "max_s": ordered[-1],
            "iqr_relative": (quartiles[2] - quartiles[0]) / median,
            "examples_per_s": examples / median}


def epoch_seconds(contenders, *, batch, eta, warmup, reps):
    """{contender: seconds of each of ``reps`` whole SGD epochs}, after ``warmup`` untimed ones."""
    seconds = {c: [] for c in contenders}
    for rep in range(warmup + reps):
        for contender in contenders:
            contender.epoch_seconds(batch, eta)  # the turn's switch-in, untimed
            took = contender.epoch_seconds(batch, eta)
            if rep >= warmup:
                seconds[contender].append(took)
    return seconds


def gradient_seconds(contenders, *, batch, warmup, reps):
    """{contender: seconds of each pass of ``gradients`` over its examples (whole mini-batches)}."""
    batches = {c: [c.batch(k, k + batch) for k in range(0, c.examples - batch + 1, batch)] for c in contenders}
    seconds = {c: [] for c in contenders}
    for rep in range(warmup + reps):
        for contender in contenders:
            for turn in range(2):  # the first is the turn's switch-in, untimed
                contender.synchronize()
                started = time.perf_counter()
                for x, y in batches[contender]:
                    grad_w, grad_b = contender.gradients(x, y)
                contender.synchronize(*grad_w)
            if rep >= warmup:
                seconds[contender].append(time.perf_counter() - started)
    return seconds
