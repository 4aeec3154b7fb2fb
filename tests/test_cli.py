"""The xprop command: train, evaluate, info, gradcheck, bench, and how errors look."""

import importlib.machinery
import importlib.util
import json
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import xprop.train.trainer
from idxfiles import write_idx_dataset
from helpers import xprop_cli
from xprop.cli import build_parser, main
from xprop.cli.callbacks import EpochReport
from xprop.cli.train import attach_callbacks, prepare
from xprop.io.networks import load_model

EPOCH_LINE = re.compile(r"^epoch (\d+)/(\d+)  training cost \d\.\d{4}  training accuracy \d+\.\d\d%  "
                        r"validation cost \d\.\d{4}  validation accuracy (\d+\.\d\d)%  [\d,]+ examples/s  \d+\.\d s$")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A learnable synthetic dataset as a folder of IDX files: 1,000 + 200 training, 300 test."""
    directory = tmp_path_factory.mktemp("data") / "synthetic"
    write_idx_dataset(directory, n_train=1200, n_test=300)
    return directory


def train_args(dataset, *extra):
    return ["train", "--dataset", dataset, "--validation-size", 200, "--sizes", 784, 20, 10,
            "--epochs", 2, "--no-progress", *extra]


def assert_one_error_line(err, *fragments):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xprop: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_train_prints_one_line_per_epoch_and_writes_every_output(capsys, tmp_path, dataset):
    model, log, plot = tmp_path / "m.npz", tmp_path / "m.jsonl", tmp_path / "c.png"
    code, out, err = xprop_cli(capsys, *train_args(dataset, "--save", model, "--log", log, "--plot", plot))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("training [784, 20, 10] sigmoid quadratic (init large) on synthetic: "
                               "1,000 training, 200 validation examples; 2 epochs, mini-batch 10, eta 3")
    epochs = [EPOCH_LINE.match(line) for line in lines[1:3]]
    assert all(epochs), lines[1:3]
    assert [m.group(1) for m in epochs] == ["1", "2"]
    assert float(epochs[-1].group(3)) > 60  # the synthetic classes are easy: far above 10% chance
    assert f"saved the model to {model}" in out and f"drew the learning curves in {plot}" in out
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    assert set(records[0]) == {"epoch", "eta", "seconds", "examples_per_second", "training_cost",
                               "training_accuracy", "evaluation_cost", "evaluation_accuracy"}
    assert f"{records[-1]['evaluation_accuracy']:.2%}" == f"{epochs[-1].group(3)}%"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert load_model(model).sizes == [784, 20, 10]
    assert err == ""


def test_the_progress_bar_goes_to_stderr(capsys, dataset, monkeypatch):
    monkeypatch.setattr("xprop.progress.ProgressBar.update",
                        lambda self, done: self._draw(self.render(done, 1.0)))  # draw every batch
    code, out, err = xprop_cli(capsys, *train_args(dataset, "--progress", "--epochs", 1))
    assert code == 0
    assert "\repoch 1/1  [" in err and "1,000/1,000" in err
    assert "[" not in out.splitlines()[1]


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory, dataset):
    path = tmp_path_factory.mktemp("model") / "m.npz"
    assert main([str(a) for a in train_args(dataset, "--save", path, "--dtype", "float64")]) == 0
    return path


@pytest.mark.parametrize("backend, device", [("numpy", None), ("array_api_strict", "device1"), ("torch", "cpu")])
def test_evaluate_on_any_backend_gives_the_same_figures(capsys, saved_model, dataset, backend, device):
    pytest.importorskip(backend)
    where = ["--backend", backend] + (["--device", device] if device else [])
    code, out, err = xprop_cli(capsys, "evaluate", saved_model, "--dataset", dataset,
                               "--validation-size", 200, "--json", *where)
    assert code == 0, err
    result = json.loads(out)
    assert result["backend"] == backend and result["dtype"] == "float64" and result["n"] == 300
    code, out, _ = xprop_cli(capsys, "evaluate", saved_model, "--dataset", dataset, "--validation-size", 200)
    assert out.startswith(f"synthetic test: accuracy {result['accuracy']:.2%} ({result['correct']:,}/300), "
                          f"cost {result['cost']:.4f}")


def test_evaluate_a_split(capsys, saved_model, dataset):
    code, out, _ = xprop_cli(capsys, "evaluate", saved_model, "--dataset", dataset, "--validation-size", 200,
                             "--split", "validation", "--json")
    assert json.loads(out)["n"] == 200 and json.loads(out)["split"] == "validation"


def test_evaluate_on_a_dataset_that_does_not_fit(capsys, tmp_path, dataset):
    model = tmp_path / "small.npz"
    from xprop.io.networks import save_model

    save_model(xprop.Network([784, 5, 3]), model)
    code, _, err = xprop_cli(capsys, "evaluate", model, "--dataset", dataset, "--validation-size", 200)
    assert code == 1
    assert_one_error_line(err, "does not fit synthetic (784 features, 10 classes)")


@pytest.fixture
def no_matplotlib(monkeypatch):
    """matplotlib, as if it were not installed."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real_find_spec(name, *a))


