"""Networks on disk: one ``.npz`` format for a model, and for a model with its trainer's
state (a checkpoint). One writer (``write_file``), one reader (``read_file``), one error
type (``FileFormatError``); nothing is pickled in either direction.

A file is a document of ``xprop.io.npz`` (JSON in ``header.json``, arrays as .npy
members):

    format, version   "xprop", 2
    kind              "model" or "checkpoint"
    network           sizes, activations (names), cost, dtype, init, seed, and the
                      arrays weights.i (sizes[i+1], sizes[i]) and biases.i, in dtype;
                      optional: inputs (the arrays mean and std, float32 (sizes[0],):
                      inputs are fed as (x - mean) / std) and classes (the class
                      names by output neuron, a list of strings)
    backend           the backend it was trained on
    run               (checkpoint) the RunConfig of the training run
    trainer           (checkpoint) the trainer's state less the parameters: epoch, η,
                      the stop flag, the shuffling Generator, velocities, history,
                      the stateful callbacks' settings and states
    metadata          (checkpoint) the caller's JSON values

So every checkpoint is also a model file: one reader reads both, and ``xprop.load`` and
``xprop evaluate`` take either. Files of format version 1 (model files of plain arrays,
and "xprop-checkpoint" files) are still read, and so are the checkpoints of ``xprop
train`` that kept inputs and classes in their metadata (``TRAIN_METADATA``): the reader
moves them into the network's part, where every other file has them. A network trained
on a GPU is copied to the host once when saved and can be loaded on any backend. Writes
are atomic: a crash leaves the old file or the new one, never half a file.

This module knows the format only: it reads and writes host arrays and names, and
imports no ``Network``; ``xprop.io.networks`` turns what it reads into a Network.
"""

from __future__ import annotations

import contextlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy

from ..activations import ACTIVATIONS
from ..errors import FileFormatError, InputError
from ..initializers import INITIALIZERS
from ..train.config import RunConfig
from ..train.state import STATE_KEYS, check_state
from ..validation import check_choice, check_dtype, check_host_parameters, check_seed, check_sizes
from .npz import read_document, write_document

FORMAT = "xprop"
VERSION = 2
KINDS = ("model", "checkpoint")
NETWORK_KEYS = ("sizes", "activations", "cost", "dtype", "init", "seed")
EXTRAS = ("inputs", "classes")  # the network part's optional parts
#: the metadata format of ``xprop train``'s checkpoints, which kept the EXTRAS there before
#: they had a place in the network part
TRAIN_METADATA = "xprop-train"


@dataclass
class SavedFile:
    """What a model file or checkpoint holds, on the host."""

    path: Path
    version: int  # the format version it was written in
    network: dict  # Network.config(): sizes, activations, cost, dtype, init, seed
    weights: list  # numpy arrays
    biases: list
    backend: str  # the backend it was trained on
    run: RunConfig | None = None  # checkpoints only
    trainer: dict | None = None  # checkpoints only: Trainer.state_dict() less the parameters
    metadata: dict | None = None
    inputs: dict | None = None  # optional: {"mean", "std"} float32 (sizes[0],), what inputs are standardized by
    classes: list | None = None  # optional: the class names by output neuron

    @property
    def is_checkpoint(self) -> bool:
        return self.trainer is not None

    @property
    def state(self) -> dict:
        """The trainer's whole state, as ``Trainer.state_dict()`` gives it (checkpoints)."""
        if self.trainer is None:
            raise FileFormatError(f"{self.path} is a model file, not a checkpoint: it holds no "
                                  "trainer state to resume", path=self.path, version=self.version)
        return {**self.trainer, "weights": self.weights, "biases": self.biases}

    @property
    def epoch(self) -> int:
        return self.state["epoch"]

    @property
    def extras(self) -> dict:
        """The network's optional parts the file holds (``inputs``, ``classes``), as
        ``write_file`` takes them: what a network rebuilt from it needs besides itself."""
        return {key: getattr(self, key) for key in EXTRAS if getattr(self, key) is not None}


