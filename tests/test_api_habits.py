"""The Python habits the API keeps: numpy dtypes, predict_proba, pickling, xprop.save and
xprop.load, fit's book defaults and its verbose output, backend names where backends go."""

from __future__ import annotations

import inspect
import multiprocessing
import pickle

import numpy as np
import pytest

import xprop
from xprop.data.dataset import Split
from xprop.io.checkpoint import Checkpoint

RNG = np.random.default_rng(7)
X_HOST = RNG.random((30, 4))
Y_HOST = np.arange(30) % 3


def _data(net):
    """(X, y) of the module's small problem on ``net``'s backend, in its dtype."""
    return net.backend.from_host(X_HOST, net.dtype), net.backend.from_host(Y_HOST, "int32")


def _one_line(exc):
    message = str(exc.value)
    assert "\n" not in message, message
    return message


# -- dtypes: names, numpy dtypes and scalar types, other libraries' dtypes -----------------
SPELLINGS = [
    pytest.param("float32", "float32", id="name"),
    pytest.param(np.float32, "float32", id="np.float32"),
    pytest.param(np.float64, "float64", id="np.float64"),
    pytest.param(np.dtype("float64"), "float64", id="np.dtype-float64"),
    pytest.param(np.dtype("f4"), "float32", id="np.dtype-f4"),
]


@pytest.mark.parametrize("spelling, name", SPELLINGS)
def test_network_takes_numpy_dtypes(spelling, name):
    net = xprop.Network([4, 3], dtype=spelling)
    assert net.dtype == name and net.weights[0].dtype == np.dtype(name)


@pytest.mark.parametrize("spelling, name", SPELLINGS)
def test_to_load_and_split_take_numpy_dtypes(spelling, name, tmp_path):
    other = "float64" if name == "float32" else "float32"
    net = xprop.Network([4, 3], dtype=other)
    assert net.to("numpy", dtype=spelling).dtype == name
    xprop.save(net, tmp_path / "m.npz")
    assert xprop.load(tmp_path / "m.npz", dtype=spelling).dtype == name
    X, _ = Split(X_HOST, Y_HOST).to(net.backend, spelling)
    assert X.dtype == np.dtype(name)


def test_torch_dtype_is_taken():
    torch = pytest.importorskip("torch")
    assert xprop.Network([4, 3], dtype=torch.float64).dtype == "float64"


@pytest.mark.parametrize("spelling, hint", [
    pytest.param("f4", "write 'float32'", id="numpy-code-f4"),
    pytest.param("double", "write 'float64'", id="numpy-name-double"),
    pytest.param(float, "got <class 'float'>", id="python-float"),
    pytest.param(np.float16, "got <class 'numpy.float16'>", id="np.float16"),
    pytest.param(np.int32, "got <class 'numpy.int32'>", id="np.int32"),
    pytest.param("float16", "got 'float16'", id="float16"),
])
def test_other_dtypes_are_refused_in_one_line(spelling, hint):
    with pytest.raises(xprop.InputError) as exc:
        xprop.Network([4, 3], dtype=spelling)
    message = _one_line(exc)
    assert message.startswith("dtype must be float32 or float64") and hint in message


# -- predict_proba ---------------------------------------------------------------------
def test_predict_proba_is_the_softmax_output(case):
    net = case.network([4, 5, 3], cost="log-likelihood")
    X, _ = _data(net)
    proba = net.predict_proba(X)
    case.assert_native(proba)
    host = case.get(proba)
    np.testing.assert_array_equal(host, case.get(net.feedforward(X)))
    np.testing.assert_allclose(host.sum(axis=1), 1.0, rtol=10 * case.eps)


def test_predict_proba_normalises_sigmoid_outputs(case):
    net = case.network([4, 5, 3])
    X, _ = _data(net)
    proba, raw = case.get(net.predict_proba(X)), case.get(net.feedforward(X))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=10 * case.eps)
    np.testing.assert_allclose(proba, raw / raw.sum(axis=1, keepdims=True), rtol=10 * case.eps)
    np.testing.assert_array_equal(proba.argmax(axis=1), case.get(net.predict(X)))


@pytest.mark.parametrize("output", ["tanh", "linear", "relu"])
def test_predict_proba_refuses_outputs_that_are_no_probabilities(output):
    net = xprop.Network([4, 3], output_activation=output)
    with pytest.raises(xprop.InputError) as exc:
        net.predict_proba(_data(net)[0])
    assert f"this network's is {output}; use net.feedforward(X)" in _one_line(exc)


# -- pickling ----------------------------------------------------------------------------
def test_pickle_round_trip_is_bit_exact(case):
    net = case.network([4, 5, 3], activation="tanh", cost="log-likelihood", seed=3)
    copy = pickle.loads(pickle.dumps(net))
    assert copy.config() == net.config() and repr(copy) == repr(net)
    for mine, theirs in zip(net.weights + net.biases, copy.weights + copy.biases):
        case.assert_native(theirs)
        np.testing.assert_array_equal(case.get(theirs), case.get(mine))
        assert case.get(theirs).dtype == case.get(mine).dtype
    X, _ = _data(net)
    np.testing.assert_array_equal(case.get(copy.feedforward(X)), case.get(net.feedforward(X)))


def test_pickle_keeps_no_arrays_of_the_backend():
    """The pickle holds numpy copies, so that it loads where the training library is absent."""
    torch = pytest.importorskip("torch")
    net = xprop.Network([4, 3], backend="torch", device="cpu")
    state = net.__getstate__()
    assert all(type(a) is np.ndarray for a in state["weights"] + state["biases"])
    assert state["backend"] == "torch" and not isinstance(state["device"], torch.Tensor)


