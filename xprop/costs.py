"""Cost functions C and their output error δ^L (BP1), one small class each.

As in the book's ``network2.py``, a cost gives its value and the output error
δ^L = ∇_a C ⊙ σ'(z^L) (BP1) for a mini-batch. Arrays are batch-first: ``a``, ``y`` and
``z`` are (m, n_L). ``value`` returns the cost summed over the m examples (a 0-d array on
the inputs' device), so that callers can accumulate it over a whole epoch on the device
and divide by the example count once.

The quadratic cost's output error for a sigmoid output layer, times the step's η/m, is a
hot spot a backend may fuse into one GPU kernel: ``quadratic_sigmoid_output_error`` below
is its unfused reference, and ``with_kernels`` gives the cost that calls a backend's kernel
instead (``xprop.backprop.fused_kernels``).
"""

from __future__ import annotations

from .activations import Activation, Sigmoid, sigmoid_delta
from .errors import InputError, Setting


class Cost:
    name = ""
    #: output activations this cost is defined for (None: any elementwise activation)
    output_activations: tuple[str, ...] | None = None

    def value(self, z, a, y, *, xp):
        raise NotImplementedError

    def delta(self, z, a, y, activation: Activation, *, xp):
        raise NotImplementedError

    def output_error(self, z, a, y, activation: Activation, scale, *, xp):
        """``scale`` × δ^L (BP1), or δ^L where ``scale`` is None: a step folds its η/m in here."""
        delta = self.delta(z, a, y, activation, xp=xp)
        return delta if scale is None else scale * delta

    def with_kernels(self, kernels, activation: Activation) -> "Cost":
        """This cost computing its hot spot for the output ``activation`` with a backend's
        fused ``kernels`` (a mapping hot-spot name -> function); itself where it has none."""
        return self

    def check_output(self, activation: Activation) -> None:
        """Refuse an output activation this cost makes no sense with."""
        allowed = self.output_activations
        if allowed is None and not activation.elementwise:
            raise InputError(
                f"cost {self.name!r} needs an elementwise output activation, not "
                f"{activation.name!r}; use ", Setting("cost", "log-likelihood"), " with a softmax output",
                argument="output_activation")
        if allowed is not None and activation.name not in allowed:
            raise InputError(
                f"cost {self.name!r} needs a {' or '.join(allowed)} output layer, not "
                f"{activation.name!r}; pass ", Setting("output_activation", allowed[0]),
                " or pick another cost", argument="output_activation")


class QuadraticCost(Cost):
    """C = (1/2n) Σ_x ‖y(x) − a^L(x)‖² (the book's eq. 26), ∇_a C = (a − y)."""

    name = "quadratic"

    def value(self, z, a, y, *, xp):
        diff = a - y
        return 0.5 * xp.sum(diff * diff)

    def delta(self, z, a, y, activation, *, xp):
        return activation.backward(a - y, z, a, xp=xp)  # BP1: ∇_a C ⊙ σ'(z^L)

    def with_kernels(self, kernels, activation):
        kernel = kernels.get("quadratic_sigmoid_output_error")
        if kernel is None or type(self) is not QuadraticCost or type(activation) is not Sigmoid:
            return self  # a subclass, or another output layer, keeps the unfused BP1
        return FusedQuadraticSigmoid(kernel)


def quadratic_sigmoid_output_error(a, y, scale, *, xp):
    """The hot spot "quadratic_sigmoid_output_error": scale × (a − y) ⊙ a(1 − a), BP1 of the
    quadratic cost with a sigmoid output layer (σ'(z) from the stored activation), times
    ``scale`` (η/m in a step)."""
    return scale * sigmoid_delta(a - y, a, xp=xp)


class FusedQuadraticSigmoid(QuadraticCost):
    """The quadratic cost whose BP1 for its sigmoid output is a backend's kernel, with the
    signature of ``quadratic_sigmoid_output_error`` (``QuadraticCost.with_kernels``)."""

    def __init__(self, kernel):
        self.kernel = kernel

    def delta(self, z, a, y, activation, *, xp):
        return self.kernel(a, y, 1.0, xp=xp)

    def output_error(self, z, a, y, activation, scale, *, xp):
        return self.kernel(a, y, 1.0 if scale is None else scale, xp=xp)

    def with_kernels(self, kernels, activation):
        return self

    def __repr__(self):
        return f"FusedQuadraticSigmoid({self.kernel!r})"


class CrossEntropyCost(Cost):
    """C = −(1/n) Σ_x Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)] (ch. 3, eq. 63).

    With a sigmoid output σ'(z) cancels: δ^L = a − y (ch. 3, eq. 66). The value is
    computed from z, not a, as Σ softplus(z) − y z, which equals the formula above and
    never takes the log of 0 (no ``nan_to_num`` needed).
    """

    name = "cross-entropy"
    output_activations = ("sigmoid",)

    def value(self, z, a, y, *, xp):
        return xp.sum(xp.logaddexp(0.0, z) - y * z)

    def delta(self, z, a, y, activation, *, xp):
        return a - y  # BP1 with σ'(z^L) cancelled against ∇_a C


class LogLikelihoodCost(Cost):
    """C = −ln a^L_y for a softmax output (ch. 3, eq. 80); δ^L = a − y (eq. 81, 82).

    With one-hot ``y`` the value is Σ_x [logsumexp(z) − y·z], stable for any z.
    """

    name = "log-likelihood"
    output_activations = ("softmax",)

    def value(self, z, a, y, *, xp):
        top = xp.max(z, axis=1, keepdims=True)
        log_norm = xp.log(xp.sum(xp.exp(z - top), axis=1)) + top[:, 0]
        return xp.sum(log_norm) - xp.sum(y * z)

    def delta(self, z, a, y, activation, *, xp):
        return a - y


COSTS = {cls.name: cls for cls in (QuadraticCost, CrossEntropyCost, LogLikelihoodCost)}
_ALIASES = {"mse": "quadratic", "crossentropy": "cross-entropy", "cross_entropy": "cross-entropy",
            "log_likelihood": "log-likelihood", "loglikelihood": "log-likelihood", "nll": "log-likelihood"}


def get_cost(spec) -> Cost:
    """A Cost from its name or an instance."""
    if isinstance(spec, Cost):
        return spec
    if isinstance(spec, str):
        key = _ALIASES.get(spec.lower(), spec.lower())
        if key in COSTS:
            return COSTS[key]()
    raise InputError(f"unknown cost {spec!r}; choose one of {', '.join(COSTS)}")
