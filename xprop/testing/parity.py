"""The parity harness: one backend on one device in one dtype against numpy float64.

Each check computes something with xprop on the backend under test and the same thing
on numpy in float64 (the reference), and says how far apart they are. The reference is
itself checked against central finite differences (eq. 46 of the book), so that the
comparison is with a reference known to be right, not with numpy merely agreeing with
itself. Errors are in units of the tested dtype's eps:

    error = max |x − x_ref| / (eps · (max |x_ref| + tiny))

over every array of a result; a check passes when error ≤ its limit (``GRADIENT_EPS``
for one evaluation of the math, ``TRAJECTORY_EPS`` after an epoch of SGD, 0 for what
must be bitwise equal). Besides the values, every result must be an array of the backend
on the requested device in the requested dtype (``Backend.owns``), the training loop must
read the same number of times from the device for 2 mini-batches as for 10 (no host
synchronisation per batch), and arrays of another library must be refused, not copied.

The project's own parity tests (tests/test_parity.py) run these same checks, one test per
check; ``check_backend`` runs them all and returns a ``ParityReport``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy

from ..errors import BackendError, XpropError
from ..gradcheck import check_gradients
from ..network import Network

#: limit of one evaluation of the math (gradients, feedforward): a few matmuls of width
#: <= 8 and an activation leave room for the summation order of different kernels, while
#: a wrong term changes results by O(1), about 10^7 eps in float32.
GRADIENT_EPS = 64
#: limit of the parameters after one epoch of SGD (five steps; the largest seen is under 1 eps)
TRAJECTORY_EPS = 64
#: limit of the reference's backprop against central differences, relative (numpy float64)
FINITE_DIFFERENCE_LIMIT = 1e-6
#: keeps the relative error finite when the reference is all zeros
TINY = 1e-30

ARCHITECTURES = {
    "one-hidden": [6, 5, 3],
    "three-hidden": [8, 7, 6, 5, 4],
    "odd": [7, 5, 3, 2],
}
BATCH_SIZES = [1, 7, 32]
HIDDEN = ["sigmoid", "tanh", "relu", "linear"]
OUTPUTS = [  # (cost, output activation): every combination the costs allow
    ("quadratic", "sigmoid"),
    ("quadratic", "tanh"),
    ("quadratic", "relu"),
    ("quadratic", "linear"),
    ("cross-entropy", "sigmoid"),
    ("log-likelihood", "softmax"),
]
COMBOS = [(h, c, o) for h in HIDDEN for c, o in OUTPUTS]
#: the families the reference is checked against finite differences on
REFERENCE_FAMILIES = [("sigmoid", "quadratic", "sigmoid"), ("sigmoid", "cross-entropy", "sigmoid"),
                      ("sigmoid", "log-likelihood", "softmax"), ("tanh", "quadratic", "sigmoid"),
                      ("relu", "cross-entropy", "sigmoid")]
#: one epoch of SGD: 30 examples in mini-batches of 7, the last one partial (2 examples)
TRAJECTORY = dict(n=30, batch_size=7, eta=0.5, seed=4)


def combo_id(combo):
    hidden, cost, output = combo
    return f"{hidden}>{output}+{cost}"


def data(sizes, m, seed=0, labels=False):
    """Seeded host inputs in [0, 1) and one-hot targets (or integer labels)."""
    rng = numpy.random.default_rng(seed)
    X = rng.random((m, sizes[0]))
    y = rng.integers(0, sizes[-1], size=m)
    return X, (y if labels else numpy.eye(sizes[-1])[y])


def relative_error(got, want):
    """max |got − want| / (max |want| + tiny), over lists of host arrays."""
    scale = max(float(numpy.max(numpy.abs(w))) for w in want)
    return max(float(numpy.max(numpy.abs(numpy.asarray(g, float) - w))) for g, w in zip(got, want)) / (scale + TINY)


@dataclass(frozen=True)
class Line:
    """One line of the report: a check, its error and limit (in ``unit``), and the verdict."""

    check: str
    passed: bool
    error: float | None = None
    limit: float | None = None
    unit: str = "eps"
    detail: str = ""


@dataclass(frozen=True)
class Target:
    """The backend under test: a name, a device (None: the default) and a dtype."""

    backend_name: str
    device: object = None
    dtype: str = "float32"

    @property
    def backend(self):
        from ..backends import get_backend

        return get_backend(self.backend_name, self.device)

    @property
    def eps(self):
        return float(numpy.finfo(self.dtype).eps)

    def put(self, host):
        """Host array -> the backend and device (floats in the target's dtype)."""
        host = numpy.asarray(host)
        return self.backend.from_host(host, self.dtype if host.dtype.kind == "f" else None)

    def network(self, sizes, **kwargs):
        return Network(sizes, backend=self.backend_name, device=self.device, dtype=self.dtype, **kwargs)

    def foreign(self, arrays):
        """Why the first of ``arrays`` that is not the backend's, on its device, in its dtype,
        is not (None when all are)."""
        backend = self.backend
        for name, array in arrays:
            if not backend.owns(array):
                where = getattr(array, "device", "?")
                return (f"{name} is a {type(array).__module__}.{type(array).__qualname__} on {where}, "
                        f"not a {backend.name} array on {backend.device}")
            if not str(array.dtype).endswith(self.dtype):
                return f"{name} has dtype {array.dtype}, not {self.dtype}"
        return None


@dataclass(frozen=True)
class Check:
    """A named check: ``run(target)`` returns its Line. ``reference`` checks do not depend on
    the target (they check numpy float64 itself) and run once."""

    name: str
    run: Callable[[Target], Line]
    reference: bool = False


@dataclass
class ParityReport:
    backend: str
    device: object
    dtype: str
    lines: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.lines) and all(line.passed for line in self.lines)

    @property
    def failures(self) -> list:
        return [line for line in self.lines if not line.passed]


