"""Fused kernels: a backend may compute a hot spot of the math (a short elementwise chain)
with one kernel, and the unfused reference is what it is tested against.

Every test taking ``fusing`` runs on each backend that has both the kernels and the
references:

(a) on the CPU, numpy "kernels", each written as one expression the way a kernel computes
    it (in place where a kernel updates in place), plugged in through the very seam cupy
    uses: ``Backend._fused`` -> ``Backend.fused`` -> ``backprop.fused_kernels`` ->
    ``sgd_step(fused=...)``;
(a') torch's single operations (``torch.sigmoid``, ``aten.sigmoid_backward``), which it
    uses for three hot spots and not for the updates (KEEPS_REFERENCE);
(c) with a GPU, cupy's ElementwiseKernels (skipped elsewhere, with cupy's reason).

There, each kernel equals its reference (to 64 eps, the parity suite's tolerance), and
whole epochs with the kernels equal those without to the dtype's tolerance (float64 1e-12,
float32 1e-5, relative), for quadratic + sigmoid, cross-entropy, momentum + L2, a partial
last batch and a tanh hidden layer. Besides:

(b) each unfused reference is, bit for bit, the math it replaced, and is what the math
    calls: the seam adds no second copy of the math;
(d) the launches of one step of the book's network [784, 30, 10], eager against fused,
    are counted by arrays that count every operation done on them (on a GPU, each is a
    kernel launch or a cuBLAS call).
"""

from __future__ import annotations

import operator
from collections import Counter

import numpy as np
import pytest

from helpers import data, max_relative_error

import xprop
from xprop import backprop
from xprop.activations import Sigmoid, Tanh, sigmoid, sigmoid_delta
from xprop.backends import HOT_SPOTS, get_backend
from xprop.backends.numpy_backend import NumpyBackend
from xprop.costs import CrossEntropyCost, QuadraticCost, quadratic_sigmoid_output_error

TOLERANCE = {"float64": 1e-12, "float32": 1e-5}  # relative, after whole epochs
EPS_UNITS = 64  # one kernel against its reference: the parity suite's tolerance


# -- numpy "kernels": one expression each, as a fused kernel computes it --------------------
def np_sigmoid(z, *, xp):
    return 1 / (1 + np.exp(np.minimum(-z, 80)))


def np_sigmoid_delta(g, a, *, xp):
    return g * a * (1 - a)


def np_quadratic_sigmoid_output_error(a, y, scale, *, xp):
    return scale * (a - y) * a * (1 - a)


def np_sgd_update(w, step, decay, *, xp):
    np.subtract(decay * w, step, out=w)  # in place, as the kernel writes w
    return w


def np_momentum_update(w, v, step, momentum, decay, *, xp):
    np.subtract(momentum * v - step, (1 - decay) * w, out=v)  # v and w in place
    np.add(w, v, out=w)
    return w, v


NUMPY_KERNELS = {
    "sigmoid": np_sigmoid,
    "sigmoid_delta": np_sigmoid_delta,
    "quadratic_sigmoid_output_error": np_quadratic_sigmoid_output_error,
    "sgd_update": np_sgd_update,
    "momentum_update": np_momentum_update,
}


class KernelNumpy(NumpyBackend):
    """numpy whose adapter fuses hot spots with NUMPY_KERNELS, through the hook cupy's
    adapter overrides; it counts the calls of each kernel."""

    def __init__(self, kernels=None, device=None):
        super().__init__(device)
        self.kernels = NUMPY_KERNELS if kernels is None else kernels
        self.calls = Counter()

    def _fused(self, name):
        kernel = self.kernels.get(name)
        if kernel is None:
            return None

        def counted(*args, **kwargs):
            self.calls[name] += 1
            return kernel(*args, **kwargs)

        return counted


#: the hot spots a fusing backend deliberately leaves to the references
KEEPS_REFERENCE = {"torch": {"sgd_update", "momentum_update"}}  # in-place torch operations already


def _fusing_backend(name):
    if name == "numpy":
        return KernelNumpy()
    backend = get_backend(name, check=False)
    if not backend.available:
        pytest.skip(f"{name}: {backend.unavailable_reason}")
    return backend


