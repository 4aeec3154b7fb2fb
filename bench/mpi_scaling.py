"""Data-parallel scaling over MPI: time per step, examples/s, Allreduce share, efficiency.

    python bench/mpi_scaling.py                      # launches 1 and 2 ranks, prints the tables
    python bench/mpi_scaling.py --ranks 1 2 4 --json bench/results/mpi_scaling.json
    mpiexec -n 2 python bench/mpi_scaling.py --worker   # one measurement (JSON from rank 0)

Each worker trains the wide network [784, 1024, 1024, 10] (float32, global mini-batch
256, synthetic MNIST-shaped data) with the data-parallel step strategy
(``xprop.parallel.DataParallel``) and reports, from
rank 0, the median time per step, examples/s, the share of the step spent inside the
gradient Allreduce (waiting for the slower rank included), the Allreduce of the same
buffer alone (after a Barrier, on the same path: staging included), and a 1M-float32
Allreduce. The one-rank worker also times the plain one-process step
(``backprop.sgd_step``) of the wide and of the book's network [784, 30, 10]
(mini-batch 10): the compute times the on-paper table uses.

Scaling efficiency with the global mini-batch fixed (strong scaling) is
t_step(1) / (N · t_step(N)). On paper, for N nodes each computing m/N examples and a
ring Allreduce moving 2(N−1)/N × the gradient bytes over a link of bandwidth B:

    t_step(N) ≈ t_compute(m)/N + 2(N−1)/N · bytes/B,   efficiency = t_compute(m) / (N · t_step(N))

(no overlap of compute and communication, latency left out, compute assumed to scale
as 1/N). Every worker runs with ``--threads`` BLAS threads per rank (default 1): one
core per rank, as one node per rank would have its own.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

WIDE, BOOK = [784, 1024, 1024, 10], [784, 30, 10]
WIDE_BATCH, BOOK_BATCH = 256, 10
LINKS = {"10 Gb/s Ethernet": 10e9, "100 Gb/s Ethernet": 100e9, "200 Gb/s InfiniBand": 200e9}
PAPER_NODES = (2, 4, 8, 16, 64)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", action="store_true", help="measure (run under mpiexec)")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads per rank")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    runs = [launch(n, args) for n in args.ranks]
    report(runs, args)


# -- one measurement, on every rank -----------------------------------------------------------
def worker(args):
    import numpy as np

    from xprop import parallel

    comm = parallel.world()
    result = {"ranks": comm.Get_size(), "backend": args.backend, "threads": args.threads}
    with parallel.abort_on_error(comm):
        result.update(time_data_parallel(comm, args))
        from mpi4py import MPI

        million = np.ones(1 << 20, np.float32)
        result["allreduce_1M_float32_ms"] = 1e3 * time_allreduce(
            comm, lambda: comm.Allreduce(MPI.IN_PLACE, million), args)
        if comm.Get_size() == 1:
            result["compute_ms"] = {"wide": 1e3 * time_alone(WIDE, WIDE_BATCH, args),
                                    "book": 1e3 * time_alone(BOOK, BOOK_BATCH, args)}
    if parallel.is_root(comm):
        print(json.dumps(result), flush=True)


def problem(sizes, batch, steps, backend):
    """A network and ``steps`` synthetic mini-batches (seeded, the same on every rank)."""
    import numpy as np

    import xprop

    net = xprop.Network(sizes, backend=backend, dtype="float32", seed=0)
    rng = np.random.default_rng(1)
    n = batch * steps
    X = net.backend.from_host(rng.random((n, sizes[0]), dtype=np.float32))
    Y = net.backend.from_host(np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], n)])
    return net, X, Y


def time_data_parallel(comm, args):
    """Median step time of the data-parallel step, and the time inside its Allreduce."""
    import numpy as np

    import xprop
    from xprop.parallel import DataParallel

    total = args.warmup + args.steps
    net, X, Y = problem(WIDE, WIDE_BATCH, total, args.backend)
    trainer = xprop.Trainer(net, epochs=1, batch_size=WIDE_BATCH, eta=0.1, strategy=DataParallel(comm))
    parallel = trainer.strategy
    parallel.start(trainer, X)  # what the strategy owns: BP3's ones, the packed layout, the Allreduce
    timed = parallel.sum_over_ranks = Timed(parallel.sum_over_ranks)
    steps = []
    comm.Barrier()
    for k in range(total):
        x, y = X[k * WIDE_BATCH:(k + 1) * WIDE_BATCH, ...], Y[k * WIDE_BATCH:(k + 1) * WIDE_BATCH, ...]
        started = time.perf_counter()
        parallel.step(trainer, x, y)
        net.backend.synchronize(*net.weights)
        steps.append(time.perf_counter() - started)
    steps, inside = steps[args.warmup:], timed.seconds[args.warmup:]
    step = statistics.median(steps)
    gradient = net.backend.from_host(np.zeros(parallel.layout.size, np.float32))
    return {"step_ms": 1e3 * step, "examples_per_s": WIDE_BATCH / step,
            "allreduce_share": sum(inside) / sum(steps), "allreduce_in_step_ms": 1e3 * statistics.median(inside),
            "gradient_values": parallel.layout.size, "path": parallel.sum_over_ranks.inner.describe(),
            "allreduce_gradient_alone_ms": 1e3 * time_allreduce(comm, lambda: timed.inner(gradient), args)}


class Timed:
    """Wraps the Allreduce of a step and keeps the seconds each call took."""

    def __init__(self, inner):
        self.inner, self.seconds = inner, []

    def __call__(self, flat):
        started = time.perf_counter()
        total = self.inner(flat)
        self.seconds.append(time.perf_counter() - started)
        return total


def time_allreduce(comm, allreduce, args):
    """Median seconds of ``allreduce()``, each call started after a Barrier."""
    seconds = []
    for k in range(args.warmup + args.steps):
        comm.Barrier()
        started = time.perf_counter()
        allreduce()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds[args.warmup:])


def time_alone(sizes, batch, args):
    """Median seconds of the one-process SGD step (no MPI): the compute time per step."""
    from xprop import backprop

    total = args.warmup + args.steps
    net, X, Y = problem(sizes, batch, total, args.backend)
    seconds = []
    for k in range(total):
        started = time.perf_counter()
        backprop.sgd_step(net.weights, net.biases, net.activations, net.cost, X[k * batch:(k + 1) * batch, ...],
                          Y[k * batch:(k + 1) * batch, ...], eta=0.1, decay=1.0, momentum=0.0,
                          velocities=None, xp=net.xp)
        net.backend.synchronize(*net.weights)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds[args.warmup:])


# -- the driver ---------------------------------------------------------------------------------
def launch(ranks, args):
    """Run one worker under ``mpiexec -n ranks``; its JSON result."""
    from xprop.parallel import find_mpiexec

    mpiexec = find_mpiexec()
    if mpiexec is None:
        sys.exit("no mpiexec found: pip install 'xprop[mpi]' or set XPROP_MPIEXEC")
    env = dict(os.environ, **{name: str(args.threads) for name in THREAD_VARIABLES})
    command = [mpiexec, "-n", str(ranks), sys.executable, os.path.abspath(__file__), "--worker",
               "--backend", args.backend, "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--threads", str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(runs, args):
    base = runs[0]
    if base["ranks"] != 1:
        sys.exit("the first of --ranks must be 1: efficiency is measured against one rank")
    print(f"wide network {WIDE}, float32, global mini-batch {WIDE_BATCH}, {args.backend}, "
          f"{args.threads} BLAS thread(s) per rank, median of {args.steps} steps")
    print(f"{'ranks':>5} {'ms/step':>9} {'examples/s':>11} {'in Allreduce':>13} {'Allreduce alone':>16} "
          f"{'efficiency':>11}  path")
    for run in runs:
        run["efficiency"] = base["step_ms"] / (run["ranks"] * run["step_ms"])
        print(f"{run['ranks']:>5} {run['step_ms']:>9.2f} {run['examples_per_s']:>11.0f} "
              f"{100 * run['allreduce_share']:>12.1f}% {run['allreduce_gradient_alone_ms']:>13.2f} ms "
              f"{run['efficiency']:>11.2f}  {run['path']}")
    for run in runs:
        print(f"Allreduce of 1M float32 over {run['ranks']} rank(s): {run['allreduce_1M_float32_ms']:.2f} ms")
    paper = on_paper(base["compute_ms"])
    print_paper(paper)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as out:
            json.dump({"runs": runs, "on_paper": paper}, out, indent=1)


def on_paper(compute_ms):
    """Expected efficiency for N nodes from the ring-allreduce cost, per network and link."""
    rows = []
    for name, sizes, batch in (("book", BOOK, BOOK_BATCH), ("wide", WIDE, WIDE_BATCH)):
        values = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        compute = compute_ms[name] / 1e3
        for link, bandwidth in LINKS.items():
            row = {"network": name, "sizes": sizes, "batch": batch, "gradient_bytes": 4 * values,
                   "compute_ms": compute_ms[name], "link": link, "efficiency": {}}
            for n in PAPER_NODES:
                communicate = 2 * (n - 1) / n * 4 * values / (bandwidth / 8)
                row["efficiency"][n] = compute / (n * (compute / n + communicate))
            rows.append(row)
    return rows


def print_paper(rows):
    print("\non paper: efficiency = t_c / (N (t_c/N + 2(N-1)/N * bytes / B))")
    print(f"{'network':<28} {'link':<20} " + " ".join(f"{'N=' + str(n):>6}" for n in PAPER_NODES))
    for row in rows:
        label = f"{row['network']} {row['gradient_bytes'] / 1e6:.2f} MB t_c={row['compute_ms']:.2f} ms"
        print(f"{label:<28} {row['link']:<20} " + " ".join(f"{row['efficiency'][n]:>6.2f}" for n in PAPER_NODES))


if __name__ == "__main__":
    main()