# -- the checks ------------------------------------------------------------------------------
def _compare(name, target, got, want, limit, extra=""):
    """The Line comparing device arrays ``got`` (named) with host arrays ``want``."""
    foreign = target.foreign(got)
    if foreign:
        return Line(name, False, limit=limit, detail=foreign)
    shapes = [tuple(a.shape) for _, a in got]
    if shapes != [w.shape for w in want]:
        return Line(name, False, limit=limit, detail=f"shapes {shapes}, expected {[w.shape for w in want]}")
    error = relative_error([target.backend.to_host(a) for _, a in got], want) / target.eps
    return Line(name, error <= limit, error, limit, detail=extra)


def _named(grads):
    weights, biases = grads
    return [(f"w{i}", w) for i, w in enumerate(weights)] + [(f"b{i}", b) for i, b in enumerate(biases)]


def _gradients(name, sizes, batch, data_seed, options):
    def run(target):
        X, Y = data(sizes, batch, seed=data_seed)
        want = Network(sizes, dtype="float64", **options).gradients(X, Y)
        got = target.network(sizes, **options).gradients(target.put(X), target.put(Y))
        return _compare(name, target, _named(got), want[0] + want[1], GRADIENT_EPS)
    return Check(name, run)


def _same_initial_parameters(target):
    name = "initial parameters: same seed, same network"
    want = Network([5, 4, 3], dtype="float64", seed=11).parameters_to_host()
    net = target.network([5, 4, 3], seed=11)
    got = _named((net.weights, net.biases))
    line = _compare(name, target, got, [w.astype(target.dtype) for w in want[0] + want[1]], 0)
    return line


