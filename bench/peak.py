"""The matrix-product peak of this machine, measured in the same run as the networks.

float32 products C = A B of a few shapes (m, k, n): large squares, and the shapes of the
wide network's own products (a mini-batch of 256 against 1024-wide layers, forward and
BP4), which a BLAS may run faster than the squares. GFLOP/s = 2mkn / t (2 flops per
multiply-add), the median of repetitions after a warm-up. The run measures it at its
start and at its end (the machine's clock and load may change in between), and the peak
is the best shape of either: the wide network's achieved GFLOP/s is reported as a
fraction of it, so that fraction is against the best this BLAS showed in the run.
"""

from __future__ import annotations

import statistics
import time

SHAPES = ((1024, 1024, 1024), (2048, 2048, 2048), (256, 1024, 1024), (1024, 256, 1024))


def numpy_peak(shapes=SHAPES, *, dtype="float32", warmup=2, reps=5):
    import numpy as np

    rng = np.random.default_rng(2)
    rows = []
    for m, k, n in shapes:
        a, b = rng.random((m, k)).astype(dtype), rng.random((k, n)).astype(dtype)
        seconds = []
        for _ in range(warmup + reps):
            started = time.perf_counter()
            a @ b
            seconds.append(time.perf_counter() - started)
        median = statistics.median(seconds[warmup:])
        rows.append({"shape": [m, k, n], "median_s": median, "gflops": 2 * m * k * n / median / 1e9})
    return {"library": "numpy", "dtype": dtype, "sizes": rows, "gflops": max(r["gflops"] for r in rows)}


def best(*measurements):
    """The peak over several measurements of the same run (their rows all kept)."""
    rows = [dict(row, measurement=i) for i, m in enumerate(measurements) for row in m["sizes"]]
    return {**measurements[0], "sizes": rows, "gflops": max(m["gflops"] for m in measurements)}
