"""The GPU check: time per SGD step of xprop on a GPU, eager against compiled, fused and a
CUDA graph, timed on the device. ``bench/gpu_check.sh`` runs it unattended on a machine with
an NVIDIA GPU (it installs what is needed first); it runs on the CPU too, for its tests.

    python -m xprop.bench.gpu_check --out gpu-results                 # cupy, torch:cuda, jax:gpu
    python -m xprop.bench.gpu_check --out gpu-results --backends cupy # one backend: gpu_check-cupy.json
    python -m xprop.bench.gpu_check --out gpu-results --report        # measure nothing: gpu_check.md
    python -m xprop.bench.gpu_check --out /tmp/g --dry-run            # numpy, tiny sizes, the host clock

What it measures, for each backend and each configuration (the book network [784, 30, 10]
at mini-batch 10 and 256, the wide one [784, 1024, 1024, 10] at 256, float32, the book's
N(0, 1) start and η = 3): the time per mini-batch step over whole shuffled epochs of
``steps`` mini-batches, the rows gathered on the device from the epoch's permutation, as
the Trainer does, the median over ``reps`` epochs after a warm-up. The modes:

- ``eager``: the Trainer's ``Step`` on the unfused math (``backprop.sgd_step``, one library
  call per array operation);
- ``compiled``: the backend's ``compiled_step`` strategy (jax: whole epochs under
  ``jit`` and ``lax.scan``; torch: ``torch.compile``, with CUDA graphs on cuda; cupy: its
  compiled strategy if it has one), its first epoch (the compiling one) reported apart;
- ``fused``: the same eager step with the backend's fused kernels
  (``xprop.backprop.fused_kernels(backend)``: one kernel for each short elementwise chain,
  σ, BP1, BP2's ⊙σ', the update), where the backend has any (cupy);
- ``cuda graph``: one eager ``sgd_step`` captured in a CUDA graph (``torch.cuda.CUDAGraph``,
  cupy's ``Stream.begin_capture``) on fixed input buffers, replayed per mini-batch after
  the batch's rows are gathered into those buffers (cupy and torch on cuda);
  ``fused cuda graph``: the same with the fused kernels (cupy).

A mode that does not exist on a backend is recorded as "not available" with the reason;
one that fails is recorded with its error, and the others still run. Timing: on cupy and
torch on cuda, CUDA events recorded in the stream before and after each epoch (one
synchronization at the end); on jax and on the CPU, the host clock around the epoch, after
``block_until_ready`` of the parameters. Each backend's results are written as soon as each
measurement ends (``gpu_check-<backend>.json``), so a time limit that cuts a run short
keeps what was done; ``--report`` gathers them into ``gpu_check.json`` and ``gpu_check.md``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import sys
import time
import traceback

from xprop.train.steps import Step  # imports no array library

BACKENDS = ("cupy", "torch:cuda", "jax:gpu")
CONFIGS = (("book", (784, 30, 10), 10), ("book", (784, 30, 10), 256), ("wide", (784, 1024, 1024, 10), 256))
DRY_CONFIGS = (("book", (784, 30, 10), 10), ("book", (784, 30, 10), 256), ("wide", (784, 64, 64, 10), 256))
MODES = ("eager", "compiled", "fused", "cuda graph", "fused cuda graph")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xprop.bench.gpu_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="gpu-results", help="folder for the results (default: gpu-results)")
    parser.add_argument("--backends", nargs="+", help=f"NAME[:DEVICE] (default: {' '.join(BACKENDS)})")
    parser.add_argument("--steps", type=int, default=200, help="mini-batches per timed epoch (default: 200)")
    parser.add_argument("--reps", type=int, default=7, help="timed epochs per measurement (default: 7)")
    parser.add_argument("--dry-run", action="store_true", help="numpy on the CPU, small sizes, a few steps: "
                        "checks the harness and its files without a GPU")
    parser.add_argument("--report", action="store_true", help="measure nothing: gather the out folder's "
                        "gpu_check-*.json into gpu_check.json and gpu_check.md")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if not args.report:
        names = args.backends or (("numpy",) if args.dry_run else BACKENDS)
        steps, reps = (8, 2) if args.dry_run else (args.steps, args.reps)
        configs = DRY_CONFIGS if args.dry_run else CONFIGS
        for name in names:
            check_backend(name, configs=configs, steps=steps, reps=reps, out=args.out, log=print)
    result = gather(args.out)
    write_report(result, args.out)
    print(f"wrote {os.path.join(args.out, 'gpu_check.json')}, {os.path.join(args.out, 'gpu_check.md')}")
    return 0


# -- one backend ------------------------------------------------------------------------

def check_backend(spec, *, configs, steps, reps, out, log=print):
    """Every configuration × mode on the backend ``spec`` ("cupy", "torch:cuda", ...),
    written to ``out/gpu_check-<name>.json`` after each measurement; the result dict."""
    from xprop.backends import get_backend
    from xprop.bench import machine

    name, _, device = spec.partition(":")
    path = os.path.join(out, f"gpu_check-{spec.replace(':', '-')}.json")
    result = {"backend": spec, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "steps": steps, "reps": reps,
              "libraries": machine.versions(), "rows": []}
    try:
        backend = get_backend(name, device or None, check=False)
        reason = backend.unavailable_reason
    except Exception as exc:  # noqa: BLE001 - an unknown name or a broken install is a reason
        backend, reason = None, f"{type(exc).__name__}: {exc}"
    if reason is not None:
        result["unavailable"] = reason
        _write(result, path)
        log(f"{spec}: not usable: {reason}")
        return result
    result.update(device=_device_name(backend), clock=_clock_kind(backend),
                  fused_hot_spots=_fused_hot_spots(backend))
    # the quick modes on every configuration first, compiling last: a time limit that cuts
    # the run short (the shell script's) costs the slowest measurements, not the eager ones
    order = [(config, mode) for mode in MODES if mode != "compiled" for config in configs]
    order += [(config, "compiled") for config in configs]
    for (network, sizes, batch), mode in order:
        row = {"network": network, "sizes": list(sizes), "batch": batch, "mode": mode}
        try:
            row.update(measure(backend, mode, sizes, batch, steps=steps, reps=reps))
        except NotAvailable as exc:
            row.update(status="not available", reason=str(exc))
        except Exception as exc:  # noqa: BLE001 - one failing mode must not cost the others
            row.update(status="failed", reason=f"{type(exc).__name__}: {exc}",
                       traceback=traceback.format_exc()[-3000:])
        result["rows"].append(row)
        result["rows"].sort(key=lambda r: (_index(configs, r), MODES.index(r["mode"])))
        _write(result, path)
        log(_line(spec, row))
    result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    _write(result, path)
    return result


class NotAvailable(Exception):
    """This mode does not exist on this backend (the reason)."""


def measure(backend, mode, sizes, batch, *, steps, reps):
    """One mode on one configuration: the per-step times of ``reps`` timed epochs."""
    from xprop import Network, Trainer
    from xprop.bench import problems
    from xprop.train.batches import Batches

    n = steps * batch
    X_host, Y_host = problems.data(n, sizes, "float32")
    weights, biases = problems.parameters(sizes, "float32")
    net = Network.from_parameters(weights, biases, backend=backend.name, device=backend.device_spec,
                                  dtype="float32", seed=0)
    X, Y = backend.from_host(X_host, "float32"), backend.from_host(Y_host, "float32")
    clock = _clock(backend)
    extra, strategy = {}, None
    if mode in ("cuda graph", "fused cuda graph"):
        kernels = _kernels(backend) if mode == "fused cuda graph" else None
        epoch, extra = _graph_epoch(backend, net, X, Y, batch, clock, kernels)
    else:
        strategy = _strategy(backend, mode)
        trainer = Trainer(net, epochs=1, batch_size=batch, eta=problems.ETA, seed=0, strategy=strategy)
        batches = Batches(X, Y, batch, backend=backend)
        strategy.start(trainer, X)

        def epoch():
            strategy.run_epoch(trainer, batches)

        extra["strategy"] = strategy.describe()
    first = clock.time(epoch, net)  # the warm-up epoch: compiles, fills caches and memory pools
    compile_seconds = getattr(strategy, "compile_seconds", None)
    epoch()  # a second untimed epoch: whatever a first call of the same shapes left undone
    seconds = [clock.time(epoch, net) for _ in range(reps)]
    per_step = sorted(s / steps for s in seconds)
    row = {"status": "measured", "steps": steps, "examples_per_epoch": n, "clock": clock.kind,
           "first_epoch_s": first, "epoch_s": seconds,
           "step_us": 1e6 * statistics.median(per_step), "step_us_min": 1e6 * per_step[0],
           "step_us_max": 1e6 * per_step[-1], "examples_per_s": n / statistics.median(seconds), **extra}
    if compile_seconds is not None:
        row["compile_s"] = float(compile_seconds)
        row["recompile_s"] = float(getattr(strategy, "compile_seconds", 0.0)) - float(compile_seconds)
    weights_after, _ = net.parameters_to_host()
    row["finite"] = bool(all(_finite(w) for w in weights_after))
    return row


def _strategy(backend, mode):
    if mode == "eager":
        return KernelStep()
    if mode == "compiled":
        from xprop.bench.contenders import NothingToCompile, compiled_strategy

        try:
            return compiled_strategy(backend)
        except NothingToCompile as exc:
            raise NotAvailable(str(exc)) from None
    if mode == "fused":
        return KernelStep(_kernels(backend))
    raise ValueError(mode)


def _kernels(backend):
    """``xprop.backprop.fused_kernels(backend)``, or NotAvailable where there are none."""
    from xprop import backprop

    make = getattr(backprop, "fused_kernels", None)
    kernels = make(backend) if make is not None else None
    if not kernels:
        raise NotAvailable(f"{backend.name} has no fused kernels (backend.fused gives None for every hot spot)")
    return kernels


def _fused_hot_spots(backend):
    from xprop.backends.base import HOT_SPOTS

    found = []
    for name in HOT_SPOTS:
        try:
            if backend.fused(name) is not None:
                found.append(name)
        except Exception:  # noqa: BLE001 - a broken fused op shows as absent here, as failed in its row
            pass
    return found


class KernelStep(Step):
    """The eager step with the fused kernels given (``xprop.backprop.fused_kernels``), or with
    none: the unfused references, whatever the Trainer's default step does on this backend."""

    def __init__(self, kernels=None):
        self.kernels = kernels
        self.name = "eager, fused kernels" if kernels else "eager, unfused"

    def step(self, trainer, x, y):
        from xprop import backprop

        net = trainer.network
        options = {"fused": self.kernels} if self.kernels else {}
        backprop.sgd_step(net.weights, net.biases, net.activations, net.cost, x, y, eta=trainer.eta,
                          decay=trainer.decay, momentum=trainer.momentum, velocities=trainer.velocities,
                          xp=net.xp, ones=self.ones, **options)

    def describe(self):
        return (f"eager steps with the backend's fused kernels ({', '.join(self.kernels)})" if self.kernels
                else "eager steps, the unfused references of xprop/backprop.py")