def _feedforward_and_evaluate(target):
    """Outputs, cost and correct count of a quadratic/sigmoid and a log-likelihood/softmax
    network on 41 examples of 3 classes: odd lengths on both axes, so that a reduction
    that mishandles an odd-length axis shows."""
    sizes = [6, 5, 3]
    X, y = data(sizes, 41, seed=5, labels=True)
    error, line = 0.0, None
    for cost in ("quadratic", "log-likelihood"):
        ref = Network(sizes, cost=cost, dtype="float64", seed=1)
        net = target.network(sizes, cost=cost, seed=1)
        line = _compare("feedforward and evaluate", target, [("a", net.feedforward(target.put(X)))],
                        [ref.feedforward(X)], GRADIENT_EPS)
        if not line.passed:
            return line
        got, want = net.evaluate(target.put(X), target.put(y)), ref.evaluate(X, y)
        cost_error = abs(got["cost"] - want["cost"]) / (abs(want["cost"]) + TINY) / target.eps
        error = max(error, line.error, cost_error)
        if got["correct"] != want["correct"]:
            return Line(line.check, False, error, GRADIENT_EPS,
                        detail=f"{cost}: {got['correct']} correct, the reference {want['correct']}")
    return Line(line.check, error <= GRADIENT_EPS, error, GRADIENT_EPS,
                detail="outputs, cost, correct count; quadratic and log-likelihood, 41 examples")


def _labels_equal_one_hot(target):
    sizes = [6, 5, 3]
    X, y = data(sizes, 9, labels=True)
    net = target.network(sizes)
    from_labels = net.gradients(target.put(X), target.put(y))
    from_one_hot = net.gradients(target.put(X), target.put(numpy.eye(3)[y]))
    return _compare("labels and one-hot targets: same gradients", target, _named(from_labels),
                    [target.backend.to_host(a) for _, a in _named(from_one_hot)], 0)


def _trajectory(target):
    t = TRAJECTORY
    sizes = ARCHITECTURES["one-hidden"]
    X, y = data(sizes, t["n"], seed=t["seed"], labels=True)
    options = dict(epochs=1, batch_size=t["batch_size"], eta=t["eta"])
    ref = Network(sizes, dtype="float64", seed=t["seed"])
    ref.fit(X, y, **options)
    net = target.network(sizes, seed=t["seed"])
    net.fit(target.put(X), target.put(y), **options)
    want = ref.parameters_to_host()
    partial = t["n"] % t["batch_size"]
    return _compare("trajectory: parameters after 1 epoch of SGD", target, _named((net.weights, net.biases)),
                    want[0] + want[1], TRAJECTORY_EPS,
                    extra=f"{t['n']} examples, batches of {t['batch_size']}, last one {partial}")


HOST_READS = ("__bool__", "__float__", "__int__", "__index__")


def count_host_reads(target, batch_size, n=60):
    """How often an epoch of ``fit`` copies to the host (``to_host``) or reads an array as a
    Python value (``__bool__``, ``__float__``, ... where the array type lets them be counted)."""
    backend = target.backend
    counts = {"to_host": 0}
    real_to_host = backend.to_host

    def counting_to_host(array):
        counts["to_host"] += 1
        return real_to_host(array)

    array_type = type(target.put(numpy.zeros(1)))
    patched = []
    for name in HOST_READS:
        real = getattr(array_type, name, None)
        if real is None:
            continue

        def counting(self, *args, _real=real, _name=name):
            counts[_name] += 1
            return _real(self, *args)

        try:
            setattr(array_type, name, counting)
        except (TypeError, AttributeError):  # a built-in type (numpy, jax): to_host is counted
            continue
        patched.append((name, real))
        counts[name] = 0
    rng = numpy.random.default_rng(0)
    X, y = target.put(rng.random((n, 6))), target.put(rng.integers(0, 3, n).astype("int32"))
    net = target.network([6, 4, 3])
    backend.to_host = counting_to_host
    try:
        net.fit(X, y, epochs=1, batch_size=batch_size, eta=0.5)
    finally:
        del backend.to_host
        for name, real in patched:
            setattr(array_type, name, real)
    return counts


def _no_host_reads_per_batch(target):
    name = "no host synchronisation per mini-batch"
    few, many = count_host_reads(target, batch_size=30), count_host_reads(target, batch_size=6)
    growth = max(many[k] - few[k] for k in few)
    counted = ", ".join(sorted(few))
    detail = f"2 batches {few['to_host']} to_host, 10 batches {many['to_host']} (counted: {counted})"
    return Line(name, growth == 0 and few["to_host"] <= 2, growth, 0, "calls", detail)


