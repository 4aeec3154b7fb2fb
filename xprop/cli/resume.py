"""Checkpoints of ``xprop train``: what a run stores with them, and how ``--resume`` goes on.

Every checkpoint written by ``xprop train --checkpoint DIR`` carries in its metadata the
run's options (every option of ``xprop train``, paths made absolute) and a fingerprint
of the training and validation data. ``xprop train --resume DIR`` reads the newest
checkpoint in DIR and takes the run's options from it, so that

    xprop train --resume DIR

alone continues the run where it stopped, writing the same outputs. Options that only
say where things are or how to show them may be given anew (``FREE``): more ``--epochs``,
another backend or device, where the data lie, other output files. Every other option
defines the run (the network, the data split, the SGD options): given with another
value, it is refused before any work, naming the option. The data may be read from
another path, but must be the same data: their fingerprint is checked.
"""

from __future__ import annotations

import argparse
import hashlib
import shlex
from pathlib import Path

from ..checkpoint import checkpoint_name, latest_checkpoint, list_checkpoints, load_checkpoint
from ..errors import InputError

#: the format of the CLI's part of a checkpoint's metadata
METADATA = "xprop-train"
#: options that may differ on resume: they change where things are read or written, on
#: which backend and device the same math runs, how long it runs, or how it is shown
FREE = ("epochs", "backend", "device", "dataset", "data", "download", "save", "log", "plot",
        "progress", "checkpoint", "resume", "distributed")
#: options stored as absolute paths, so that a run resumes from any working directory
PATHS = ("data", "save", "log", "plot", "checkpoint")
#: the options' spelling on the command line, where it is not --dest-with-dashes
SPELLING = {"download": "--no-download", "batch_size": "--batch-size"}
_UNSET = object()


def flag(dest) -> str:
    return SPELLING.get(dest, "--" + dest.replace("_", "-"))


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


def run_options(args) -> dict:
    """The options of the run ``args`` describes, as JSON values, paths absolute."""
    options = {dest: value for dest, value in vars(args).items()
               if dest not in ("run", "argv", "command", "resume", "distributed")}
    for dest in PATHS:
        options[dest] = absolute(options.get(dest))
    options["dataset"] = dataset_spec(args.dataset)
    return options


def metadata(args, fingerprint) -> dict:
    """What every checkpoint of the run stores besides the trainer's state."""
    return {"format": METADATA, "options": run_options(args), "data": fingerprint,
            "command": ["xprop", "train", *getattr(args, "argv", [])]}


def data_fingerprint(training, validation) -> dict:
    """Sizes and a hash of the exact bytes of the training and validation splits."""
    digest = hashlib.blake2b(digest_size=16)
    for split in (training, validation):
        for array in (split.images, split.labels):
            digest.update(str((array.dtype.str, array.shape)).encode())
            digest.update(memoryview(array).cast("B") if array.flags.c_contiguous else array.tobytes())
    return {"training": len(training), "validation": len(validation), "blake2b": digest.hexdigest()}


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
        if meta.get("format") != METADATA or not isinstance(meta.get("options"), dict):
            raise InputError(f"--resume {directory}: {path.name} was not written by xprop train (no "
                             "run options in it); resume it from Python with xprop.checkpoint.resume")
        self.options, self.fingerprint = meta["options"], meta.get("data")

    @property
    def epoch(self) -> int:
        return self.data.epoch


def restore(args, saved: Saved, given) -> argparse.Namespace:
    """``args`` with the run's options taken from ``saved``; the ``FREE`` ones that were
    ``given`` on the command line kept. Any other option given with another value than
    the run's is refused, naming it."""
    for dest in sorted(given - set(FREE)):
        if dest in saved.options and _comparable(getattr(args, dest)) != _comparable(saved.options[dest]):
            run = saved.options[dest]
            had = f"{flag(dest)} {_show(run)}" if run is not None else f"no {flag(dest)}"
            free = [flag(d) for d in FREE if d not in ("resume", "distributed")]
            raise InputError(
                f"{flag(dest)} {_show(getattr(args, dest))} differs from the run in {saved.directory}, "
                f"which has {had}; a resumed run keeps the options that define it: only "
                f"{', '.join(free[:-1])} and {free[-1]} may change")
    restored = argparse.Namespace(**vars(args))
    for dest, value in saved.options.items():
        if dest in vars(args) and dest not in given and dest not in ("checkpoint", "resume"):
            setattr(restored, dest, value)
    if "checkpoint" in given and absolute(args.checkpoint) == str(saved.directory.absolute()):
        restored.checkpoint = None  # the run's own directory: go on writing there
    if "epochs" in given and args.epochs < saved.epoch:
        raise InputError(f"--epochs {args.epochs}: the run in {saved.directory} has already trained "
                         f"{saved.epoch} epochs; give --epochs {saved.epoch + 1} or more to train on")
    return restored


def check_same_data(saved: Saved, fingerprint, dataset):
    if saved.fingerprint is not None and saved.fingerprint != fingerprint:
        raise InputError(
            f"--dataset {dataset} does not hold the data the run in {saved.directory} was trained on "
            f"({fingerprint['training']:,} + {fingerprint['validation']:,} examples, checksum "
            f"{fingerprint['blake2b'][:12]}, not {saved.fingerprint['training']:,} + "
            f"{saved.fingerprint['validation']:,}, {saved.fingerprint['blake2b'][:12]}); give the same dataset")


def check_checkpoint_directory(directory, *, resumed_epoch=None):
    """Refuse, before any work, a --checkpoint directory that could not take the run's files."""
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise InputError(f"--checkpoint {directory}: that is a file; give a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not path.exists() and not parent.is_dir():
        raise InputError(f"--checkpoint {directory}: the folder {parent} does not exist; create it first")
    found = list_checkpoints(path)
    if found and (resumed_epoch is None or found[-1][0] > resumed_epoch):
        raise InputError(f"--checkpoint {directory} already holds the checkpoints of a run (up to epoch "
                         f"{found[-1][0]}); continue it with xprop train --resume {shlex.quote(str(directory))}, "
                         "or give an empty directory: xprop never overwrites checkpoints")
    from .options import check_output_path

    check_output_path(path / checkpoint_name(1) if path.is_dir() else path, "--checkpoint")


def resume_command(directory, *, ranks=None, again=()) -> str:
    """The command line that continues a run whose checkpoints are in ``directory``,
    with the arguments ``again`` (see ``given_again``)."""
    words = ["xprop", "train", "--resume", str(directory), *again] + (["--distributed"] if ranks else [])
    command = " ".join(map(shlex.quote, words))
    return f"mpiexec -n {ranks} {command}" if ranks else command


def given_again(args, given) -> list:
    """The free options given on this command line, as arguments to give again on resume:
    the newest checkpoint may predate them (a resumed run stopped in its first epoch)."""
    words = []
    for dest in FREE:
        if dest not in given or dest in ("resume", "checkpoint", "distributed"):
            continue
        value = getattr(args, dest)
        if dest == "download":
            words += [] if value else ["--no-download"]
        elif dest == "progress":
            words += ["--progress" if value else "--no-progress"] if value is not None else []
        elif value is not None:
            words += [flag(dest), str(value)]
    return words


def _comparable(value):
    return list(value) if isinstance(value, tuple) else value


def _show(value):
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return "" if value is None or value is True else str(value)
