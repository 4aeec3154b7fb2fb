"""bench/namespace_overhead.py runs, and both namespaces it times compute the same step."""

import importlib.util
import json
import pathlib

import numpy as np

from xprop import Network
from xprop.backprop import sgd_step

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "bench" / "namespace_overhead.py"


def _script():
    spec = importlib.util.spec_from_file_location("namespace_overhead", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_reports_both_namespaces(tmp_path, capsys):
    out = tmp_path / "overhead.json"
    assert _script().main(["--sizes", "6", "4", "3", "--steps", "3", "--rounds", "2", "--json", str(out)]) == 0
    results = json.loads(out.read_text())["results"]
    assert set(results) == {"numpy", "array_api_compat.numpy"}
    assert all(0 < r["min_us"] <= r["median_us"] <= r["max_us"] for r in results.values())
    assert "wrapper overhead" in capsys.readouterr().out


def test_both_namespaces_take_the_same_step():
    net = Network([6, 4, 3], dtype="float64", seed=1)
    rng = np.random.default_rng(0)
    x, y = rng.random((5, 6)), np.eye(3)[rng.integers(0, 3, 5)]
    after = []
    for xp in _script()._namespaces().values():
        weights, biases = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
        sgd_step(weights, biases, net.activations, net.cost, x, y, eta=3.0, decay=1.0,
                 momentum=0.0, velocities=None, xp=xp)
        after.append(weights + biases)
    for a, b in zip(*after):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(after[0][0], net.weights[0])  # the step did change the weights
