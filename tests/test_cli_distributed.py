"""``mpiexec -n N python -m xprop train --distributed``: the command line over MPI.

With 1, 2 and 3 ranks the saved model equals the one-process run's to float64 rounding
(η small: a large η makes the run chaotic and amplifies rounding), only rank 0 prints and
writes, a checkpoint of a 2-rank run resumes on 3 ranks and on one process, a rank
given bad input ends the whole job within seconds with one line naming it, and Ctrl-C
or SIGTERM to mpiexec ends every rank with the command that resumes the run. Skipped,
with the reason, where mpi4py or an mpiexec is missing.
"""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from processes import (SIZES, child_env, largest_difference, mpiexec_or_skip, reference_run, wait_for_line,
                       write_dataset)

from xprop.io.checkpoint import latest_checkpoint, load_checkpoint
from xprop.cli import main

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None,
                                reason="mpi4py is not installed; pip install 'xprop[mpi]'")

FLOAT64_TOLERANCE = 200 * np.finfo(np.float64).eps
ENDS_WITHIN_SECONDS = 15  # generous: a hang would last until the 120 s timeout
RUN = ["--sizes", *SIZES, "--eta", 0.5, "--momentum", 0.5, "--lmbda", 0.1, "--dtype", "float64",
       "--batch-size", 10, "--no-progress"]


def xprop_under_mpiexec(ranks, *args, timeout=120):
    """mpiexec -n RANKS python -m xprop ARGS; (CompletedProcess, seconds)."""
    command = [mpiexec_or_skip(), "-n", str(ranks), sys.executable, "-m", "xprop", *map(str, args)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=child_env())
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(command)} hung for {timeout} s:\n{exc.stdout}\n{exc.stderr}")
    return done, time.perf_counter() - started


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    # 601 training examples: the last mini-batch holds one, so some ranks get none of it
    return write_dataset(tmp_path_factory.mktemp("data") / "mpi.npz", n_train=601, n_val=101)


@pytest.fixture(scope="module")
def alone(tmp_path_factory, dataset):
    """The one-process run (3 epochs) and its metrics log."""
    model, log = reference_run(tmp_path_factory.mktemp("alone"), "--dataset", dataset, *RUN, "--epochs", 3)
    return model, records(log)


