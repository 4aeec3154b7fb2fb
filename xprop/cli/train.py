"""xprop train: train a network by mini-batch SGD on a dataset; the defaults are the book's.

    xprop train                                   # [784, 30, 10], 30 epochs, mini-batch 10, eta 3.0, MNIST
    xprop train --dataset fashion-mnist --save model.npz --log metrics.jsonl --plot curves.png
    xprop train --sizes 784 100 10 --cost cross-entropy --init scaled --lmbda 5.0 --eta 0.5
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from dataclasses import dataclass

import numpy

from ..errors import InputError
from ..training import METRICS, EarlyStopping, ReduceOnPlateau, Trainer
from . import options
from .callbacks import EpochReport, MetricsLog

HELP = "train a network on a dataset (the book's settings by default)"
WATCHED = "evaluation_accuracy"  # what --schedule plateau and --early-stopping watch


def add_arguments(parser):
    options.add_data_options(parser)
    parser.add_argument("--limit", type=options.positive_int, default=None, metavar="N",
                        help="train on the first N training examples only (a quick run)")
    options.add_network_options(parser)
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
    group.add_argument("--plateau-patience", type=options.positive_int, default=10, metavar="EPOCHS",
                       help="epochs without improvement before --schedule plateau halves η (default: 10)")
    group.add_argument("--early-stopping", type=options.positive_int, default=None, metavar="EPOCHS",
                       help="stop after EPOCHS epochs without better validation accuracy and keep "
                            "the best parameters (ch. 3; default: off)")
    group.add_argument("--monitor", nargs="*", choices=METRICS, default=list(METRICS), metavar="METRIC",
                       help=f"metrics measured after each epoch, any of {', '.join(METRICS)} "
                            "(default: all four; evaluation = the validation split)")
    options.add_backend_options(parser)
    group = parser.add_argument_group("output")
    group.add_argument("--save", metavar="PATH", help="save the trained model as .npz to PATH")
    group.add_argument("--log", metavar="PATH", help="write one JSON line of metrics per epoch to PATH")
    group.add_argument("--plot", metavar="PATH", help="draw learning curves into the PNG file PATH "
                       "(needs matplotlib: pip install 'xprop[plot]')")
    group.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="show a progress bar over each epoch (default: when stderr is a terminal)")


@dataclass
class Outputs:
    save: object = None
    log: object = None
    plot: object = None


def run(args, stdout=None, stderr=None):
    # Built in steps that later options plug into: the outputs are checked, the network and
    # the data are made, the Trainer gets its callbacks from build_callbacks, and after
    # training the model, the log and the curves are written.
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    outputs = check_outputs(args)
    check_options(args)
    network = options.network_from_args(args)
    data = options.load_data_from_args(args, stderr)
    training = data.training.head(args.limit) if args.limit else data.training
    check_fits(args, data)
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(open(outputs.log, "w", encoding="utf-8")) if outputs.log else None
        callbacks = build_callbacks(args, len(training), log=log, stdout=stdout, stderr=stderr)
        X, y = training.to(network.backend, network.dtype)
        evaluation = data.validation.to(network.backend, network.dtype)
        trainer = make_trainer(args, network, evaluation, callbacks)
        print(describe_run(args, network, data, len(training)), file=stdout, flush=True)
        with numpy.errstate(over="ignore", invalid="ignore", divide="ignore"):
            history = trainer.run(X, y)  # a divergence is reported once, as a DivergenceError
    finish(args, outputs, network, history, stdout)
    return 0


def make_trainer(args, network, evaluation, callbacks) -> Trainer:
    """The Trainer the training options describe, evaluating on the validation split."""
    return Trainer(network, epochs=args.epochs, batch_size=args.batch_size, eta=args.eta,
                   evaluation=evaluation, lmbda=args.lmbda, momentum=args.momentum,
                   monitor=args.monitor, seed=args.seed, callbacks=callbacks)


def build_callbacks(args, n_examples, *, log, stdout, stderr) -> list:
    """The Trainer's callbacks, in order: schedule and early stopping first (they may change
    η or stop), then the reports of what the epoch measured."""
    callbacks = []
    if args.schedule == "plateau":
        callbacks.append(ReduceOnPlateau(patience=args.plateau_patience, metric=WATCHED))
    if args.early_stopping:
        callbacks.append(EarlyStopping(patience=args.early_stopping, metric=WATCHED))
    callbacks.append(EpochReport(n_examples, stdout=stdout, stderr=stderr, progress=args.progress))
    if log is not None:
        callbacks.append(MetricsLog(log))
    return callbacks


def check_outputs(args) -> Outputs:
    """Every output path is writable and --plot can draw: checked before any work."""
    outputs = Outputs(save=options.check_output_path(args.save, "--save"),
                      log=options.check_output_path(args.log, "--log"),
                      plot=options.check_output_path(args.plot, "--plot"))
    if outputs.plot is not None:
        from ..plotting import require_matplotlib

        require_matplotlib()
    return outputs


def check_options(args):
    if args.momentum >= 1:
        raise InputError(f"--momentum must be in [0, 1), got {args.momentum}")
    watchers = [flag for flag, on in (("--schedule plateau", args.schedule == "plateau"),
                                      ("--early-stopping", args.early_stopping)) if on]
    if watchers and WATCHED not in args.monitor:
        raise InputError(f"{' and '.join(watchers)} watch the validation accuracy; add {WATCHED} to --monitor")


def check_fits(args, data):
    """The network's input and output layers match the dataset."""
    if args.sizes[0] != data.n_features:
        raise InputError(f"the network's input layer has {args.sizes[0]} neurons but {data.name} images have "
                         f"{data.n_features} pixels; pass --sizes {data.n_features} ... ")
    if args.sizes[-1] != data.n_classes:
        raise InputError(f"the network's output layer has {args.sizes[-1]} neurons but {data.name} has "
                         f"{data.n_classes} classes; pass --sizes ... {data.n_classes}")