def write_file(path, network, *, trainer=None, metadata=None, inputs=None, classes=None) -> Path:
    """Write ``network`` (and, for a checkpoint, ``trainer``'s RunConfig and state, with
    the caller's ``metadata``) to ``path`` atomically; returns the path. ``inputs``
    ({"mean", "std"}) and ``classes`` (names) are the network's optional parts.

    ``network`` is read through ``config()``, ``parameters_to_host()`` and
    ``backend.name`` only, so that the format needs no Network class."""
    path = Path(path)
    config = network.config()
    if trainer is None:
        custom = [name for name in config["activations"] if name not in ACTIVATIONS]
        if custom:
            raise InputError(f"cannot save a network with the custom activation(s) {custom}: a model "
                             f"file stores activations by name ({', '.join(ACTIVATIONS)})")
    if not path.parent.is_dir():
        raise InputError(f"cannot save to {path}: the folder {path.parent} does not exist; create it first")
    extra = check_extras(inputs, classes, sizes=config["sizes"])
    if trainer is None:
        weights, biases = network.parameters_to_host()
    else:
        state = trainer.state_dict()
        weights, biases = state.pop("weights"), state.pop("biases")
    document = {"format": FORMAT, "version": VERSION, "kind": "model" if trainer is None else "checkpoint",
                "network": {**config, "weights": weights, "biases": biases, **extra},
                "backend": network.backend.name}
    if trainer is not None:
        document.update(run=trainer.config.to_dict(), trainer=state, metadata=check_metadata(metadata))
    return write_document(path, document)


def read_file(path, *, what="model or checkpoint") -> SavedFile:
    """Read a model file or a checkpoint (either format version); FileFormatError names
    the file and what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"cannot read {path}: no such file", path=path)
    if not zipfile.is_zipfile(path):
        raise FileFormatError(f"{path} is damaged or not an .npz file (not a zip archive)", path=path)
    try:
        document, archive = read_document(path, what=what)
    except FileFormatError:
        raise
    except InputError as exc:
        raise FileFormatError(str(exc), path=path) from None
    if document is None:
        if "format" in archive:
            return _model_version_1(path, archive)
        raise FileFormatError(f"{path} is an .npz file but not an xprop {what} (it has no xprop header)",
                              path=path)
    name = document.get("format") if isinstance(document, dict) else None
    if name == "xprop-checkpoint":
        return _checkpoint_version_1(path, document)
    if name != FORMAT:
        raise FileFormatError(f"{path} is an .npz file but not an xprop {what} (its format is {name!r})",
                              path=path)
    version = _version(path, document.get("version"))
    try:
        return _version_2(path, document)
    except FileFormatError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, InputError) as exc:
        raise FileFormatError(f"{path} is damaged: {type(exc).__name__}: {exc}", path=path,
                              version=version) from None


def _version(path, version):
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FileFormatError(f"{path} has an unknown format version {version!r}", path=path)
    if version > VERSION:
        raise FileFormatError(f"{path} has format version {version}, newer than this xprop reads "
                              f"(up to {VERSION}); upgrade xprop to read it", path=path, version=version)
    return version


def refused(path, field, problem, version=None) -> FileFormatError:
    """The FileFormatError of a file whose ``field`` (``"trainer.eta"``) is wrong: one line
    naming the file and the field; ``field`` is also an attribute."""
    return FileFormatError(f"{path} is damaged: {field}: {problem}", path=path, version=version, field=field)


@contextlib.contextmanager
def _checking(path, part, version):
    """Turn the InputError of a check of ``part`` (the same check the API makes) into the
    file's FileFormatError, naming the field (``part`` and the check's argument)."""
    try:
        yield
    except FileFormatError:
        raise
    except InputError as exc:
        field = f"{part}.{exc.argument}" if exc.argument not in (None, part) else part
        raise refused(path, field, str(exc), version) from None


def _network(path, network, version=VERSION):
    """The network part's config, checked by the checks ``Network(...)`` makes (the
    parameters' values are checked by ``_parameters``)."""
    missing = [k for k in NETWORK_KEYS if k not in network]
    if missing:
        raise FileFormatError(f"{path} is incomplete: {', '.join(missing)} missing", path=path)
    config = {k: network[k] for k in NETWORK_KEYS}
    if not (isinstance(config["activations"], list) and isinstance(config["cost"], str)
            and all(isinstance(a, str) for a in config["activations"])):
        raise TypeError("the network's activations and cost are not names")
    with _checking(path, "network", version):
        sizes = config["sizes"] = check_sizes(config["sizes"])
        config["dtype"] = check_dtype(config["dtype"])
        config["init"] = check_choice("init", config["init"], INITIALIZERS)
        config["seed"] = check_seed("seed", config["seed"])
    if len(config["activations"]) != len(sizes) - 1:
        raise FileFormatError(f"{path} is inconsistent: sizes {sizes} but {len(config['activations'])} "
                              "activations", path=path)
    return config


