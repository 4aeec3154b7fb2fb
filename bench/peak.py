"""The matrix-product peak of this machine, measured in the same run as the networks.

float32 products C = A B of a few shapes (m, k, n): large squares, and the shapes of the
wide network's own products (a mini-batch of 256 against 1024-wide layers, forward and
BP4), which a BLAS may run faster than the squares. GFLOP/s = 2mkn / t (2 flops per
multiply-add), the median of repetitions after a warm-up; the peak is the best shape.

The wide network's achieved GFLOP/s is a fraction of the peak measured *interleaved*
with it: each repetition of the wide network times every contender and every product
shape in turn (``Product``), so numerator and denominator see the same stretch of a
shared machine, whose speed drifts within minutes. A peak taken at the start and the end
of the run only (``numpy_peak``) sees other stretches; it is still reported, beside.
"""

from __future__ import annotations

import statistics
import time

SHAPES = ((1024, 1024, 1024), (2048, 2048, 2048), (256, 1024, 1024), (1024, 256, 1024))


def numpy_peak(shapes=SHAPES, *, dtype="float32", warmup=2, reps=5):
    """The peak measured apart: each shape's repetitions one after the other."""
    seconds = {}
    for product in (Product(shape, dtype) for shape in shapes):
        times = [product.epoch_seconds(None, None) for _ in range(warmup + reps)]
        seconds[product] = times[warmup:]
    return from_products(seconds, measured="apart, each shape's repetitions in a row")


def best(*measurements):
    """The peak over several measurements of the same run (their rows all kept)."""
    rows = [dict(row, measurement=i) for i, m in enumerate(measurements) for row in m["sizes"]]
    return {**measurements[0], "sizes": rows, "gflops": max(m["gflops"] for m in measurements)}


class Product:
    """One product shape timed like a contender's epoch (``timing.epoch_seconds``), so that
    it takes its turn in the same interleaved repetitions as the wide network."""

    library = "numpy"

    def __init__(self, shape, dtype="float32"):
        import numpy as np

        self.shape = tuple(shape)
        m, k, n = self.shape
        self.name = f"matmul {m}×{k}×{n}"
        rng = np.random.default_rng(2)
        self.a, self.b = rng.random((m, k)).astype(dtype), rng.random((k, n)).astype(dtype)
        self.dtype = dtype

    def epoch_seconds(self, batch, eta):
        started = time.perf_counter()
        self.a @ self.b
        return time.perf_counter() - started


def from_products(seconds, measured="interleaved with the wide network's repetitions"):
    """The peak from ``{Product: [seconds of each repetition]}`` (``timing.epoch_seconds``)."""
    rows = []
    for product, times in seconds.items():
        m, k, n = product.shape
        median = statistics.median(times)
        rows.append({"shape": [m, k, n], "median_s": median, "gflops": 2 * m * k * n / median / 1e9})
    dtype = next(iter(seconds)).dtype
    return {"library": "numpy", "dtype": dtype, "sizes": rows, "gflops": max(r["gflops"] for r in rows),
            "measured": measured}
