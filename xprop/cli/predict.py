"""xprop predict: a saved model's predicted class (and probabilities) for each example.

    xprop predict model.npz new.csv --out predictions.csv          # a CSV of features
    xprop predict model.npz fashion-mnist --split test --out p.npy --proba
    xprop predict run1/ data.csv                                    # to stdout, as CSV

MODEL is a model file, a checkpoint file or a checkpoint directory, as for ``xprop
evaluate``. DATA is a dataset (a name or path, of which --split is predicted) or a CSV
file of features: its rows hold the model's input features, and optionally one more
column, the label (--label-column, default the last), which is ignored. A model trained
with --standardize gets its inputs standardized as in training.

The output (--out, or stdout) is CSV or, for a PATH ending in .npy, a NumPy array. CSV:
a header, then one row per example: ``prediction`` (the class name when the model keeps
names, else the class number), and with --proba one ``p_CLASS`` column per output neuron.
.npy: the class numbers, int64 (n,); with --proba the probabilities, float32 (n, outputs).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy

from ..data import SPLITS, Split
from ..data.csv import read_csv
from ..errors import InputError
from . import options
from .saved import load_saved

HELP = "write a saved model's predictions for a dataset split or a CSV of features"
BATCH = 10_000  # examples fed at once


def add_arguments(parser):
    parser.add_argument("model", metavar="MODEL",
                        help="a model saved by xprop train --save, a checkpoint file, or a --checkpoint directory")
    parser.add_argument("data", metavar="DATA",
                        help="a CSV file of features (with or without a label column), or a dataset's name or path")
    parser.add_argument("--split", choices=SPLITS, default="test", help="a dataset's split to predict (default: test)")
    parser.add_argument("--label-column", metavar="NAME|INDEX", default=None,
                        help="CSV: the label column, ignored when present (default: the last)")
    parser.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                        help="CSV: whether the first row names the columns (default: found by itself)")
    parser.add_argument("--out", metavar="PATH", default=None,
                        help="write the predictions to PATH: .csv or .npy (default: CSV on stdout)")
    parser.add_argument("--proba", action="store_true",
                        help="also the class probabilities (a softmax or sigmoid output layer)")
    parser.add_argument("--data-dir", dest="data_dir", metavar="DIR", default=None,
                        help="look for a named dataset's files in DIR first")
    options.add_backend_options(parser, dtype=None, threads=True)


def run(args, stdout=None, stderr=None):
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    out = check_out(args.out, args.data)
    with options.limited_threads(args.threads, args.backend):
        model = load_saved(args.model, backend=args.backend, device=args.device, dtype=args.dtype)
        check_proba(args.proba, model.network)
        images = features(args, model.network.sizes[0], stderr)
        labels, proba = predicted(model, images, args.proba)
    if out is None:
        write_csv(stdout, labels, proba, model.classes)
    elif out.suffix == ".npy":
        from ..io.atomic import atomic_write

        with atomic_write(out) as file:
            numpy.save(file, proba if args.proba else labels)
    else:
        from ..io.atomic import atomic_write

        with atomic_write(out, mode="w") as file:
            write_csv(file, labels, proba, model.classes)
    if out is not None:
        print(f"wrote {len(labels):,} predictions to {out}", file=stdout)
    return 0


def check_out(path, data) -> Path | None:
    """--out is a writable .csv or .npy file, not the input."""
    if path is None:
        return None
    if Path(path).suffix not in (".csv", ".npy"):
        raise InputError(f"--out {path}: give a file name ending in .csv or .npy")
    out = options.check_output_path(path, "--out")
    if Path(data).is_file() and Path(data).resolve() == out.resolve():
        raise InputError(f"--out {path} is the data ({data}): writing it would destroy it; give another path")
    return out


def check_proba(proba, network):
    output = network.activations[-1].name
    if proba and output not in ("softmax", "sigmoid"):
        raise InputError(f"--proba needs a softmax or sigmoid output layer; this model's is {output}: drop --proba")


def features(args, n_inputs, stderr) -> Split:
    """The examples to predict: a CSV's feature columns, or a dataset's split."""
    if str(args.data).lower().endswith(".csv"):
        if not Path(args.data).is_file():
            raise InputError(f"{args.data}: no such CSV file")
        table = read_csv(args.data, label_column=args.label_column, header=args.header)
        width = table.features.shape[1] + 1  # the file's columns
        if width == n_inputs:  # no label column: the label read was the last feature
            table = read_csv(args.data, header=table.names is not None, labelled=False)
        elif width != n_inputs + 1:
            raise InputError(f"{args.data} has {width} columns, but the model takes {n_inputs} features "
                             f"(give {n_inputs} columns, or {n_inputs + 1} with a label column)")
        return Split(table.features, numpy.zeros(len(table.features), numpy.int64))
    from ..data import load_dataset

    data = load_dataset(args.data, data_dir=args.data_dir, splits=(args.split,), log=stderr)
    split = data.split(args.split)
    if not len(split):
        raise InputError(f"{data.name} has no {args.split} split; choose another --split")
    if data.n_features != n_inputs:
        raise InputError(f"the model takes {n_inputs} features but {data.name} examples have {data.n_features}; "
                         "predict on data like those it was trained on")
    return split


def predicted(model, split, proba):
    """The class numbers (int64 (n,)) and, with ``proba``, the probabilities (float32)."""
    network = model.network
    split = model.fed(split)
    labels, probabilities = [], []
    for start in range(0, len(split), BATCH):
        X = network.backend.from_host(split.images[start:start + BATCH], network.dtype)
        labels.append(network.backend.to_host(network.predict(X)).astype(numpy.int64))
        if proba:
            probabilities.append(network.backend.to_host(network.predict_proba(X)).astype(numpy.float32))
    return numpy.concatenate(labels), numpy.concatenate(probabilities) if proba else None


def write_csv(file, labels, proba, classes):
    """A header, then one row per example: the prediction, the probabilities."""
    outputs = proba.shape[1] if proba is not None else 0
    names = [classes[i] if classes is not None and i < len(classes) else str(i) for i in range(outputs)]
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(["prediction"] + ([f"p_{name}" for name in names] if proba is not None else []))
    for i, label in enumerate(labels):
        shown = classes[label] if classes is not None and label < len(classes) else int(label)
        writer.writerow([shown] + ([f"{p:.6g}" for p in proba[i]] if proba is not None else []))