def _graph_epoch(backend, net, X, Y, batch, clock, kernels=None):
    """An epoch function replaying one captured ``sgd_step`` per mini-batch (cupy, torch on
    cuda), with the fused ``kernels`` if given."""
    import numpy

    from xprop import backprop
    from xprop.bench import problems

    if not (backend.name in ("cupy", "torch") and backend.is_gpu):
        raise NotAvailable("a CUDA graph needs cupy or torch on a CUDA device")
    options = {"fused": kernels} if kernels else {}
    xp, n = net.xp, X.shape[0]
    rng = numpy.random.default_rng(0)
    full = n // batch
    ones = xp.ones(batch, dtype=X.dtype, device=X.device)
    static_x, static_y = X[:batch, ...] * 1, Y[:batch, ...] * 1  # fixed buffers the graph reads

    def step():
        backprop.sgd_step(net.weights, net.biases, net.activations, net.cost, static_x, static_y, eta=problems.ETA,
                          decay=1.0, momentum=0.0, velocities=None, xp=xp, ones=ones, **options)

    fused = " (fused kernels)" if kernels else ""
    if backend.name == "torch":
        torch = backend.module
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):  # warm up outside the capture (cuBLAS handles, allocator)
                step()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            step()

        def epoch():
            order = torch.from_numpy(rng.permutation(n)).to(X.device)
            for k in range(full):
                rows = order[k * batch:(k + 1) * batch]
                torch.index_select(X, 0, rows, out=static_x)
                torch.index_select(Y, 0, rows, out=static_y)
                graph.replay()

        return epoch, {"strategy": f"one eager sgd_step{fused} captured with torch.cuda.CUDAGraph, replayed per batch"}
    cupy = backend.module
    stream = cupy.cuda.Stream(non_blocking=True)
    with backend.device, stream:
        # every buffer the epochs use is made before the capture: cupy's pool counts the
        # graph's temporaries as free once it is captured, and an array made later could
        # be given their memory, which each replay writes
        order = cupy.empty(n, dtype=cupy.int64)
        for _ in range(3):  # warm up outside the capture: the memory pool keeps the blocks the capture reuses
            step()
        stream.synchronize()
        stream.begin_capture()
        step()
        graph = stream.end_capture()
    clock.stream = stream

    def epoch():
        with backend.device, stream:
            order.set(rng.permutation(n).astype(numpy.int64), stream=stream)
            for k in range(full):
                rows = order[k * batch:(k + 1) * batch]
                cupy.take(X, rows, axis=0, out=static_x)
                cupy.take(Y, rows, axis=0, out=static_y)
                graph.launch(stream)

    return epoch, {"strategy": f"one eager sgd_step{fused} captured with cupy Stream.begin_capture, launched per batch"}