def describe_run(args, network, data, n_training):
    activations = "/".join(dict.fromkeys(a.name for a in network.activations))
    return (f"training {network.sizes} {activations} {network.cost.name} (init {network.init}) on "
            f"{data.name}: {n_training:,} training, {len(data.validation):,} validation examples; "
            f"{args.epochs} epochs, mini-batch {args.batch_size}, eta {args.eta:g}"
            + (f", lmbda {args.lmbda:g}" if args.lmbda else "")
            + (f", momentum {args.momentum:g}" if args.momentum else "")
            + f"; {network.backend.name} on {network.backend.device}, {network.dtype}")


def finish(args, outputs, network, history, stdout):
    """The summary line, then the model and the learning curves."""
    accuracy = history.column("evaluation_accuracy")
    if history.stopped_early:
        print(f"stopped early: {history.stopped_early}", file=stdout)
    if any(a is not None for a in accuracy):
        best = max(range(len(accuracy)), key=lambda i: accuracy[i])
        print(f"best validation accuracy {accuracy[best]:.2%} at epoch {best + 1}", file=stdout)
    if outputs.save:
        from ..modelfile import save_model

        save_model(network, outputs.save)
        print(f"saved the model to {outputs.save}", file=stdout)
    if outputs.log:
        print(f"wrote the metrics to {outputs.log}", file=stdout)
    if outputs.plot:
        from ..plotting import plot_history

        title = (f"{network.sizes} {network.cost.name} on {args.dataset}: eta {args.eta:g}, mini-batch "
                 f"{args.batch_size}" + (f", lmbda {args.lmbda:g}" if args.lmbda else ""))
        plot_history(history, outputs.plot, title=title)
        print(f"drew the learning curves in {outputs.plot}", file=stdout)
    stdout.flush()
