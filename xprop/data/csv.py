"""CSV files of the user's own data: one example a row, number columns and a label column.

    x1,x2,x3,species          <- a header (found by itself, or header=True / False)
    5.1,3.5,1.4,setosa
    6.2,2.9,4.3,versicolor

The label column is the last unless named (``label_column``: a header's name, or an
index, negative from the end). Every row needs a label: a blank one is refused. Labels
that are all whole numbers >= 0, however written (``1``, ``1.0``: pandas writes a float
column so), are the class numbers themselves. Whole numbers with a negative among them
(``-1``, ``1``) are classes by name, numbered in numeric order, each named by its integer
(``1.0`` is class ``1``). A number that is not whole (``0.5``, ``inf``) among number labels
is refused: it is a measurement, not a class. When some label is not a number, each
distinct text is a class, numbered in sorted order (``1`` and ``1.0`` are then two texts).
The names are kept (``Dataset.classes``) so that predictions can be written as the names
again. Features are taken as they are (any range; no [0, 1] check
as for images); every value must be a finite number. A file that breaks a rule is
refused by one DataError naming the line and the column.

Whether the first row is a header, when not said (``header`` None), is decided by the
first rule that applies:

1. one of its feature fields is not a number: a header (``x1,x2,x3,species``);
2. its label field is a text, not blank, while every other row's label is a number: a
   header (``0,1,2,3,target``, pandas' column numbers and a named label column);
3. it is exactly the column numbers ``0,1,...,n-1`` (pandas' header of an unnamed
   frame, ``pd.DataFrame(np.c_[X, y]).to_csv(path, index=False)``): a header when no
   other row has the label it would give (the label column's number); when one does, it
   could as well be an example, and the file is refused, asking for ``header``;
4. otherwise it is an example: every field a number, or a text label among text labels.

The last ``validation_size`` rows are held out for validation, as for the other formats;
the test split is a second CSV file of the same columns (``test_path``) or absent.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass

import numpy

from .dataset import Dataset, Split, holdout
from ..errors import Setting
from .errors import DataError


#: the largest class number a label may write: labels travel to the devices as int32
MAX_CLASS = 2**31 - 1


@dataclass(frozen=True)
class Table:
    """A CSV file's rows: ``features`` float32 (n, f), ``labels`` the label column's texts,
    ``lines`` the line number of each row (for messages), ``names`` the header or None,
    ``label`` the label column's index (None without one)."""

    features: numpy.ndarray
    labels: list
    lines: list
    names: list | None
    label: int | None = None

    def where(self, path, row, column) -> str:
        """``path line N, column C`` of the ``row``-th row's field ``column``, for messages
        (the column by its header's name, else by its number from 1)."""
        return f"{path} line {self.lines[row]}, column {_column(self.names, column)}"