def _feedforward_in_child(net):
    return net.backend.to_host(net.feedforward(net.backend.from_host(X_HOST, net.dtype)))


def test_a_network_crosses_to_a_spawned_process():
    net = xprop.Network([4, 5, 3], dtype="float64", seed=5)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        got = pool.apply(_feedforward_in_child, (net,))
    np.testing.assert_array_equal(got, _feedforward_in_child(net))


# -- xprop.save and xprop.load -----------------------------------------------------------
def _trained_checkpoints(tmp_path):
    net = xprop.Network([4, 5, 3], seed=1)
    net.fit(*_data(net), epochs=2, callbacks=[Checkpoint(tmp_path / "run")])
    return net


@pytest.mark.parametrize("where", ["model file", "checkpoint file", "checkpoint directory"])
def test_load_reads_what_evaluate_reads(where, tmp_path):
    net = _trained_checkpoints(tmp_path)
    if where == "model file":
        source = xprop.save(net, tmp_path / "m.npz")
    else:
        files = sorted((tmp_path / "run").glob("*.npz"))
        source = files[-1] if where == "checkpoint file" else tmp_path / "run"
    loaded = xprop.load(source, backend="array_api_strict", device="device1", dtype="float64")
    assert loaded.backend.name == "array_api_strict" and loaded.dtype == "float64"
    for mine, theirs in zip(net.weights, loaded.weights):
        np.testing.assert_array_equal(loaded.backend.to_host(theirs), mine.astype(np.float64))


def test_import_xprop_does_not_import_the_file_code():
    import subprocess
    import sys

    code = "import sys, xprop; print('xprop.io.modelfile' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


# -- fit: the book's defaults, verbose -----------------------------------------------------
def test_fit_defaults_are_the_books_chapter_1_run():
    defaults = {k: p.default for k, p in inspect.signature(xprop.Network.fit).parameters.items()}
    assert (defaults["epochs"], defaults["batch_size"], defaults["eta"]) == (30, 10, 3.0)
    net = xprop.Network([4, 3])
    history = net.fit(*_data(net))
    assert len(history) == 30


@pytest.mark.parametrize("verbose, lines, bar", [
    pytest.param(False, 0, False, id="silent"),
    pytest.param(True, 2, False, id="epoch-lines"),
    pytest.param("progress", 2, True, id="progress"),
])
def test_verbose_prints_the_cli_epoch_lines_on_stdout(verbose, lines, bar, capsys):
    net = xprop.Network([4, 3])
    net.fit(*_data(net), epochs=2, verbose=verbose, monitor=["training_accuracy"])
    out, err = capsys.readouterr()
    printed = [line for line in out.split("\n") if line.strip(" \r")]
    epochs = [line.rsplit("\r", 1)[-1] for line in printed]
    assert len(epochs) == lines and err == ""
    assert all(e.startswith(f"epoch {i}/2  training accuracy ") for i, e in enumerate(epochs, 1))
    assert ("#" in out) == bar


def test_verbose_keeps_the_callers_callbacks(capsys):
    net = xprop.Network([4, 3])
    seen = []

    class Count(xprop.Callback):
        def on_epoch_end(self, trainer, record):
            seen.append(record.epoch)

    net.fit(*_data(net), epochs=2, verbose=True, callbacks=[Count()])
    assert seen == [1, 2] and capsys.readouterr().out.count("epoch ") == 2


@pytest.mark.parametrize("verbose", [1, 0, "yes", None], ids=["one", "zero", "yes", "none"])
def test_verbose_refuses_anything_else_in_one_line(verbose):
    net = xprop.Network([4, 3])
    with pytest.raises(xprop.InputError) as exc:
        net.fit(*_data(net), epochs=1, verbose=verbose)
    assert _one_line(exc).startswith("verbose must be False (silent), True")


def test_the_cli_reports_with_the_library_callbacks():
    from xprop.cli import callbacks
    from xprop.train import report

    assert (callbacks.EpochReport, callbacks.MetricsLog, callbacks.epoch_line) == (
        report.EpochReport, report.MetricsLog, report.epoch_line)


# -- backend names where backends go ----------------------------------------------------------
@pytest.mark.parametrize("backend, device, dtype", [
    pytest.param("numpy", None, "float32", id="numpy"),
    pytest.param("array_api_strict", "device1", np.float64, id="strict-device1"),
    pytest.param("torch", "cpu", "float64", id="torch"),
])
def test_split_to_takes_a_backend_name(backend, device, dtype):
    if backend == "torch":
        pytest.importorskip("torch")
    X, y = Split(X_HOST, Y_HOST).to(backend, dtype, device=device)
    net = xprop.Network([4, 3], backend=backend, device=device, dtype=dtype)
    assert net.backend.owns(X) and net.backend.owns(y)
    assert net.evaluate(X, y)["n"] == 30  # on the network's device, in its dtype: accepted


def test_split_to_refuses_a_device_with_a_backend_object():
    net = xprop.Network([4, 3])
    with pytest.raises(xprop.InputError) as exc:
        Split(X_HOST, Y_HOST).to(net.backend, device="device1")
    assert "goes with a backend name" in _one_line(exc)


def test_a_network_takes_a_backend_object_where_it_takes_a_name():
    strict = pytest.importorskip("array_api_strict")
    X = strict.asarray(X_HOST, device=strict.Device("device1"))
    net = xprop.Network([4, 3], backend=xprop.backend_for(X), dtype="float64")  # where X is
    assert net.backend.device == X.device and net.feedforward(X).shape == (30, 3)
    assert xprop.Network([4, 3]).to(net.backend).backend is net.backend
    with pytest.raises(xprop.InputError) as exc:
        xprop.Network([4, 3], backend=net.backend, device="device1")
    assert "goes with a backend name" in _one_line(exc)
