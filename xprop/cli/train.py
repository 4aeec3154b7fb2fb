"""xprop train: train a network by mini-batch SGD on a dataset; the defaults are the book's.

    xprop train                                   # [784, 30, 10], 30 epochs, mini-batch 10, eta 3.0, MNIST
    xprop train --dataset fashion-mnist --save model.npz --log metrics.jsonl --plot curves.png
    xprop train --sizes 784 100 10 --cost cross-entropy --init scaled --lmbda 5.0 --eta 0.5
    xprop train --dataset data.npz --hidden 100 --threads 4  # [features, 100, classes], 4 BLAS threads
    xprop train --epochs 60 --checkpoint run1     # a checkpoint after every epoch; then, after
    xprop train --resume run1                     # a crash, a kill or Ctrl-C: go on where it stopped
    mpiexec -n 4 xprop train --distributed ...    # data-parallel over 4 MPI ranks
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy

from ..data import fingerprint as data_fingerprint
from ..data.standardize import Standardization
from ..errors import DivergenceError, InputError, TrainingInterrupted
from ..io.atomic import FileWriteError
from ..io.checkpoint import (Checkpoint, CheckpointDirectoryError, check_directory, checkpoint_name,
                             describe_holder, holding, is_run_file, list_checkpoints)
from ..io.checkpoint import resume as resume_run
from ..train import METRICS, EarlyStopping, ReduceOnPlateau, RunConfig, Trainer
from ..validation import check_backend
from . import options, resume
from .callbacks import EpochReport, MetricsLog

HELP = "train a network on a dataset (the book's settings by default)"
WATCHED = "evaluation_accuracy"  # what --schedule plateau and --early-stopping watch


def add_arguments(parser):
    options.add_data_options(parser)
    parser.add_argument("--limit", type=options.positive_int, default=None, metavar="N",
                        help="train on the first N training examples only (a quick run)")
    parser.add_argument("--standardize", action="store_true",
                        help="feed each feature less its mean, divided by its standard deviation, both "
                             "measured on the training split; --save keeps them in the model file, and "
                             "xprop evaluate and predict apply them (default: features as they are)")
    options.add_network_options(parser, hidden=True)
    group = parser.add_argument_group("training")
    group.add_argument("--epochs", type=options.positive_int, default=30, help="epochs (default: 30)")
    group.add_argument("--batch-size", "--mini-batch-size", type=options.positive_int, default=10, metavar="M",
                       dest="batch_size", help="mini-batch size (default: 10)")
    group.add_argument("--eta", type=options.positive_float, default=3.0, help="learning rate η (default: 3.0)")
    group.add_argument("--lmbda", type=options.non_negative_float, default=0.0,
                       help="L2 regularization λ (ch. 3; default: 0)")
    group.add_argument("--momentum", type=options.non_negative_float, default=0.0,
                       help="momentum coefficient μ in [0, 1) (ch. 3; default: 0, plain SGD)")
    group.add_argument("--schedule", choices=("constant", "plateau"), default="constant",
                       help="learning-rate schedule: constant, or plateau = halve η when validation "
                            "accuracy has not improved for --plateau-patience epochs and stop at "
                            "η/128 (ch. 3; default: constant)")
    group.add_argument("--plateau-patience", type=options.positive_int, default=options.PLATEAU_PATIENCE,
                       metavar="EPOCHS", help="epochs without improvement before --schedule plateau halves η "
                                              f"(default: {options.PLATEAU_PATIENCE})")
    group.add_argument("--early-stopping", type=options.positive_int, default=None, metavar="EPOCHS",
                       help="stop after EPOCHS epochs without better validation accuracy and keep "
                            "the best parameters (ch. 3; default: off)")
    group.add_argument("--monitor", nargs="*", choices=METRICS, default=list(METRICS), metavar="METRIC",
                       help=f"metrics measured after each epoch, any of {', '.join(METRICS)} "
                            "(default: all four; evaluation = the validation split)")
    group = options.add_backend_options(parser, threads=True)
    group.add_argument("--compile", action="store_true",
                       help="run the same SGD step compiled by the backend's library (jax: whole epochs "
                            "under jit; torch: torch.compile, CUDA graphs on a GPU); numpy and "
                            "array_api_strict have nothing to compile and say so")
    group = parser.add_argument_group("output")
    group.add_argument("--save", metavar="PATH", help="save the trained model as .npz to PATH")
    group.add_argument("--log", metavar="PATH", help="write one JSON line of metrics per epoch to PATH")
    group.add_argument("--plot", metavar="PATH", help="draw learning curves into the PNG file PATH "
                       "(needs matplotlib: pip install 'xprop[plot]')")
    group.add_argument("--no-test", dest="test", action="store_false",
                       help="do not measure the trained network on the test split at the end "
                            "(default: measured when the dataset has one)")
    group.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="show a progress bar over each epoch (default: when stderr is a terminal)")
    group = parser.add_argument_group("checkpoints and clusters")
    group.add_argument("--checkpoint", metavar="DIR",
                       help="write a checkpoint into the directory DIR after every epoch (the newest "
                            "two are kept), so that a crash, a kill or Ctrl-C costs at most one epoch")
    group.add_argument("--resume", metavar="DIR",
                       help="continue the run whose checkpoints are in DIR, from the newest, with the "
                            "run's own options; only --epochs (to train longer), --backend, --device, "
                            "where the data are, --save, --log, --plot and --progress may be given anew")
    group.add_argument("--distributed", action="store_true",
                       help="train data-parallel over MPI, launched as mpiexec -n N xprop train "
                            "--distributed ...: every rank takes a share of each mini-batch, rank 0 "
                            "prints and writes the files (needs pip install 'xprop[mpi]')")


@dataclass
class Outputs:
    save: object = None
    log: object = None
    plot: object = None


@dataclass
class Job:
    """A training run, checked and ready: everything made, nothing written yet."""

    args: argparse.Namespace  # the run's options (on --resume: with the run's own where not given)
    outputs: Outputs
    data: object  # the Dataset
    n_training: int
    X: object
    y: object
    trainer: Trainer  # on --resume: in the checkpoint's state
    metadata: dict  # stored in every checkpoint
    checkpoint: Path | None = None  # where the run's checkpoints are (rank 0 writes them)
    saved: resume.Saved | None = None  # the checkpoint resumed from
    root: bool = True  # whether this process prints and writes files (rank 0)
    ranks: int | None = None  # the number of MPI ranks of a --distributed run
    again: list = field(default_factory=list)  # arguments to give again on resume (resume.given_again)
    extras: dict = field(default_factory=dict)  # the network's optional inputs and classes (model_extras)


def run(args, stdout=None, stderr=None):
    # Built in steps that later options plug into: ``prepare`` checks every option, makes
    # the network and the data and the Trainer (resumed from a checkpoint with --resume)
    # and writes nothing; ``train`` gives the Trainer its reports, runs it and writes the
    # model, the log and the curves.
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    with options.limited_threads(args.threads, args.backend):
        if args.distributed:
            from .parallel import run_distributed

            if args.compile:
                raise InputError("--compile does not combine with --distributed yet: a data-parallel step "
                                 "runs eagerly (its Allreduce sits between BP1-BP4 and the update); drop one")
            return run_distributed(args, stdout, stderr, prepare=prepare, train=train,
                                   stops=getattr(args, "stops", None))
        train(prepare(args, stderr), stdout, stderr)
    return 0


def prepare(args, stderr, *, root=True, download=True, strategy=None) -> Job:
    """Check the options, make the network, the data and the Trainer: no file is written.

    With ``root`` False (an MPI rank other than 0) the output files are neither checked
    nor written; with ``download`` False the dataset is never downloaded. ``strategy`` is
    the Trainer's step strategy (default: the local eager step).
    """
    saved, again = None, []
    if args.resume is not None:
        saved = resume.Saved(args.resume)
        given = resume.given_options(add_arguments, getattr(args, "argv", ()))
        resume.check_given(args, saved, given)
        args = resume.resumed_args(args, saved, given)
        again = resume.given_again(args, given, add_arguments)
    outputs = check_outputs(args) if root else Outputs()
    config = run_config(args) if saved is None else None
    check_schedule(args)
    checkpoint = Path(args.checkpoint) if args.checkpoint is not None else saved and saved.directory
    if root and args.checkpoint is not None:
        check_checkpoint_directory(args.checkpoint)
    elif root and saved is not None:  # the run goes on in its own directory: nobody else may be in it
        check_checkpoint_directory(saved.directory, resumed_epoch=saved.epoch)
    if not download:
        args = argparse.Namespace(**{**vars(args), "download": False})
    inferred = saved is None and args.hidden is not None  # --hidden: the layers' widths wait for the data
    network = options.network_from_args(args) if saved is None and not inferred else None
    if args.compile and strategy is None:
        strategy = compiled_strategy(network.backend if network else check_backend(args.backend, args.device),
                                     stderr if root else None)
    data = options.load_data_from_args(args, stderr)
    if inferred:
        args = argparse.Namespace(**{**vars(args), "sizes": options.sizes_from_data(args.hidden, data)})
        network = options.network_from_args(args)
    if root:
        check_not_inputs(outputs, [("the dataset", data.source)])
    training = data.training.head(args.limit) if args.limit else data.training
    options.check_memory(args, len(training), len(data.validation))
    check_fits(args if saved is None else saved.data.network["sizes"], data)
    fingerprint = data_fingerprint(training, data.validation)  # of the data as read: a resume reads them again
    extras = model_extras(data, Standardization.of(training) if args.standardize else None)
    if saved is not None:  # the run goes on with the standardization and class names it was trained with
        extras.update(saved.data.extras)
    if args.standardize:
        standardization = Standardization.from_dict(extras["inputs"])
        data, training = standardization.apply_to(data), standardization.apply(training)
    if saved is None:
        config = config.replace(data=resume.data_source(args, fingerprint))
        evaluation = data.validation.to(network.backend, network.dtype)
        trainer = Trainer.from_config(network, config, evaluation=evaluation,
                                      callbacks=schedule_callbacks(args), strategy=strategy)
    else:
        resume.check_same_classes(saved, data)
        resume.check_same_data(saved, fingerprint, args.dataset)
        trainer = resume_trainer(args, saved, data, strategy)
        network = trainer.network
    X, y = training.to(network.backend, network.dtype)
    return Job(args, outputs, data, len(training), X, y, trainer, resume.metadata(args), checkpoint=checkpoint,
               saved=saved, root=root, again=again, extras=extras)


def train(job: Job, stdout, stderr, *, runner=None, describe=None):
    """Run ``job``'s Trainer with its reports (``runner(trainer, X, y)``, default
    ``trainer.run``; ``describe``: one more line to print first), then write its outputs;
    a Ctrl-C or a divergence ends in one line."""
    args, outputs, trainer = job.args, job.outputs, job.trainer
    with contextlib.ExitStack() as stack:
        if job.root and job.checkpoint is not None:  # one run per directory, before the log is opened
            try:
                stack.enter_context(holding(job.checkpoint))
            except CheckpointDirectoryError as error:
                raise directory_error(job.checkpoint, error) from None
        log = stack.enter_context(open(outputs.log, "w", encoding="utf-8")) if outputs.log else None
        if log is not None:  # a resumed run's log holds the whole history
            for record in trainer.history.records:
                MetricsLog(log).report_epoch(trainer, record)
        if job.root:
            attach_callbacks(job, log=log, stdout=stdout, stderr=stderr)
            print(describe_run(trainer, job.data, job.n_training), file=stdout, flush=True)
            if describe:
                print(describe, file=stdout, flush=True)
            if job.saved is not None:
                print(describe_resume(job), file=stdout, flush=True)
        try:
            with numpy.errstate(over="ignore", invalid="ignore", divide="ignore"):
                history = (runner or Trainer.run)(trainer, job.X, job.y)
        except TrainingInterrupted as stop:
            raise KeyboardInterrupt(interrupted(job, stop)) from None
        except DivergenceError as error:
            raise DivergenceError(diverged(job, error), epoch=error.epoch, trainer=error.trainer,
                                  what=error.what, eta=error.eta, kept_epoch=error.kept_epoch) from None
    if job.root:
        finish(args, outputs, trainer, history, stdout, checkpoint=job.checkpoint, data=job.data,
               extras=job.extras)


def compiled_strategy(backend, stderr):
    """--compile: the backend's compiled step, or the eager one with a line saying why."""
    strategy = backend.compiled_strategy()
    if strategy is None and stderr is not None:
        print(f"xprop: --compile: {backend.name} {backend.eager_reason}; training with the eager step",
              file=stderr, flush=True)
    return strategy