def test_plot_history_without_matplotlib_names_the_function(no_matplotlib, tmp_path):
    from xprop.errors import MissingExtraError
    from xprop.plotting import plot_history

    with pytest.raises(MissingExtraError, match=r"^plot_history needs matplotlib, which is not installed; pip install"):
        plot_history(None, tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()


def test_plot_without_matplotlib_fails_before_training(capsys, tmp_path, dataset, no_matplotlib):
    log = tmp_path / "m.jsonl"
    code, out, err = xprop_cli(capsys, *train_args(dataset, "--plot", tmp_path / "c.png", "--log", log))
    assert code == 1 and out == ""
    assert_one_error_line(err, "--plot needs matplotlib", "pip install 'xprop[plot]'")
    assert not log.exists()


@pytest.mark.parametrize("extra, fragments", [
    (["--save", "nowhere/m.npz"], ["--save nowhere/m.npz: the folder nowhere does not exist"]),
    (["--log", "."], ["--log .: that is a folder"]),
    (["--plot", "/proc/c.png"], ["--plot /proc/c.png: cannot write in /proc"]),
    (["--schedule", "plateau", "--monitor", "training_cost"],
     ["--schedule plateau watch the validation accuracy; add evaluation_accuracy to --monitor"]),
    (["--momentum", "1"], ["--momentum must be in [0, 1)"]),
    (["--sizes", "100", "10"], ["input layer has 100 neurons but synthetic has 784 features"]),
    (["--sizes", "784", "30", "12"], ["output layer has 12 neurons but synthetic has 10 classes"]),
    (["--backend", "tensorflow"], ["unknown backend 'tensorflow'"]),
    (["--backend", "array_api_strict", "--device", "no_float64", "--dtype", "float64"],
     ["dtype float64 is not supported"]),
    (["--eta", "10", "--activation", "relu", "--output-activation", "linear"], ["diverged in epoch 1", "try --eta 1"]),
])
def test_errors_are_one_line_without_a_traceback(capsys, tmp_path, dataset, monkeypatch, extra, fragments):
    monkeypatch.chdir(tmp_path)
    code, out, err = xprop_cli(capsys, *train_args(dataset, *extra))
    assert code == 1
    assert_one_error_line(err, *fragments)
    if "--eta" not in extra:
        assert out == ""  # refused before any training


def test_a_missing_dataset_lists_the_places_looked_at(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("XPROP_DATA", raising=False)
    code, out, err = xprop_cli(capsys, "train", "--dataset", "mnist", "--data", tmp_path, "--no-download")
    assert code == 1 and out == ""
    assert err.startswith("xprop: error: dataset mnist (MNIST handwritten digits")
    assert f"{tmp_path / 'cache' / 'xprop' / 'mnist'} (the user cache): no such folder" in err
    for flags in (f"{tmp_path / 'mnist'} (--data): no such folder", "Downloading was turned off (--no-download).",
                  "in a folder and pass --data FOLDER\n", "try again without --no-download: xprop downloads"):
        assert flags in err, flags
    assert "Traceback" not in err and "data_dir" not in err and "download=" not in err


def test_an_unwritable_cache_names_the_flag(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))
    monkeypatch.delenv("XPROP_DATA", raising=False)
    (tmp_path / "a-file").write_text("")
    code, out, err = xprop_cli(capsys, "train", "--dataset", "mnist", "--data", tmp_path)
    assert code == 1 and out == "" and "Traceback" not in err
    last = err.strip().splitlines()[-1]  # after the line that announces the download
    assert last.startswith("xprop: error: cannot create") and last.endswith(
        "; set XDG_CACHE_HOME to a writable place, or put the files in a folder and pass --data FOLDER")


def test_usage_errors_exit_with_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["train", "--epochs", "0"])
    assert caught.value.code == 2
    assert "--epochs: expected a positive integer, got '0'" in capsys.readouterr().err