# -- clocks ---------------------------------------------------------------------------

def _clock_kind(backend):
    return "cuda events" if backend.name in ("cupy", "torch") and backend.is_gpu else "host clock"


def _clock(backend):
    return _EventClock(backend) if _clock_kind(backend) == "cuda events" else _HostClock(backend)


class _HostClock:
    """The host clock around a call, after ``synchronize`` of the parameters (jax: block_until_ready)."""

    kind = "host clock"

    def __init__(self, backend):
        self.backend = backend

    def time(self, work, net):
        self.backend.synchronize(*net.weights)
        started = time.perf_counter()
        work()
        self.backend.synchronize(*net.weights)
        return time.perf_counter() - started


class _EventClock:
    """CUDA events recorded in the stream before and after the call: device time."""

    kind = "cuda events"

    def __init__(self, backend):
        self.backend, self.stream = backend, None

    def time(self, work, net):
        if self.backend.name == "torch":
            torch = self.backend.module
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            work()
            end.record()
            end.synchronize()
            return begin.elapsed_time(end) / 1e3
        cupy = self.backend.module
        stream = self.stream or cupy.cuda.get_current_stream()
        with self.backend.device:
            begin, end = cupy.cuda.Event(), cupy.cuda.Event()
            begin.record(stream)
            work()
            end.record(stream)
            end.synchronize()
            return cupy.cuda.get_elapsed_time(begin, end) / 1e3


