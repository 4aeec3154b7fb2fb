"""``xprop train --resume DIR``: the run's newest checkpoint, continued by the library's
``xprop.io.checkpoint.resume``.

A checkpoint of ``xprop train`` is a checkpoint like any other (the network, the
RunConfig, the trainer's state); the RunConfig's ``data`` says which data the run read
(the dataset, its validation split, ``--limit`` and a fingerprint of the bytes), and the
metadata where it wrote its outputs. So ``xprop train --resume DIR`` alone continues
the run where it stopped, writing the same outputs. Options that only say where things
are or how to show them may be given anew (``FREE``): more ``--epochs``, another backend
or device, where the data lie, other output files. Every other option defines the run
(the network, the data split, the SGD options): given with another value than the
run's, it is refused before any work, naming the option. The data may be read from
another path, but must be the same data: their fingerprint is checked.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from ..errors import FileFormatError, InputError, Setting
from ..io.checkpoint import checkpoint_name, latest_checkpoint, load_checkpoint
from ..io.modelfile import TRAIN_METADATA
from .flags import arguments
from .options import PLATEAU_PATIENCE
from .saved import check_label_kind, shown_names

#: the format of the CLI's metadata in a checkpoint
METADATA = TRAIN_METADATA
#: options that may differ on resume: they change where things are read or written, on
#: which backend and device the same math runs, how long it runs, or how it is shown
FREE = ("epochs", "backend", "device", "compile", "dataset", "data", "download", "save", "log", "plot",
        "progress", "checkpoint", "resume", "distributed", "max_memory", "threads", "test",
        "label_column", "header", "test_data")
#: where a checkpoint's metadata keeps the options that say where things are
OUTPUTS = {"save": "model", "log": "log", "plot": "plot", "data": "data_dir", "download": "download",
           "progress": "progress", "backend": "backend", "device": "device", "label_column": "label_column",
           "header": "header", "test_data": "test_data"}
_UNSET = object()


def given_options(add_arguments, argv) -> set:
    """The dests of the options written on the command line ``argv`` (not defaults).

    ``argv`` is parsed again into a namespace whose every attribute is already set to a
    marker: argparse leaves the attributes of options that were not given untouched.
    """
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    dests = vars(parser.parse_args([]))
    namespace = argparse.Namespace(**dict.fromkeys(dests, _UNSET))
    parser.parse_args(list(argv), namespace)
    return {dest for dest, value in vars(namespace).items() if value is not _UNSET}


def absolute(path):
    return None if path is None else str(Path(path).expanduser().absolute())


def dataset_spec(dataset):
    """A catalog name as it is; a path that exists made absolute."""
    path = Path(dataset).expanduser()
    return str(path.absolute()) if path.exists() else dataset


def data_source(args, fingerprint) -> dict:
    """The RunConfig's ``data``: which data the run reads, and their fingerprint."""
    return {"dataset": dataset_spec(args.dataset), "validation_size": args.validation_size,
            "limit": args.limit, "standardize": args.standardize, "fingerprint": fingerprint}


def metadata(args) -> dict:
    """What every checkpoint of the run stores besides the network, RunConfig and state."""
    outputs = {key: getattr(args, dest) for dest, key in OUTPUTS.items()}
    for dest in ("save", "log", "plot", "data", "test_data"):
        outputs[OUTPUTS[dest]] = absolute(outputs[OUTPUTS[dest]])
    return {"format": METADATA, "version": 2, "outputs": outputs,
            "command": ["xprop", "train", *getattr(args, "argv", [])]}


class Saved:
    """The newest checkpoint of a run started by ``xprop train --checkpoint``."""

    def __init__(self, directory):
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise InputError(f"--resume {directory}: no such directory; give the --checkpoint "
                             "directory of the run to continue")
        path = latest_checkpoint(self.directory)
        if path is None:
            raise InputError(f"--resume {directory}: no checkpoint in it (files named "
                             f"{checkpoint_name(1)} etc.); was the run started with --checkpoint {directory}?")
        self.data = load_checkpoint(path)
        meta = self.data.metadata
        if meta.get("format") == METADATA and "options" in meta:  # written by xprop 0.1 (format 1)
            _from_version_1(self.data)
        if meta.get("format") != METADATA or self.data.run.data is None:
            raise InputError(f"--resume {directory}: {path.name} was not written by xprop train (no "
                             "data source in it); resume it from Python with xprop.io.checkpoint.resume")
        self.outputs = self.data.metadata["outputs"]
        self.source = self.data.run.data

    @property
    def epoch(self) -> int:
        return self.data.epoch

    def value(self, dest):
        """The run's value of the run-defining option ``dest``, in the option's terms."""
        network, run = self.data.network, self.data.run
        callbacks = {c["type"]: c["state"]["settings"] for c in self.data.state["callbacks"]}
        plateau, early = callbacks.get("ReduceOnPlateau"), callbacks.get("EarlyStopping")
        values = {
            "sizes": network["sizes"], "hidden": network["sizes"][1:-1], "activation": network["activations"][0],
            "output_activation": network["activations"][-1], "cost": network["cost"],
            "init": network["init"], "seed": network["seed"], "dtype": network["dtype"],
            "batch_size": run.batch_size, "eta": run.eta, "lmbda": run.lmbda, "momentum": run.momentum,
            "monitor": list(run.monitored(True)),
            "schedule": "plateau" if plateau else "constant",
            "plateau_patience": plateau["patience"] if plateau else PLATEAU_PATIENCE,  # unused: the default
            "early_stopping": early["patience"] if early else None,
            "validation_size": self.source["validation_size"], "limit": self.source["limit"],
            "standardize": self.source.get("standardize", False),
        }
        return values.get(dest, _UNSET)


