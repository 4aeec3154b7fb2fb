"""xprop: backpropagation written once against the Python Array API, fast on every backend.

    >>> import numpy as np, xprop
    >>> net = xprop.Network([784, 30, 10], backend="numpy", dtype="float32", seed=0)
    >>> history = net.fit(X, Y, epochs=30, batch_size=10, eta=3.0, evaluation=(Xv, yv))
    >>> net.save("net.npz"); net = xprop.load("net.npz")
"""

from .activations import Activation, CustomActivation, get_activation
from .backends import backend_for, describe_backends, get_backend
from .costs import Cost, CrossEntropyCost, LogLikelihoodCost, QuadraticCost, get_cost
from .errors import (BackendError, BackendUnavailableError, DivergenceError, FileFormatError, InputError,
                     TrainingInterrupted, XpropError)
from .network import Network
from .train import Callback, EarlyStopping, EpochRecord, History, ReduceOnPlateau, RunConfig, Step, Trainer

__version__ = "0.1.0"


def save(network, path):
    """Write ``network`` to ``path``, an .npz model file: ``network.save(path)``; returns
    the path."""
    if not isinstance(network, Network):
        raise InputError(f"save(network, path) takes an xprop.Network first, got {type(network).__name__}; "
                         "call xprop.save(net, path) or net.save(path)", argument="network")
    return network.save(path)


def load(path, *, backend="numpy", device=None, dtype=None):
    """The network in ``path``: a model file, a checkpoint, or a folder of checkpoints (its
    newest), as ``xprop evaluate`` reads it; on ``backend`` and ``device``, in ``dtype``
    (default: as saved)."""
    from .io.checkpoint import find_checkpoint  # here, so that ``import xprop`` stays light
    from .io.networks import load_model

    return load_model(find_checkpoint(path), backend=backend, device=device, dtype=dtype)


__all__ = [
    "Activation", "BackendError", "BackendUnavailableError", "Callback", "Cost", "CrossEntropyCost",
    "CustomActivation", "DivergenceError", "EarlyStopping", "EpochRecord", "FileFormatError", "History",
    "InputError", "LogLikelihoodCost", "Network", "QuadraticCost", "ReduceOnPlateau", "RunConfig",
    "Step", "Trainer", "TrainingInterrupted", "XpropError", "backend_for", "describe_backends", "get_activation",
    "get_backend", "get_cost", "load", "save",
]