def resume_trainer(args, saved, data, strategy) -> Trainer:
    """The library's resume of the saved run, on the backend and device asked for: the
    schedule and early stopping are rebuilt from the checkpoint, the epochs extended."""
    backend = check_backend(args.backend, args.device)
    evaluation = data.validation.to(backend, saved.data.network["dtype"])
    return resume_run(saved.data.path, evaluation=evaluation, epochs=args.epochs, backend=args.backend,
                      device=args.device, checkpoint=False, saved=saved.data, strategy=strategy)


def describe_resume(job) -> str:
    trainer, saved = job.trainer, job.saved
    if trainer.epoch >= trainer.epochs or trainer.stop:
        left = "nothing is left to train" + ("" if trainer.stop else
                                             f"; give --epochs {trainer.epochs + 1} or more to train on")
    else:
        left = f"training epochs {trainer.epoch + 1} to {trainer.epochs}"
    return f"resuming from {saved.data.path}: {saved.epoch} epochs done, {left}"


def interrupted(job, stop) -> str:
    """The one line of a Ctrl-C: where it stopped, what was kept, how to go on."""
    trainer = stop.trainer or job.trainer
    done = trainer.epoch
    where = f"stopped in epoch {done + 1} of {trainer.epochs}"
    if job.checkpoint is not None:
        # What is on disk, not what should be: under --distributed a rank other than 0 says
        # this line when rank 0, which writes the checkpoints, did not answer (stuck in a
        # collective), and may not have written epoch ``done``'s.
        written = [epoch for epoch, _ in list_checkpoints(job.checkpoint)]
        command = resume.resume_command(job.checkpoint, ranks=job.ranks, again=job.again)
        if done in written:
            return f"{where}; the checkpoint of epoch {done} is in {job.checkpoint}; resume with: {command}"
        if written:
            return (f"{where}; the checkpoint of epoch {done} was not written, the newest in {job.checkpoint} "
                    f"is of epoch {written[-1]}; resume from it with: {command}")
        return (f"{where}; the checkpoint of epoch {done} was not written and {job.checkpoint} holds none: "
                "nothing was kept; start the run again")
    if job.outputs.save and done:
        save_network(trainer.network, job.outputs.save, job.extras)
        return (f"{where}; saved the model of epoch {done} to {job.outputs.save} (without --checkpoint "
                "DIR the run cannot be resumed)")
    return f"{where}; nothing was kept (train with --checkpoint DIR to be able to resume)"


