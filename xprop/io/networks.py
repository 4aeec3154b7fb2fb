"""A Network and a file: what ``xprop.save`` and ``xprop.load`` do.

    >>> path = net.save("model.npz")                      # or save_model(net, "model.npz")
    >>> net = load_model(path, backend="torch", device="cuda")

The format itself, its reader and its writer are ``xprop.io.modelfile``, which knows
host arrays and names only; this module turns a file's content into a ``Network`` on a
backend, so that the format needs no Network and ``Network.save`` can reach the writer
without an import circle.
"""

from __future__ import annotations

from pathlib import Path

import numpy

from ..activations import ACTIVATIONS
from ..costs import COSTS
from ..errors import FileFormatError, InputError
from ..network import Network
from ..validation import check_dtype
from .modelfile import SavedFile, read_file


def save_model(network: Network, path, *, inputs=None, classes=None) -> Path:
    """Write ``network`` to ``path`` (an .npz model file) atomically; returns the path.
    ``inputs`` ({"mean", "std"}: the standardization its inputs need) and ``classes``
    (the class names by output neuron) are stored when given. The same as ``network.save``."""
    return network.save(path, inputs=inputs, classes=classes)


def load_model(path, *, backend="numpy", device=None, dtype=None) -> Network:
    """The network saved at ``path`` (a model file or a checkpoint) on ``backend``/``device``,
    in ``dtype`` (default: as saved)."""
    return network_from(read_file(path), backend or "numpy", device, dtype)


def network_from(saved: SavedFile, backend=None, device=None, dtype=None) -> Network:
    """The network ``saved`` holds (a ``read_file`` result) on ``backend`` (default: numpy
    for a model file, the one it was trained on for a checkpoint) and ``device``, in
    ``dtype`` (default: as saved). The parameters are checked on the host first, so that
    a damaged file's error names the file; they then go to the device in one explicit copy."""
    config = saved.network
    dtype = None if dtype is None else check_dtype(dtype)  # numpy's dtype == None is True
    unknown = [f"activation {n!r}" for n in config["activations"] if n not in ACTIVATIONS]
    unknown += [] if config["cost"] in COSTS else [f"cost {config['cost']!r}"]
    if unknown:
        raise FileFormatError(
            f"{saved.path} names an unknown {' and an unknown '.join(unknown)}; a file stores "
            "activations and costs by name, so custom ones cannot be rebuilt from it: build the "
            "Network yourself and call trainer.load_state_dict(read_file(path).state)",
            path=saved.path, version=saved.version)
    try:
        with numpy.errstate(over="ignore", invalid="ignore"):  # too large for dtype: Inf, refused
            host = Network.from_parameters(saved.weights, saved.biases, activation=config["activations"],
                                           cost=config["cost"], dtype=config["dtype"],
                                           init=config["init"], seed=config["seed"])
    except InputError as exc:
        raise FileFormatError(f"{saved.path} is damaged: {exc}", path=saved.path, version=saved.version) from None
    backend = backend or (saved.backend if saved.is_checkpoint else "numpy")
    if backend == "numpy" and device is None and dtype in (None, config["dtype"]):
        return host
    return host.to(backend, device=device, dtype=dtype or config["dtype"])
