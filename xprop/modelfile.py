"""Trained networks on disk: one ``.npz`` file, no pickle, loadable onto any backend.

The file holds plain arrays only (``numpy.load(allow_pickle=False)`` reads it):

    format          "xprop-model"
    format_version  1
    sizes           int64 (L,)        layer widths, e.g. [784, 30, 10]
    activations     str (L-1,)        one activation name per layer
    cost            str               the cost's name
    dtype           str               "float32" or "float64"
    init, seed      str, int64        how the parameters were first drawn
    w0, b0, w1, ... the parameters, w_i of shape (sizes[i+1], sizes[i]) in ``dtype``

A network trained on a GPU is copied to the host once when saved and can be loaded on
the CPU (or any other backend) for evaluation. Writes are atomic: a crash leaves the old
file or the new one, never half a model.
"""

from __future__ import annotations

from pathlib import Path

import numpy

from .activations import ACTIVATIONS
from .data.npz import read_arrays
from .errors import InputError
from .files import atomic_write
from .network import Network

FORMAT = "xprop-model"
FORMAT_VERSION = 1


def save_model(network: Network, path) -> Path:
    """Write ``network`` to ``path`` (an .npz file) atomically; returns the path."""
    path = Path(path)
    config = network.config()
    custom = [name for name in config["activations"] if name not in ACTIVATIONS]
    if custom:
        raise InputError(f"cannot save a network with the custom activation(s) {custom}: a model file "
                         f"stores activations by name ({', '.join(ACTIVATIONS)})")
    if not path.parent.is_dir():
        raise InputError(f"cannot save the model to {path}: the folder {path.parent} does not exist")
    weights, biases = network.parameters_to_host()
    arrays = {
        "format": numpy.array(FORMAT), "format_version": numpy.array(FORMAT_VERSION),
        "sizes": numpy.array(config["sizes"], dtype=numpy.int64),
        "activations": numpy.array(config["activations"]), "cost": numpy.array(config["cost"]),
        "dtype": numpy.array(config["dtype"]), "init": numpy.array(config["init"]),
        "seed": numpy.array(config["seed"], dtype=numpy.int64),
    }
    for i, (w, b) in enumerate(zip(weights, biases)):
        arrays[f"w{i}"], arrays[f"b{i}"] = w, b
    with atomic_write(path) as handle:
        numpy.savez(handle, **arrays)
    return path


def load_model(path, *, backend="numpy", device=None, dtype=None) -> Network:
    """The network saved at ``path``, on ``backend``/``device`` (in ``dtype``, default: as saved)."""
    path = Path(path)
    fields = _read(path)
    try:
        sizes = [int(n) for n in _vector(fields["sizes"], "iu")]
        activations = [str(a) for a in _vector(fields["activations"], "U")]
        cost, saved_dtype, init = (str(_scalar(fields[k], "U")) for k in ("cost", "dtype", "init"))
        seed = int(_scalar(fields["seed"], "iu"))
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputError(f"{path} is damaged: {exc}") from None
    n_layers = len(sizes) - 1
    if n_layers < 1 or len(activations) != n_layers:
        raise InputError(f"{path} is inconsistent: sizes {sizes} but {len(activations)} activations")
    try:
        weights = [fields[f"w{i}"] for i in range(n_layers)]
        biases = [fields[f"b{i}"] for i in range(n_layers)]
    except KeyError as exc:
        raise InputError(f"{path} is incomplete: the parameter {exc.args[0]} is missing") from None
    expected = [((n_out, n_in), (n_out,)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    if [(w.shape, b.shape) for w, b in zip(weights, biases)] != expected:
        raise InputError(f"{path} is inconsistent: parameter shapes do not match sizes {sizes}")
    try:  # the file's content is checked on the host first, so that its errors name the file
        with numpy.errstate(over="ignore", invalid="ignore"):  # a value too large for dtype: Inf, refused
            network = Network.from_parameters(weights, biases, activation=activations, cost=cost,
                                              dtype=saved_dtype, init=init, seed=seed)
    except InputError as exc:
        raise InputError(f"{path} is damaged: {exc}") from None
    if backend == "numpy" and device is None and dtype in (None, saved_dtype):
        return network
    return network.to(backend, device=device, dtype=dtype or saved_dtype)


def _vector(array, kinds):
    if array.ndim != 1 or array.dtype.kind not in kinds:
        raise TypeError(f"expected a 1-D array of kind {kinds!r}, got {array.dtype} {array.shape}")
    return array


def _scalar(array, kinds):
    if array.ndim != 0 or array.dtype.kind not in kinds:
        raise TypeError(f"expected a single value of kind {kinds!r}, got {array.dtype} {array.shape}")
    return array[()]


def _read(path):
    fields = read_arrays(path, what="model file")
    if "format" not in fields or fields["format"].shape != () or str(fields["format"]) != FORMAT:
        raise InputError(f"{path} is an .npz file but not an xprop model (no format={FORMAT!r} entry)")
    version = fields.get("format_version", numpy.array(-1))
    if version.shape != () or version.dtype.kind not in "iu":
        raise InputError(f"{path} has an invalid model format version {version!r}")
    version = int(version)
    if version > FORMAT_VERSION:
        raise InputError(f"{path} has model format version {version}, newer than this xprop reads "
                         f"({FORMAT_VERSION}); upgrade xprop")
    if version < 1:
        raise InputError(f"{path} has an invalid model format version {version}")
    missing = [k for k in ("sizes", "activations", "cost", "dtype", "init", "seed") if k not in fields]
    if missing:
        raise InputError(f"{path} is incomplete: {', '.join(missing)} missing")
    return fields
