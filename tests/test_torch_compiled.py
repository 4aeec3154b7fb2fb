"""compile=True on torch: the same ``sgd_step``, compiled by torch.compile on the CPU (a CUDA
graph of the eager step on a GPU), ends an epoch where the eager step ends; and the math
runs on torch's own namespace, not on array-api-compat's wrapper.

torch.compile takes seconds per compiled function on a CPU: the compiled runs are made
once per module (fixtures) on a tiny network and shared between the assertions.
"""

import warnings

import numpy as np
import pytest

from helpers import data

import xprop
from xprop.backends import get_backend
from xprop.train.schedules import ReduceOnPlateau
from xprop.train.steps import CompileNotice

torch = pytest.importorskip("torch", reason="torch is not installed; pip install 'xprop[torch]'")
# inductor imports torch.jit code that warns about itself
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")

SIZES = [5, 4, 3]
# 23 examples in mini-batches of 10: two full batches (one compiled call) and a partial one
N = 23
# momentum, L2, and a plateau schedule that halves η after epoch 2 (asserted below): the
# third epoch runs with a new η and a new L2 factor 1 − ηλ/n
SCHEDULED = dict(epochs=3, batch_size=10, eta=3.0, momentum=0.5, lmbda=0.1, monitor=["training_accuracy"])


def _fit(device, dtype, *, compile, strategy=None, plateau=False, **options):
    """A network trained from seed 1 on the seeded data; returns (network, history)."""
    backend = get_backend("torch", device)
    X, y = data(SIZES, N, seed=0, labels=True)
    net = xprop.Network(SIZES, backend="torch", device=device, dtype=dtype, seed=1)
    if plateau:
        options["callbacks"] = [ReduceOnPlateau(patience=1, metric="training_accuracy")]
    history = net.fit(backend.from_host(X, dtype), backend.from_host(y, "int64"), compile=compile,
                      strategy=strategy, **options)
    return net, history


def _assert_same_parameters(got, want, rtol):
    for a, b in zip(sum(got.parameters_to_host(), []), sum(want.parameters_to_host(), [])):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=0)


@pytest.fixture(scope="module")
def float32_runs():
    """The plain call: ``fit(X, Y, epochs=1, batch_size=10, eta=3.0, compile=True)``."""
    options = dict(epochs=1, batch_size=10, eta=3.0)
    eager = _fit("cpu", "float32", compile=False, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileNotice)  # torch has something to compile
        compiled = _fit("cpu", "float32", compile=True, **options)
    return eager, compiled


@pytest.fixture(scope="module")
def float64_runs():
    """Momentum, L2, a partial last batch and a plateau schedule, with the strategy at hand."""
    eager = _fit("cpu", "float64", compile=False, plateau=True, **SCHEDULED)
    strategy = get_backend("torch", "cpu").compiled_strategy()
    compiled = _fit("cpu", "float64", compile=False, strategy=strategy, plateau=True, **SCHEDULED)
    return eager, compiled, strategy


def test_the_math_runs_on_torchs_own_namespace():
    import array_api_compat.torch as compat

    from xprop.backends import torch_namespace

    xp = get_backend("torch", "cpu").namespace
    assert xp is not compat
    assert xp.exp is torch.exp and xp.float32 is torch.float32  # torch's own functions ...
    assert xp.minimum is torch_namespace.minimum  # ... but where the standard differs
    z = torch.tensor([-100.0, 0.0, 100.0])
    assert xp.minimum(z, 80.0).tolist() == [-100.0, 0.0, 80.0]  # a Python scalar, as the standard allows
    assert xp.take(torch.eye(3), torch.tensor([2, 0]), axis=0).tolist() == [[0, 0, 1], [1, 0, 0]]
    assert xp.isdtype(torch.int32, "integral") and not xp.isdtype(torch.float32, "integral")


def test_compiled_float32_epoch_ends_where_eager_ends(float32_runs):
    (eager, _), (compiled, history) = float32_runs
    assert len(history) == 1
    _assert_same_parameters(compiled, eager, rtol=1e-4)
    for w in compiled.weights:
        assert isinstance(w, torch.Tensor) and w.dtype == torch.float32


def test_compiled_float64_run_ends_where_eager_ends(float64_runs):
    """Momentum, L2, the partial batch, and η and the L2 factor changed for epoch 3: a
    stale η or factor would differ from eager by far more than 1e-12."""
    (eager, eager_history), (compiled, history), _ = float64_runs
    assert eager_history.column("eta") == [3.0, 3.0, 1.5]  # the schedule did change η
    assert history.column("eta") == eager_history.column("eta")
    assert history.column("training_accuracy") == eager_history.column("training_accuracy")
    _assert_same_parameters(compiled, eager, rtol=1e-12)


def test_compile_time_is_reported(float64_runs):
    *_, strategy = float64_runs
    assert strategy.compile_seconds > 0
    assert f"{strategy.compile_seconds:.1f} s compiling" in strategy.describe()
    assert "torch.compile" in strategy.describe()


@pytest.mark.parametrize("full,most,expected", [
    (1000, 33, 10),   # the book network at mini-batch 10: 100 calls of 10 steps, none left over
    (997, 33, 16),    # a prime: 62 calls of 16, five single steps
    (2, 33, 2),       # fewer batches than a chunk
    (100, 3, 2),      # mini-batch 100: three fit in a gather; two divide the 100
    (10, 1, 1),       # one batch fills a gather: single steps
])
def test_steps_per_call(full, most, expected):
    from xprop.backends.torch_compiled import steps_per_call

    assert steps_per_call(full, most) == expected


@pytest.mark.gpu
def test_cuda_graph_steps_end_where_eager_steps_end():
    """On a GPU the captured eager step, replayed, gives the eager step's results, through a
    schedule (a new η and L2 factor: captured again) and a roll-back to an earlier state
    (new tensors in the parameter lists: copied into the graph's own)."""
    backend = get_backend("torch", "cuda", check=False)
    if not backend.available:
        pytest.skip(f"the CUDA graph path needs a CUDA device: {backend.unavailable_reason}")
    from xprop.backends.torch_compiled import TorchCudaGraphs

    strategy = backend.compiled_strategy()
    assert isinstance(strategy, TorchCudaGraphs)
    eager, eager_history = _fit("cuda", "float64", compile=False, plateau=True, **SCHEDULED)
    compiled, history = _fit("cuda", "float64", compile=False, strategy=strategy, plateau=True, **SCHEDULED)
    assert history.column("eta") == eager_history.column("eta") == [3.0, 3.0, 1.5]
    _assert_same_parameters(compiled, eager, rtol=1e-12)
    assert strategy.compile_seconds > 0 and "CUDAGraph" in strategy.describe()

    # a roll-back puts new tensors in the parameter lists: the next replay must see their values
    X, Y = (backend.from_host(a, "float64") for a in data(SIZES, N, seed=2))
    for net, strategy in ((eager, None), (compiled, strategy)):
        trainer = xprop.Trainer(net, epochs=1, batch_size=10, eta=3.0, momentum=0.5, strategy=strategy)
        trainer.run(X, Y)  # captures the step for batches of 10 and of 3
        net.weights[:] = [w * 0.5 for w in net.weights]
        trainer.velocities[0][:] = [v * 0.5 for v in trainer.velocities[0]]
        trainer.strategy.step(trainer, X[:10, ...], Y[:10, ...])
    _assert_same_parameters(compiled, eager, rtol=1e-12)
