"""Activation functions σ and their derivatives σ', one small class each.

Every derivative receives both z^l and the activation a^l = σ(z^l) computed on the
forward pass, so functions whose derivative is a function of their own output reuse it
instead of evaluating σ again: the sigmoid's σ'(z) = σ(z)(1 − σ(z)) = a(1 − a) (the
book's eq. 3 and its derivative, used in BP1 and BP2), tanh's 1 − a², ReLU's [a > 0].

BP2 multiplies the error back-propagated from the layer above by σ'(z^l): that product is
an activation's ``backward``. The sigmoid's σ and its ``backward`` are two of the hot spots
a backend may fuse into one GPU kernel each (``sigmoid``, ``sigmoid_delta`` below, the
unfused references); ``with_kernels`` gives the activation that calls a backend's kernels
instead (``xprop.backprop.fused_kernels``).

Nothing here imports an array library: ``xp`` is the Array API namespace of the inputs.
"""

from __future__ import annotations

from .errors import InputError, Setting


def sigmoid(z, *, xp):
    """The hot spot "sigmoid": σ(z) = 1/(1 + e^min(−z, 80)), the book's eq. 3 (see ``Sigmoid``)."""
    return 1.0 / (1.0 + xp.exp(xp.minimum(-z, 80.0)))


def sigmoid_delta(g, a, *, xp):
    """The hot spot "sigmoid_delta": g ⊙ σ'(z) for a sigmoid layer, σ'(z) = a(1 − a) from the
    stored activation a = σ(z). BP2's product, g = δ^{l+1} w^{l+1}, and BP1's for the
    quadratic cost, g = a − y."""
    return g * (a * (1.0 - a))


class Activation:
    """σ applied elementwise to z, and its derivative σ'(z) (BP1, BP2)."""

    name = ""
    elementwise = True  # False only for softmax, whose Jacobian is not diagonal

    def __call__(self, z, *, xp):
        raise NotImplementedError

    def derivative(self, z, a, *, xp):
        raise NotImplementedError

    def backward(self, g, z, a, *, xp):
        """g ⊙ σ'(z): BP2's product, g = δ^{l+1} w^{l+1} the error coming back from above."""
        return g * self.derivative(z, a, xp=xp)

    def with_kernels(self, kernels):
        """This activation computing its hot spots with a backend's fused ``kernels`` (a
        mapping hot-spot name -> function); itself where it has no hot spot among them."""
        return self

    def __repr__(self):
        return f"{type(self).__name__}()"


class Sigmoid(Activation):
    """σ(z) = 1/(1 + e^−z) (eq. 3), with the exponent capped: e^min(−z, 80).

    The cap keeps e^−z finite in float32 (which overflows past e^88.7) and float64, so
    no overflow warning and no inf; below z = −80, where σ(z) < 1.9e-35, it returns
    1/(1 + e^80) ≈ 1.8e-35 instead: an absolute error under 2e-35. One ``exp`` and four
    cheap operations cost less than the overflow-free (1 + tanh(z/2))/2, tanh being the
    dearer function (docs/performance-log.md has the figures).
    """

    name = "sigmoid"

    def __call__(self, z, *, xp):
        return sigmoid(z, xp=xp)

    def derivative(self, z, a, *, xp):
        return a * (1.0 - a)  # σ'(z) = σ(z)(1 − σ(z)), from the stored activation

    def backward(self, g, z, a, *, xp):
        return sigmoid_delta(g, a, xp=xp)

    def with_kernels(self, kernels):
        forward, backward = kernels.get("sigmoid"), kernels.get("sigmoid_delta")
        if type(self) is not Sigmoid or (forward is None and backward is None):
            return self  # no kernel for it; or a subclass, which may compute σ its own way
        return FusedSigmoid(forward or sigmoid, backward or sigmoid_delta)


class FusedSigmoid(Sigmoid):
    """The sigmoid whose σ and ``backward`` are a backend's kernels (``Sigmoid.with_kernels``),
    with the signatures of ``sigmoid`` and ``sigmoid_delta``, the references they replace."""

    def __init__(self, sigmoid_kernel, delta_kernel):
        self.sigmoid_kernel, self.delta_kernel = sigmoid_kernel, delta_kernel

    def __call__(self, z, *, xp):
        return self.sigmoid_kernel(z, xp=xp)

    def backward(self, g, z, a, *, xp):
        return self.delta_kernel(g, a, xp=xp)

    def with_kernels(self, kernels):
        return self

    def __repr__(self):
        return f"FusedSigmoid({self.sigmoid_kernel!r}, {self.delta_kernel!r})"


class Tanh(Activation):
    name = "tanh"

    def __call__(self, z, *, xp):
        return xp.tanh(z)

    def derivative(self, z, a, *, xp):
        return 1.0 - a * a


class ReLU(Activation):
    name = "relu"

    def __call__(self, z, *, xp):
        return xp.maximum(z, 0.0)

    def derivative(self, z, a, *, xp):
        return xp.astype(a > 0.0, a.dtype)


class Linear(Activation):
    """σ(z) = z: the chapter's exercise "backpropagation with linear neurons"."""

    name = "linear"

    def __call__(self, z, *, xp):
        return z

    def derivative(self, z, a, *, xp):
        return xp.ones_like(z)


class Softmax(Activation):
    """a_j = e^{z_j} / Σ_k e^{z_k} (book ch. 3, eq. 78), shifted by max z for stability.

    Its Jacobian is not diagonal, so it is only allowed as the output layer together
    with the log-likelihood cost, whose output error is simply δ^L = a − y.
    """

    name = "softmax"
    elementwise = False

    def __call__(self, z, *, xp):
        e = xp.exp(z - xp.max(z, axis=1, keepdims=True))
        return e / xp.sum(e, axis=1, keepdims=True)

    def derivative(self, z, a, *, xp):
        raise InputError(
            "softmax has no elementwise derivative; use it only as the output layer with ",
            Setting("cost", "log-likelihood"))


class CustomActivation(Activation):
    """A user's own σ given as ``(function, derivative)``, both taking z.

    The functions receive arrays of the network's backend and must use only operators
    or the array's own namespace (``z.__array_namespace__()``), so that they run on
    every backend. The chapter's exercise "a single modified neuron", for a whole layer.
    """

    def __init__(self, function, derivative, name="custom"):
        if not (callable(function) and callable(derivative)):
            raise InputError(
                "a custom activation is a pair (function, derivative) of callables taking z"
            )
        self.function, self._derivative, self.name = function, derivative, name

    def __call__(self, z, *, xp):
        return self.function(z)

    def derivative(self, z, a, *, xp):
        return self._derivative(z)

    def __repr__(self):
        return f"CustomActivation({self.name!r})"


ACTIVATIONS = {cls.name: cls for cls in (Sigmoid, Tanh, ReLU, Linear, Softmax)}


def get_activation(spec) -> Activation:
    """An Activation from a name, an instance, or a ``(function, derivative)`` pair."""
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, str):
        try:
            return ACTIVATIONS[spec.lower()]()
        except KeyError:
            raise InputError(
                f"unknown activation {spec!r}; choose one of {', '.join(ACTIVATIONS)} "
                "or pass a (function, derivative) pair"
            ) from None
    if isinstance(spec, tuple) and len(spec) == 2:
        return CustomActivation(*spec)
    raise InputError(
        f"activation must be a name ({', '.join(ACTIVATIONS)}), an Activation, or a "
        f"(function, derivative) pair; got {spec!r}"
    )
