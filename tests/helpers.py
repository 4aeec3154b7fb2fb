"""Plain references the tests compare xprop with: written independently of xprop's code.

The parity cases (architectures, batch sizes, cost × activation families, seeded data) are
the parity harness's own (``xprop.testing.parity``), imported here for the other tests.
"""

from __future__ import annotations

import json

import numpy as np

from xprop.io.npz import read_archive, write_archive

from xprop.testing.parity import ARCHITECTURES, BATCH_SIZES, COMBOS, HIDDEN, OUTPUTS, combo_id, data  # noqa: F401


def book_backprop(weights, biases, x, y):
    """The book's network.py ``backprop`` for ONE example, column vectors, numpy float64.

    Sigmoid layers, quadratic cost; returns (nabla_w, nabla_b) of C_x = ½‖y − a‖².
    """
    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    activation = x.reshape(-1, 1)
    activations, zs = [activation], []
    for w, b in zip(weights, biases):
        z = w @ activation + b.reshape(-1, 1)
        zs.append(z)
        activation = sigmoid(z)
        activations.append(activation)
    sp = sigmoid(zs[-1]) * (1 - sigmoid(zs[-1]))
    delta = (activations[-1] - y.reshape(-1, 1)) * sp
    nabla_w, nabla_b = [None] * len(weights), [None] * len(weights)
    nabla_b[-1], nabla_w[-1] = delta[:, 0], delta @ activations[-2].T
    for layer in range(2, len(weights) + 1):
        sp = sigmoid(zs[-layer]) * (1 - sigmoid(zs[-layer]))
        delta = (weights[-layer + 1].T @ delta) * sp
        nabla_b[-layer], nabla_w[-layer] = delta[:, 0], delta @ activations[-layer - 1].T
    return nabla_w, nabla_b


def book_mean_gradients(weights, biases, X, Y):
    """Σ_x of book_backprop over the batch, divided by m: the gradient of the mean cost."""
    m = X.shape[0]
    sums_w = [np.zeros_like(w) for w in weights]
    sums_b = [np.zeros_like(b) for b in biases]
    for x, y in zip(X, Y):
        nabla_w, nabla_b = book_backprop(weights, biases, x, y)
        sums_w = [s + n for s, n in zip(sums_w, nabla_w)]
        sums_b = [s + n for s, n in zip(sums_b, nabla_b)]
    return [s / m for s in sums_w], [s / m for s in sums_b]


def max_relative_error(got, want):
    """max |got − want| / max(|want|), over lists of arrays."""
    scale = max(float(np.max(np.abs(w))) for w in want)
    return max(float(np.max(np.abs(g - w))) for g, w in zip(got, want)) / scale


def rewrite_header(path, change):
    """Rewrite the JSON header of the xprop file ``path`` with ``change(header)``; the
    arrays stay as they are (a damaged or edited file, made on purpose)."""
    arrays = read_archive(path)
    header = json.loads(bytes(arrays["header.json"]).decode())
    change(header)
    arrays["header.json"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    write_archive(path, arrays)


def xprop_cli(capsys, *argv):
    """Run ``xprop ARGV...`` in this process (arguments as str); (exit code, stdout, stderr)."""
    from xprop.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err
