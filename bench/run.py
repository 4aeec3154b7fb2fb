"""xprop bench: training and gradient throughput of xprop against what users would use instead.

    xprop bench                          # the full grid (minutes)
    xprop bench --quick --out /tmp/b     # a smoke run of a few seconds
    python -m xprop.bench --backends numpy torch --reps 7
    xprop bench --render docs/bench/bench.json   # measure nothing: rewrite bench.md and bench.png

Measures, in one process and one run, examples/s of whole SGD epochs and of gradients
alone for xprop on every usable backend and for the references (``contenders``), on the
book's network [784, 30, 10] (float32/float64 × mini-batch 10/100/1000) and the wide one
[784, 1024, 1024, 10] (float32, mini-batch 256, GFLOP/s against the matrix-product peak),
then the memory of a Fashion-MNIST run (``memory``) and, where a GPU is usable, the
same on the GPU (``gpu``). Every backend whose ``compiled_step`` compiles (jax, torch) gets a second contender beside its eager one, "xprop jax
compiled": the same Trainer on the compiled strategy, its compiling epoch run before the
timed repetitions and reported apart (compile seconds), its throughput from epochs that
compile nothing. A backend with nothing to compile (numpy, array-api-strict) has no
compiled row; ``skipped`` says why. Writes bench.json, bench.md and bench.png into ``--out``.
``--render`` writes bench.md and bench.png again from an earlier run's bench.json, so
that the tables shown in the docs are always the report writer's output, never edited.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from dataclasses import asdict, dataclass

CPU_BACKENDS = ("numpy", "torch", "jax", "array_api_strict")
QUICK_BACKENDS = ("numpy", "torch", "jax")  # numpy for the references, torch and jax for their compiled steps


@dataclass
class Settings:
    book_examples: int = 5000
    loop_examples: int = 2000  # the per-example loop's epochs: its time per example is constant
    wide_examples: int = 2048
    wide_sizes: tuple = (784, 1024, 1024, 10)  # problems.WIDE; the quick smoke run uses a narrower one
    batches: tuple = (10, 100, 1000)
    dtypes: tuple = ("float32", "float64")
    warmup: int = 1
    reps: int = 5
    peak_shapes: tuple = ()  # () for peak.SHAPES
    memory_epochs: int = 3
    memory_synthetic: int = 0  # 0: Fashion-MNIST

    @classmethod
    def quick(cls):
        return cls(book_examples=200, loop_examples=200, wide_examples=256, wide_sizes=(784, 128, 128, 10), batches=(10,), dtypes=("float32", "float64"),
                   warmup=0, reps=1, peak_shapes=((256, 256, 256),), memory_epochs=2, memory_synthetic=1000)


# What each optional library of xprop bench adds; without it the run goes on, less that part.
OPTIONAL = {"matplotlib": "no bench.png", "threadpoolctl": "no BLAS library or thread count in the results",
            "torch": "no PyTorch references"}


def missing_optional(names=tuple(OPTIONAL)):
    """{name: what is left out} for the optional libraries of ``names`` that are not installed."""
    import importlib.util

    return {name: OPTIONAL[name] for name in names if importlib.util.find_spec(name) is None}


def say_missing(missing):
    """One line, before anything is measured, naming what is not installed and what that leaves out."""
    if missing:
        parts = "; ".join(f"{name} ({what})" for name, what in missing.items())
        extras = "bench,torch" if "torch" in missing else "bench"
        print(f"xprop bench: not installed: {parts}; pip install 'xprop[{extras}]'", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="xprop bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds (small sizes; numpy, "
                        "and torch and jax eager and compiled where installed)")
    parser.add_argument("--out", help="folder for bench.json, bench.md, bench.png (default: bench-results; "
                        "with --render, the folder of its bench.json)")
    parser.add_argument("--render", metavar="BENCH_JSON", help="measure nothing: write bench.md and bench.png "
                        "from the bench.json of an earlier run")
    parser.add_argument("--backends", nargs="+", help=f"xprop backends to time (default: the usable ones of "
                        f"{', '.join(CPU_BACKENDS)}; {', '.join(QUICK_BACKENDS)} with --quick)")
    parser.add_argument("--reps", type=int, help="timed repetitions per measurement")
    parser.add_argument("--no-memory", action="store_true", help="skip the Fashion-MNIST memory run")
    parser.add_argument("--threads", type=int, help="BLAS threads for numpy and torch, and as many CPUs for the "
                        "whole process (jax's XLA pool has no other limit) (default: numpy's own count, every CPU)")
    parser.add_argument("--no-compiled", action="store_true", help="no compiled contenders (jax.jit, torch.compile)")
    args = parser.parse_args(argv)
    missing = missing_optional(("matplotlib",) if args.render else tuple(OPTIONAL))
    if args.threads is not None and "threadpoolctl" in missing:
        parser.error("--threads needs threadpoolctl: pip install 'xprop[bench]'")
    say_missing(missing)
    if args.render:
        import json

        with open(args.render, encoding="utf-8") as stored:
            result = json.load(stored)
        out = args.out or os.path.dirname(os.path.abspath(args.render))
        same = os.path.abspath(os.path.join(out, "bench.json")) == os.path.abspath(args.render)
        return write(result, out, json_too=not same)
    settings = Settings.quick() if args.quick else Settings()
    if args.reps:
        settings.reps = args.reps
    out = args.out or "bench-results"
    os.makedirs(out, exist_ok=True)
    with _blas_threads(args.threads), _cpus(args.threads):
        result = run(settings, args.backends or (QUICK_BACKENDS if args.quick else CPU_BACKENDS),
                     memory=not args.no_memory, compiled=not args.no_compiled, log=print)
    return write(result, out)


def write(result, out, *, json_too=True):
    """bench.json (unless it is already there), bench.md and bench.png into the folder ``out``."""
    from xprop.bench import report

    os.makedirs(out, exist_ok=True)
    names = ("bench.json", "bench.md") if json_too else ("bench.md",)
    if json_too:
        report.write_json(result, os.path.join(out, "bench.json"))
    table = report.markdown(result)
    with open(os.path.join(out, "bench.md"), "w", encoding="utf-8") as written:
        written.write(table)
    if not missing_optional(("matplotlib",)):  # without it, main said so before measuring
        report.plot(result, os.path.join(out, "bench.png"))
        names += ("bench.png",)
    print(table)
    print(f"wrote {', '.join(os.path.join(out, name) for name in names)}")
    return 0


def run(settings, backend_names, *, memory=True, compiled=True, log=print):
    """Measure everything; the result as one JSON-ready dict."""
    from xprop.bench import gpu, machine, memory as memory_run, peak, problems, targets

    started = datetime.datetime.now(datetime.timezone.utc)
    backends, skipped = usable_backends(backend_names, settings.dtypes)
    compiling, compile_skips = compiling_backends(backends) if compiled else ([], {
        f"xprop {b.name} compiled": "not run (--no-compiled)" for b in backends})
    skipped.update(compile_skips)
    threads = machine.blas_threads()
    references, reference_skips = usable_references(threads)
    skipped.update(reference_skips)
    result = {"started": started.isoformat(timespec="seconds"), "command": " ".join(sys.argv),
              "settings": asdict(settings), "machine": machine.describe(), "torch_threads": threads}
    def measure_peak():
        return peak.numpy_peak(settings.peak_shapes or peak.SHAPES, warmup=max(settings.warmup, 1), reps=settings.reps)

    first_peak = measure_peak()
    log(f"numpy float32 matmul peak at the start: {first_peak['gflops']:.0f} GFLOP/s")
    rows = []
    for dtype in settings.dtypes:
        for batch in settings.batches:
            rows += measure(problems.BOOK, dtype, batch, settings.book_examples, backends, references,
                            settings, threads, log, compiling=compiling)
    wide_references = [r for r in references if r != "per-example loop"]
    skipped["per-example loop on the wide network"] = "not run: a Python loop over 256 examples of 1024 × 1024 products per step would take minutes; it is measured on the book network"
    products = [peak.Product(shape) for shape in settings.peak_shapes or peak.SHAPES]
    wide_rows, result["peak"] = measure(settings.wide_sizes, "float32", 256, settings.wide_examples, backends,
                                        wide_references, settings, threads, log, products=products,
                                        compiling=compiling)
    result["rows"] = rows + wide_rows
    log(f"numpy float32 matmul peak, interleaved with the wide network: {result['peak']['gflops']:.0f} GFLOP/s")
    result["peak_start_end"] = peak.best(first_peak, measure_peak())
    log(f"numpy float32 matmul peak, best of the start and the end: {result['peak_start_end']['gflops']:.0f} GFLOP/s")
    gpus, gpu_skips = gpu.gpu_backends()
    skipped.update(gpu_skips)
    result["gpu"] = ([measure_gpu(backend, settings, log, compiled=compiled) for backend in gpus] if gpus
                     else {"skipped": gpu_skips})
    result["memory"] = (memory_run.measure(epochs=settings.memory_epochs, synthetic=settings.memory_synthetic)
                        if memory else {"skipped": "--no-memory"})
    result["skipped"] = skipped
    result["targets"] = targets.evaluate(result["rows"], result["peak"]["gflops"], skipped)
    return result


def usable_backends(names, dtypes):
    """(backends to time, {name: why skipped}); cupy and torch on CUDA belong to the GPU part."""
    from xprop.backends import get_backend

    chosen, skipped = [], {}
    for name in CPU_BACKENDS:
        if name not in names:
            skipped[f"xprop {name}"] = "not selected (--backends)"
            continue
        if name == "jax" and "float64" in dtypes:
            _enable_jax_float64()
        backend = get_backend(name, check=False)
        if backend.available:
            chosen.append(backend)
        else:
            skipped[f"xprop {name}"] = backend.unavailable_reason
    return chosen, skipped


def compiling_backends(backends):
    """(the backends whose ``compiled_step`` compiles, {"xprop NAME compiled": why not}).

    Asked through ``compiled_step`` itself, as ``fit(compile=True)`` asks: a backend with
    nothing to compile says so in its CompileNotice, which becomes the skip reason.
    """
    from xprop.bench.contenders import NothingToCompile, compiled_strategy

    compiling, skipped = [], {}
    for backend in backends:
        try:
            compiled_strategy(backend)
        except NothingToCompile as exc:
            skipped[f"xprop {backend.name} compiled"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - a strategy that cannot even be made is a reason too
            skipped[f"xprop {backend.name} compiled"] = f"compiled_step failed: {type(exc).__name__}: {exc}"
        else:
            compiling.append(backend)
    return compiling, skipped


def usable_references(threads):
    """(the references that can run, {name: why not}); torch gets numpy's BLAS thread count."""
    from xprop.bench.contenders import REFERENCES

    try:
        import torch
        if threads:
            torch.set_num_threads(threads)  # for xprop's torch backend as for the references
    except ImportError as exc:
        reason = f"torch is not installed ({exc}); pip install 'xprop[torch]'"
        return [r for r in REFERENCES if not r.startswith("torch")], {r: reason for r in REFERENCES if r.startswith("torch")}
    return list(REFERENCES), {}