@pytest.mark.parametrize("message", ["", "rolled back to the end of epoch 3"])
def test_interrupting_training_exits_with_130(capsys, dataset, monkeypatch, message):
    def interrupted(self, X, Y):
        raise KeyboardInterrupt(message) if message else KeyboardInterrupt

    monkeypatch.setattr(xprop.train.trainer.Trainer, "run", interrupted)
    code, _, err = xprop_cli(capsys, *train_args(dataset))
    assert code == 130 and err.strip() == "xprop: interrupted" + (f": {message}" if message else "")


def test_an_interrupt_erases_the_progress_bar(monkeypatch):
    import io

    monkeypatch.setattr("xprop.progress.ProgressBar.update", lambda self, done: self._draw(self.render(done, 1.0)))

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    class Trainer:
        epoch, epochs = 0, 3

    report = EpochReport(100, stdout=io.StringIO(), stderr=Terminal(), progress=True)
    report.on_batch_end(Trainer, 50)
    assert report.on_interrupt(Trainer) == ""
    assert report.stderr.getvalue().endswith("\r") and report.bar is None


def parse_train(*argv):
    return build_parser().parse_args(["train", *argv])


def test_the_defaults_are_the_books():
    args = parse_train()
    assert (args.sizes, args.epochs, args.batch_size, args.eta) == ([784, 30, 10], 30, 10, 3.0)
    assert (args.cost, args.activation, args.init, args.dataset, args.dtype) == (
        "quadratic", "sigmoid", "large", "mnist", "float32")
    assert args.lmbda == 0 and args.momentum == 0 and args.schedule == "constant" and args.early_stopping is None


def _callbacks(dataset, *argv, log=None):
    """The callbacks ``xprop train ARGV`` gives its Trainer, in order."""
    job = prepare(parse_train(*[str(a) for a in train_args(dataset, *argv)[1:]]), sys.stderr)
    attach_callbacks(job, log=log, stdout=sys.stdout, stderr=sys.stderr)
    return job.trainer.callbacks


def test_callbacks_run_schedules_first_then_the_checkpoint_then_the_reports(dataset, tmp_path):
    callbacks = _callbacks(dataset, "--schedule", "plateau", "--plateau-patience", "3", "--early-stopping", "5",
                           log=sys.stdout)
    names = [type(c).__name__ for c in callbacks]
    assert names == ["ReduceOnPlateau", "EarlyStopping", "EpochReport", "MetricsLog"]
    assert callbacks[0].patience == 3 and callbacks[1].patience == 5
    assert [type(c).__name__ for c in _callbacks(dataset)] == ["EpochReport"]
    assert [type(c).__name__ for c in _callbacks(dataset, "--checkpoint", tmp_path / "ck")] == [
        "Checkpoint", "EpochReport"]
    assert not list((tmp_path / "ck").iterdir())  # no checkpoint before the first epoch