@pytest.fixture(params=[pytest.param("numpy", id="numpy-kernels"), pytest.param("torch", id="torch"),
                        pytest.param("cupy", id="cupy", marks=pytest.mark.gpu)])
def fusing(request):
    """A backend whose adapter fuses hot spots: numpy with NUMPY_KERNELS here, torch with its
    single operations (all but KEEPS_REFERENCE), and cupy with its ElementwiseKernels where a
    GPU is (skipped with the library's reason where it cannot run)."""
    return _fusing_backend(request.param)


@pytest.fixture(params=[pytest.param("numpy", id="numpy-kernels"),
                        pytest.param("cupy", id="cupy", marks=pytest.mark.gpu)])
def fusing_every_hot_spot(request):
    """The backends with one kernel, one launch, for every hot spot (the launch count)."""
    return _fusing_backend(request.param)


def _fused_names(backend):
    return set(HOT_SPOTS) - KEEPS_REFERENCE.get(backend.name, set())


# -- each kernel against its reference ------------------------------------------------------
def _inputs(dtype, shape=(7, 5), seed=0):
    rng = np.random.default_rng(seed)
    z = (rng.standard_normal(shape) * 40).astype(dtype)  # past the cap at 80 too
    a = rng.random(shape).astype(dtype)
    return z, a, rng.standard_normal(shape).astype(dtype), rng.random(shape).astype(dtype)


def _hot_spot_arguments(name, dtype):
    """Host arguments of the hot spot ``name``, and the indices of those updated in place."""
    z, a, g, y = _inputs(dtype, seed=3)
    z[0, :2] = [-200.0, 200.0]
    return {
        "sigmoid": ((z,), ()),
        "sigmoid_delta": ((g, a), ()),
        "quadratic_sigmoid_output_error": ((a, y, 0.3), ()),
        "sgd_update": ((g, y, 0.995), (0,)),
        "momentum_update": ((g, y, a, 0.9, 0.995), (0, 1)),
    }[name]


def _listed(result):
    return list(result) if isinstance(result, tuple) else [result]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", HOT_SPOTS)
def test_each_kernel_equals_its_reference(fusing, name, dtype):
    kernel, reference = fusing.fused(name), backprop.UNFUSED[name]
    assert (kernel is not None) == (name in _fused_names(fusing))
    if kernel is None:  # left to the reference on purpose (KEEPS_REFERENCE): nothing to compare
        return
    assert kernel is not reference
    host, in_place = _hot_spot_arguments(name, dtype)

    def on_device():
        return [fusing.from_host(h, dtype) if isinstance(h, np.ndarray) else h for h in host]

    mine, theirs = on_device(), on_device()
    got = _listed(kernel(*mine, xp=fusing.namespace))
    want = _listed(reference(*theirs, xp=fusing.namespace))
    for index, result in zip(in_place, got):
        assert result is mine[index]  # updated in place, and given back
    got = [fusing.to_host(r) for r in got if fusing.owns(r)]
    assert len(got) == len(want)  # every result on the backend and its device
    assert all(r.dtype == dtype for r in got)
    limit = EPS_UNITS * np.finfo(dtype).eps
    err = max_relative_error(got, [fusing.to_host(r) for r in want])
    assert err <= limit, f"relative error {err:.2e} against the reference on {fusing.name}"
    on_host = _listed(reference(*[h.copy() if isinstance(h, np.ndarray) else h for h in host], xp=np))
    assert max_relative_error(got, on_host) <= limit


def test_the_sigmoid_kernel_keeps_a_nan(fusing):
    """A diverged network stays NaN: the exponent's cap must not turn NaN into σ(−80)."""
    z = np.array([np.nan, -np.inf, np.inf, 0.0, -100.0], dtype="float32")
    got = fusing.to_host(fusing.fused("sigmoid")(fusing.from_host(z, "float32"), xp=fusing.namespace))
    # equal, NaN where NaN; below the reference's cap torch's σ(−100) = 3.7e-44 is σ(−80) ≈ 1.8e-35
    np.testing.assert_allclose(got, sigmoid(z, xp=np), rtol=EPS_UNITS * np.finfo("float32").eps, atol=1e-30)
    assert np.isnan(got[0])


