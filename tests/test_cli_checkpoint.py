"""xprop train --checkpoint / --resume, Ctrl-C and divergence, in this process.

A resumed run equals the uninterrupted one bit for bit (numpy), its log holds every
epoch, and options that define the run cannot change on resume: each refusal is one
line naming the option, given before any work, and writes nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from processes import SIZES, parameters, reference_run, same_model, write_dataset

import xprop
import xprop.backprop
from xprop.io.checkpoint import Checkpoint, latest_checkpoint, list_checkpoints, load_checkpoint
from xprop.io.networks import load_model, save_model
from helpers import xprop_cli
from xprop.cli import main

STEPS_PER_EPOCH = 60  # 600 training examples, mini-batches of 10
RUN = ["--sizes", *SIZES, "--eta", 2.0, "--momentum", 0.5, "--lmbda", 0.1, "--dtype", "float64",
       "--schedule", "plateau", "--plateau-patience", 1, "--no-progress"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "small.npz")


def train(capsys, dataset, *extra):
    return xprop_cli(capsys, "train", "--dataset", dataset, *RUN, *extra)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, dataset):
    """4 epochs in one go: the model and the metrics log every resumed run must equal."""
    model, log = reference_run(tmp_path_factory.mktemp("uninterrupted"), "--dataset", dataset, *RUN, "--epochs", 4)
    return model, metrics(log)


def metrics(log):
    """The log's records without their timings."""
    records = [json.loads(line) for line in log.read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in ("seconds", "examples_per_second")} for r in records]


def interrupt_at_step(monkeypatch, step, error=KeyboardInterrupt):
    """Make the ``step``-th SGD step (from 1) raise ``error``, or poison the parameters
    with NaN from then on (``error`` None)."""
    real, calls = xprop.backprop.sgd_step, [0]

    def sgd_step(weights, *args, **kwargs):
        calls[0] += 1
        if calls[0] >= step and error is not None:
            raise error()
        real(weights, *args, **kwargs)
        if calls[0] >= step:
            weights[0][0, 0] = float("nan")

    monkeypatch.setattr(xprop.backprop, "sgd_step", sgd_step)


def test_extending_a_checkpointed_run_equals_the_longer_run(capsys, tmp_path, dataset, uninterrupted):
    model, log = tmp_path / "m.npz", tmp_path / "m.jsonl"
    code, out, err = train(capsys, dataset, "--epochs", 2, "--checkpoint", tmp_path / "ck", "--log", log)
    assert code == 0, err
    assert [e for e, _ in list_checkpoints(tmp_path / "ck")] == [1, 2]
    saved = load_checkpoint(latest_checkpoint(tmp_path / "ck"))
    assert saved.metadata["format"] == "xprop-train" and saved.run.eta == 2.0 and saved.run.data["fingerprint"]["training"] == 600
    assert saved.metadata["outputs"]["log"] == str(log) and "options" not in saved.metadata
    code, out, err = xprop_cli(capsys, "train", "--resume", tmp_path / "ck", "--epochs", 4, "--save", model)
    assert code == 0, err
    assert f"resuming from {tmp_path / 'ck' / 'checkpoint-epoch0002.npz'}: 2 epochs done, training epochs 3 to 4" in out
    assert "epoch 1/4" not in out and "epoch 3/4" in out and "epoch 4/4" in out
    assert same_model(model, uninterrupted[0])  # bit for bit
    assert metrics(log) == uninterrupted[1]  # the whole history, rewritten on resume
    assert [e for e, _ in list_checkpoints(tmp_path / "ck")] == [3, 4]


def test_ctrl_c_keeps_the_checkpoint_and_says_how_to_resume(capsys, tmp_path, dataset, uninterrupted, monkeypatch):
    model, ck = tmp_path / "m.npz", tmp_path / "ck"
    with monkeypatch.context() as patch:
        interrupt_at_step(patch, 2 * STEPS_PER_EPOCH + 30)
        code, out, err = train(capsys, dataset, "--epochs", 4, "--checkpoint", ck, "--save", model)
    assert code == 130
    assert err.strip() == (f"xprop: interrupted: stopped in epoch 3 of 4; the checkpoint of epoch 2 is in {ck}; "
                           f"resume with: xprop train --resume {ck}")
    assert "Traceback" not in err and not model.exists()
    code, out, err = xprop_cli(capsys, "train", "--resume", ck)  # everything else from the checkpoint
    assert code == 0, err
    assert same_model(model, uninterrupted[0])


