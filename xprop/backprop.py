"""Feedforward and the four equations of backpropagation, for a whole mini-batch at once.

This is the book's chapter 2 in "fully matrix-based" form: instead of looping over the
examples of a mini-batch, each example is a row of a batch-first matrix. With
``a`` of shape (m, n_{l−1}) and the book's weights ``w`` of shape (n_l, n_{l−1})
(w[j, k] connects neuron k of layer l−1 to neuron j of layer l):

    z^l = a^{l−1} (w^l)^T + b^l        (eq. 25, one row per example)
    a^l = σ(z^l)

    BP1  δ^L = ∇_a C ⊙ σ'(z^L)                       (eq. BP1)
    BP2  δ^l = (δ^{l+1} w^{l+1}) ⊙ σ'(z^l)           ((w^{l+1})^T δ^{l+1}, row form)
    BP3  ∂C/∂b^l = (1/m) Σ_x δ^{x,l}                 (sum over the rows: 1ᵀ δ^l)
    BP4  ∂C/∂w^l = (1/m) (δ^l)^T a^{l−1}            (Σ_x δ^{x,l} (a^{x,l−1})^T)

where C is the mean cost over the m examples. Every function takes the Array API
namespace as the keyword ``xp`` and uses nothing but the standard: this module imports
no array library. Python lists are indexed from 0: ``weights[i]`` is the book's w^{i+2}.

Fused kernels (thinc's Ops pattern). A few short elementwise chains of this math are hot
spots that a backend may compute with one GPU kernel each instead of one launch per
operation. ``UNFUSED`` names them and holds their references, the functions this math
runs: σ (``sigmoid``), BP2's product with σ' (``sigmoid_delta``), a layer's update
(``sgd_update``, ``momentum_update``), and BP1 of the quadratic cost with a sigmoid
output times η/m (``quadratic_sigmoid_output_error``: η/m × ``sigmoid_delta(a − y, a)``,
what the quadratic cost computes through its output layer's ``backward``). The functions
below take ``fused``: None, the default, runs the references and costs nothing; a mapping
from hot-spot names to a backend's kernels (``fused_kernels(backend)``, made once per run)
runs the same lines with those chains computed by the kernels, reached through the fused
variants of the activation and cost objects (``with_kernels``) and through
``update_layer``. Each kernel is tested against its reference (tests/test_fused.py).
"""

from __future__ import annotations

from .activations import sigmoid, sigmoid_delta
from .costs import quadratic_sigmoid_output_error


def feedforward(weights, biases, activations, x, *, xp, fused=None):
    """The network's output a^L for a batch ``x`` of shape (m, n_in)."""
    if fused is not None:
        activations = [sigma.with_kernels(fused) for sigma in activations]
    a = x
    for w, b, sigma in zip(weights, biases, activations):
        a = sigma(a @ w.T + b, xp=xp)  # z^l = a^{l−1} (w^l)^T + b^l, a^l = σ(z^l)
    return a


def forward_pass(weights, biases, activations, x, *, xp, fused=None):
    """Feedforward keeping every z^l and a^l, which backpropagation needs.

    Returns ``(zs, acts)`` with ``acts[0] = x`` and ``acts[i + 1] = σ(zs[i])``.
    """
    if fused is not None:
        activations = [sigma.with_kernels(fused) for sigma in activations]
    zs, acts = [], [x]
    for w, b, sigma in zip(weights, biases, activations):
        z = acts[-1] @ w.T + b  # z^l = a^{l−1} (w^l)^T + b^l
        zs.append(z)
        acts.append(sigma(z, xp=xp))  # a^l = σ(z^l)
    return zs, acts


def backpropagate(weights, activations, zs, acts, delta_out, *, xp):
    """Yield ``(i, δ)`` for every layer from the last to the first.

    ``delta_out`` is δ^L from BP1. Before yielding layer i's δ it has already computed
    layer i−1's δ with BP2 from ``weights[i]``, so the consumer may update
    ``weights[i]`` at once (as the fused SGD step does) without changing the result.
    """
    delta = delta_out
    for i in range(len(weights) - 1, -1, -1):
        if i > 0:
            # BP2: δ^l = ((w^{l+1})^T δ^{l+1}) ⊙ σ'(z^l), σ' taken from the stored a^l.
            previous = activations[i - 1].backward(delta @ weights[i], zs[i - 1], acts[i], xp=xp)
        yield i, delta
        if i > 0:
            delta = previous