def check_given(args, saved: Saved, given):
    """Refuse any run-defining option given with another value than the run's, naming it
    (as a Setting: the command line spells it as the flag)."""
    for dest in sorted(given - set(FREE)):
        run = saved.value(dest)
        if run is _UNSET or _comparable(getattr(args, dest)) == _comparable(run):
            continue
        had = ["no ", Setting(dest)] if run is None or run is False else [Setting(dest, run)]
        free = [part for d in FREE if d not in ("resume", "distributed") for part in (", ", Setting(d))][1:]
        raise InputError(Setting(dest, getattr(args, dest)), f" differs from the run in {saved.directory}, "
                         "which has ", *had, "; a resumed run keeps the options that define it: only ",
                         *free[:-2], " and ", free[-1], " may change")
    if "epochs" in given and args.epochs < saved.epoch:
        raise InputError(f"--epochs {args.epochs}: the run in {saved.directory} has already trained "
                         f"{saved.epoch} epochs; give --epochs {saved.epoch + 1} or more to train on")


def resumed_args(args, saved: Saved, given) -> argparse.Namespace:
    """``args`` where the run's own values stand for the options not given: the options that
    define the run from the checkpoint, the outputs and data places from the metadata, the
    data source from the RunConfig."""
    resumed = argparse.Namespace(**vars(args))
    for dest in vars(args):
        if dest not in FREE and (value := saved.value(dest)) is not _UNSET:
            setattr(resumed, dest, value)  # the run's own (a given one was checked equal)
    for dest, key in OUTPUTS.items():
        if dest not in given and key in saved.outputs:
            setattr(resumed, dest, saved.outputs[key])
    if "dataset" not in given:
        resumed.dataset = saved.source["dataset"]
    resumed.validation_size, resumed.limit = saved.source["validation_size"], saved.source["limit"]
    resumed.dtype = saved.data.network["dtype"]
    if "epochs" not in given:
        resumed.epochs = saved.data.run.epochs
    if "checkpoint" in given and absolute(args.checkpoint) == str(saved.directory.absolute()):
        resumed.checkpoint = None  # the run's own directory: go on writing there
    return resumed


def check_same_data(saved: Saved, fingerprint, dataset):
    run = saved.source["fingerprint"]
    if run is not None and run != fingerprint:
        raise InputError(
            f"--dataset {dataset} does not hold the data the run in {saved.directory} was trained on "
            f"({fingerprint['training']:,} + {fingerprint['validation']:,} examples, checksum "
            f"{fingerprint['blake2b'][:12]}, not {run['training']:,} + "
            f"{run['validation']:,}, {run['blake2b'][:12]}); give the same dataset")


def check_same_classes(saved: Saved, data):
    """The data name the classes the run was trained on, or are class numbers as its were."""
    classes = saved.data.extras.get("classes")
    where = f"the run in {saved.directory}"
    check_label_kind(classes, saved.data.network["sizes"][-1], data.classes, data.source, model=where)
    if classes is not None and list(data.classes) != list(classes):
        raise InputError(f"{data.source} has the classes {shown_names(data.classes)}, but {where} was trained on "
                         f"{shown_names(classes)}; give the same dataset")


def resume_command(directory, *, ranks=None, again=()) -> str:
    """The command line that continues a run whose checkpoints are in ``directory``,
    with the arguments ``again`` (see ``given_again``)."""
    words = ["xprop", "train", "--resume", str(directory), *again] + (["--distributed"] if ranks else [])
    command = " ".join(map(shlex.quote, words))
    return f"mpiexec -n {ranks} {command}" if ranks else command


def given_again(args, given, add_arguments) -> list:
    """The free options given on this command line (of the options ``add_arguments`` adds),
    as arguments to give again on resume: the newest checkpoint may predate them (a
    resumed run stopped in its first epoch)."""
    words = []
    for dest in FREE:
        if dest in given and dest not in ("resume", "checkpoint", "distributed") and getattr(args, dest) is not None:
            words += arguments(Setting(dest, getattr(args, dest)), add_arguments)
    return words


def _from_version_1(saved):
    """A checkpoint of xprop 0.1's ``xprop train``: its metadata kept every option by its
    flag's name; the data source and the outputs are taken from them."""
    meta = saved.metadata
    try:
        options = meta["options"]
        saved.run = saved.run.replace(
            eta=options["eta"], seed=options["seed"],
            data={"dataset": options["dataset"], "validation_size": options["validation_size"],
                  "limit": options["limit"], "fingerprint": meta.get("data")})
        saved.metadata = {"format": METADATA, "version": 2, "command": meta.get("command", []),
                          "outputs": {key: options.get(dest) for dest, key in OUTPUTS.items()}}
    except (KeyError, TypeError, InputError) as exc:
        raise FileFormatError(f"{saved.path} was written by xprop 0.1 (checkpoint format 1) and its run "
                              f"options are damaged ({type(exc).__name__}: {exc}); resume it from Python "
                              "with xprop.io.checkpoint.resume", path=saved.path, version=1) from None


def _comparable(value):
    return list(value) if isinstance(value, tuple) else value
