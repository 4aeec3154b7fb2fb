"""Every bad `xprop train`, `evaluate` and `gradcheck` command line is refused before any work.

One table: each row is a command line, the exit status it must give (2 for a command line
argparse refuses, 1 for one xprop refuses) and words its error must contain. Each row
also checks that stderr is ONE line starting ``xprop: error:``, with no traceback; that
nothing was printed on stdout (the run's description comes just before training); that
no training, evaluation or gradient check started (they are replaced by tripwires); and
that no file was written or changed anywhere under the test's folders (no model, log,
plot or checkpoint).
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

import xprop
import xprop.train.trainer
from idxfiles import idx_bytes, write_idx_dataset
from xprop.cli import main
from xprop.io.networks import save_model


class Exploit:
    def __reduce__(self):
        return os.system, ("touch pwned",)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Good and bad inputs, made once: ``{name: path}``, all under one folder."""
    root = tmp_path_factory.mktemp("inputs")
    good = root / "good"
    write_idx_dataset(good, n_train=300, n_test=50)
    truncated = root / "truncated"
    write_idx_dataset(truncated, n_train=300, n_test=50)
    images = truncated / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:-40])
    forged = root / "forged"
    write_idx_dataset(forged, n_train=300, n_test=50)
    (forged / "train-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", 60000, 256, 256) + bytes(64)))
    swapped = root / "swapped"
    arrays = write_idx_dataset(swapped, n_train=300, n_test=50)
    (swapped / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(arrays["train_images"])))
    (root / "corrupt.npz").write_bytes(b"PK\x03\x04" + bytes(range(200)))
    (root / "text.npz").write_bytes(b"not a zip archive\n")
    (root / "data.txt").write_text("1,2,3\n")
    (root / "table.csv").write_text("a,b,y\n1,2,0\n3,4,1\n")
    (root / "binary.csv").write_bytes(b"1,2,0\n\xff\xfe,4,1\n")
    (root / "tables").mkdir()
    (root / "tables" / "a.csv").write_text("a,b,y\n1,2,0\n3,4,1\n")
    (root / "mnist.pkl.gz").write_bytes(gzip.compress(pickle.dumps((Exploit(),))))
    rng = np.random.default_rng(0)
    np.savez(root / "dataset.npz", x_train=rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, 30, dtype=np.uint8), x_test=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
             y_test=rng.integers(0, 10, 5, dtype=np.uint8))
    model = save_model(xprop.Network([784, 5, 10]), root / "model.npz")
    (root / "truncated-model.npz").write_bytes(model.read_bytes()[:300])
    save_model(xprop.Network([784, 5, 3]), root / "three-classes.npz")
    return {p.name: p for p in root.iterdir()}


def row(name, argv, status, *words):
    return pytest.param(argv, status, words, id=name)


def train(*extra):
    return ["train", "--dataset", "{good}", "--validation-size", "50", "--sizes", "784", "8", "10",
            "--epochs", "1", "--no-progress", *extra]


def evaluate(model="{model.npz}", *extra):
    return ["evaluate", model, "--dataset", "{good}", "--validation-size", "50", *extra]


