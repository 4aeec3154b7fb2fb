"""The matrix-product peak of this machine, measured in the same run as the networks.

Square float32 products C = A B of a few sizes; GFLOP/s = 2n³ / t (2 flops per
multiply-add), the median of repetitions after a warm-up, and the peak is the best size.
The wide network's achieved GFLOP/s is reported as a fraction of it.
"""

from __future__ import annotations

import statistics
import time


def numpy_peak(sizes=(1024, 2048), *, dtype="float32", warmup=2, reps=5):
    import numpy as np

    rng = np.random.default_rng(2)
    rows = []
    for n in sizes:
        a, b = rng.random((n, n)).astype(dtype), rng.random((n, n)).astype(dtype)
        seconds = []
        for _ in range(warmup + reps):
            started = time.perf_counter()
            a @ b
            seconds.append(time.perf_counter() - started)
        median = statistics.median(seconds[warmup:])
        rows.append({"n": n, "median_s": median, "gflops": 2 * n**3 / median / 1e9})
    return {"library": "numpy", "dtype": dtype, "sizes": rows, "gflops": max(r["gflops"] for r in rows)}
