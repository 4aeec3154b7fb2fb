"""A saved model as the commands that feed it data need it: the network, the standardization
its inputs need, and its class names.

A model file and a checkpoint keep the last two in their network's optional ``inputs``
and ``classes`` (the reader finds those of older checkpoints of ``xprop train`` in
their metadata). Both are applied here, where the command line feeds data to a saved
network (``xprop evaluate``, ``xprop predict``); ``xprop.load`` itself returns the bare
network, which takes its inputs as they are given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy

from ..data import Split
from ..data.standardize import Standardization
from ..errors import InputError
from ..io.checkpoint import find_checkpoint
from ..io.modelfile import read_file
from ..io.networks import network_from


@dataclass
class SavedModel:
    network: object
    standardization: Standardization | None
    classes: list | None  # class names by output neuron, or None: the class numbers are the labels

    def fed(self, split: Split) -> Split:
        """``split`` as the network takes it: standardized when it was trained so."""
        return split if self.standardization is None else self.standardization.apply(split)

    def relabeled(self, split: Split, data_classes, source) -> Split:
        """``split``'s labels (numbers into ``data_classes``, the data's class names, or
        None) as the model's class numbers; labels of another kind than the model's
        (``check_label_kind``) or a class the model does not know is one line. Number
        labels are the model's classes of those names where it has them all (a file of
        only the labels 1 for a model of the classes '-1' and '1')."""
        if data_classes is None and self.classes is not None:
            # number labels where the model names its classes: a number is the class of its
            # name when the model has one ('1' of a model of '-1', '1'; a file holding only
            # the non-negative labels reads as class numbers)
            present = [int(k) for k in numpy.unique(split.labels)]
            if present and {str(k) for k in present} <= set(self.classes):
                data_classes = tuple(str(k) for k in range(max(present) + 1))
                return Split(split.images, self._numbers(data_classes, present)[split.labels])
        check_label_kind(self.classes, self.network.sizes[-1], data_classes, source)
        if data_classes is None or list(data_classes) == self.classes:
            return split
        unknown = sorted(set(data_classes) - set(self.classes))
        if unknown:
            raise InputError(f"{source} has the classes {shown_names(unknown)} that the model does not know (it "
                             f"knows {shown_names(self.classes)})")
        return Split(split.images, self._numbers(data_classes, range(len(data_classes)))[split.labels])

    def _numbers(self, data_classes, present) -> numpy.ndarray:
        """The table from the data's class numbers to the model's, for the ``present`` ones
        (the others map to 0, never looked up)."""
        index = {name: i for i, name in enumerate(self.classes)}
        table = numpy.zeros(len(data_classes), numpy.int64)
        for k in present:
            table[k] = index[data_classes[k]]
        return table


def check_label_kind(classes, n_outputs, data_classes, source, *, model="the model"):
    """Refuse data labelled otherwise than ``model``'s classes are: by names (the data's
    ``data_classes``) where it knows the class numbers 0..``n_outputs``-1 only (its
    ``classes`` None), or by numbers where it names its classes. Which name is which
    number cannot be told, so numbering the names anew would measure, or train, the
    wrong classes."""
    if (classes is None) == (data_classes is None):
        return
    if classes is None:
        raise InputError(f"{source} names its classes ({shown_names(data_classes)}), but {model} knows only the class "
                         f"numbers 0 to {n_outputs - 1} (it was trained on number labels); give data labelled "
                         "with those numbers")
    raise InputError(f"{source} labels its examples with class numbers, but {model} names its classes "
                     f"({shown_names(classes)}); give data labelled with those names")


def shown_names(names) -> str:
    """Class names as messages list them: quoted, the first ten."""
    return ", ".join(map(repr, names[:10])) + (", ..." if len(names) > 10 else "")


def load_saved(source, *, backend="numpy", device=None, dtype=None) -> SavedModel:
    """The model at ``source`` (a model file, a checkpoint, or a checkpoint directory's
    newest) on ``backend``, with its standardization and class names."""
    saved = read_file(find_checkpoint(source))
    network = network_from(saved, backend or "numpy", device, dtype)
    standardization = None if saved.inputs is None else Standardization.from_dict(saved.inputs)
    return SavedModel(network, standardization, saved.classes)