# -- whole epochs, with the kernels and without ---------------------------------------------
SETUPS = {  # name: (sizes, Network options, SGD options, n, batch size, hot spots it uses)
    "quadratic-sigmoid": ([6, 5, 4, 3], dict(), dict(eta=3.0), 40, 10,
                          {"sigmoid", "sigmoid_delta", "quadratic_sigmoid_output_error", "sgd_update"}),
    "cross-entropy": ([6, 5, 4, 3], dict(cost="cross-entropy"), dict(eta=0.5), 40, 10,
                      {"sigmoid", "sigmoid_delta", "sgd_update"}),
    "momentum-L2": ([6, 5, 4, 3], dict(), dict(eta=0.5, momentum=0.9, lmbda=2.0), 40, 10,
                    {"sigmoid", "sigmoid_delta", "quadratic_sigmoid_output_error", "momentum_update"}),
    "partial-batch": ([6, 5, 3], dict(), dict(eta=3.0, lmbda=1.0), 43, 10,
                      {"sigmoid", "sigmoid_delta", "quadratic_sigmoid_output_error", "sgd_update"}),
    "tanh-hidden": ([6, 5, 3], dict(activation="tanh", output_activation="sigmoid"), dict(eta=1.0), 40, 10,
                    {"sigmoid", "quadratic_sigmoid_output_error", "sgd_update"}),
}


def run_epochs(backend_name, dtype, setup, fused, *, epochs=2, seed=4):
    """``epochs`` of the book's SGD with ``backprop.sgd_step`` and ``fused``; host parameters."""
    sizes, options, training, n, batch, _ = SETUPS[setup]
    eta, momentum, lmbda = training["eta"], training.get("momentum", 0.0), training.get("lmbda", 0.0)
    net = xprop.Network(sizes, backend=backend_name, dtype=dtype, seed=seed, **options)
    backend, xp = net.backend, net.xp
    X, Y = data(sizes, n, seed=seed)
    velocities = ([xp.zeros_like(w) for w in net.weights], [xp.zeros_like(b) for b in net.biases]) if momentum else None
    ones = xp.ones(batch, dtype=net.weights[0].dtype, device=net.weights[0].device)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(n)
        Xs, Ys = backend.from_host(X[order], dtype), backend.from_host(Y[order], dtype)
        for start in range(0, n, batch):
            backprop.sgd_step(net.weights, net.biases, net.activations, net.cost,
                              Xs[start:start + batch, ...], Ys[start:start + batch, ...],
                              eta=eta, decay=1.0 - eta * lmbda / n, momentum=momentum,
                              velocities=velocities, xp=xp, ones=ones, fused=fused)
    return [backend.to_host(p) for p in net.weights + net.biases]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("setup", SETUPS)
def test_epochs_with_kernels_equal_the_unfused_ones(fusing, setup, dtype):
    network_backend = "numpy" if isinstance(fusing, KernelNumpy) else fusing.name
    fused = backprop.fused_kernels(fusing)  # the mapping the Trainer's step passes
    assert set(fused) == _fused_names(fusing)
    want = run_epochs(network_backend, dtype, setup, None)
    got = run_epochs(network_backend, dtype, setup, fused)
    if isinstance(fusing, KernelNumpy):
        assert set(fusing.calls) == SETUPS[setup][-1]  # the kernels ran, and only where they apply
    err = max_relative_error(got, want)
    assert err <= TOLERANCE[dtype], f"relative error {err:.2e}"
    if network_backend != "numpy" and dtype == "float64":  # and against numpy's BLAS and exp
        assert max_relative_error(got, run_epochs("numpy", dtype, setup, None)) <= TOLERANCE[dtype]


@pytest.mark.parametrize("names", [("sigmoid",), ("sigmoid_delta", "momentum_update"),
                                   ("quadratic_sigmoid_output_error",)], ids="+".join)
def test_a_backend_may_fuse_only_some_hot_spots(names):
    backend = KernelNumpy({name: NUMPY_KERNELS[name] for name in names})
    fused = backprop.fused_kernels(backend)
    assert set(fused) == set(names)
    want = run_epochs("numpy", "float64", "momentum-L2", None)
    got = run_epochs("numpy", "float64", "momentum-L2", fused)
    assert set(backend.calls) == set(names)
    assert max_relative_error(got, want) <= TOLERANCE["float64"]