def records(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.parametrize("ranks", [1, 2, 3])
def test_ranks_end_where_one_process_ends(tmp_path, dataset, alone, ranks):
    model, log = tmp_path / "m.npz", tmp_path / "m.jsonl"
    done, _ = xprop_under_mpiexec(ranks, "train", "--distributed", "--dataset", dataset, *RUN, "--epochs", 3,
                                  "--save", model, "--log", log, "--checkpoint", tmp_path / "ck")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()  # rank 0 alone prints: each line once
    assert lines[0].startswith("training [16, 12, 4]") and lines[1].startswith(f"data-parallel over {ranks} rank(s)")
    epochs = [line.split("  ")[0] for line in lines if line.startswith("epoch ")]
    assert epochs == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert sum(line.startswith("saved the model") for line in lines) == 1
    error = largest_difference(model, alone[0])
    print(f"{ranks} rank(s): largest parameter difference from one process {error:.3g}")
    assert error <= FLOAT64_TOLERANCE
    got, want = records(log), alone[1]
    for metric in ("training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy"):
        np.testing.assert_allclose([r[metric] for r in got], [r[metric] for r in want], rtol=FLOAT64_TOLERANCE)
    assert load_checkpoint(latest_checkpoint(tmp_path / "ck")).epoch == 3


def test_a_checkpoint_of_two_ranks_resumes_on_three_and_on_one(tmp_path, dataset, alone):
    ck = tmp_path / "ck"
    done, _ = xprop_under_mpiexec(2, "train", "--distributed", "--dataset", dataset, *RUN, "--epochs", 2,
                                  "--checkpoint", ck)
    assert done.returncode == 0, done.stdout + done.stderr
    for where, ranks in (("three", 3), ("one", None)):
        copy = tmp_path / where
        copy.mkdir()
        path = latest_checkpoint(ck)
        (copy / path.name).write_bytes(path.read_bytes())
        model = tmp_path / f"{where}.npz"
        if ranks:
            done, _ = xprop_under_mpiexec(ranks, "train", "--distributed", "--resume", copy, "--epochs", 3,
                                          "--save", model)
        else:
            done = subprocess.run([sys.executable, "-m", "xprop", "train", "--resume", str(copy), "--epochs", "3",
                                   "--save", str(model)], capture_output=True, text=True, env=child_env(), timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "2 epochs done, training epochs 3 to 3" in done.stdout
        assert largest_difference(model, alone[0]) <= FLOAT64_TOLERANCE


def test_a_rank_given_bad_input_ends_the_job_within_seconds(tmp_path, dataset):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not an archive")
    good = ["--distributed", "--dataset", dataset, "--sizes", *SIZES, "--epochs", 50, "--no-progress"]
    command = [mpiexec_or_skip(), "-n", "1", sys.executable, "-m", "xprop", "train", *map(str, good), "--save",
               str(tmp_path / "m.npz"), ":", "-n", "1", sys.executable, "-m", "xprop", "train",
               *map(str, good[:2]), str(bad), *map(str, good[3:])]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=child_env())
    seconds = time.perf_counter() - started
    assert done.returncode != 0 and seconds < ENDS_WITHIN_SECONDS, (seconds, done.stderr)
    assert done.stdout == ""
    assert done.stderr.strip() == f"xprop: error: rank 1 of 2: {bad} is not an .npz file (not a zip archive)"
    assert not (tmp_path / "m.npz").exists()


def test_bad_options_are_one_line_from_rank_zero(tmp_path, dataset):
    done, seconds = xprop_under_mpiexec(3, "train", "--distributed", "--dataset", dataset, *RUN, "--save",
                                        tmp_path / "nowhere" / "m.npz")
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.strip() == (f"xprop: error: --save {tmp_path / 'nowhere' / 'm.npz'}: the folder "
                                   f"{tmp_path / 'nowhere'} does not exist; create it first")


def test_a_divergence_is_reported_once_and_the_last_good_parameters_saved(tmp_path, dataset):
    model = tmp_path / "m.npz"
    done, seconds = xprop_under_mpiexec(2, "train", "--distributed", "--dataset", dataset, "--sizes", *SIZES,
                                        "--eta", 1000, "--activation", "relu", "--output-activation", "linear",
                                        "--save", model, "--no-progress")
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.fullmatch(r"xprop: error: training diverged in epoch 1: [^\n]*try --eta 100; nothing saved to "
                        r"[^\n]*: no epoch ended with finite parameters\n", done.stderr), done.stderr
    assert "Abort" not in done.stderr and not model.exists()


@pytest.mark.parametrize("signum, status, said", [
    pytest.param(signal.SIGINT, 130, "interrupted", id="ctrl-c", marks=pytest.mark.skipif(
        signal.getsignal(signal.SIGINT) == signal.SIG_IGN,
        reason="SIGINT is ignored here (a background job), so the ranks would inherit that")),
    pytest.param(signal.SIGTERM, 143, r"terminated \(SIGTERM\)", id="sigterm"),
])
def test_a_stop_ends_every_rank_and_the_printed_command_resumes(tmp_path, dataset, signum, status, said):
    # mpiexec passes SIGINT and SIGTERM on to every rank (SIGHUP ends mpiexec, and with it the ranks)
    ck, model, alone = tmp_path / "ck", tmp_path / "m.npz", tmp_path / "alone.npz"
    run = ["--dataset", dataset, *RUN, "--batch-size", 1, "--epochs", 4]  # epochs of 601 steps
    assert main([str(a) for a in ["train", *run, "--save", alone]]) == 0
    command = [mpiexec_or_skip(), "-n", "2", sys.executable, "-m", "xprop", "train", "--distributed", *map(str, run),
               "--checkpoint", str(ck), "--save", str(model)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
    wait_for_line(child, r"^epoch 2/4 ")
    time.sleep(0.05)
    child.send_signal(signum)  # what Ctrl-C in a terminal, or timeout, SLURM, docker send mpiexec
    started = time.perf_counter()
    out, err = child.communicate(timeout=60)
    assert time.perf_counter() - started < ENDS_WITHIN_SECONDS
    assert child.returncode == status, err
    assert "Traceback" not in err and not model.exists()
    found = re.search(rf"^xprop: {said}: stopped in epoch (\d) of 4; the checkpoint of epoch (\d) is in (\S+); "
                      r"resume with: (.+)$", err, re.M)
    assert found, err
    assert found.group(4) == f"mpiexec -n 2 xprop train --resume {ck} --distributed"
    done, _ = xprop_under_mpiexec(2, *found.group(4).split()[4:])
    assert done.returncode == 0, done.stdout + done.stderr
    assert largest_difference(model, alone) <= FLOAT64_TOLERANCE


@pytest.mark.parametrize("on_disk, said", [
    ([0, 1, 2], r"the checkpoint of epoch 2 is in \S+; resume with: mpiexec -n 2 xprop train --resume"),
    ([0, 1], r"the checkpoint of epoch 2 was not written, the newest in \S+ is of epoch 1; resume from it with: "
             r"mpiexec -n 2 xprop train --resume"),
    ([], r"the checkpoint of epoch 2 was not written and \S+ holds none: nothing was kept; start the run again"),
], ids=["written", "an-older-one", "none"])
def test_the_stop_line_names_only_checkpoints_on_disk(tmp_path, on_disk, said):
    # A rank other than 0 says the line when rank 0, which writes the checkpoints, is stuck
    # in a collective: it must not promise the checkpoint rank 0 did not write.
    from types import SimpleNamespace

    from xprop.cli.train import interrupted
    from xprop.io.checkpoint import checkpoint_name

    for epoch in on_disk:
        (tmp_path / checkpoint_name(epoch)).write_bytes(b"")
    trainer = SimpleNamespace(epoch=2, epochs=5)
    job = SimpleNamespace(trainer=trainer, checkpoint=tmp_path, ranks=2, again=[], outputs=None)
    line = interrupted(job, SimpleNamespace(trainer=None))
    assert re.fullmatch(rf"stopped in epoch 3 of 5; {said}.*", line), line
