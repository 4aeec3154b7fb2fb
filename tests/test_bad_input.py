"""Every public entry point refuses bad input before doing any work.

One table: each row calls the Python API wrongly and names the error type and the words
its message must contain (the argument, and what is wrong or expected). Each row also
checks that nothing happened: the network's parameters are unchanged, no epoch ran
(a recording callback saw nothing) and the checkpoint directory that every ``fit``
row writes to stays empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import xprop
from xprop import BackendError, EarlyStopping, InputError, Network, ReduceOnPlateau, Trainer
from xprop.io.checkpoint import Checkpoint, resume


class Recorder:
    """A callback that notes every epoch and batch it is told about."""

    def __init__(self):
        self.calls = []

    def on_epoch_end(self, trainer, record):
        self.calls.append(("epoch", record.epoch))

    def on_batch_end(self, trainer, done):
        self.calls.append(("batch", done))


@dataclass
class World:
    """A small numpy network, good data for it, and a directory for any file output."""

    net: Network
    X: np.ndarray
    y: np.ndarray
    Y: np.ndarray
    directory: Path
    recorder: Recorder

    def fit(self, X=None, Y=None, **options):
        """``net.fit`` with good defaults; ``options`` replace them."""
        options = {"epochs": 2, "batch_size": 5, "eta": 0.5, **options}
        options["callbacks"] = [self.recorder, *self.writers(), *options.get("callbacks", [])]
        return self.net.fit(self.X if X is None else X, self.y if Y is None else Y, **options)

    def writers(self):
        """Callbacks that write into ``directory``: a checkpoint after every epoch."""
        return [Checkpoint(self.directory)]

    def elsewhere(self, name, content=None):
        """A path beside ``directory`` (a file with ``content`` if given)."""
        path = self.directory.parent / name
        if content is not None:
            path.write_bytes(content)
        return path

    def with_value(self, array, index, value):
        array = array.copy()
        array[index] = value
        return array


@pytest.fixture
def world(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((20, 4)).astype(np.float32)
    y = np.arange(20) % 3
    directory = tmp_path / "out"
    directory.mkdir()
    return World(Network([4, 5, 3], seed=0), X, y, np.eye(3, dtype=np.float32)[y], directory, Recorder())


def _strict(device):
    import array_api_strict

    return array_api_strict.asarray(np.zeros((3, 4), np.float32), device=array_api_strict.Device(device))


def _torch():
    torch = pytest.importorskip("torch")
    return torch.zeros((3, 4), dtype=torch.float32)


def row(name, call, error, *words):
    return pytest.param(call, error, words, id=name)


ROWS = [
    # -- Network(...) ------------------------------------------------------------------------
    row("sizes-one-layer", lambda w: Network([784]), InputError, "sizes", "at least two layers"),
    row("sizes-zero-width", lambda w: Network([784, 0, 10]), InputError, "sizes", "positive integers", "0"),
    row("sizes-negative", lambda w: Network([784, -3, 10]), InputError, "sizes", "positive integers"),
    row("sizes-float-width", lambda w: Network([784, 30.5, 10]), InputError, "sizes", "positive integers", "30.5"),
    row("sizes-bool-width", lambda w: Network([784, True, 10]), InputError, "sizes", "positive integers"),
    row("sizes-string", lambda w: Network("784,30,10"), InputError, "sizes", "list of layer widths"),
    row("dtype-unknown", lambda w: Network([4, 3], dtype="float16"), InputError, "dtype", "float32", "float16"),
    row("backend-unknown", lambda w: Network([4, 3], backend="tensorflow"), BackendError,
        "unknown backend", "tensorflow", "numpy"),
    row("device-unknown", lambda w: Network([4, 3], device="gpu"), InputError, "device", "gpu", "numpy", "cpu"),
    row("strict-device-unknown", lambda w: Network([4, 3], backend="array_api_strict", device="tpu9"),
        InputError, "device", "tpu9", "device1"),
    row("float64-on-no-float64-device",
        lambda w: Network([4, 3], backend="array_api_strict", device="no_float64", dtype="float64"),
        InputError, "float64", "not supported", "no_float64", "float32"),
    row("cost-unknown", lambda w: Network([4, 3], cost="hinge"), InputError, "unknown cost", "hinge", "quadratic"),
    row("activation-unknown", lambda w: Network([4, 3], activation="swish"), InputError,
        "unknown activation", "swish", "sigmoid"),
    row("activation-list-length", lambda w: Network([4, 5, 3], activation=["relu"]), InputError,
        "activation", "expected 2", "got 1"),
    row("softmax-hidden", lambda w: Network([4, 5, 3], activation=["softmax", "sigmoid"]), InputError,
        "softmax", "output layer"),
    row("init-unknown", lambda w: Network([4, 3], init="xavier"), InputError, "init", "xavier", "large"),
    row("seed-negative", lambda w: Network([4, 3], seed=-1), InputError, "seed", "non-negative integer"),
    # -- feedforward / predict -----------------------------------------------------------------
    row("X-wrong-width", lambda w: w.net.feedforward(np.zeros((3, 5), np.float32)), InputError,
        "X", "5 columns", "expects 4"),
    row("X-one-dimensional", lambda w: w.net.feedforward(np.zeros(4, np.float32)), InputError,
        "X", "2 dimension"),
    row("X-empty", lambda w: w.net.feedforward(np.zeros((0, 4), np.float32)), InputError, "X", "empty"),
    row("X-integers", lambda w: w.net.feedforward(np.zeros((3, 4), np.int64)), InputError,
        "X", "integers", "int64", "astype", "float32"),
    row("X-booleans", lambda w: w.net.predict(np.zeros((3, 4), bool)), InputError,
        "X", "booleans", "astype"),
    row("X-float64-on-float32-network", lambda w: w.net.feedforward(np.zeros((3, 4))), InputError,
        "X", "float64", "float32", "convert"),
    row("X-python-list", lambda w: w.net.feedforward([[0.0] * 4] * 3), BackendError,
        "X", "list", "from_host"),
    row("X-from-torch", lambda w: w.net.feedforward(_torch()), BackendError,
        "X", "torch", "numpy", "never copies"),
    row("X-from-strict-device1", lambda w: w.net.feedforward(_strict("device1")), BackendError,
        "X", "array_api_strict", "device1", "numpy"),
    # -- gradients -------------------------------------------------------------------------
    row("labels-too-large", lambda w: w.net.gradients(w.X, w.with_value(w.y, 4, 3)), InputError,
        "Y", "labels", "0..2", "3 outputs"),
    row("labels-negative", lambda w: w.net.gradients(w.X, w.with_value(w.y, 0, -1)), InputError,
        "Y", "labels", "-1", "0..2"),
    row("labels-float", lambda w: w.net.gradients(w.X, w.y.astype(np.float32)), InputError,
        "Y", "integer class labels", "float32"),
    row("targets-wrong-width", lambda w: w.net.gradients(w.X, np.zeros((20, 4), np.float32)), InputError,
        "Y", "4 columns", "expects 3"),
    row("targets-wrong-rows", lambda w: w.net.gradients(w.X, w.y[:7]), InputError, "Y", "7 rows", "20"),
    row("targets-nan", lambda w: w.net.gradients(w.X, w.with_value(w.Y, (2, 1), np.nan)), InputError,
        "Y", "1 NaN or Inf"),
    # -- evaluate --------------------------------------------------------------------------
    row("evaluate-X-nan", lambda w: w.net.evaluate(w.with_value(w.X, (3, 1), np.nan), w.y), InputError,
        "X", "NaN or Inf"),
    row("evaluate-X-inf", lambda w: w.net.evaluate(w.with_value(w.X, (0, 0), np.inf), w.y), InputError,
        "X", "NaN or Inf"),
    row("evaluate-lmbda-negative", lambda w: w.net.evaluate(w.X, w.y, lmbda=-1), InputError, "lmbda", ">= 0"),
    row("evaluate-batch-size-zero", lambda w: w.net.evaluate(w.X, w.y, batch_size=0), InputError,
        "batch_size", "positive integer"),
    # -- fit / Trainer ---------------------------------------------------------------------
    row("epochs-zero", lambda w: w.fit(epochs=0), InputError, "epochs", "positive integer"),
    row("epochs-float", lambda w: w.fit(epochs=2.5), InputError, "epochs", "positive integer", "2.5"),
    row("batch-size-negative", lambda w: w.fit(batch_size=-1), InputError, "batch_size", "positive integer"),
    row("eta-zero", lambda w: w.fit(eta=0), InputError, "eta", "> 0"),
    row("eta-nan", lambda w: w.fit(eta=float("nan")), InputError, "eta", "finite"),
    row("eta-inf", lambda w: w.fit(eta=float("inf")), InputError, "eta", "finite"),
    row("eta-string", lambda w: w.fit(eta="0.5"), InputError, "eta", "number"),
    row("momentum-one", lambda w: w.fit(momentum=1.0), InputError, "momentum", "[0, 1)"),
    row("lmbda-negative", lambda w: w.fit(lmbda=-0.1), InputError, "lmbda", ">= 0"),
    row("option-misspelt", lambda w: w.fit(lamda=0.1), InputError, "unknown option", "lamda", "lmbda"),
    row("seed-not-integer", lambda w: w.fit(seed="abc"), InputError, "seed", "non-negative integer"),
    row("monitor-unknown", lambda w: w.fit(monitor=["accuracy"]), InputError, "unknown metrics",
        "accuracy", "training_accuracy"),
    row("monitor-string", lambda w: w.fit(monitor="training_cost"), InputError, "monitor", "list"),
    row("monitor-evaluation-without-data", lambda w: w.fit(monitor=["evaluation_cost"]), InputError,
        "evaluation", "X_eval"),
    row("fit-X-nan", lambda w: w.fit(X=w.with_value(w.X, (5, 2), np.nan)), InputError, "X", "NaN or Inf"),
    row("fit-X-integers", lambda w: w.fit(X=(w.X * 255).astype(np.uint8)), InputError,
        "X", "integers", "uint8", "255"),
    row("fit-labels-out-of-range", lambda w: w.fit(Y=w.with_value(w.y, 9, 17)), InputError,
        "Y", "labels", "17", "0..2"),
    row("fit-labels-bool", lambda w: w.fit(Y=w.y > 0), InputError, "Y", "integer class labels", "bool"),
    row("evaluation-not-a-pair", lambda w: w.fit(evaluation=w.X), InputError, "evaluation", "pair"),
    row("evaluation-X-wrong-width", lambda w: w.fit(evaluation=(w.X[:, :3], w.y)), InputError,
        "evaluation X", "3 columns", "expects 4"),
    row("evaluation-labels-out-of-range", lambda w: w.fit(evaluation=(w.X, w.with_value(w.y, 0, 5))),
        InputError, "evaluation y", "labels", "0..2"),
    row("evaluation-X-inf", lambda w: w.fit(evaluation=(w.with_value(w.X, (1, 1), -np.inf), w.y)),
        InputError, "evaluation X", "NaN or Inf"),
    row("callbacks-single-object", lambda w: Trainer(w.net, epochs=1, batch_size=5, eta=0.5,
                                                     callbacks=Recorder()), InputError, "callbacks", "[cb]"),
    row("callbacks-without-hooks", lambda w: w.fit(callbacks=[object()]), InputError,
        "callbacks[", "on_epoch_end"),
    row("callbacks-hook-not-callable", lambda w: w.fit(callbacks=[type("Bad", (), {"on_epoch_end": 3})()]),
        InputError, "on_epoch_end", "method"),
    row("early-stopping-unmonitored", lambda w: w.fit(callbacks=[EarlyStopping()]), InputError,
        "EarlyStopping", "evaluation_accuracy", "not monitored", "evaluation=("),
    row("plateau-metric-unknown", lambda w: ReduceOnPlateau(metric="accuracy"), InputError,
        "metric", "accuracy", "evaluation_accuracy"),
    row("plateau-factor-one", lambda w: ReduceOnPlateau(factor=1), InputError, "factor", "> 1"),
    row("plateau-patience-zero", lambda w: EarlyStopping(patience=0), InputError, "patience", "positive integer"),
    # -- from_parameters / to --------------------------------------------------------------
    row("parameters-integers",
        lambda w: Network.from_parameters([np.ones((3, 4), int)], [np.zeros(3)]), InputError,
        "weights[0]", "int64", "floating point", "astype"),
    row("parameters-do-not-chain",
        lambda w: Network.from_parameters([np.ones((5, 4)), np.ones((3, 6))], [np.zeros(5), np.zeros(3)]),
        InputError, "layer 1", "do not chain", "(3, 5)"),
    row("parameters-nan",
        lambda w: Network.from_parameters([np.full((3, 4), np.nan)], [np.zeros(3)]), InputError,
        "weights[0]", "NaN or Inf"),
    row("parameters-one-dimensional",
        lambda w: Network.from_parameters([np.ones(4)], [np.zeros(3)]), InputError, "weights[0]", "2 dimension"),
    row("parameters-empty", lambda w: Network.from_parameters([], []), InputError, "at least one"),
    row("parameters-from-torch",
        lambda w: Network.from_parameters([_torch()], [np.zeros(3)]), BackendError,
        "weights[0]", "torch", "host (numpy)", "to_host"),
    row("to-unknown-backend", lambda w: w.net.to("tensorflow"), BackendError, "unknown backend", "tensorflow"),
    # -- checkpoints -------------------------------------------------------------------------
    row("checkpoint-directory-has-checkpoints",
        lambda w: Checkpoint(w.elsewhere("old").mkdir() or w.elsewhere("old/checkpoint-epoch0004.npz", b"x").parent),
        InputError, "already holds checkpoints", "epoch 4", "resume"),
    row("checkpoint-directory-is-a-file", lambda w: Checkpoint(w.elsewhere("file", b"data")), InputError,
        "checkpoint directory", "not a directory"),
    row("checkpoint-keep-zero", lambda w: w.fit(callbacks=[Checkpoint(w.directory, keep=0)]), InputError,
        "keep", "positive integer"),
    row("checkpoint-metadata-not-json", lambda w: Checkpoint(w.directory, metadata={"f": object()}),
        InputError, "metadata", "json"),
    row("resume-empty-directory", lambda w: resume(w.directory), InputError, "no checkpoint in"),
    row("resume-not-a-checkpoint", lambda w: resume(w.elsewhere("model.npz", b"PK\x05\x06" + bytes(18))),
        InputError, "model.npz", "not an xprop checkpoint"),
    row("resume-missing-file", lambda w: resume(w.elsewhere("gone.npz")), InputError,
        "gone.npz", "no such file"),
    row("to-float64-on-no-float64-device",
        lambda w: w.net.to("array_api_strict", device="no_float64", dtype="float64"), InputError,
        "float64", "no_float64"),
]


@pytest.mark.parametrize("call, error, words", ROWS)
def test_bad_input_is_refused_before_any_work(world, call, error, words):
    before = world.net.parameters_to_host()
    with pytest.raises(error) as caught:
        call(world)
    message = str(caught.value).lower()
    missing = [word for word in words if word.lower() not in message]
    assert not missing, f"the message {str(caught.value)!r} does not name {missing}"
    after = world.net.parameters_to_host()
    assert all(np.array_equal(a, b) for a, b in zip(before[0] + before[1], after[0] + after[1]))
    assert world.recorder.calls == [], "training started before the input was refused"
    assert list(world.directory.iterdir()) == [], "a file was written for a refused call"


def test_the_table_is_large_and_every_row_distinct():
    assert len(ROWS) >= 30
    assert len({r.id for r in ROWS}) == len(ROWS)


def test_errors_are_xprop_errors_and_standard_ones():
    """Callers can catch xprop's own errors, or the built-in type they extend."""
    assert issubclass(InputError, xprop.XpropError) and issubclass(InputError, ValueError)
    assert issubclass(BackendError, xprop.XpropError) and issubclass(BackendError, TypeError)


def test_good_input_passes_the_same_checks(world):
    """The checks refuse only what is wrong: the world's own data trains and evaluates."""
    history = world.fit(evaluation=(world.X, world.Y), monitor=["evaluation_accuracy"],
                        callbacks=[EarlyStopping(patience=5)])
    assert len(history) == 2 and world.recorder.calls[-1] == ("epoch", 2)
    assert world.net.evaluate(world.X, world.y)["n"] == 20
    assert len(world.net.gradients(world.X, world.Y)[0]) == 2