def test_ctrl_c_in_the_first_epoch_keeps_the_start(capsys, tmp_path, dataset, uninterrupted, monkeypatch):
    model, ck = tmp_path / "m.npz", tmp_path / "ck"
    with monkeypatch.context() as patch:
        interrupt_at_step(patch, 10)
        code, _, err = train(capsys, dataset, "--epochs", 4, "--checkpoint", ck, "--save", model)
    assert code == 130 and "stopped in epoch 1 of 4; the checkpoint of epoch 0 is in" in err
    assert xprop_cli(capsys, "train", "--resume", ck)[0] == 0
    assert same_model(model, uninterrupted[0])


@pytest.mark.parametrize("save, said", [
    (True, "stopped in epoch 3 of 4; saved the model of epoch 2 to {model} (without --checkpoint DIR the run "
           "cannot be resumed)"),
    (False, "stopped in epoch 3 of 4; nothing was kept (train with --checkpoint DIR to be able to resume)"),
])
def test_ctrl_c_without_checkpoints(capsys, tmp_path, dataset, monkeypatch, save, said):
    model = tmp_path / "m.npz"
    interrupt_at_step(monkeypatch, 2 * STEPS_PER_EPOCH + 5)
    code, _, err = train(capsys, dataset, "--epochs", 4, *(["--save", model] if save else []))
    assert code == 130 and err.strip() == "xprop: interrupted: " + said.format(model=model)
    assert model.exists() == save


def test_divergence_saves_the_last_good_parameters(capsys, tmp_path, dataset, monkeypatch):
    model, two = tmp_path / "m.npz", tmp_path / "two.npz"
    assert train(capsys, dataset, "--epochs", 2, "--save", two)[0] == 0
    interrupt_at_step(monkeypatch, 2 * STEPS_PER_EPOCH + 7, error=None)  # NaN from epoch 3 on
    code, out, err = train(capsys, dataset, "--epochs", 4, "--save", model)
    assert code == 1
    assert err.strip() == (f"xprop: error: training diverged in epoch 3: the parameters hold NaN or Inf; eta 2 is "
                           f"probably too large: try --eta 0.2; saved the last good parameters (epoch 2) to {model}")
    assert same_model(model, two)


def test_resuming_a_finished_run_only_writes_its_outputs(capsys, tmp_path, dataset, uninterrupted):
    ck, model = tmp_path / "ck", tmp_path / "m.npz"
    assert train(capsys, dataset, "--epochs", 4, "--checkpoint", ck)[0] == 0
    code, out, err = xprop_cli(capsys, "train", "--resume", ck, "--save", model)
    assert code == 0, err
    assert "4 epochs done, nothing is left to train; give --epochs 5 or more to train on" in out
    assert same_model(model, uninterrupted[0])


def test_resume_on_another_backend_and_device(capsys, tmp_path, dataset, uninterrupted):
    pytest.importorskip("array_api_strict")
    ck, model = tmp_path / "ck", tmp_path / "m.npz"
    assert train(capsys, dataset, "--epochs", 2, "--checkpoint", ck)[0] == 0
    code, out, err = xprop_cli(capsys, "train", "--resume", ck, "--epochs", 4, "--save", model,
                               "--backend", "array_api_strict", "--device", "device1")
    assert code == 0, err
    assert re.search(r"array_api_strict on \S*device1\S*, float64", out), out
    for got, want in zip(parameters(model), parameters(uninterrupted[0])):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, dataset):
    """A checkpointed run of 2 epochs (never changed by the refusals below)."""
    where = tmp_path_factory.mktemp("run")
    argv = ["train", "--dataset", dataset, *RUN, "--epochs", 2, "--checkpoint", where / "ck"]
    assert main([str(a) for a in argv]) == 0
    return where / "ck"