def diverged(job, error) -> str:
    """The one line of a divergence: the epoch, a smaller η, and what was saved."""
    trainer = error.trainer or job.trainer
    what = {"parameters": "the parameters hold NaN or Inf", "cost": "the cost is NaN or Inf"}.get(error.what)
    message = f"training diverged in epoch {error.epoch}" + (f": {what}" if what else "") + (
        f"; eta {error.eta:g} is probably too large: try --eta {error.suggested_eta:g}")
    if job.outputs.save and trainer.epoch:
        save_network(trainer.network, job.outputs.save, job.extras)
        message += f"; saved the last good parameters (epoch {trainer.epoch}) to {job.outputs.save}"
    elif job.outputs.save:
        message += f"; nothing saved to {job.outputs.save}: no epoch ended with finite parameters"
    return message


def save_network(network, path, extras=None):
    """Save the model with its optional parts (``model_extras``)."""
    network.save(path, **(extras or {}))


def model_extras(data, standardization) -> dict:
    """The network's optional parts, as its model file and checkpoints keep them, for a
    network trained on ``data``: the class names of a CSV with text labels, the
    ``standardization`` its inputs need (None: none)."""
    extras = {}
    if standardization is not None:
        extras["inputs"] = standardization.to_dict()
    if data.classes is not None:
        extras["classes"] = list(data.classes)
    return extras