def read_csv(path, *, label_column=None, header=None, labelled=True) -> Table:
    """The rows of the CSV file ``path`` (see the module's docstring); ``header`` True,
    False or None (found by itself, by the module docstring's rule). Without
    ``labelled`` every column is a feature."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            rows = [(number, row) for number, row in enumerate(csv.reader(file), start=1) if row]
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a text file in UTF-8 (byte {exc.start} is not); "
                        "give a CSV file of text") from None
    except csv.Error as exc:
        raise DataError(f"{path}: not a CSV file ({exc}); give a CSV file of text") from None
    if not rows:
        raise DataError(f"{path}: the file is empty; give a CSV file with one example a row")
    first = rows[0][1]
    if header is None:
        header = _is_header(path, rows, label_column, labelled)
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
            value = _number(text)
            if value is None or not math.isfinite(value):
                raise DataError(f"{path} line {number}, column {_column(names, i)}: {text!r} is not a finite "
                                "number; features must be numbers (fix or drop the row)")
            features[r, c] = value
    labels = [row[label].strip() for _, row in body] if labelled else []
    return Table(features, labels, [n for n, _ in body], names, label)


def read_csv_dataset(path, *, label_column=None, header=None, test_path=None, validation_size,
                     limit=None) -> Dataset:
    """The training and validation splits of the CSV file ``path`` (the last
    ``validation_size`` rows validate), the test split from ``test_path`` (same columns;
    empty when None), the first ``limit`` training rows only when given."""
    table = read_csv(path, label_column=label_column, header=header)
    classes = _classes(table)
    labels = _labels(path, table, classes, training=None)
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
        test = Split(other.features, _labels(test_path, other, classes, training=path))
    name = str(path).replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".csv")
    return Dataset(name, str(path), training, validation, test, classes=classes)


def _classes(table) -> tuple | None:
    """None when the labels are class numbers (or numbers ``_labels`` refuses); the
    integers' names in numeric order when they are whole numbers with a negative among
    them; otherwise the sorted distinct texts."""
    if not all(_number(text) is not None for text in table.labels):
        return tuple(sorted(set(table.labels)))
    wholes = [_whole(text) for text in table.labels]
    if None in wholes or min(wholes, default=0) >= 0:
        return None
    return tuple(str(value) for value in sorted(set(wholes)))


def _names(labels, classes) -> list:
    """The labels as ``classes`` name them: whole numbers by their integers (``1.0`` ->
    ``1``) where the classes are whole numbers, the texts themselves otherwise."""
    if not all(_whole(name) is not None for name in classes):
        return list(labels)
    return [text if (value := _whole(text)) is None else str(value) for text in labels]


def _labels(path, table, classes, *, training) -> numpy.ndarray:
    """The class number of every row, int64. Refused, naming the line and the column: a
    blank label; with ``classes`` None, a label that is no class number; else a text
    unknown to ``classes``. ``training`` is the training file when ``table`` is another."""
    bad = next((i for i, text in enumerate(table.labels) if not text), None)
    if bad is not None:
        raise DataError(f"{table.where(path, bad, table.label)}: the label is blank; every example needs "
                        "its class (fix or drop the row)")
    if classes is None:
        numbers = [_class_number(text) for text in table.labels]
        bad = next((i for i, text in enumerate(table.labels) if _whole(text) is None),  # a fraction first
                   next((i for i, number in enumerate(numbers) if number is None), None))
        if bad is not None:
            kind = (f"but the labels of {training} are class numbers (whole numbers >= 0); use the same kind "
                    "of labels" if training else "and the others are numbers: a class is a whole number "
                    "(0, 1, 2 or -1, 1) or a name; a fraction or infinity is a measurement, not a class")
            raise DataError(f"{table.where(path, bad, table.label)}: label {table.labels[bad]!r} is not a class "
                            f"number, {kind}")
        big = next((i for i, number in enumerate(numbers) if number > MAX_CLASS), None)
        if big is not None:  # labels go to the devices as int32 (Split.to)
            raise DataError(f"{table.where(path, big, table.label)}: label "
                            f"{table.labels[big]!r} is a class number beyond {MAX_CLASS:,}, the largest a "
                            "network's labels hold; number the classes 0, 1, 2, ... or name them with words")
        return numpy.array(numbers, numpy.int64)
    index = {name: i for i, name in enumerate(classes)}
    names = _names(table.labels, classes)
    bad = next((i for i, name in enumerate(names) if name not in index), None)
    if bad is not None:
        raise DataError(f"{table.where(path, bad, table.label)}: label {table.labels[bad]!r} is not one of the "
                        f"training file's classes ({', '.join(classes[:10])}{', ...' if len(classes) > 10 else ''})")
    return numpy.array([index[name] for name in names], numpy.int64)


def _is_header(path, rows, label_column, labelled) -> bool:
    """Whether the first of ``rows`` (``(line, fields)``) is a header, by the module
    docstring's rules; refused when it cannot be told."""
    fields = [text.strip() for text in rows[0][1]]
    label = _label_index(path, label_column, rows[0][1], None, probe=True) if labelled else None
    if any(_number(text) is None for i, text in enumerate(fields) if i != label):
        return True  # rule 1
    probe = len(fields) - 1 if label is None else label  # the column whose values tell (rules 2 and 3)
    others = [row[probe].strip() for _, row in rows[1:] if len(row) > probe and row[probe].strip()]
    if fields[probe] and _number(fields[probe]) is None:
        return bool(others) and all(_number(text) is not None for text in others)  # rule 2, else rule 4
    if fields != [str(i) for i in range(len(fields))]:
        return False  # rule 4
    if any(_number(text) == probe for text in others):  # rule 3, undecided
        raise DataError(f"{path}: cannot tell whether the first row ({','.join(fields)}) names the columns or is "
                        f"an example: it is the column numbers, and other rows have the label {probe} too; pass ",
                        Setting("header", True), " or ", Setting("header", False))
    return True  # rule 3


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
            raise DataError(f"{path}: ", Setting("label_column", label_column), f" is out of range: the rows "
                            f"have {width} columns (0 to {width - 1}, or -1 for the last)")
        return index % width
    if probe:
        return next((i for i, name in enumerate(first) if name.strip() == text), None)
    if names is None:
        raise DataError(f"{path}: ", Setting("label_column", label_column), " names a column, but the file has "
                        "no header; give the column's index, or ", Setting("header", True), " if the first row is one")
    if text not in names:
        raise DataError(f"{path}: no column {text!r} in the header ({', '.join(names)}); "
                        "give one of those names or an index")
    return names.index(text)


def _column(names, i) -> str:
    """Column ``i`` as messages name it: its header's name, else its number from 1."""
    return repr(names[i]) if names else f"{i + 1}"


def _number(text) -> float | None:
    """The number ``text`` writes, or None when it writes none (``1_0`` is none: Python's
    float reads it as 10, no CSV writer means that)."""
    if "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _whole(text) -> int | None:
    """The whole number a label writes (``2``, ``2.0``, ``-1``), or None."""
    value = _number(text)
    if value is None or not math.isfinite(value) or not value.is_integer():
        return None
    return int(value)


def _class_number(text) -> int | None:
    """The class number a label writes (``2``, ``2.0``), or None when it writes no whole
    number >= 0."""
    value = _whole(text)
    return None if value is None or value < 0 else value