@pytest.mark.parametrize("extra, fragments", [
    (["--eta", 0.5], ["--eta 0.5 differs from the run in", "which has --eta 2.0", "only --epochs, --backend"]),
    (["--sizes", 16, 30, 4], ["--sizes 16 30 4 differs", "which has --sizes 16 12 4"]),
    (["--batch-size", 20], ["--batch-size 20 differs", "which has --batch-size 10"]),
    (["--seed", 1], ["--seed 1 differs", "which has --seed 0"]),
    (["--momentum", 0.9], ["--momentum 0.9 differs"]),
    (["--lmbda", 0], ["--lmbda 0.0 differs"]),
    (["--dtype", "float32"], ["--dtype float32 differs", "which has --dtype float64"]),
    (["--cost", "cross-entropy"], ["--cost cross-entropy differs", "which has --cost quadratic"]),
    (["--schedule", "constant"], ["--schedule constant differs"]),
    (["--limit", 100], ["--limit 100 differs", "which has no --limit"]),
    (["--validation-size", 50], ["--validation-size 50 differs"]),
    (["--monitor", "training_cost"], ["--monitor training_cost differs"]),
    (["--epochs", 1], ["--epochs 1: the run in", "has already trained 2 epochs; give --epochs 3 or more"]),
    (["--dataset", "OTHER"], ["does not hold the data the run", "was trained on", "give the same dataset"]),
])
def test_resume_refuses_to_change_the_run(capsys, tmp_path, run_dir, dataset, extra, fragments):
    if "OTHER" in extra:
        extra = ["--dataset", write_dataset(tmp_path / "other.npz", seed=1)]
    before = {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir()}
    code, out, err = xprop_cli(capsys, "train", "--resume", run_dir, "--save", tmp_path / "m.npz",
                               "--log", tmp_path / "m.jsonl", *extra)
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xprop: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == (["other.npz"] if "--dataset" in extra else [])


def test_resume_accepts_the_same_options_given_again(capsys, tmp_path, run_dir, dataset):
    ck = tmp_path / "ck"
    ck.mkdir()
    for _, path in list_checkpoints(run_dir):
        (ck / path.name).write_bytes(path.read_bytes())
    code, out, err = xprop_cli(capsys, "train", "--resume", ck, "--dataset", dataset, *RUN, "--epochs", 3)
    assert code == 0, err
    assert "epoch 3/3" in out


@pytest.mark.parametrize("setup, argv, fragments", [
    ("none", ["--resume", "{tmp}/missing"], ["--resume {tmp}/missing: no such directory"]),
    ("empty", ["--resume", "{tmp}/ck"], ["--resume {tmp}/ck: no checkpoint in it",
                                        "was the run started with --checkpoint {tmp}/ck?"]),
    ("python", ["--resume", "{tmp}/ck"], ["was not written by xprop train", "xprop.io.checkpoint.resume"]),
    ("python", ["--checkpoint", "{tmp}/ck", "--dataset", "{data}"],
     ["--checkpoint {tmp}/ck already holds the checkpoints of a run (up to epoch 1); continue it with "
      "xprop train --resume {tmp}/ck"]),
    ("file", ["--checkpoint", "{tmp}/ck", "--dataset", "{data}"], ["--checkpoint {tmp}/ck: that is a file"]),
    ("none", ["--checkpoint", "{tmp}/no/ck", "--dataset", "{data}"],
     ["--checkpoint {tmp}/no/ck: the folder {tmp}/no does not exist"]),
])
def test_bad_checkpoint_options_are_refused_before_any_work(capsys, tmp_path, dataset, setup, argv, fragments):
    if setup == "empty":
        (tmp_path / "ck").mkdir()
    elif setup == "python":
        trainer = xprop.Trainer(xprop.Network(list(SIZES)), epochs=1, batch_size=10, eta=1.0,
                                callbacks=[Checkpoint(tmp_path / "ck")])
        trainer.run(np.zeros((20, 16), dtype=np.float32), np.zeros(20, dtype=np.int64))
    elif setup == "file":
        (tmp_path / "ck").write_text("")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    argv = [a.format(tmp=tmp_path, data=dataset) for a in argv]
    code, out, err = xprop_cli(capsys, "train", *argv, "--sizes", *SIZES, "--save", tmp_path / "m.npz")
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment.format(tmp=tmp_path) in lines[0], (fragment, lines[0])
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_ctrl_c_in_a_resumed_run_repeats_its_new_options(capsys, tmp_path, dataset, uninterrupted, monkeypatch):
    """Stopped before its first checkpoint, a resumed run's newest checkpoint still holds the
    old --epochs and --save: the resume command gives them again."""
    ck, model = tmp_path / "ck", tmp_path / "m.npz"
    assert train(capsys, dataset, "--epochs", 2, "--checkpoint", ck)[0] == 0
    with monkeypatch.context() as patch:
        interrupt_at_step(patch, 20)
        code, _, err = xprop_cli(capsys, "train", "--resume", ck, "--epochs", 4, "--save", model, "--no-progress")
    assert code == 130
    command = err.strip().split("resume with: ")[1]
    assert command == f"xprop train --resume {ck} --epochs 4 --save {model} --no-progress"
    assert xprop_cli(capsys, *command.split()[1:])[0] == 0
    assert same_model(model, uninterrupted[0])


