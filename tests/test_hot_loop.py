"""The training loop reads nothing back to the host per mini-batch.

On array-api-strict's ``device1`` (a fake non-CPU device) every way an array can reach
the host is counted while the trainer runs: the backend's ``to_host``, and the array's
``__bool__``/``__float__``/``__int__``/``__index__`` (``if x``, ``float(loss)``, an
array as a slice bound: each one a hidden device → host synchronization on a GPU).
The counts must not depend on the number of mini-batches per epoch.
"""

import numpy as np
import pytest

import xprop
from xprop.backends import get_backend

HOST_READS = ("__bool__", "__float__", "__int__", "__index__")


def _host_reads_per_epoch(monkeypatch, batch_size, n=60, epochs=2):
    backend = get_backend("array_api_strict", "device1")
    counts = {"to_host": 0}
    real_to_host = backend.to_host

    def counting_to_host(array):
        counts["to_host"] += 1
        return real_to_host(array)

    monkeypatch.setattr(backend, "to_host", counting_to_host)
    array_type = type(backend.from_host(np.zeros(1)))
    for name in HOST_READS:
        counts[name] = 0
        real = getattr(array_type, name)

        def counting(self, *args, _real=real, _name=name):
            counts[_name] += 1
            return _real(self, *args)

        monkeypatch.setattr(array_type, name, counting)
    rng = np.random.default_rng(0)
    X = backend.from_host(rng.random((n, 6)), "float64")
    y = backend.from_host(rng.integers(0, 3, n), "int32")
    net = xprop.Network([6, 4, 3], backend="array_api_strict", device="device1", dtype="float64")
    before = dict(counts)
    net.fit(X, y, epochs=epochs, batch_size=batch_size, eta=0.5)
    return {k: counts[k] - before[k] for k in counts}


@pytest.mark.parametrize("gather_bytes", [2**20, 1], ids=["one gather per epoch", "one gather per batch"])
def test_host_reads_do_not_grow_with_the_number_of_batches(monkeypatch, gather_bytes):
    from xprop.train import batches as training

    monkeypatch.setattr(training, "GATHER_BYTES", gather_bytes)
    few = _host_reads_per_epoch(monkeypatch, batch_size=30)  # 2 batches per epoch
    many = _host_reads_per_epoch(monkeypatch, batch_size=3)  # 20 batches per epoch
    assert many == few, (few, many)
    assert few["to_host"] <= 2 * 2  # at most a couple of copies per epoch, none per batch


@pytest.mark.parametrize("batch_size", [3, 30])
def test_the_loop_runs_on_a_non_default_device(batch_size):
    """Mixing devices or converting implicitly would raise on device1."""
    backend = get_backend("array_api_strict", "device1")
    rng = np.random.default_rng(1)
    X = backend.from_host(rng.random((30, 6)), "float32")
    y = backend.from_host(rng.integers(0, 3, 30), "int32")
    net = xprop.Network([6, 4, 3], backend="array_api_strict", device="device1", dtype="float32")
    history = net.fit(X, y, epochs=1, batch_size=batch_size, eta=0.5, monitor=["training_cost"])
    assert np.isfinite(history[0].training_cost)
