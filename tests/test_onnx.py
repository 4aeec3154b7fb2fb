"""ONNX export: the network's feedforward recorded by ndonnx, run by onnxruntime, against
Network.feedforward on numpy (the same math, computed), for every activation and cost."""

from __future__ import annotations

import json
from pathlib import Path

import numpy
import pytest

ndonnx = pytest.importorskip("ndonnx", reason="ONNX export needs the extra: pip install 'xprop[onnx]'")
onnx = pytest.importorskip("onnx", reason="ONNX export needs the extra: pip install 'xprop[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="ONNX export needs the extra: pip install 'xprop[onnx]'")

import xprop.cli  # noqa: E402
from xprop import __version__  # noqa: E402
from xprop.activations import CustomActivation  # noqa: E402
from xprop.cli import export as export_command  # noqa: E402
from xprop.errors import InputError  # noqa: E402
from xprop.io import onnx as xonnx  # noqa: E402
from xprop.io.networks import load_model, save_model  # noqa: E402
from xprop.network import Network  # noqa: E402
from xprop.errors import MissingExtraError  # noqa: E402

FORMAT1 = Path(__file__).parent / "data" / "format1" / "model-epoch4.npz"
FAMILIES = {  # id -> Network keyword arguments
    "sigmoid-quadratic": dict(activation="sigmoid", cost="quadratic"),
    "sigmoid-cross-entropy": dict(activation="sigmoid", cost="cross-entropy"),
    "relu-softmax-log-likelihood": dict(activation="relu", output_activation="softmax", cost="log-likelihood"),
    "tanh-cross-entropy": dict(activation="tanh", output_activation="sigmoid", cost="cross-entropy"),
    "linear-quadratic": dict(activation="linear", cost="quadratic"),
}
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}
ROWS = 10_000


def run_onnx(path, X):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": X})


def rows(n, n_in, dtype, seed=0):
    return numpy.random.default_rng(seed).random((n, n_in)).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("family", FAMILIES.values(), ids=FAMILIES.keys())
def test_onnxruntime_computes_the_feedforward(tmp_path, family, dtype):
    # "scaled" (N(0, 1/n_in)) keeps |z| near 1, as in a trained network; with "large" the
    # float32 sums of 784 terms reach |z| ~ 30 and their summation order alone moves a^L by 2e-5.
    network = Network([784, 30, 10], dtype=dtype, init="scaled", seed=3, **family)
    path = xonnx.export_onnx(network, tmp_path / "net.onnx", argmax=True)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    X = rows(ROWS, 784, dtype)
    a, label = run_onnx(path, X)
    want = numpy.asarray(network.feedforward(X))
    assert a.dtype == numpy.dtype(dtype) and a.shape == want.shape
    assert numpy.abs(a - want).max() <= TOLERANCE[dtype]
    assert numpy.array_equal(label, want.argmax(axis=1))
    assert numpy.array_equal(label, numpy.asarray(network.predict(X)))


@pytest.mark.parametrize("n", [0, 1, 7, ROWS], ids=["0-rows", "1-row", "7-rows", "10000-rows"])
def test_the_batch_dimension_is_dynamic(tmp_path, n):
    network = Network([20, 8, 4], seed=1)
    path = xonnx.export_onnx(network, tmp_path / "net.onnx")
    model = onnx.load(path)
    for value in (*model.graph.input, *model.graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param == "N", value
    (a,) = run_onnx(path, rows(n, 20, "float32"))
    assert a.shape == (n, 4)


@pytest.mark.parametrize("argmax", [False, True], ids=["activations", "activations-and-argmax"])
def test_outputs_and_metadata(tmp_path, argmax):
    network = Network([12, 5, 3], activation="tanh", output_activation="sigmoid", cost="cross-entropy",
                      dtype="float64", seed=2)
    model = onnx.load(xonnx.export_onnx(network, tmp_path / "net.onnx", argmax=argmax))
    outputs = [o.name for o in model.graph.output]
    assert outputs == (["a", "label"] if argmax else ["a"])
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["sizes"]) == [12, 5, 3]
    assert json.loads(props["activations"]) == ["tanh", "sigmoid"]
    assert (props["cost"], props["dtype"], props["xprop_version"]) == ("cross-entropy", "float64", __version__)
    assert json.loads(props["outputs"]) == outputs