def test_distributed_without_mpi4py_says_how_to_install_it(capsys, dataset, monkeypatch):
    def world():
        raise ImportError("data-parallel training needs mpi4py (No module named 'mpi4py'); install it "
                          "with pip install 'xprop[mpi]', which brings an MPI (MPICH) too")

    monkeypatch.setattr("xprop.parallel.world", world)
    code, out, err = train(capsys, dataset, "--distributed")
    assert code == 1 and out == ""
    assert err.strip() == ("xprop: error: --distributed: data-parallel training needs mpi4py (No module named "
                           "'mpi4py'); install it with pip install 'xprop[mpi]', which brings an MPI (MPICH) too")


def test_a_checkpoint_evaluates_as_a_model(capsys, tmp_path, run_dir, dataset):
    """``xprop evaluate`` takes a checkpoint directory (its newest checkpoint) or a checkpoint
    file, and measures the same network as the model of that epoch."""
    newest = latest_checkpoint(run_dir)
    model = tmp_path / "m.npz"
    save_model(load_model(newest), model)
    results = []
    for source in (run_dir, newest, model):
        code, out, err = xprop_cli(capsys, "evaluate", source, "--dataset", dataset, "--json")
        assert code == 0, err
        result = json.loads(out)
        results.append((result["accuracy"], result["cost"], result["n"]))
    assert results[0] == results[1] == results[2]
    code, _, err = xprop_cli(capsys, "evaluate", tmp_path / "empty", "--dataset", dataset)
    assert code == 1 and "no such file" in err


def test_a_run_checkpointed_by_the_first_format_resumes_on_the_command_line(capsys, tmp_path):
    """tests/data/format1 was written by xprop 0.1 (checkpoint and model format 1):
    ``xprop train --dataset data.npz --sizes 16 12 4 --epochs 2 --batch-size 10 --eta 2.0
    --momentum 0.5 --lmbda 0.1 --schedule plateau --plateau-patience 1 --seed 3 --checkpoint run``
    (its epoch 2), and the same with ``--epochs 4 --save model-epoch4.npz``. Resumed by this
    xprop to epoch 4, the run ends where xprop 0.1's uninterrupted run ended, bit for bit,
    and the checkpoints it writes from then on are of the current format."""
    import shutil

    from xprop.io.modelfile import VERSION

    old = Path(__file__).parent / "data" / "format1"
    run = shutil.copytree(old / "run", tmp_path / "run")
    dataset = write_dataset(tmp_path / "data.npz")  # the same bytes as the run's data (seed 0)
    assert load_checkpoint(latest_checkpoint(run)).version == 1
    code, out, err = xprop_cli(capsys, "train", "--resume", run, "--dataset", dataset, "--epochs", 4,
                               "--save", tmp_path / "m.npz", "--no-progress")
    assert code == 0, err
    assert "resuming from" in out and "epoch 4/4" in out
    assert same_model(tmp_path / "m.npz", old / "model-epoch4.npz")
    assert load_checkpoint(latest_checkpoint(run)).version == VERSION
    code, out, err = xprop_cli(capsys, "train", "--resume", run, "--dataset", dataset, "--eta", 3)
    assert code == 1 and "--eta 3.0 differs from the run" in err and "--eta 2.0" in err