def output_error(cost, activations, zs, acts, y, *, xp, scale=None):
    """BP1: δ^L = ∇_a C ⊙ σ'(z^L), as the cost defines it for its output activation, times
    ``scale`` where given (η/m in a step, 1/m for the mean gradient)."""
    return cost.output_error(zs[-1], acts[-1], y, activations[-1], scale, xp=xp)


def gradients(weights, biases, activations, cost, x, y, *, xp, fused=None):
    """∂C/∂w and ∂C/∂b of the mean cost over the mini-batch (x, y), by BP1–BP4.

    The 1/m of BP3 and BP4 is applied to δ^L once: BP2 is linear in δ, so every δ^l
    carries it and the sums come out as means, without dividing each gradient by m.
    Returns ``(grad_w, grad_b)``, lists shaped like ``weights`` and ``biases``.
    """
    return _bp3_bp4(weights, biases, activations, cost, x, y, 1.0 / x.shape[0], xp=xp, fused=fused)


def summed_gradients(weights, biases, activations, cost, x, y, *, xp, ones=None, fused=None):
    """BP3 and BP4 without their 1/m: Σ_x δ^{x,l} (a^{x,l−1})^T and Σ_x δ^{x,l}.

    Sums over disjoint parts of a mini-batch add up to the sum over the whole batch,
    which is what a data-parallel step needs (``xprop.parallel``). Returns
    ``(sum_w, sum_b)``, lists shaped like ``weights`` and ``biases``; ``ones`` as in
    ``sgd_step``.
    """
    return _bp3_bp4(weights, biases, activations, cost, x, y, None, xp=xp, ones=ones, fused=fused)


def _bp3_bp4(weights, biases, activations, cost, x, y, scale, *, xp, ones=None, fused=None):
    """BP3 and BP4 of (``scale`` × δ), every layer; ``scale`` None means 1."""
    if fused is not None:
        activations, cost = with_kernels(fused, activations, cost)
    zs, acts = forward_pass(weights, biases, activations, x, xp=xp)
    delta = output_error(cost, activations, zs, acts, y, xp=xp, scale=scale)  # BP1, × scale
    ones = _ones(x, ones, xp=xp)
    grad_w, grad_b = [None] * len(weights), [None] * len(weights)
    for i, delta in backpropagate(weights, activations, zs, acts, delta, xp=xp):  # BP2
        grad_b[i] = ones @ delta  # BP3: Σ_x δ^{x,l}
        grad_w[i] = delta.T @ acts[i]  # BP4: Σ_x δ^{x,l} (a^{x,l−1})^T
    return grad_w, grad_b


def _ones(x, given=None, *, xp):
    """The row of m ones: BP3's sum over the examples is the product 1ᵀδ.

    One matrix-vector product costs less than ``xp.sum(δ, axis=0)``, whose reduction
    machinery dominates for the small δ of a mini-batch (docs/performance-log.md).
    ``given``, a caller's longer vector of ones kept across steps, saves making it again.
    """
    if given is not None:
        return given[:x.shape[0]]
    return xp.ones(x.shape[0], dtype=x.dtype, device=x.device)


def sgd_step(weights, biases, activations, cost, x, y, *, eta, decay, momentum, velocities, xp, ones=None,
             fused=None):
    """One mini-batch step of SGD (eq. 20, 21), updating ``weights``/``biases`` in place.

    The step reads nothing back to the host. Each layer is updated as soon as BP2 has
    used its old weights (``backpropagate`` guarantees the order). δ^L is scaled by η/m
    once: BP2 is linear in δ, so every δ^l it yields already carries the factor, and
    BP3/BP4 give η ∂C/∂b and η ∂C/∂w directly — no layer's δ or gradient is scaled on
    its own (one array operation fewer per hidden layer, the large gradient never).

    ``ones``, optional, is a vector of at least m ones on x's device and dtype that the
    caller keeps from step to step (the Trainer does), so that BP3's 1ᵀδ does not
    allocate it again every mini-batch; its first m entries are used.

    ``fused``, optional, is a backend's fused kernels (``fused_kernels(backend)``, made
    once per run); None runs the unfused references (module docstring).
    """
    if fused is not None:
        activations, cost = with_kernels(fused, activations, cost)
    scale = eta / x.shape[0]
    zs, acts = forward_pass(weights, biases, activations, x, xp=xp)
    step = output_error(cost, activations, zs, acts, y, xp=xp, scale=scale)  # (η/m) δ^L, BP1
    ones = _ones(x, ones, xp=xp)
    for i, step in backpropagate(weights, activations, zs, acts, step, xp=xp):  # (η/m) δ^l, BP2
        # BP4 and BP3, already multiplied by η/m: (η/m) Σ_x δ^{x,l} (a^{x,l−1})^T and (η/m) Σ_x δ^{x,l}
        update_layer(weights, biases, i, step.T @ acts[i], ones @ step,  # BP3 as 1ᵀδ
                     decay=decay, momentum=momentum, velocities=velocities, xp=xp, fused=fused)