def test_regularized_momentum_training_with_a_schedule(capsys, dataset):
    code, out, err = xprop_cli(capsys, *train_args(dataset, "--cost", "cross-entropy", "--init", "scaled",
                                                   "--lmbda", "0.5", "--momentum", "0.5", "--eta", "0.5",
                                                   "--schedule", "plateau", "--early-stopping", "5",
                                                   "--monitor", "evaluation_accuracy", "--limit", "300"))
    assert code == 0, err
    assert "300 training" in out and "lmbda 0.5, momentum 0.5" in out
    assert re.search(r"^epoch 2/2  validation accuracy \d+\.\d\d%  ", out, re.M)


def test_info_lists_backends_with_reasons_and_datasets(capsys):
    code, out, _ = xprop_cli(capsys, "info")
    assert code == 0
    assert re.search(r"^  numpy +usable +\d", out, re.M)
    assert re.search(r"^ +devices: cpu$", out, re.M)
    for name in ("cupy", "torch", "jax", "array_api_strict"):
        assert re.search(rf"^  {name} ", out, re.M)
    if not xprop.get_backend("cupy", check=False).available:
        assert re.search(r"^  cupy +not usable", out, re.M) and "why: " in out
    assert re.search(r"^  fashion-mnist ", out, re.M) and "plots (--plot):" in out


def test_gradcheck_passes_and_fails_by_tolerance(capsys):
    code, out, _ = xprop_cli(capsys, "gradcheck", "--sizes", 20, 8, 4, "--samples", 5)
    assert code == 0
    assert re.search(r"^  w0 +5 entries  relative error \d\.\de-\d\d$", out, re.M)
    assert re.search(r"^largest relative error \d\.\d\de-\d\d \([wb]\d\): OK, tolerance 1e-06$", out, re.M)
    code, out, _ = xprop_cli(capsys, "gradcheck", "--sizes", 20, 8, 4, "--tolerance", 1e-30)
    assert code == 1 and "FAILED" in out


def test_gradcheck_on_another_backend(capsys):
    pytest.importorskip("torch")
    code, out, _ = xprop_cli(capsys, "gradcheck", "--sizes", 6, 5, 3, "--cost", "log-likelihood",
                             "--backend", "torch", "--dtype", "float32")
    assert code == 0 and "backend='torch'" in out and "tolerance 0.01" in out


def test_bench_without_the_suite_says_so(capsys, monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("xprop.bench") else real_find_spec(name, *a))
    code, _, err = xprop_cli(capsys, "bench", "--help")
    assert code == 1
    assert_one_error_line(err, "xprop bench needs the benchmark suite (xprop.bench.run)", "pip install -e .")


def test_bench_hands_its_arguments_to_the_suite(capsys, monkeypatch):
    calls = []
    for name in ("xprop.bench", "xprop.bench.run"):
        module = types.ModuleType(name)
        module.__spec__ = importlib.machinery.ModuleSpec(name, None)
        monkeypatch.setitem(sys.modules, name, module)
    sys.modules["xprop.bench.run"].main = lambda argv: calls.append(argv) or 3
    assert main(["bench", "--quick", "--backend", "numpy"]) == 3
    assert calls == [["--quick", "--backend", "numpy"]]


def xprop_script():
    script = Path(sys.executable).with_name("xprop")
    return [str(script)] if script.exists() else None


@pytest.mark.parametrize("launcher", ["module", "script"])
def test_the_installed_command_fails_cleanly(tmp_path, launcher):
    command = [sys.executable, "-m", "xprop"] if launcher == "module" else xprop_script()
    if command is None:
        pytest.skip("the xprop console script is not installed next to this Python")
    done = subprocess.run(command + ["evaluate", str(tmp_path / "missing.npz")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == f"xprop: error: cannot read {tmp_path / 'missing.npz'}: no such file\n"
    version = subprocess.run(command + ["--version"], capture_output=True, text=True, timeout=120)
    assert version.stdout.strip() == f"xprop {xprop.__version__}"