def test_no_transpose_of_a_constant_nor_matmul_guard_remains(tmp_path):
    network = Network([784, 30, 10], seed=1)
    raw, clean = xonnx.build_model(network, clean=False), xonnx.build_model(network)
    assert "Transpose" in {n.op_type for n in raw.graph.node}  # the cleaning has something to do
    assert "Transpose" not in {n.op_type for n in clean.graph.node}
    assert "If" in {n.op_type for n in raw.graph.node} and "If" not in {n.op_type for n in clean.graph.node}
    assert xonnx.count_nodes(clean.graph) < xonnx.count_nodes(raw.graph)


def test_a_model_file_of_the_first_format_exports(tmp_path):
    network = load_model(FORMAT1)
    path = xonnx.export_onnx(network, tmp_path / "old.onnx", argmax=True)
    X = rows(100, network.sizes[0], network.dtype)
    a, label = run_onnx(path, X)
    assert numpy.abs(a - numpy.asarray(network.feedforward(X))).max() <= TOLERANCE[network.dtype]
    assert numpy.array_equal(label, numpy.asarray(network.predict(X)))


def test_a_named_custom_activation_exports_and_an_unnamed_one_is_refused(tmp_path):
    def softsign(z):
        return z / (1.0 + z.__array_namespace__().abs(z))

    def derivative(z):
        return 1.0 / (1.0 + z.__array_namespace__().abs(z)) ** 2

    named = Network([6, 4, 2], activation=CustomActivation(softsign, derivative, name="softsign"), seed=0)
    (a,) = run_onnx(xonnx.export_onnx(named, tmp_path / "named.onnx"), rows(9, 6, "float32"))
    assert numpy.abs(a - numpy.asarray(named.feedforward(rows(9, 6, "float32")))).max() <= 1e-6
    unnamed = Network([6, 4, 2], activation=(softsign, derivative), seed=0)
    with pytest.raises(InputError, match="layer 1's activation is a custom function without a name"):
        xonnx.export_onnx(unnamed, tmp_path / "unnamed.onnx")
    assert not (tmp_path / "unnamed.onnx").exists()


@pytest.fixture
def cli(monkeypatch, capsys):
    """``xprop`` with the export command, run in-process: (exit code, stdout, stderr)."""
    monkeypatch.setitem(xprop.cli.COMMANDS, "export", export_command)

    def call(*argv):
        code = xprop.cli.main([str(a) for a in argv])
        return (code, *capsys.readouterr())
    return call


@pytest.fixture
def model_file(tmp_path):
    return save_model(Network([784, 30, 10], seed=1), tmp_path / "model.npz")


@pytest.mark.parametrize("flags", [[], ["--argmax"]], ids=["plain", "argmax"])
def test_the_command_writes_the_file(cli, model_file, tmp_path, flags):
    code, out, err = cli("export", model_file, tmp_path / "net.onnx", *flags)
    assert (code, err) == (0, "")
    assert "wrote" in out and "net.onnx" in out
    model = onnx.load(tmp_path / "net.onnx")
    assert len(model.graph.output) == (2 if flags else 1)


def _missing_folder(tmp_path):
    return tmp_path / "nowhere" / "net.onnx", "does not exist"


def _a_directory(tmp_path):
    return tmp_path, "is a directory"


@pytest.mark.parametrize("output", [_missing_folder, _a_directory], ids=["folder-missing", "is-a-directory"])
def test_the_command_refuses_a_bad_output_in_one_line(cli, model_file, tmp_path, output):
    path, fragment = output(tmp_path)
    code, out, err = cli("export", model_file, path)
    lines = err.strip().splitlines()
    assert code == 1 and out == "" and len(lines) == 1 and lines[0].startswith("xprop: error: "), err
    assert fragment in lines[0] and str(path) in lines[0]


def test_the_command_refuses_a_missing_model_in_one_line(cli, tmp_path):
    code, _, err = cli("export", tmp_path / "absent.npz", tmp_path / "net.onnx")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "net.onnx").exists()


def test_a_missing_library_names_the_pip_command(cli, model_file, tmp_path, monkeypatch):
    real = xonnx.importlib.util.find_spec
    monkeypatch.setattr(xonnx.importlib.util, "find_spec", lambda name: None if name == "ndonnx" else real(name))
    with pytest.raises(MissingExtraError, match=r"needs ndonnx, which is not installed; pip install 'xprop\[onnx\]'"):
        xonnx.export_onnx(Network([3, 2]), tmp_path / "net.onnx")
    code, _, err = cli("export", model_file, tmp_path / "net.onnx")
    assert code == 1 and err.strip() == err.strip().splitlines()[0]
    assert "pip install 'xprop[onnx]'" in err and not (tmp_path / "net.onnx").exists()