ROWS = [
    # -- numbers argparse refuses (exit 2) -----------------------------------------------
    row("epochs-zero", train("--epochs", "0"), 2, "--epochs", "positive integer", "'0'"),
    row("epochs-negative", train("--epochs", "-3"), 2, "--epochs", "positive integer"),
    row("epochs-fraction", train("--epochs", "2.5"), 2, "--epochs", "positive integer", "2.5"),
    row("epochs-missing-value", ["train", "--epochs"], 2, "--epochs", "expected one argument"),
    row("batch-size-zero", train("--batch-size", "0"), 2, "--batch-size", "positive integer"),
    row("eta-zero", train("--eta", "0"), 2, "--eta", "positive number"),
    row("eta-negative", train("--eta", "-1"), 2, "--eta", "positive number"),
    row("eta-nan", train("--eta", "nan"), 2, "--eta", "positive number", "nan"),
    row("eta-word", train("--eta", "fast"), 2, "--eta", "positive number", "fast"),
    row("lmbda-negative", train("--lmbda", "-0.1"), 2, "--lmbda", ">= 0"),
    row("momentum-negative", train("--momentum", "-0.5"), 2, "--momentum", ">= 0"),
    row("sizes-zero-width", train("--sizes", "784", "0", "10"), 2, "--sizes", "positive integer"),
    row("limit-zero", train("--limit", "0"), 2, "--limit", "positive integer"),
    row("validation-size-zero", train("--validation-size", "0"), 2, "--validation-size", "positive integer"),
    row("seed-negative", train("--seed", "-1"), 2, "--seed", "integer >= 0"),
    row("early-stopping-zero", train("--early-stopping", "0"), 2, "--early-stopping", "positive integer"),
    # -- names argparse refuses ----------------------------------------------------------
    row("dtype-unknown", train("--dtype", "float16"), 2, "--dtype", "invalid choice", "float16"),
    row("cost-unknown", train("--cost", "hinge"), 2, "--cost", "invalid choice", "hinge", "quadratic"),
    row("activation-unknown", train("--activation", "swish"), 2, "--activation", "swish", "sigmoid"),
    row("activation-softmax-hidden", train("--activation", "softmax"), 2, "--activation", "softmax"),
    row("output-activation-unknown", train("--output-activation", "step"), 2, "--output-activation", "step"),
    row("init-unknown", train("--init", "xavier"), 2, "--init", "xavier", "large"),
    row("schedule-unknown", train("--schedule", "cosine"), 2, "--schedule", "cosine"),
    row("monitor-unknown", train("--monitor", "accuracy"), 2, "--monitor", "accuracy"),
    row("option-unknown", train("--learning-rate", "3"), 2, "unrecognized arguments", "--learning-rate"),
    row("command-missing", [], 2, "required", "COMMAND"),
    row("command-unknown", ["fit"], 2, "invalid choice", "fit", "train"),
    # -- what xprop refuses (exit 1) ---------------------------------------------------------
    row("momentum-one", train("--momentum", "1"), 1, "--momentum must be in [0, 1)"),
    row("sizes-one-layer", train("--sizes", "784"), 1, "sizes", "at least two layers"),
    row("sizes-input-does-not-fit", train("--sizes", "100", "10"), 1, "input layer has 100 neurons", "784 features"),
    row("sizes-output-does-not-fit", train("--sizes", "784", "30", "12"), 1, "output layer has 12", "10 classes"),
    row("backend-unknown", train("--backend", "tensorflow"), 1, "unknown backend 'tensorflow'", "numpy"),
    row("device-unknown", train("--device", "tpu9"), 1, "device", "tpu9"),
    row("float64-without-float64", train("--backend", "array_api_strict", "--device", "no_float64",
                                          "--dtype", "float64"), 1, "float64", "not supported", "no_float64"),
    row("plateau-unmonitored", train("--schedule", "plateau", "--monitor", "training_cost"), 1,
        "--schedule plateau", "add evaluation_accuracy to --monitor"),
    row("validation-larger-than-training", train("--validation-size", "5000"), 1, "cannot hold out 5,000 of 300"),
    # -- datasets ------------------------------------------------------------------------
    row("dataset-npz-missing", train("--dataset", "{nowhere}/mnist.npz"), 1, "mnist.npz", "no such file"),
    row("dataset-folder-missing", train("--dataset", "{nowhere}/digits"), 1, "unknown dataset", "digits"),
    row("dataset-unknown-format", train("--dataset", "{data.txt}"), 1, "data.txt", "cannot tell the format"),
    row("dataset-corrupt-npz", train("--dataset", "{corrupt.npz}"), 1, "corrupt.npz"),
    row("dataset-npz-not-a-zip", train("--dataset", "{text.npz}"), 1, "text.npz", "not an .npz file"),
    row("dataset-truncated-gzip", train("--dataset", "{truncated}"), 1, "train-images-idx3-ubyte.gz",
        "corrupt or truncated gzip"),
    row("dataset-forged-idx-header", train("--dataset", "{forged}"), 1, "train-images-idx3-ubyte.gz",
        "3,932,160,000 bytes"),
    row("dataset-swapped-idx-files", train("--dataset", "{swapped}"), 1, "train labels", "swapped"),
    row("dataset-pickle-runs-code", train("--dataset", "{mnist.pkl.gz}"), 1, "mnist.pkl.gz", "refusing to load",
        "system"),
    row("dataset-folder-of-csv-files", train("--dataset", "{tables}"), 1, "does not hold the four IDX files",
        "give its path: --dataset", "a.csv"),
    row("dataset-csv-not-text", train("--dataset", "{binary.csv}"), 1, "binary.csv", "not a text file in UTF-8"),
    # -- a file where a folder goes, a folder where a file goes: before any download --------
    row("data-is-a-file", train("--data", "{table.csv}"), 1, "--data takes a folder of dataset files",
        "table.csv is a file", "give --dataset", "table.csv"),
    row("data-is-a-file-named-dataset", train("--dataset", "mnist", "--data", "{table.csv}"), 1,
        "--data takes a folder"),
    row("test-data-is-a-folder", train("--dataset", "{table.csv}", "--test-data", "{good}"), 1,
        "--test-data takes a CSV file", "is a folder"),
    row("test-data-not-csv", train("--dataset", "{table.csv}", "--test-data", "{dataset.npz}"), 1,
        "--test-data takes a CSV file", "not a .csv file"),
    row("evaluate-data-is-a-file", evaluate("{model.npz}", "--data", "{table.csv}"), 1, "--data takes a folder"),
    # -- the library's errors name the flags, not Python's keywords ----------------------
    row("cost-needs-sigmoid-output", train("--cost", "cross-entropy", "--output-activation", "softmax"), 1,
        "pass --output-activation sigmoid or pick another cost"),
    row("cost-needs-elementwise-output", train("--output-activation", "softmax"), 1,
        "use --cost log-likelihood with a softmax output"),
    row("seed-too-large", train("--seed", str(2**64)), 1, "--seed must be a non-negative integer below 2**63"),
    row("sizes-one-layer-as-flag", train("--sizes", "784"), 1, "--sizes 784 needs at least two layers",
        "e.g. --sizes 784 30 10"),
    # -- outputs -------------------------------------------------------------------------
    row("save-unwritable", train("--save", "/proc/m.npz"), 1, "--save /proc/m.npz", "cannot write in /proc"),
    row("save-missing-folder", train("--save", "missing/m.npz"), 1, "--save missing/m.npz",
        "the folder missing does not exist"),
    row("save-is-a-folder", train("--save", "."), 1, "--save .", "that is a folder"),
    row("log-unwritable", train("--log", "/proc/m.jsonl"), 1, "--log /proc/m.jsonl", "cannot write"),
    row("log-missing-folder", train("--log", "logs/m.jsonl", "--save", "m.npz"), 1, "--log logs/m.jsonl",
        "does not exist"),
    row("plot-unwritable", train("--plot", "/proc/c.png", "--save", "m.npz"), 1, "--plot /proc/c.png",
        "cannot write"),
    # -- evaluate ------------------------------------------------------------------------
    row("evaluate-model-missing", evaluate("{nowhere}/m.npz"), 1, "m.npz", "no such file"),
    row("evaluate-model-not-npz", evaluate("{text.npz}"), 1, "text.npz", "not an .npz file"),
    row("evaluate-model-is-a-dataset", evaluate("{dataset.npz}"), 1, "dataset.npz", "not an xprop model"),
    row("evaluate-model-truncated", evaluate("{truncated-model.npz}"), 1, "truncated-model.npz"),
    row("evaluate-model-does-not-fit", evaluate("{three-classes.npz}"), 1, "does not fit", "10 classes"),
    row("evaluate-backend-unknown", evaluate("{model.npz}", "--backend", "tensorflow"), 1, "unknown backend"),
    row("evaluate-float64-without-float64", evaluate("{model.npz}", "--backend", "array_api_strict", "--device",
                                                     "no_float64", "--dtype", "float64"), 1, "float64", "no_float64"),
    row("evaluate-split-unknown", evaluate("{model.npz}", "--split", "train"), 2, "--split", "invalid choice"),
    row("evaluate-model-argument-missing", ["evaluate"], 2, "required", "MODEL"),
    row("evaluate-dataset-corrupt", evaluate("{model.npz}", "--dataset", "{truncated}", "--split", "validation"), 1,
        "corrupt or truncated gzip"),
    # -- gradcheck -----------------------------------------------------------------------
    row("gradcheck-examples-zero", ["gradcheck", "--examples", "0"], 2, "--examples", "positive integer"),
    row("gradcheck-samples-negative", ["gradcheck", "--samples", "-1"], 2, "--samples", "positive integer"),
    row("gradcheck-tolerance-zero", ["gradcheck", "--tolerance", "0"], 2, "--tolerance", "positive number"),
    row("gradcheck-sizes-one-layer", ["gradcheck", "--sizes", "10"], 1, "sizes", "at least two layers"),
    row("gradcheck-backend-unknown", ["gradcheck", "--backend", "mxnet"], 1, "unknown backend 'mxnet'"),
    row("gradcheck-float64-without-float64", ["gradcheck", "--backend", "array_api_strict", "--device",
                                               "no_float64"], 1, "float64", "no_float64"),
]