def update_layer(weights, biases, i, step_w, step_b, *, decay, momentum, velocities, xp=None, fused=None):
    """Apply one layer's update, given η ∂C/∂w and η ∂C/∂b (the learning rate applied).

    w → (1 − ηλ/n) w − η ∂C₀/∂w      (eq. 20 with L2 weight decay, ch. 3 eq. 93)
    b → b − η ∂C₀/∂b                 (eq. 21; biases are not decayed)

    ``decay`` is the factor 1 − ηλ/n (1.0 without L2). With ``momentum`` μ > 0,
    ``velocities`` holds (v_w, v_b) lists and v → μv − η∇C, w → w + v (ch. 3,
    "momentum-based gradient descent"), the decay term included in η∇C.
    Arrays are updated in place where the library allows it (``-=`` rebinds on
    immutable libraries such as JAX). ``fused`` as in ``sgd_step``: the hot spots
    ``sgd_update`` and ``momentum_update`` are a layer's weights (and with momentum its
    biases) updated by one kernel each.
    """
    if momentum:
        update = momentum_update if fused is None else fused.get("momentum_update", momentum_update)
        v_w, v_b = velocities
        weights[i], v_w[i] = update(weights[i], v_w[i], step_w, momentum, decay, xp=xp)
        biases[i], v_b[i] = update(biases[i], v_b[i], step_b, momentum, 1.0, xp=xp)
        return
    update = sgd_update if fused is None else fused.get("sgd_update", sgd_update)
    weights[i] = update(weights[i], step_w, decay, xp=xp)
    biases[i] -= step_b


def sgd_update(w, step, decay, *, xp):
    """The hot spot "sgd_update": w → decay·w − step, in place where the library allows it
    (eq. 20 with the L2 factor ``decay`` = 1 − ηλ/n, 1.0 without L2); returns w."""
    if decay != 1.0:
        w *= decay
    w -= step
    return w


def momentum_update(w, v, step, momentum, decay, *, xp):
    """The hot spot "momentum_update": v → μv − step − (1 − decay)·w, then w → w + v
    (ch. 3, momentum-based gradient descent, L2 decay included in the step); w in
    place where the library allows it. Returns (w, v)."""
    v = momentum * v - step
    if decay != 1.0:
        v -= (1.0 - decay) * w
    w += v
    return w, v


#: The hot spots, by the name a backend fuses them under (``Backend.fused(name)``): the
#: unfused reference of each, which this math calls and a fused kernel is tested against.
UNFUSED = {
    "sigmoid": sigmoid,
    "sigmoid_delta": sigmoid_delta,
    "quadratic_sigmoid_output_error": quadratic_sigmoid_output_error,
    "sgd_update": sgd_update,
    "momentum_update": momentum_update,
}


def fused_kernels(backend):
    """The ``fused`` mapping of ``backend``: hot-spot name -> its kernel, for those of
    ``UNFUSED`` it fuses (``backend.fused(name)``), or None where it fuses none, so that
    the math runs its references at no cost. Made once per run, not once per step."""
    kernels = {name: kernel for name in UNFUSED if (kernel := backend.fused(name)) is not None}
    return kernels or None


def with_kernels(fused, activations, cost):
    """The activations and the cost computing their hot spots with the kernels ``fused``."""
    return [sigma.with_kernels(fused) for sigma in activations], cost.with_kernels(fused, activations[-1])
