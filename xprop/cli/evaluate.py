"""xprop evaluate: the accuracy and cost of a saved model on a dataset split, on any backend.

    xprop evaluate model.npz --dataset fashion-mnist               # the test split, numpy
    xprop evaluate model.npz --dataset fashion-mnist --split validation --backend torch
    xprop evaluate run1/ --dataset fashion-mnist                   # a run's newest checkpoint

MODEL is a model file (``xprop train --save``), a checkpoint file, or a checkpoint
directory (``xprop train --checkpoint``), whose newest checkpoint is evaluated. A model
trained with --standardize gets its inputs standardized as in training; a CSV's text
labels are matched to the model's class names, and data labelled the other way than the
model's classes (names for class numbers, or numbers for names) are refused.
"""

from __future__ import annotations

import json
import sys

from ..data import SPLITS
from ..errors import InputError
from . import options
from .saved import load_saved

HELP = "accuracy and cost of a saved model on a dataset split"


def add_arguments(parser):
    parser.add_argument("model", metavar="MODEL",
                        help="a model saved by xprop train --save, a checkpoint file, or a --checkpoint "
                             "directory (its newest checkpoint)")
    options.add_data_options(parser)
    parser.add_argument("--split", choices=SPLITS, default="test", help="which split (default: test)")
    options.add_backend_options(parser, dtype=None, threads=True)
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")


def run(args, stdout=None, stderr=None):
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    with options.limited_threads(args.threads, args.backend):
        return _evaluate(args, stdout, stderr)


def _evaluate(args, stdout, stderr):
    model = load_saved(args.model, backend=args.backend, device=args.device, dtype=args.dtype)
    network = model.network
    data = options.load_data_from_args(args, stderr, splits=(args.split,))  # no validation unless asked
    split = data.split(args.split)
    if not len(split):
        raise InputError(f"{data.name} has no {args.split} split; give a CSV dataset its test file with "
                         "--test-data PATH, or choose --split validation")
    if data.n_features != network.sizes[0] or data.n_classes > network.sizes[-1]:
        raise InputError(f"the model ({network.sizes[0]} inputs, {network.sizes[-1]} outputs) does not fit "
                         f"{data.name} ({data.n_features} features, {data.n_classes} classes); evaluate it "
                         "on the dataset it was trained for")
    split = model.relabeled(model.fed(split), data.classes, data.source)
    X, y = split.to(network.backend, network.dtype)
    result = network.evaluate(X, y)
    if args.json:
        print(json.dumps({"model": str(args.model), "dataset": data.name, "split": args.split,
                          "backend": network.backend.name, "device": str(network.backend.device),
                          "dtype": network.dtype, **result}), file=stdout)
    else:
        print(f"{data.name} {args.split}: accuracy {result['accuracy']:.2%} ({result['correct']:,}/"
              f"{result['n']:,}), cost {result['cost']:.4f}  [{network.sizes}, {network.backend.name} "
              f"on {network.backend.device}, {network.dtype}]", file=stdout)
    return 0
