"""What the Array API wrapper costs on numpy: one SGD step on numpy's own namespace
against the same step on array-api-compat's ``array_api_compat.numpy``.

    python bench/namespace_overhead.py                  # the book's [784, 30, 10], mini-batch 10
    python bench/namespace_overhead.py --batch-size 100 --dtype float32 --json out.json

numpy >= 2.1 implements the standard itself, so xprop's numpy backend does its math in
``numpy`` directly (``backends/numpy_backend.py``); this measures whether that choice
matters. Both namespaces run the same function, ``xprop.backprop.sgd_step``, on the same
parameters and data; rounds alternate between them (A B A B ...) so that a change in
machine load hits both alike. Each round times ``--steps`` consecutive steps; the figure
is the median over rounds of the time per step, with the spread (min-max of rounds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time


def _namespaces():
    import array_api_compat.numpy as compat_numpy
    import numpy

    return {"numpy": numpy, "array_api_compat.numpy": compat_numpy}


def measure(sizes=(784, 30, 10), batch_size=10, dtype="float64", steps=200, rounds=15, seed=0):
    """Median microseconds per SGD step on each namespace (and the spread over rounds)."""
    import numpy

    from xprop import Network
    from xprop.backprop import sgd_step

    net = Network(list(sizes), dtype=dtype, seed=seed)
    rng = numpy.random.default_rng(seed)
    x = rng.random((steps, batch_size, sizes[0])).astype(dtype)  # random, never zeros
    y = numpy.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], (steps, batch_size))]
    times = {name: [] for name in _namespaces()}
    for round_ in range(rounds + 1):  # round 0 warms both up and is not counted
        for name, xp in _namespaces().items():
            weights = [numpy.array(w) for w in net.weights]
            biases = [numpy.array(b) for b in net.biases]
            started = time.perf_counter()
            for i in range(steps):
                sgd_step(weights, biases, net.activations, net.cost, x[i], y[i], eta=3.0,
                         decay=1.0, momentum=0.0, velocities=None, xp=xp)
            elapsed = time.perf_counter() - started
            if round_:
                times[name].append(elapsed / steps * 1e6)
    return {name: {"median_us": statistics.median(t), "min_us": min(t), "max_us": max(t)}
            for name, t in times.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[784, 30, 10])
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    parser.add_argument("--steps", type=int, default=200, help="steps per round (default: 200)")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per namespace (default: 15)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    result = measure(args.sizes, args.batch_size, args.dtype, args.steps, args.rounds)
    print(f"SGD step, {args.sizes}, mini-batch {args.batch_size}, {args.dtype}, "
          f"median of {args.rounds} rounds of {args.steps} steps:")
    for name, r in result.items():
        print(f"  {name:<24} {r['median_us']:8.2f} µs/step   (rounds {r['min_us']:.2f}-{r['max_us']:.2f})")
    native, compat = (result[n]["median_us"] for n in ("numpy", "array_api_compat.numpy"))
    print(f"  wrapper overhead: {compat - native:+.2f} µs/step ({compat / native - 1:+.1%})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"settings": vars(args), "results": result}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