@pytest.mark.parametrize("name", ["numpy", "array_api_strict", "jax"])
def test_a_backend_without_kernels_runs_the_references(name):
    backend = get_backend(name, check=False)
    if not backend.available:
        pytest.skip(f"{name}: {backend.unavailable_reason}")
    assert backprop.fused_kernels(backend) is None


def test_the_hot_spots_are_the_references_names():
    assert tuple(backprop.UNFUSED) == HOT_SPOTS


def test_kernels_update_the_callers_arrays_in_place_as_the_references_do():
    """A kernel writes w (and v) in place; the lists then hold the same arrays as before."""
    backend = KernelNumpy()
    net = xprop.Network([6, 5, 3], seed=1, dtype="float64")
    velocities = ([np.zeros_like(w) for w in net.weights], [np.zeros_like(b) for b in net.biases])
    before = [id(a) for a in net.weights + net.biases + velocities[0] + velocities[1]]
    X, Y = data([6, 5, 3], 10, seed=1)
    backprop.sgd_step(net.weights, net.biases, net.activations, net.cost, X, Y, eta=0.5, decay=0.99,
                      momentum=0.5, velocities=velocities, xp=np, fused=backprop.fused_kernels(backend))
    assert [id(a) for a in net.weights + net.biases + velocities[0] + velocities[1]] == before


def test_subclasses_and_other_output_layers_keep_their_own_math():
    kernels = NUMPY_KERNELS

    class Steeper(Sigmoid):
        def __call__(self, z, *, xp):
            return super().__call__(2 * z, xp=xp)

    class Logged(QuadraticCost):
        pass

    steeper = Steeper()
    assert steeper.with_kernels(kernels) is steeper
    logged = Logged()
    assert logged.with_kernels(kernels, Sigmoid()) is logged
    quadratic = QuadraticCost()
    assert quadratic.with_kernels(kernels, Tanh()) is quadratic
    entropy = CrossEntropyCost()
    assert entropy.with_kernels(kernels, Sigmoid()) is entropy
    assert Tanh().with_kernels(kernels).__class__ is Tanh
    assert quadratic.with_kernels(kernels, Sigmoid()) is not quadratic
    assert Sigmoid().with_kernels({}).__class__ is Sigmoid


def test_gradients_and_feedforward_take_the_kernels_too():
    fused = backprop.fused_kernels(KernelNumpy())
    net = xprop.Network([6, 5, 4, 3], seed=2, dtype="float64")
    X, Y = data([6, 5, 4, 3], 9, seed=2)
    args = (net.weights, net.biases, net.activations, net.cost, X, Y)
    for function in (backprop.gradients, backprop.summed_gradients):
        want, got = function(*args, xp=np), function(*args, xp=np, fused=fused)
        assert max_relative_error(got[0] + got[1], want[0] + want[1]) <= TOLERANCE["float64"]
    want = backprop.feedforward(net.weights, net.biases, net.activations, X, xp=np)
    got = backprop.feedforward(net.weights, net.biases, net.activations, X, xp=np, fused=fused)
    assert max_relative_error([got], [want]) <= TOLERANCE["float64"]


# -- each reference is the math it replaced, and the math calls it ---------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_each_reference_is_bit_for_bit_the_math_it_replaced(dtype):
    z, a, g, y = _inputs(dtype)
    z[0, :3] = [-200.0, 200.0, np.nan]
    sig = Sigmoid()
    # σ, as Sigmoid computed it
    np.testing.assert_array_equal(sigmoid(z, xp=np), 1.0 / (1.0 + np.exp(np.minimum(-z, 80.0))))
    np.testing.assert_array_equal(sig(z, xp=np), sigmoid(z, xp=np))
    # BP2's product, as backpropagate computed it: (δW) * σ'(z) with σ' from a
    np.testing.assert_array_equal(sigmoid_delta(g, a, xp=np), g * sig.derivative(z, a, xp=np))
    np.testing.assert_array_equal(sig.backward(g, z, a, xp=np), g * sig.derivative(z, a, xp=np))
    # BP1 of the quadratic cost, times η/m, as sgd_step computed it
    old_bp1 = 0.3 * ((a - y) * sig.derivative(z, a, xp=np))
    np.testing.assert_array_equal(quadratic_sigmoid_output_error(a, y, 0.3, xp=np), old_bp1)
    np.testing.assert_array_equal(QuadraticCost().output_error(z, a, y, sig, 0.3, xp=np), old_bp1)
    np.testing.assert_array_equal(QuadraticCost().output_error(z, a, y, sig, None, xp=np), (a - y) * sig.derivative(z, a, xp=np))