def run_config(args) -> RunConfig:
    """The RunConfig the training options describe (its errors name the arguments as
    Settings, which ``xprop.cli.main`` spells as the flags)."""
    return RunConfig(epochs=args.epochs, batch_size=args.batch_size, eta=args.eta, lmbda=args.lmbda,
                     momentum=args.momentum, monitor=args.monitor, seed=args.seed)


def attach_callbacks(job, *, log, stdout, stderr):
    """Complete the Trainer's callbacks, in order: after schedule and early stopping (made
    with the Trainer by ``prepare``: they may change η or stop, and a checkpoint holds
    their state) the checkpoint of each epoch, then the reports of what the epoch measured
    (so that "epoch N" on screen means its checkpoint is on disk)."""
    if job.checkpoint is not None:
        same = job.saved is not None and job.checkpoint == job.saved.directory
        job.trainer.callbacks.append(Checkpoint(job.checkpoint, metadata=job.metadata,
                                                resumed_epoch=job.saved.epoch if same else None, **job.extras))
    job.trainer.callbacks += report_callbacks(job.args, job.n_training, log=log, stdout=stdout, stderr=stderr)


def schedule_callbacks(args) -> list:
    """The stateful callbacks (their counters are part of a checkpoint)."""
    callbacks = []
    if args.schedule == "plateau":
        callbacks.append(ReduceOnPlateau(patience=args.plateau_patience, metric=WATCHED))
    if args.early_stopping:
        callbacks.append(EarlyStopping(patience=args.early_stopping, metric=WATCHED))
    return callbacks


