"""The GPU harness: xprop on cupy (and torch on CUDA) timed with device events.

Where no GPU is usable the benchmark records why and skips (``skip_reasons``). Where
one is: the epoch clock records a CUDA event in the stream after each epoch instead of
reading the host clock, the matrix-product peak is a float32 product on the device
(TFLOP/s), and ``launch_latency_us`` measures what one tiny elementwise kernel costs,
the bound on small mini-batches: a [784, 30, 10] step launches about 30 kernels.
"""

from __future__ import annotations


def gpu_backends():
    """(usable GPU backends, {name: why it is skipped})."""
    from xprop.backends import get_backend

    usable, skipped = [], {}
    for name, device in (("cupy", None), ("torch", "cuda")):
        backend = get_backend(name, device, check=False)
        try:
            reason = backend.unavailable_reason
        except Exception as exc:  # noqa: BLE001 - a broken install is a reason too
            reason = f"{type(exc).__name__}: {exc}"
        if reason is None:
            usable.append(backend)
        else:
            skipped[f"{name} {device or 'cuda'}"] = f"no usable GPU: {reason}"
    return usable, skipped


class EventClock:
    """Records a device event per stamp; ``seconds()`` synchronizes once, at the end."""

    def __init__(self, backend):
        self.backend, self.events = backend, []

    def __call__(self):
        if self.backend.name == "cupy":
            event = self.backend.module.cuda.Event()
        else:
            event = self.backend.module.cuda.Event(enable_timing=True)
        event.record()
        self.events.append(event)

    def seconds(self):
        self.backend.synchronize()
        if self.backend.name == "cupy":
            elapsed = self.backend.module.cuda.get_elapsed_time
            return [elapsed(a, b) / 1e3 for a, b in zip(self.events, self.events[1:])]
        return [a.elapsed_time(b) / 1e3 for a, b in zip(self.events, self.events[1:])]


def epoch_seconds(contender, backend, *, batch, eta, warmup, reps):
    """Like ``timing.epoch_seconds``, with the epoch boundaries taken from device events."""
    clock = EventClock(backend)
    clock()
    contender.epochs(warmup + reps, batch, eta, clock)
    return clock.seconds()[warmup:]


def matmul_peak(backend, n=8192, reps=10):
    """TFLOP/s of an n × n float32 product on the device (median of event-timed reps)."""
    import statistics

    xp = backend.namespace
    a = xp.ones((n, n), dtype=xp.float32, device=backend.device)
    b = xp.ones((n, n), dtype=xp.float32, device=backend.device)
    clock = EventClock(backend)
    a @ b
    for _ in range(reps):
        clock()
        a @ b
    clock()
    return {"n": n, "tflops": 2 * n**3 / statistics.median(clock.seconds()) / 1e12}


def launch_latency_us(backend, count=2000):
    """Host time per launch of a one-element elementwise kernel (async, then one sync)."""
    import time

    xp = backend.namespace
    x = xp.ones((1,), dtype=xp.float32, device=backend.device)
    for _ in range(100):
        x = x + 1.0
    backend.synchronize()
    started = time.perf_counter()
    for _ in range(count):
        x = x + 1.0
    backend.synchronize()
    return 1e6 * (time.perf_counter() - started) / count