# -- files ----------------------------------------------------------------------------

def gather(out):
    """Every ``gpu_check-*.json`` of the folder, in one dict (``gpu_check.json``)."""
    backends = []
    for path in sorted(glob.glob(os.path.join(out, "gpu_check-*.json"))):
        with open(path, encoding="utf-8") as stored:
            backends.append(json.load(stored))
    return {"backends": backends, "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def write_report(result, out):
    _write(result, os.path.join(out, "gpu_check.json"))
    with open(os.path.join(out, "gpu_check.md"), "w", encoding="utf-8") as written:
        written.write(markdown(result))


def markdown(result):
    """The tables: µs per step per backend × configuration × mode, and each mode ÷ eager."""
    lines = ["Time per SGD step (float32), the median over the timed epochs; eager ÷ this: how many times "
             "faster than the eager step of the same backend.", ""]
    for entry in result["backends"]:
        if "unavailable" in entry:
            lines += [f"**{entry['backend']}**: not usable: {entry['unavailable']}", ""]
            continue
        lines += [f"**{entry['backend']}** on {entry.get('device')} ({entry.get('clock')}; {entry['steps']} steps "
                  f"per epoch, median of {entry['reps']} epochs; fused hot spots: "
                  f"{', '.join(entry.get('fused_hot_spots') or []) or 'none'})", "",
                  "| network | mini-batch | mode | µs per step | min–max | examples/s | eager ÷ this | "
                  "compile s | first epoch s |",
                  "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
        for row in entry["rows"]:
            eager = next((r for r in entry["rows"] if (r["network"], r["batch"], r["mode"])
                          == (row["network"], row["batch"], "eager") and r.get("status") == "measured"), None)
            head = f"| {row['network']} {row['sizes']} | {row['batch']} | {row['mode']} |"
            if row.get("status") != "measured":
                lines.append(f"{head} {row.get('status')}: {row.get('reason', '')} | | | | | |".replace("\n", " "))
                continue
            ratio = f"{eager['step_us'] / row['step_us']:.2f}×" if eager else "—"
            compiled = f"{row['compile_s']:.2f}" if row.get("compile_s") is not None else ""
            lines.append(f"{head} {row['step_us']:.1f} | {row['step_us_min']:.1f}–{row['step_us_max']:.1f} | "
                         f"{row['examples_per_s']:,.0f} | {ratio} | {compiled} | {row['first_epoch_s']:.2f} |")
        lines.append("")
    if not result["backends"]:
        lines.append("Nothing measured.")
    return "\n".join(lines) + "\n"


def _write(result, path):
    with open(path + ".tmp", "w", encoding="utf-8") as written:
        json.dump(result, written, indent=1, default=str)
    os.replace(path + ".tmp", path)


def _index(configs, row):
    for k, (network, sizes, batch) in enumerate(configs):
        if (network, list(sizes), batch) == (row["network"], row["sizes"], row["batch"]):
            return k
    return len(configs)


def _line(spec, row):
    what = f"{spec} {row['network']} mb {row['batch']} {row['mode']}"
    if row.get("status") == "measured":
        return f"{what}: {row['step_us']:.1f} µs per step ({row['examples_per_s']:,.0f} ex/s)"
    return f"{what}: {row.get('status')}: {row.get('reason')}"


def _device_name(backend):
    try:
        return ", ".join(backend.devices()) if backend.name == "cupy" else str(backend.device)
    except Exception:  # noqa: BLE001 - a name is only shown
        return str(backend.device_spec)


def _finite(array):
    import numpy

    return bool(numpy.isfinite(array).all())


if __name__ == "__main__":
    sys.exit(main())
