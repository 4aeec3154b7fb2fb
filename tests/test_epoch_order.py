"""What the user sees comes after what is saved: the Trainer calls ``on_epoch_end``
(decisions), then ``after_epoch`` (the checkpoint), then ``report_epoch`` (the epoch line,
the metrics log), so "epoch N" on screen means checkpoint N is on disk, even for a
process killed the moment the line appears. And early stopping's "keep the best
parameters" holds whether patience ran out or the epochs did."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest
from processes import SIZES, start_xprop, wait_for_line, write_dataset

from xprop import EarlyStopping, Network, Trainer
from xprop.cli import main
from xprop.io.checkpoint import Checkpoint, checkpoint_name, latest_checkpoint, load_checkpoint
from xprop.train.callbacks import HOOKS

OPTIONS = dict(batch_size=7, eta=3.0, monitor=["training_cost", "training_accuracy"])


def data():
    rng = np.random.default_rng(11)
    X = rng.random((120, 6))
    return X.astype(np.float32), (X @ np.arange(6)).astype(np.int64) % 4


class Recorder:
    """Writes every hook call into a shared list as (name, hook, epoch, checkpoint on disk)."""

    def __init__(self, name, calls, directory=None, stop_at=None, interrupt_at=None):
        self.name, self.calls, self.directory = name, calls, directory
        self.stop_at, self.interrupt_at = stop_at, interrupt_at

    def _note(self, hook, trainer):
        saved = self.directory is not None and (self.directory / checkpoint_name(trainer.epoch)).exists()
        self.calls.append((self.name, hook, trainer.epoch, saved))

    def on_train_begin(self, trainer):
        self._note("on_train_begin", trainer)

    def on_epoch_end(self, trainer, record):
        self._note("on_epoch_end", trainer)
        if self.stop_at == trainer.epoch:
            trainer.stop = True
        if self.interrupt_at == trainer.epoch:
            raise KeyboardInterrupt

    def after_epoch(self, trainer):
        self._note("after_epoch", trainer)

    def report_epoch(self, trainer, record):
        self._note("report_epoch", trainer)

    def on_interrupt(self, trainer):
        self._note("on_interrupt", trainer)
        return ""

    def on_train_end(self, trainer):
        self._note("on_train_end", trainer)


def test_the_contract_lists_the_hooks_in_the_order_of_a_run():
    assert HOOKS == ("on_train_begin", "on_batch_end", "on_epoch_end", "after_epoch", "report_epoch",
                     "on_interrupt", "on_train_end")


EPOCH = [("a", "on_epoch_end"), ("b", "on_epoch_end"), ("a", "after_epoch"), ("b", "after_epoch"),
         ("a", "report_epoch"), ("b", "report_epoch")]


@pytest.mark.parametrize("ending, epochs, recorder, expected", [
    ("finished", 2, {}, [("a", "on_train_begin"), ("b", "on_train_begin"), *EPOCH, *EPOCH,
                         ("a", "on_train_end"), ("b", "on_train_end")]),
    ("stopped", 5, {"stop_at": 1}, [("a", "on_train_begin"), ("b", "on_train_begin"), *EPOCH,
                                    ("a", "on_train_end"), ("b", "on_train_end")]),
    ("interrupted", 5, {"interrupt_at": 2}, [("a", "on_train_begin"), ("b", "on_train_begin"), *EPOCH,
                                             ("a", "on_epoch_end"), ("a", "on_interrupt"), ("b", "on_interrupt"),
                                             ("a", "on_train_end"), ("b", "on_train_end")]),
], ids=lambda v: v if isinstance(v, str) else None)
def test_hooks_run_in_the_contracts_order_and_reports_see_the_epochs_checkpoint(
        tmp_path, ending, epochs, recorder, expected):
    calls = []
    X, y = data()
    callbacks = [Recorder("a", calls, tmp_path, **recorder), Checkpoint(tmp_path), Recorder("b", calls, tmp_path)]
    trainer = Trainer(Network([6, 8, 4], seed=1), epochs=epochs, callbacks=callbacks, **OPTIONS)
    try:
        trainer.run(X, y)
    except KeyboardInterrupt:
        assert ending == "interrupted"
    assert [(name, hook) for name, hook, _, _ in calls] == expected
    reports = [saved for _, hook, _, saved in calls if hook == "report_epoch"]
    assert reports and all(reports)  # every report came after its epoch's checkpoint
    decisions = [saved for _, hook, epoch, saved in calls if hook == "on_epoch_end"]
    assert not any(decisions)  # and every decision before it


def test_on_train_end_runs_even_when_the_data_are_refused(tmp_path):
    calls = []
    X, y = data()
    trainer = Trainer(Network([6, 8, 4], seed=1), epochs=2, callbacks=[Recorder("a", calls)], **OPTIONS)
    with pytest.raises(ValueError):
        trainer.run(X[:, :5], y)
    assert [hook for _, hook, _, _ in calls] == ["on_train_end"]


# -- a real process killed the moment "epoch N/..." appears ------------------------------------
EPOCHS = 5
RUN = ["--sizes", *SIZES, "--eta", 1.0, "--batch-size", 1, "--dtype", "float64", "--epochs", EPOCHS,
       "--monitor", "training_cost", "evaluation_accuracy", "--no-progress"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "order.npz", n_train=1500)


@pytest.mark.parametrize("epoch", [1, 2, 3, 4])
def test_a_process_killed_when_epoch_n_is_shown_has_checkpoint_n_on_disk(tmp_path, dataset, epoch):
    ck, log = tmp_path / "ck", tmp_path / "m.jsonl"
    child = start_xprop("train", "--dataset", dataset, *RUN, "--checkpoint", ck, "--log", log)
    wait_for_line(child, rf"^epoch {epoch}/{EPOCHS} ")
    child.kill()
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    kept = load_checkpoint(latest_checkpoint(ck)).epoch
    assert kept >= epoch
    logged = [json.loads(line)["epoch"] for line in log.read_text().splitlines()]
    assert max(logged, default=0) <= kept  # the log, too, reports only saved epochs


# -- early stopping keeps the best parameters however the run ends ------------------------------
class Snapshots:
    """The parameters at the end of every epoch (after early stopping has acted)."""

    def __init__(self):
        self.seen = {}

    def after_epoch(self, trainer):
        weights, biases = trainer.network.parameters_to_host()
        self.seen[trainer.epoch] = [a.copy() for a in weights + biases]


def same(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a, b))


def final(net):
    weights, biases = net.parameters_to_host()
    return weights + biases


EARLY = dict(batch_size=5, eta=6.0, monitor=["training_cost", "training_accuracy"])


@pytest.mark.parametrize("how, patience, restore_best, expect", [
    ("epochs run out", 100, True, "best"),
    ("patience runs out", 2, True, "best"),
    ("epochs run out, restore_best off", 100, False, "last"),
], ids=lambda v: v if isinstance(v, str) and " " in v else None)
def test_early_stopping_ends_the_run_with_the_best_parameters(how, patience, restore_best, expect):
    X, y = data()
    stopping = EarlyStopping(patience=patience, metric="training_accuracy", restore_best=restore_best)
    snapshots = Snapshots()
    trainer = Trainer(Network([6, 8, 4], seed=1), epochs=12, callbacks=[stopping, snapshots], **EARLY)
    history = trainer.run(X, y)
    accuracy = history.column("training_accuracy")
    best = max(range(len(accuracy)), key=lambda i: accuracy[i]) + 1
    last = trainer.epoch
    assert best != last, "the test needs a run whose best epoch is not its last"
    assert same(final(trainer.network), snapshots.seen[best if expect == "best" else last])
    assert stopping.restored_epoch == (best if expect == "best" else None)


def test_the_last_checkpoint_keeps_the_last_epoch_and_a_resume_ends_with_the_best(tmp_path):
    """The epochs ran out: the checkpoint holds where training was (a resume with more
    epochs goes on from there); resuming the finished run puts back the best again."""
    from xprop.io.checkpoint import resume

    X, y = data()
    snapshots = Snapshots()
    trainer = Trainer(Network([6, 8, 4], seed=1), epochs=12, **EARLY,
                      callbacks=[EarlyStopping(patience=100, metric="training_accuracy"), snapshots,
                                 Checkpoint(tmp_path)])
    trainer.run(X, y)
    best = trainer.callbacks[0].restored_epoch
    assert best is not None and best != 12
    saved = load_checkpoint(latest_checkpoint(tmp_path))
    assert saved.epoch == 12 and same(saved.weights + saved.biases, snapshots.seen[12])
    again = resume(tmp_path, checkpoint=False)
    again.run(X, y)  # nothing left to train: the run's end puts back the best
    assert same(final(again.network), snapshots.seen[best])


def test_the_command_line_saves_the_best_parameters_and_says_so(tmp_path, dataset, capsys):
    model = tmp_path / "m.npz"
    args = ["train", "--dataset", dataset, "--sizes", *SIZES, "--eta", 8.0, "--epochs", 8, "--no-progress",
            "--early-stopping", 100, "--save", model]
    assert main([str(a) for a in args]) == 0
    out = capsys.readouterr().out
    best = int(out.split("best validation accuracy")[1].split("at epoch")[1].split()[0])
    if best == 8:
        pytest.skip("this run's best epoch is its last")
    assert f"saved the model (the best parameters, of epoch {best}) to {model}" in out