def report_callbacks(args, n_examples, *, log, stdout, stderr) -> list:
    """The progress bar and epoch lines, and the metrics log."""
    callbacks = [EpochReport(n_examples, stdout=stdout, stderr=stderr, progress=args.progress)]
    if log is not None:
        callbacks.append(MetricsLog(log))
    return callbacks


def check_outputs(args) -> Outputs:
    """Every output path is writable, no output is a symbolic link, none is another output,
    an input or a file of the checkpoint directory, and --plot can draw: checked before
    any work."""
    outputs = Outputs(save=options.check_output_path(args.save, "--save"),
                      log=options.check_output_path(args.log, "--log"),
                      plot=options.check_output_path(args.plot, "--plot"))
    named = [(f"--{key}", path) for key, path in vars(outputs).items() if path is not None]
    for option, path in named:
        if path.is_symlink():  # --save would replace the link, --log write through it: neither
            raise InputError(f"{option} {path}: that is a symbolic link (to {os.readlink(path)}); give the "
                             "path of a file itself: xprop does not write outputs through links")
    for i, (option, path) in enumerate(named):
        for other, other_path in named[i + 1:]:
            if _same(path, other_path):
                raise InputError(f"{option} {path} and {other} {other_path} are the same file: one would "
                                 "overwrite the other; give each output its own path")
    check_not_inputs(outputs, [("the dataset", args.dataset)])
    directory = args.checkpoint if args.checkpoint is not None else args.resume
    if directory is not None:
        for option, path in named:
            if _same(path, directory) or (_same(path.parent if str(path.parent) else ".", directory)
                                          and is_run_file(path.name)):
                raise InputError(f"{option} {path}: that is {'the' if _same(path, directory) else 'a file of the'} "
                                 f"checkpoint directory {directory}, whose checkpoints, temporaries and lock "
                                 "are the run's own; give a path outside them")
    if outputs.plot is not None:
        from ..plotting import require_matplotlib

        require_matplotlib("--plot")
    return outputs


def check_not_inputs(outputs, inputs):
    """No output is one of the ``inputs`` (``(what, path)``; a path that is no file is no
    input): writing it would destroy what the run reads."""
    for what, source in inputs:
        if source is None or not os.path.isfile(source):
            continue
        for key, path in vars(outputs).items():
            if path is not None and _same(path, source):
                raise InputError(f"--{key} {path} is {what} ({source}): writing it would destroy it; "
                                 "give another path")


def _same(path, other) -> bool:
    """Whether two paths name one file (resolved through links; either may not exist yet)."""
    return os.path.realpath(path) == os.path.realpath(other)


def check_schedule(args):
    """--schedule plateau and --early-stopping need the metric they watch to be measured."""
    watchers = [flag for flag, on in (("--schedule plateau", args.schedule == "plateau"),
                                      ("--early-stopping", args.early_stopping)) if on]
    if watchers and WATCHED not in args.monitor:
        raise InputError(f"{' and '.join(watchers)} watch the validation accuracy; add {WATCHED} to --monitor")


def check_checkpoint_directory(directory, *, resumed_epoch=None):
    """The library's check of a --checkpoint directory (or, with ``resumed_epoch``, of the
    directory a --resume goes on in), said in the command line's terms."""
    from .options import check_output_path

    try:
        path = check_directory(directory, resumed_epoch=resumed_epoch)
    except CheckpointDirectoryError as error:
        raise directory_error(directory, error) from None
    check_output_path(path / checkpoint_name(1) if path.is_dir() else path, "--checkpoint")


