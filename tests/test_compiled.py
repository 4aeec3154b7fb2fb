"""Compiled steps (``compile=True``): the same ``backprop.sgd_step``, compiled by the
backend's library, ends where the eager step ends, and everything around the step keeps
working: per-batch hooks (called per compiled chunk), divergence and roll-back,
checkpoints and resume, Ctrl-C, determinism. Backends with nothing to compile say so once
and run the eager step."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

import xprop
from xprop import Callback, DivergenceError, Network, Step, Trainer
from xprop.backends import get_backend
from xprop.io.checkpoint import Checkpoint, resume
from xprop.train.steps import CompileNotice, compiled_step

SIZES = [7, 6, 3]
OPTIONS = dict(batch_size=10, eta=0.8, momentum=0.5, lmbda=0.3, monitor=["training_cost"])


def jax_backend():
    backend = get_backend("jax", check=False)
    if not backend.available:
        pytest.skip(f"jax: {backend.unavailable_reason}")
    return backend


def data(backend, n=95, dtype="float32", seed=3):
    """n examples: 9 full mini-batches of 10 and a partial one of 5."""
    rng = np.random.default_rng(seed)
    return backend.from_host(rng.random((n, SIZES[0])), dtype), backend.from_host(rng.integers(0, 3, n), "int32")


def host(net):
    weights, biases = net.parameters_to_host()
    return weights + biases


def fit(backend_name, *, compile, epochs=2, dtype="float32", callbacks=(), **options):
    backend = get_backend(backend_name)
    net = Network(SIZES, backend=backend_name, dtype=dtype, seed=1)
    X, y = data(backend, dtype=dtype)
    history = net.fit(X, y, epochs=epochs, compile=compile, callbacks=list(callbacks), **{**OPTIONS, **options})
    return net, history


class Chunks(Callback):
    def __init__(self):
        self.done = []

    def on_batch_end(self, trainer, examples_done):
        self.done.append(examples_done)


@pytest.mark.parametrize("name", ["numpy", "array_api_strict"])
def test_a_backend_with_nothing_to_compile_says_so_and_runs_the_eager_step(name):
    backend = get_backend(name, check=False)
    if not backend.available:
        pytest.skip(f"{name}: {backend.unavailable_reason}")
    with pytest.warns(CompileNotice, match=f"{name} runs every array operation eagerly"):
        compiled, _ = fit(name, compile=True)
    eager, _ = fit(name, compile=False)
    assert all(np.array_equal(a, b) for a, b in zip(host(compiled), host(eager)))


def test_jax_compiled_ends_where_the_eager_step_ends():
    jax_backend()
    net = Network([784, 30, 10], backend="jax", seed=0)
    rng = np.random.default_rng(0)
    X, y = net.backend.from_host(rng.random((205, 784)), "float32"), net.backend.from_host(rng.integers(0, 10, 205), "int32")
    eager = Network([784, 30, 10], backend="jax", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no notice, no donation warning on the CPU
        net.fit(X, y, epochs=1, batch_size=10, eta=3.0, compile=True)
    eager.fit(X, y, epochs=1, batch_size=10, eta=3.0)
    for a, b in zip(host(net), host(eager)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for w in net.weights:
        assert type(w) is type(eager.weights[0])


def test_jax_compiled_with_momentum_l2_a_partial_batch_and_a_schedule():
    jax_backend()
    plateau = dict(patience=1, metric="training_cost")
    compiled, got = fit("jax", compile=True, epochs=4, callbacks=[xprop.ReduceOnPlateau(**plateau)])
    eager, want = fit("jax", compile=False, epochs=4, callbacks=[xprop.ReduceOnPlateau(**plateau)])
    for a, b in zip(host(compiled), host(eager)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert got.column("eta") == want.column("eta")
    np.testing.assert_allclose(got.column("training_cost"), want.column("training_cost"), rtol=1e-4)


def test_jax_compiled_in_float64_agrees_to_1e12():
    """float64 needs jax's x64 mode, a process-wide switch: checked in a child process."""
    jax_backend()
    code = """
import numpy as np, xprop
rng = np.random.default_rng(0)
out = []
for compile in (True, False):
    net = xprop.Network([7, 6, 3], backend="jax", dtype="float64", seed=1)
    X = net.backend.from_host(rng.random((95, 7)) if not out else X_host, "float64")
    X_host = net.backend.to_host(X)
    y = net.backend.from_host(np.arange(95) % 3, "int32")
    net.fit(X, y, epochs=2, batch_size=10, eta=0.8, momentum=0.5, lmbda=0.3, compile=compile)
    out.append(np.concatenate([a.ravel() for a in sum(net.parameters_to_host(), [])]))
err = np.max(np.abs(out[0] - out[1]) / np.maximum(np.abs(out[1]), 1e-300))
print(err)
assert err < 1e-12, err
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**__import__("os").environ, "JAX_ENABLE_X64": "1"}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_per_batch_hooks_are_called_once_per_compiled_chunk():
    jax_backend()
    from xprop.backends.jax_compiled import CHUNKS

    chunks = Chunks()
    fit("jax", compile=True, epochs=1, callbacks=[chunks])
    assert chunks.done == sorted(chunks.done) and chunks.done[-1] == 95
    assert 1 < len(chunks.done) <= CHUNKS + 1
    eager = Chunks()
    fit("jax", compile=False, epochs=1, callbacks=[eager])
    assert eager.done == list(range(10, 91, 10)) + [95]  # the eager step: one call per mini-batch


def test_compiled_runs_are_deterministic():
    jax_backend()
    first, _ = fit("jax", compile=True)
    again, _ = fit("jax", compile=True)
    assert all(np.array_equal(a, b) for a, b in zip(host(first), host(again)))


def test_a_compiled_divergence_rolls_back_to_the_last_good_epoch():
    backend = jax_backend()

    class Boost(Callback):
        def on_epoch_end(self, trainer, record):
            trainer.eta = 1e30

    X, y = data(backend)
    net = Network(SIZES, activation="linear", output_activation="linear", backend="jax", seed=2)
    trainer = Trainer(net, epochs=4, batch_size=10, eta=0.01, monitor=["training_cost"], callbacks=[Boost()],
                      strategy=compiled_step(backend))
    with pytest.raises(DivergenceError) as caught:
        trainer.run(X, y)
    assert caught.value.epoch == 2 and caught.value.kept_epoch == 1 and trainer.epoch == 1
    reference = Network(SIZES, activation="linear", output_activation="linear", backend="jax", seed=2)
    Trainer(reference, epochs=1, batch_size=10, eta=0.01, monitor=["training_cost"],
            strategy=compiled_step(backend)).run(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(host(net), host(reference)))


def test_a_compiled_run_checkpoints_and_resumes_exactly(tmp_path):
    backend = jax_backend()
    X, y = data(backend)

    def trainer(epochs, callbacks=()):
        net = Network(SIZES, backend="jax", seed=1)
        return Trainer(net, epochs=epochs, callbacks=list(callbacks), strategy=compiled_step(backend), **OPTIONS)

    whole = trainer(4)
    whole.run(X, y)
    trainer(2, [Checkpoint(tmp_path)]).run(X, y)
    resumed = resume(tmp_path, epochs=4, strategy=compiled_step(backend))
    assert isinstance(resumed.strategy, Step) and resumed.strategy.name.startswith("compiled")
    resumed.run(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(host(resumed.network), host(whole.network)))


def test_ctrl_c_in_a_compiled_epoch_rolls_back_and_the_run_goes_on_exactly():
    backend = jax_backend()
    X, y = data(backend)

    class CtrlC(Callback):
        fired = False

        def on_batch_end(self, trainer, examples_done):
            if trainer.epoch == 1 and not self.fired and examples_done > 30:
                self.fired = True
                raise KeyboardInterrupt

    def trainer(callbacks=()):
        net = Network(SIZES, backend="jax", seed=1)
        return Trainer(net, epochs=3, callbacks=list(callbacks), strategy=compiled_step(backend), **OPTIONS)

    interrupted = trainer([CtrlC()])
    with pytest.raises(xprop.TrainingInterrupted):
        interrupted.run(X, y)
    assert interrupted.epoch == 1
    interrupted.run(X, y)  # the rolled-back parameters are live arrays, not donated buffers
    whole = trainer([Chunks()])
    whole.run(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(host(interrupted.network), host(whole.network)))


def test_fit_refuses_compile_with_a_strategy():
    with pytest.raises(xprop.InputError, match="compile=True or a strategy"):
        Network(SIZES).fit(np.zeros((4, 7), np.float32), np.zeros(4, np.int64), epochs=1, batch_size=2,
                           eta=1.0, compile=True, strategy=Step())


def test_the_command_line_compiles_or_says_why_not(tmp_path, capsys):
    from processes import SIZES as CLI_SIZES
    from processes import write_dataset

    from xprop.cli import main

    dataset = write_dataset(tmp_path / "d.npz")
    sizes = [str(n) for n in CLI_SIZES]
    common = ["train", "--dataset", str(dataset), "--sizes", *sizes, "--epochs", "2", "--compile", "--no-progress"]
    assert main([*common, "--save", str(tmp_path / "numpy.npz")]) == 0
    out, err = capsys.readouterr()
    assert err.strip() == ("xprop: --compile: numpy runs every array operation eagerly; there is nothing to "
                           "compile; training with the eager step")
    jax_backend()
    assert main([*common, "--backend", "jax", "--checkpoint", str(tmp_path / "ck")]) == 0
    out, err = capsys.readouterr()
    assert "compiled (jax.jit, lax.scan) steps" in out and "epoch 2/2" in out and err == ""
    assert main(["train", "--resume", str(tmp_path / "ck"), "--epochs", "3", "--compile", "--no-progress"]) == 0
    assert "epoch 3/3" in capsys.readouterr().out
    assert main([*common, "--distributed"]) == 1
    assert "--compile does not combine with --distributed" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["jax", "torch"])
def test_a_second_run_with_the_same_strategy_compiles_nothing_again(name):
    backend = get_backend(name, check=False)
    if not backend.available:
        pytest.skip(f"{name}: {backend.unavailable_reason}")
    strategy = compiled_step(backend)
    net = Network(SIZES, backend=name, seed=1)
    X, y = data(backend)
    Trainer(net, epochs=1, strategy=strategy, **OPTIONS).run(X, y)
    compiled = strategy.compile_seconds
    Trainer(net, epochs=2, strategy=strategy, **OPTIONS).run(X, y)
    assert strategy.compile_seconds == compiled
    other = Network([7, 5, 3], activation="tanh", backend=name, seed=1)  # another network: compiled anew
    Trainer(other, epochs=1, strategy=strategy, **OPTIONS).run(X, y)
    assert strategy.compile_seconds > compiled
