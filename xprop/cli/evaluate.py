"""xprop evaluate: the accuracy and cost of a saved model on a dataset split, on any backend.

    xprop evaluate model.npz --dataset fashion-mnist               # the test split, numpy
    xprop evaluate model.npz --dataset fashion-mnist --split validation --backend torch
    xprop evaluate run1/ --dataset fashion-mnist                   # a run's newest checkpoint

MODEL is a model file (``xprop train --save``), a checkpoint file, or a checkpoint
directory (``xprop train --checkpoint``), whose newest checkpoint is evaluated.
"""

from __future__ import annotations

import json
import sys

from ..data import SPLITS
from ..errors import InputError
from ..io.checkpoint import find_checkpoint
from ..io.modelfile import load_model
from . import options

HELP = "accuracy and cost of a saved model on a dataset split"


def add_arguments(parser):
    parser.add_argument("model", metavar="MODEL",
                        help="a model saved by xprop train --save, a checkpoint file, or a --checkpoint "
                             "directory (its newest checkpoint)")
    options.add_data_options(parser)
    parser.add_argument("--split", choices=SPLITS, default="test", help="which split (default: test)")
    options.add_backend_options(parser, dtype=None)
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")


def run(args, stdout=None, stderr=None):
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    network = load_model(find_checkpoint(args.model), backend=args.backend, device=args.device,
                         dtype=args.dtype)
    data = options.load_data_from_args(args, stderr, splits=(args.split,))  # no validation unless asked
    split = data.split(args.split)
    if data.n_features != network.sizes[0] or data.n_classes > network.sizes[-1]:
        raise InputError(f"the model ({network.sizes[0]} inputs, {network.sizes[-1]} outputs) does not fit "
                         f"{data.name} ({data.n_features} pixels, {data.n_classes} classes); evaluate it "
                         "on the dataset it was trained for")
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