def _parameters(path, weights, biases, config, version=VERSION):
    """The weights and biases, checked as ``Network.from_parameters`` checks them: float
    arrays, finite, in the range of the network's dtype, of the shapes its sizes give."""
    sizes = config["sizes"]
    with _checking(path, "network", version):
        weights = check_host_parameters("weights", weights, ndim=2, dtype=config["dtype"])
        biases = check_host_parameters("biases", biases, ndim=1, dtype=config["dtype"])
    expected = [((n_out, n_in), (n_out,)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    if [(w.shape, b.shape) for w, b in zip(weights, biases)] != expected or len(weights) != len(expected):
        raise FileFormatError(f"{path} is inconsistent: parameter shapes do not match sizes {sizes}", path=path)
    return weights, biases


def _run_and_trainer(path, run, trainer, dtype, version):
    """The RunConfig and the trainer's state, checked by RunConfig's checks and the
    state's (``xprop.train.state.check_state``), the saved epoch within the run's."""
    with _checking(path, "run", version):
        if not isinstance(run, RunConfig):
            if not isinstance(run, dict):
                raise InputError(f"the run must be a dict of options, got {run!r}")
            run = RunConfig.from_dict(run)
    with _checking(path, "trainer", version):
        if not isinstance(trainer, dict):
            raise InputError(f"the trainer state must be a dict, got {type(trainer).__name__}")
        missing = [k for k in STATE_KEYS if k not in ("weights", "biases") and k not in trainer]
        if missing:
            raise InputError(f"{', '.join(missing)} missing", argument=missing[0])
        check_state(trainer, dtype=dtype, epochs=run.epochs)
    return run, dict(trainer)


def _version_2(path, document):
    kind = document["kind"]
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}")
    network = document["network"]
    config = _network(path, network)
    weights, biases = _parameters(path, network["weights"], network["biases"], config)
    if not isinstance(document["backend"], str):
        raise refused(path, "backend", f"must be a backend's name, got {document['backend']!r}", VERSION)
    saved = SavedFile(path, VERSION, config, weights, biases, document["backend"])
    if kind == "checkpoint":
        saved.run, saved.trainer = _run_and_trainer(path, document["run"], document["trainer"],
                                                    config["dtype"], VERSION)
        with _checking(path, "metadata", VERSION):
            saved.metadata = check_metadata(document["metadata"])
    extra = _extras_in(path, network, saved.metadata, config["sizes"])
    saved.inputs, saved.classes = extra.get("inputs"), extra.get("classes")
    return saved


def _extras_in(path, network, metadata, sizes) -> dict:
    """The network part's optional parts, checked; for a checkpoint of ``xprop train``
    that kept them in its metadata (``TRAIN_METADATA``), those, taken out of it."""
    part, given = "network", {key: network[key] for key in EXTRAS if key in network}
    if not given and metadata and metadata.get("format") == TRAIN_METADATA:
        part, given = "metadata", {key: metadata.pop(key) for key in EXTRAS if key in metadata}
    return check_extras(**given, sizes=sizes, prefix=f"{path} is damaged: {part}.",
                        error=lambda message: FileFormatError(message, path=path, version=VERSION))


def check_extras(inputs=None, classes=None, *, sizes, prefix="cannot save: ", error=InputError) -> dict:
    """The network's optional parts, checked: ``inputs`` {"mean", "std"} finite float
    vectors of sizes[0] (std > 0), ``classes`` at most sizes[-1] strings; ``error(message)``
    is raised otherwise, the message starting with ``prefix``. Only the parts given are
    returned, the arrays as float32 and the names as a list."""
    extra = {}
    if inputs is not None:
        try:
            mean, std = (numpy.asarray(inputs[k], numpy.float32) for k in ("mean", "std"))
        except (KeyError, TypeError, ValueError):
            raise error(f"{prefix}inputs: must hold the arrays mean and std") from None
        if mean.shape != (sizes[0],) or std.shape != (sizes[0],) or not (
                numpy.isfinite(mean).all() and numpy.isfinite(std).all() and (std > 0).all()):
            raise error(f"{prefix}inputs: mean and std must be finite vectors of {sizes[0]} values, std > 0")
        extra["inputs"] = {"mean": mean, "std": std}
    if classes is not None:
        if not (isinstance(classes, (list, tuple)) and all(isinstance(c, str) for c in classes)
                and 0 < len(classes) <= sizes[-1]):
            raise error(f"{prefix}classes: must be a list of at most {sizes[-1]} names")
        extra["classes"] = list(classes)
    return extra


# -- format version 1 ------------------------------------------------------------------------
def _model_version_1(path, fields):
    """A model file of xprop's first format: plain arrays, ``format="xprop-model"``."""
    if fields["format"].shape != () or str(fields["format"]) != "xprop-model":
        raise FileFormatError(f"{path} is an .npz file but not an xprop model (no format='xprop-model' "
                              "entry)", path=path)
    version = fields.get("format_version", numpy.array(-1))
    if version.shape != () or version.dtype.kind not in "iu":
        raise FileFormatError(f"{path} has an invalid model format version {version!r}", path=path)
    version = _version(path, int(version))
    if version != 1:
        raise FileFormatError(f"{path} declares model format version {version} in the layout of "
                              "version 1; it is damaged", path=path, version=version)
    missing = [k for k in NETWORK_KEYS if k not in fields]
    if missing:
        raise FileFormatError(f"{path} is incomplete: {', '.join(missing)} missing", path=path, version=1)
    try:
        config = {"sizes": [int(n) for n in _vector(fields["sizes"], "iu")],
                  "activations": [str(a) for a in _vector(fields["activations"], "U")],
                  **{k: str(_scalar(fields[k], "U")) for k in ("cost", "dtype", "init")},
                  "seed": int(_scalar(fields["seed"], "iu"))}
        config = _network(path, config, version=1)
        n_layers = len(config["sizes"]) - 1
        try:
            weights = [fields[f"w{i}"] for i in range(n_layers)]
            biases = [fields[f"b{i}"] for i in range(n_layers)]
        except KeyError as exc:
            raise FileFormatError(f"{path} is incomplete: the parameter {exc.args[0]} is missing",
                                  path=path, version=1) from None
        weights, biases = _parameters(path, weights, biases, config, version=1)
    except FileFormatError:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        raise FileFormatError(f"{path} is damaged: {exc}", path=path, version=1) from None
    return SavedFile(path, 1, config, weights, biases, "numpy")


def _checkpoint_version_1(path, header):
    """A checkpoint of xprop's first format: the state (with its options) in ``state``."""
    version = _version(path, header.get("version"))
    try:
        state = dict(header["state"])
        missing = [k for k in ("options", *STATE_KEYS) if k not in state]
        if missing:
            raise KeyError(", ".join(missing))
        config = _network(path, dict(header["network"]), version=version)
        weights, biases = _parameters(path, state.pop("weights"), state.pop("biases"), config, version)
        options = state.pop("options")
        with _checking(path, "state.options", version):
            run = RunConfig(epochs=options["epochs"], batch_size=options["batch_size"], eta=state["eta"],
                            lmbda=options["lmbda"], momentum=options["momentum"], monitor=options["monitor"])
        run, state = _run_and_trainer(path, run, state, config["dtype"], version)
        with _checking(path, "metadata", version):
            metadata = check_metadata(header["metadata"])
        return SavedFile(path, version, config, weights, biases, str(header["backend"]), run=run,
                         trainer=state, metadata=metadata)
    except FileFormatError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError, InputError) as exc:
        raise FileFormatError(f"checkpoint {path} is damaged: {type(exc).__name__}: {exc}",
                              path=path, version=version) from None


def _vector(array, kinds):
    if array.ndim != 1 or array.dtype.kind not in kinds:
        raise TypeError(f"expected a 1-D array of kind {kinds!r}, got {array.dtype} {array.shape}")
    return array


def _scalar(array, kinds):
    if array.ndim != 0 or array.dtype.kind not in kinds:
        raise TypeError(f"expected a single value of kind {kinds!r}, got {array.dtype} {array.shape}")
    return array[()]


def check_metadata(metadata) -> dict:
    """``metadata`` as plain JSON values (a dict), or an InputError saying what is wrong."""
    metadata = {} if metadata is None else metadata
    try:
        if not isinstance(metadata, dict):
            raise TypeError(type(metadata).__name__)
        return json.loads(json.dumps(metadata, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InputError(f"metadata must be a dict of JSON values (str, number, list, dict), "
                         f"got {exc}", argument="metadata") from None
