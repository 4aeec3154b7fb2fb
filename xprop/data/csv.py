"""CSV files of the user's own data: one example a row, number columns and a label column.

    x1,x2,x3,species          <- a header (found by itself, or --header / --no-header)
    5.1,3.5,1.4,setosa
    6.2,2.9,4.3,versicolor

The label column is the last unless named (``label_column``: a header's name, or an
index, negative from the end). Labels that are all non-negative integers are the class
numbers themselves; otherwise each distinct text is a class, numbered in sorted order,
and the names are kept (``Dataset.classes``) so that predictions can be written as
the names again. Features are taken as they are (any range; no [0, 1] check as for
images); every value must be a finite number. A file that breaks a rule is refused by
one DataError naming the line and the column.

The last ``validation_size`` rows are held out for validation, as for the other formats;
the test split is a second CSV file of the same columns (``test_path``) or absent.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass

import numpy

from .dataset import Dataset, Split, holdout
from .errors import DataError


@dataclass(frozen=True)
class Table:
    """A CSV file's rows: ``features`` float32 (n, f), ``labels`` the label column's texts,
    ``lines`` the line number of each row (for messages), ``names`` the header or None."""

    features: numpy.ndarray
    labels: list
    lines: list
    names: list | None


def read_csv(path, *, label_column=None, header=None, labelled=True) -> Table:
    """The rows of the CSV file ``path`` (see the module's docstring); ``header`` True,
    False or None (found by itself: the first row is a header when one of its feature
    fields is not a number). Without ``labelled`` every column is a feature."""
    with open(path, newline="", encoding="utf-8-sig") as file:
        rows = [(number, row) for number, row in enumerate(csv.reader(file), start=1) if row]
    if not rows:
        raise DataError(f"{path}: the file is empty; give a CSV file with one example a row")
    first = rows[0][1]
    if header is None:
        guess = _label_index(path, label_column, first, None, probe=True) if labelled else None
        header = any(not _is_number(text) for i, text in enumerate(first) if i != guess)
    names = [name.strip() for name in first] if header else None
    body = rows[1:] if header else rows
    if not body:
        raise DataError(f"{path}: no rows below the header; give at least one example")
    width = len(first)
    label = _label_index(path, label_column, first, names) if labelled else None
    if width < 1 + labelled:
        raise DataError(f"{path}: rows have {width} column; give at least one feature and the label")
    keep = [i for i in range(width) if i != label]
    features = numpy.empty((len(body), len(keep)), numpy.float32)
    for r, (number, row) in enumerate(body):
        if len(row) != width:
            first_row = "the header" if header else f"line {rows[0][0]}"
            raise DataError(f"{path} line {number}: {len(row)} fields, but {first_row} has {width}; "
                            "every row needs the same columns")
        for c, i in enumerate(keep):
            text = row[i].strip()
            try:
                value = float(text)
            except ValueError:
                value = None
            if value is None or not math.isfinite(value):
                column = repr(names[i]) if names else f"{i + 1}"
                raise DataError(f"{path} line {number}, column {column}: {text!r} is not a finite number; "
                                "features must be numbers (fix or drop the row)")
            features[r, c] = value
    labels = [row[label].strip() for _, row in body] if labelled else []
    return Table(features, labels, [n for n, _ in body], names)


def read_csv_dataset(path, *, label_column=None, header=None, test_path=None, validation_size,
                     limit=None) -> Dataset:
    """The training and validation splits of the CSV file ``path`` (the last
    ``validation_size`` rows validate), the test split from ``test_path`` (same columns;
    empty when None), the first ``limit`` training rows only when given."""
    table = read_csv(path, label_column=label_column, header=header)
    classes = _classes(table)
    labels = _labels(path, table, classes)
    cut = holdout(len(labels), validation_size, path)
    training = Split(table.features[:cut], labels[:cut])
    if limit is not None:
        training = training.head(limit)
    validation = Split(table.features[cut:], labels[cut:])
    if test_path is None:
        test = Split(numpy.zeros((0, table.features.shape[1]), numpy.float32), numpy.zeros(0, numpy.int64))
    else:
        other = read_csv(test_path, label_column=label_column, header=header)
        if other.features.shape[1] != table.features.shape[1]:
            raise DataError(f"{test_path}: {other.features.shape[1]} features, but {path} has "
                            f"{table.features.shape[1]}; the test file needs the same columns")
        test = Split(other.features, _labels(test_path, other, classes))
    name = str(path).replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".csv")
    return Dataset(name, str(path), training, validation, test, classes=classes)


def _classes(table) -> tuple | None:
    """None when the labels are class numbers; otherwise the sorted distinct texts."""
    if all(text.isdigit() for text in table.labels):
        return None
    return tuple(sorted(set(table.labels)))


def _labels(path, table, classes) -> numpy.ndarray:
    """The class number of every row, int64; a text unknown to ``classes`` names its line."""
    if classes is None:
        bad = next((i for i, text in enumerate(table.labels) if not text.isdigit()), None)
        if bad is not None:
            raise DataError(f"{path} line {table.lines[bad]}: label {table.labels[bad]!r} is not a class "
                            "number, but the training file's labels are; use the same kind of labels")
        return numpy.array([int(text) for text in table.labels], numpy.int64)
    index = {name: i for i, name in enumerate(classes)}
    bad = next((i for i, text in enumerate(table.labels) if text not in index), None)
    if bad is not None:
        raise DataError(f"{path} line {table.lines[bad]}: label {table.labels[bad]!r} is not one of the "
                        f"training file's classes ({', '.join(classes[:10])}{', ...' if len(classes) > 10 else ''})")
    return numpy.array([index[text] for text in table.labels], numpy.int64)


def _label_index(path, label_column, first, names, *, probe=False):
    """The label column's index in rows like ``first`` (``label_column``: None for the
    last, an index, or a header's name); with ``probe`` a name not yet resolvable is None."""
    width = len(first)
    if label_column is None:
        return width - 1
    text = str(label_column)
    if text.lstrip("-").isdigit():
        index = int(text)
        if not -width <= index < width:
            raise DataError(f"{path}: --label-column {index} is out of range: the rows have {width} columns "
                            f"(0 to {width - 1}, or -1 for the last)")
        return index % width
    if probe:
        return next((i for i, name in enumerate(first) if name.strip() == text), None)
    if names is None:
        raise DataError(f"{path}: --label-column {text!r} names a column, but the file has no header; "
                        "give the column's index, or --header if the first row is one")
    if text not in names:
        raise DataError(f"{path}: no column {text!r} in the header ({', '.join(names)}); "
                        "give one of those names or an index")
    return names.index(text)


def _is_number(text) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