def _foreign_arrays_refused(target):
    name = "arrays of another library refused, never copied"
    from ..backends import get_backend

    if target.backend.owns(numpy.zeros(1)):
        other = get_backend("array_api_strict", check=False)
        if not other.available:
            return Line(name, True, unit="", detail=f"not checked: {other.unavailable_reason}")
        foreign, what = other.from_host(numpy.zeros((2, 6))), "an array_api_strict array"
    else:
        foreign, what = numpy.zeros((2, 6), dtype=target.dtype), "a numpy array"
    net = target.network([6, 4, 3])
    accepted = []
    for call, args in (("feedforward", (foreign,)), ("gradients", (foreign, numpy.zeros((2, 3), dtype=target.dtype)))):
        try:
            getattr(net, call)(*args)
            accepted.append(call)
        except BackendError:
            pass
    detail = f"{what} given to feedforward and gradients"
    if accepted:
        detail += f"; accepted by {', '.join(accepted)}"
    return Line(name, not accepted, unit="", detail=detail)


def _finite_differences(hidden, cost, output):
    name = f"reference = finite differences: {combo_id((hidden, cost, output))}"

    def run(target):
        sizes = ARCHITECTURES["odd"]
        net = Network(sizes, activation=hidden, cost=cost, output_activation=output, init="scaled",
                      dtype="float64", seed=5)
        X, y = data(sizes, 7, seed=3, labels=True)
        result = check_gradients(net, X, y, samples=10, seed=0)
        error = result.max_relative_error
        ok = error <= FINITE_DIFFERENCE_LIMIT
        return Line(name, ok, error, FINITE_DIFFERENCE_LIMIT, "rel",
                    detail="numpy float64" + (f", worst {result.worst}" if result.worst else ""))
    return Check(name, run, reference=True)


def _build_checks():
    checks = [_finite_differences(*family) for family in REFERENCE_FAMILIES]
    checks += [_gradients(f"gradients: {arch} m={m}", sizes, m, m, dict(seed=3))
               for arch, sizes in ARCHITECTURES.items() for m in BATCH_SIZES]
    checks += [_gradients(f"gradients: {combo_id(c)}", ARCHITECTURES["odd"], 7, 3,
                          dict(activation=c[0], cost=c[1], output_activation=c[2], init="scaled", seed=5))
               for c in COMBOS]
    checks.append(_gradients("gradients: per-layer relu,tanh,linear,sigmoid", ARCHITECTURES["three-hidden"], 7, 4,
                             dict(activation=["relu", "tanh", "linear", "sigmoid"], cost="cross-entropy", seed=2)))
    checks += [Check("initial parameters: same seed, same network", _same_initial_parameters),
               Check("feedforward and evaluate", _feedforward_and_evaluate),
               Check("labels and one-hot targets: same gradients", _labels_equal_one_hot),
               Check("trajectory: parameters after 1 epoch of SGD", _trajectory),
               Check("no host synchronisation per mini-batch", _no_host_reads_per_batch),
               Check("arrays of another library refused, never copied", _foreign_arrays_refused)]
    return tuple(checks)


#: every check, in the order of the report
CHECKS = _build_checks()


def run_check(check, target) -> Line:
    """``check`` on ``target``; an error raised by the backend is a failed line, not a traceback."""
    try:
        return check.run(target)
    except (XpropError, ArithmeticError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        return Line(check.name, False, unit="", detail=f"raised {type(exc).__name__}: {first}"[:200])


def check_backend(name, *, device=None, dtype="float32") -> ParityReport:
    """Run every parity check on backend ``name`` (on ``device``, in ``dtype``).

    An unknown backend, one that cannot run here, or a device or dtype it does not have
    gives a report of one failed line saying why.
    """
    report = ParityReport(name, device, dtype)
    try:
        target = Target(name, device, dtype)
        target.network([2, 1])  # the backend, device and dtype are usable, or one line says why
    except XpropError as exc:
        report.lines.append(Line(f"backend {name}", False, unit="", detail=str(exc).splitlines()[0]))
        return report
    report.lines.extend(run_check(check, target) for check in CHECKS)
    return report