def directory_error(directory, error) -> InputError:
    """A CheckpointDirectoryError as one line of the command line."""
    flag = "--checkpoint"
    return InputError({
        "file": f"{flag} {directory}: that is a file; give a directory",
        "no parent": f"{flag} {directory}: the folder {error.directory.parent} does not exist; "
                     "create it first",
        "holds": f"{flag} {directory} already holds the checkpoints of a run (up to epoch "
                 f"{error.epoch}); continue it with xprop train --resume {shlex.quote(str(directory))}, "
                 "or give an empty directory: xprop never overwrites checkpoints",
        "locked": f"the checkpoint directory {directory} is in use by another run "
                  f"({describe_holder(error.holder)}); wait for it to end, or give another directory: "
                  "two runs in one directory would mix their checkpoints",
    }[error.problem])


def check_fits(args_or_sizes, data):
    """The network's input and output layers (``--sizes``, or the resumed run's) match the dataset."""
    sizes = getattr(args_or_sizes, "sizes", args_or_sizes)
    if sizes[0] != data.n_features:
        raise InputError(f"the network's input layer has {sizes[0]} neurons but {data.name} has "
                         f"{data.n_features} features; pass --sizes {data.n_features} ... or --hidden")
    if sizes[-1] != data.n_classes:
        raise InputError(f"the network's output layer has {sizes[-1]} neurons but {data.name} has "
                         f"{data.n_classes} classes; pass --sizes ... {data.n_classes} or --hidden")


def describe_run(trainer, data, n_training):
    network, config = trainer.network, trainer.config
    activations = "/".join(dict.fromkeys(a.name for a in network.activations))
    return (f"training {network.sizes} {activations} {network.cost.name} (init {network.init}) on "
            f"{data.name}: {n_training:,} training, {len(data.validation):,} validation examples; "
            f"{config.epochs} epochs, mini-batch {config.batch_size}, eta {config.eta:g}"
            + (f", lmbda {config.lmbda:g}" if config.lmbda else "")
            + (f", momentum {config.momentum:g}" if config.momentum else "")
            + f"; {network.backend.name} on {network.backend.device}, {network.dtype}"
            + (f", {trainer.strategy.name} steps" if getattr(trainer.strategy, "name", "eager") != "eager" else ""))


def describe_test(network, test) -> str:
    """The one line of the trained network's accuracy and cost on the test split."""
    with numpy.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = network.evaluate(*test.to(network.backend, network.dtype))
    return (f"test accuracy {result['accuracy']:.2%} ({result['correct']:,}/{result['n']:,}), "
            f"cost {result['cost']:.4f}")


def finish(args, outputs, trainer, history, stdout, *, checkpoint=None, data=None, extras=None):
    """The summary lines (the test split's accuracy and cost unless --no-test or ``data``
    has none), then the model and the learning curves. A model that cannot be
    written (a full disk) is one line that says what is intact: the file there before,
    and the run's ``checkpoint`` directory, from which a resume writes the outputs again."""
    network, config = trainer.network, trainer.config
    accuracy = history.column("evaluation_accuracy")
    if history.stopped_early:
        print(f"stopped early: {history.stopped_early}", file=stdout)
    if any(a is not None for a in accuracy):
        best = max(range(len(accuracy)), key=lambda i: accuracy[i])
        print(f"best validation accuracy {accuracy[best]:.2%} at epoch {best + 1}", file=stdout)
    if getattr(args, "test", True) and data is not None and len(data.test):
        print(describe_test(network, data.test), file=stdout)
    if outputs.save:
        try:
            save_network(network, outputs.save, extras)
        except FileWriteError as error:
            kept = (f"; the run's checkpoints in {checkpoint} are intact: free some space, then write the "
                    f"outputs with xprop train --resume {shlex.quote(str(checkpoint))}" if checkpoint else "")
            raise FileWriteError(error.path, error.errno, error.strerror,
                                 note=f"whatever {error.path} held before is intact{kept}") from None
        restored = next((c.restored_epoch for c in trainer.callbacks
                         if isinstance(c, EarlyStopping) and c.restored_epoch is not None), None)
        kept = f" (the best parameters, of epoch {restored})" if restored is not None else ""
        print(f"saved the model{kept} to {outputs.save}", file=stdout)
    if outputs.log:
        print(f"wrote the metrics to {outputs.log}", file=stdout)
    if outputs.plot:
        from ..plotting import plot_history

        title = (f"{network.sizes} {network.cost.name} on {args.dataset}: eta {config.eta:g}, mini-batch "
                 f"{config.batch_size}" + (f", lmbda {config.lmbda:g}" if config.lmbda else ""))
        plot_history(history, outputs.plot, title=title)
        print(f"drew the learning curves in {outputs.plot}", file=stdout)
    stdout.flush()