def tripwire(what):
    def refuse(*args, **kwargs):
        raise AssertionError(f"{what} started although the command line is bad")
    return refuse


def listing(*folders):
    """Every file and folder under ``folders``, with its size and modification time."""
    found = {}
    for folder in folders:
        for path in Path(folder).rglob("*"):
            stat = path.stat()
            found[str(path)] = (path.is_dir(), stat.st_size, stat.st_mtime_ns)
    return found


@pytest.mark.parametrize("argv, status, words", ROWS)
def test_a_bad_command_line_is_one_error_line_before_any_work(argv, status, words, files, tmp_path, monkeypatch,
                                                               capsys):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(xprop.train.trainer.Trainer, "run", tripwire("training"))
    monkeypatch.setattr(xprop.Network, "evaluate", tripwire("evaluation"))
    monkeypatch.setattr("xprop.cli.gradcheck.check_gradients", tripwire("the gradient check"))
    places = {name: str(path) for name, path in files.items()} | {"nowhere": str(tmp_path / "nowhere")}
    for name, place in places.items():
        argv = [a.replace("{" + name + "}", place) for a in argv]
    inputs = next(iter(files.values())).parent
    before = listing(tmp_path, inputs)
    try:
        code = main(argv)
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xprop: error: "), err
    assert "Traceback" not in err
    missing = [w for w in words if w.lower() not in lines[0].lower()]
    assert not missing, f"{lines[0]!r} does not name {missing}"
    assert code == status, (code, lines[0])
    assert out == "", "the run was described, so work had started"
    assert listing(tmp_path, inputs) == before, "a file was written for a refused command line"
    assert not (work / "pwned").exists()


def test_the_table_is_large_and_every_row_distinct():
    assert len(ROWS) >= 25
    assert len({r.id for r in ROWS}) == len(ROWS)
    assert {r.values[0][0] for r in ROWS if r.values[0]} >= {"train", "evaluate", "gradcheck"}


def test_help_still_works(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["train", "--help"])
    assert caught.value.code == 0 and "usage: xprop train" in capsys.readouterr().out