def measure(sizes, dtype, batch, n, backends, references, settings, threads, log, *, products=(), compiling=()):
    """One row per contender: training and gradient throughput on one configuration.

    Each backend of ``compiling`` adds a compiled contender right after its eager one; its
    compiling epoch (``warm_up``) runs before the repetitions, and its row carries the
    compile seconds apart from the throughput. Its gradient column is left empty: the
    compiled strategies compile whole SGD steps, not ``backprop.gradients`` alone.
    With ``products`` (``peak.Product``), these take their turns in the same interleaved
    training repetitions, and the result is ``(rows, the peak they give)``.
    """
    from xprop.bench import contenders, problems, timing

    X, Y = problems.data(n, sizes, dtype)
    weights, biases = problems.parameters(sizes, dtype)
    network = "book" if tuple(sizes) == problems.BOOK else "wide"  # wide: problems.WIDE (narrower in --quick)
    built = []
    for b in backends:
        built.append(lambda b=b: contenders.Xprop(b, weights, biases, X, Y))
        if b in compiling:
            built.append(lambda b=b: contenders.Xprop(b, weights, biases, X, Y, compiled=True))
    loop = settings.loop_examples
    built += [lambda r=r: contenders.reference(r, weights, biases, *((X[:loop], Y[:loop]) if r == "per-example loop"
                                                                  else (X, Y)), threads=threads)
              for r in references]
    contenders_ = [build() for build in built]
    compiled = [c for c in contenders_ if getattr(c, "compiled", False)]
    for contender in compiled:  # the epoch that compiles, before any timed repetition
        contender.warm_up(batch, problems.ETA)
    trains = timing.epoch_seconds(contenders_ + list(products), batch=batch, eta=problems.ETA,
                                  warmup=settings.warmup, reps=settings.reps)
    eager = [c for c in contenders_ if c not in compiled]
    gradients = timing.gradient_seconds(eager, batch=batch, warmup=settings.warmup, reps=settings.reps)
    rows, flops = [], problems.flops_per_example(sizes)
    for contender in contenders_:
        train = timing.summary(trains[contender], contender.examples)
        gradient = (timing.summary(gradients[contender], contender.examples // batch * batch)
                    if contender in gradients else None)
        row = {"network": network, "sizes": list(sizes), "dtype": dtype, "batch": batch,
               "contender": contender.name, "examples": contender.examples, "train": train, "gradient": gradient,
               "train_gflops": flops * train["examples_per_s"] / 1e9,
               "gradient_gflops": None if gradient is None else flops * gradient["examples_per_s"] / 1e9,
               "compiled": contender in compiled}
        if contender in compiled:
            row.update(compile_s=contender.compile_seconds, warm_up_s=contender.warm_up_seconds,
                       recompile_s=contender.recompile_seconds, strategy=contender.describe())
        rows.append(row)
        said = ("gradient —" if gradient is None else f"gradient {gradient['examples_per_s']:>11,.0f} ex/s")
        if contender in compiled:
            said += f"   compile {contender.compile_seconds:.2f} s"
        log(f"{network} {dtype} mb {batch:>4} {contender.name:<24} training {train['examples_per_s']:>11,.0f} ex/s "
            f"± {100 * train['iqr_relative']:.0f}%   {said}")
    if products:
        from xprop.bench import peak

        return rows, peak.from_products({p: trains[p] for p in products})
    return rows


def measure_gpu(backend, settings, log, *, compiled=True):
    """The GPU part: event-timed epochs of xprop (eager, and compiled where the backend
    compiles), the device's matmul peak and launch latency."""
    from xprop.bench import contenders, gpu, problems, timing

    out = {"backend": backend.name, "device": str(backend.device), "peak": gpu.matmul_peak(backend),
           "launch_latency_us": gpu.launch_latency_us(backend), "rows": []}
    modes = [False]
    if compiled:
        try:
            contenders.compiled_strategy(backend)
            modes.append(True)
        except contenders.NothingToCompile as exc:
            out["compiled_skipped"] = str(exc)
    configs = [(problems.BOOK, b, settings.book_examples) for b in settings.batches]
    configs.append((settings.wide_sizes, 256, settings.wide_examples))
    for sizes, batch, n in configs:
        X, Y = problems.data(n, sizes, "float32")
        weights, biases = problems.parameters(sizes, "float32")
        for mode in modes:
            contender = contenders.Xprop(backend, weights, biases, X, Y, compiled=mode)
            if mode:
                contender.warm_up(batch, problems.ETA)
            train = timing.summary(gpu.epoch_seconds(contender, backend, batch=batch, eta=problems.ETA,
                                                     warmup=settings.warmup, reps=settings.reps), n)
            tflops = problems.flops_per_example(sizes) * train["examples_per_s"] / 1e12
            row = {"contender": contender.name, "sizes": list(sizes), "batch": batch, "train": train,
                   "tflops": tflops, "fraction_of_peak": tflops / out["peak"]["tflops"], "compiled": mode}
            if mode:
                row.update(compile_s=contender.compile_seconds, warm_up_s=contender.warm_up_seconds,
                           recompile_s=contender.recompile_seconds, strategy=contender.describe())
            out["rows"].append(row)
            contender = None  # free the device memory before the next one
            log(f"GPU {row['contender']} {list(sizes)} mb {batch}: {train['examples_per_s']:,.0f} ex/s, "
                f"{tflops:.2f} TFLOP/s")
    return out


def _blas_threads(threads):
    """A context limiting numpy's BLAS to ``threads`` (threadpoolctl); a no-op for None."""
    import contextlib

    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")


def _cpus(count):
    """A context running this process, and every thread it starts, on ``count`` of its CPUs.

    threadpoolctl limits numpy's BLAS, ``torch.set_num_threads`` torch; jax's XLA keeps a
    pool of its own that neither reaches, so with ``--threads 1`` jax alone would use every
    core. Its threads are started with jax, after this, and inherit the affinity. A no-op
    for None, or where the platform has no ``sched_setaffinity``.
    """
    import contextlib

    if count is None or not hasattr(os, "sched_setaffinity"):
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def pinned():
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, sorted(before)[:count])
        try:
            yield
        finally:
            os.sched_setaffinity(0, before)

    return pinned()


def _enable_jax_float64():
    try:
        import jax
    except ImportError:
        return
    jax.config.update("jax_enable_x64", True)


if __name__ == "__main__":
    sys.exit(main())