@pytest.mark.parametrize("decay", [1.0, 0.995])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_update_references_are_bit_for_bit_the_old_update(dtype, decay):
    _, w, step, v = _inputs(dtype, seed=1)
    old_w = w.copy()  # the update as update_layer wrote it
    if decay != 1.0:
        old_w *= decay
    old_w -= step
    np.testing.assert_array_equal(backprop.sgd_update(w.copy(), step, decay, xp=np), old_w)
    old_v = 0.9 * v - step
    if decay != 1.0:
        old_v -= (1.0 - decay) * w
    new_w, new_v = backprop.momentum_update(w.copy(), v, step, 0.9, decay, xp=np)
    np.testing.assert_array_equal(new_v, old_v)
    np.testing.assert_array_equal(new_w, w + old_v)


def test_the_unfused_math_calls_the_references(monkeypatch):
    """sgd_step without kernels goes through the references (no second copy of the math)."""
    from xprop import activations

    calls = Counter()

    def spy(name, function):
        def counted(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)
        return counted

    monkeypatch.setattr(activations, "sigmoid", spy("sigmoid", activations.sigmoid))
    monkeypatch.setattr(activations, "sigmoid_delta", spy("sigmoid_delta", activations.sigmoid_delta))
    monkeypatch.setattr(backprop, "sgd_update", spy("sgd_update", backprop.sgd_update))
    monkeypatch.setattr(backprop, "momentum_update", spy("momentum_update", backprop.momentum_update))
    net = xprop.Network([6, 5, 4, 3], seed=1, dtype="float64")
    X, Y = data([6, 5, 4, 3], 10, seed=1)
    args = (net.weights, net.biases, net.activations, net.cost, X, Y)
    backprop.sgd_step(*args, eta=0.5, decay=0.99, momentum=0.0, velocities=None, xp=np)
    # σ of three layers; BP1 (quadratic: the output's backward) and BP2 of two hidden
    # layers; one update a layer
    assert calls == {"sigmoid": 3, "sigmoid_delta": 3, "sgd_update": 3}
    velocities = ([np.zeros_like(w) for w in net.weights], [np.zeros_like(b) for b in net.biases])
    backprop.sgd_step(*args, eta=0.5, decay=0.99, momentum=0.9, velocities=velocities, xp=np)
    assert calls["momentum_update"] == 6  # weights and biases of three layers


# -- (d) launches per step, counted ----------------------------------------------------------
class Launches:
    n = 0


class Counted:
    """An array that counts every operation done on it: on a GPU each one is a kernel
    launch (a cuBLAS call for ``@``); views (``.T``, slices) launch nothing."""

    __slots__ = ("array", "launches")

    def __init__(self, array, launches):
        self.array, self.launches = array, launches

    shape = property(lambda self: self.array.shape)
    dtype = property(lambda self: self.array.dtype)
    device = property(lambda self: self.array.device)
    T = property(lambda self: Counted(self.array.T, self.launches))

    def __getitem__(self, key):
        return Counted(self.array[key], self.launches)

    def __neg__(self):
        self.launches.n += 1
        return Counted(-self.array, self.launches)


def _raw(value):
    return value.array if isinstance(value, Counted) else value


def _operation(function, in_place=False):
    def method(self, other):
        self.launches.n += 1
        if in_place:
            self.array = function(self.array, _raw(other))
            return self
        return Counted(function(self.array, _raw(other)), self.launches)
    return method


for _name, _function in {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
                         "truediv": operator.truediv, "matmul": operator.matmul}.items():
    setattr(Counted, f"__{_name}__", _operation(_function))
    setattr(Counted, f"__r{_name}__", _operation(lambda a, b, f=_function: f(b, a)))
    setattr(Counted, f"__i{_name}__", _operation(getattr(operator, f"i{_name}"), in_place=True))


class CountingNamespace:
    """The namespace ``xp`` whose every function counts one launch."""

    def __init__(self, xp, launches):
        self.xp, self.launches = xp, launches

    def __getattr__(self, name):
        function = getattr(self.xp, name)

        def counted(*args, **kwargs):
            self.launches.n += 1
            return Counted(function(*map(_raw, args), **{k: _raw(v) for k, v in kwargs.items()}), self.launches)
        return counted


def counting_kernels(kernels, launches):
    """Each kernel counting one launch, taking and giving Counted arrays (in-place results
    given back as the caller's own Counted arrays)."""
    def wrap(kernel):
        def counted(*args, xp):
            launches.n += 1
            result = kernel(*map(_raw, args), xp=xp)
            mine = {id(a.array): a for a in args if isinstance(a, Counted)}
            wrapped = [mine.get(id(r)) or Counted(r, launches) for r in (result if isinstance(result, tuple) else (result,))]
            return tuple(wrapped) if isinstance(result, tuple) else wrapped[0]
        return counted
    return {name: wrap(kernel) for name, kernel in kernels.items()}


def launches_per_step(backend, kernels, *, momentum, decay, sizes=(784, 30, 10), m=10):
    """The launches of one ``sgd_step`` of the book's network (quadratic cost, sigmoids), and
    the parameters it gives, with ``kernels`` (None: eager)."""
    launches = Launches()
    net = xprop.Network(list(sizes), backend=backend.name, device=backend.device_spec, dtype="float32", seed=0)
    X, Y = data(list(sizes), m, seed=0)

    def counted(arrays):
        return [Counted(a, launches) for a in arrays]

    weights, biases = counted(net.weights), counted(net.biases)
    velocities = (counted(net.xp.zeros_like(w) for w in net.weights),
                  counted(net.xp.zeros_like(b) for b in net.biases)) if momentum else None
    x, y = (Counted(backend.from_host(a, "float32"), launches) for a in (X, Y))
    ones = Counted(net.xp.ones(m, dtype=net.weights[0].dtype, device=net.weights[0].device), launches)
    fused = None if kernels is None else counting_kernels(kernels, launches)
    backprop.sgd_step(weights, biases, net.activations, net.cost, x, y, eta=3.0, decay=decay,
                      momentum=momentum, velocities=velocities, xp=CountingNamespace(net.xp, launches),
                      ones=ones, fused=fused)
    return launches.n, [backend.to_host(p.array) for p in weights + biases]


# Eager: a layer's forward is z = a w^T (1) + b (1), σ(z) = 1/(1 + e^min(−z, 80)) (5); BP1
# (a − y) ⊙ a(1 − a) (4) × η/m (1); BP2's δW (1) ⊙ a(1 − a) (3); a layer's update
# δ^T a (1), 1ᵀδ (1), w −= (1), b −= (1): 14 + 5 + 4 + 8 = 31. With momentum and L2 each
# layer's update is 2 products, 5 operations for w and 3 for b: 14 + 5 + 4 + 20 = 43.
# Fused: σ (1), BP1 (1), BP2's product (1), the weights' update (1), and with momentum the
# biases' (1): 2·3 + 1 + 2 + 2·4 = 17 either way.
COUNTS = {"sgd": (31, 17), "momentum-L2": (43, 17)}
UPDATES = {"sgd": dict(momentum=0.0, decay=1.0), "momentum-L2": dict(momentum=0.9, decay=0.9999)}


@pytest.mark.parametrize("update", COUNTS)
def test_launches_per_step(fusing_every_hot_spot, update):
    fusing = fusing_every_hot_spot
    kernels = {name: fusing.fused(name) for name in HOT_SPOTS}
    backend = get_backend("numpy") if isinstance(fusing, KernelNumpy) else fusing
    eager, want = launches_per_step(backend, None, **UPDATES[update])
    fused, got = launches_per_step(backend, kernels, **UPDATES[update])
    assert (eager, fused) == COUNTS[update]
    assert max_relative_error(got, want) <= TOLERANCE["float32"]
