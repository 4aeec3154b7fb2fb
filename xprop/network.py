"""The user-facing Network: parameters on a backend, and the public calls into the math.

The backend is chosen once, at construction (by name, or later by ``to``). Every public
method checks that its inputs belong to that backend and device, resolves the Array API
namespace once, and hands it down to the pure functions in ``backprop``.
"""

from __future__ import annotations

import numbers

from . import backprop
from .activations import get_activation
from .costs import get_cost
from .errors import InputError, Setting
from .initializers import INITIALIZERS, initial_parameters
from .memory import check_network
from .validation import (check_array, check_backend, check_choice, check_dtype, check_fits_dtype,
                         check_host_parameters,
                         check_non_negative, check_options, check_positive, check_seed, check_sizes,
                         check_values)


class Network:
    """A fully connected feedforward network trained by backpropagation.

    >>> net = Network([784, 30, 10])                       # the book's network
    >>> net = Network([784, 100, 10], cost="cross-entropy", init="scaled", dtype="float64")
    >>> net = Network([784, 30, 10], backend="cupy")       # same math on a GPU

    ``weights[i]`` has shape (n_{i+1}, n_i) as in the book (w[j, k] joins neuron k of the
    previous layer to neuron j); ``biases[i]`` has shape (n_{i+1},). Inputs are
    batch-first: ``X`` is (m, n_in).

    ``activation`` is one activation for every layer or a list with one per layer
    (names: sigmoid, tanh, relu, linear, softmax; an Activation; or a
    ``(function, derivative)`` pair). ``output_activation`` overrides the last layer; it
    defaults to softmax with the log-likelihood cost. ``init`` is "large" (the book's
    N(0, 1)) or "scaled" (network2's N(0, 1/n_in)).
    """

    def __init__(self, sizes, *, activation="sigmoid", output_activation=None, cost="quadratic",
                 init="large", backend="numpy", device=None, dtype="float32", seed=0,
                 _parameters=None):
        self.sizes = check_sizes(sizes)
        self.dtype = check_dtype(dtype)
        check_network(self.sizes, 8 if self.dtype == "float64" else 4)  # before any weight is drawn
        self.seed = check_seed("seed", seed)
        self.init = check_choice("init", init, INITIALIZERS)
        self.cost = get_cost(cost)
        self.activations = _layer_activations(activation, output_activation, self.cost, len(self.sizes) - 1)
        self.backend = check_backend(backend, device)
        _check_dtype_supported(self.backend, self.dtype)
        weights, biases = _parameters or initial_parameters(self.sizes, init, self.seed)
        self.weights = [self.backend.from_host(w, self.dtype) for w in weights]
        self.biases = [self.backend.from_host(b, self.dtype) for b in biases]

    # -- construction and moving ------------------------------------------------------
    @property
    def xp(self):
        """The Array API namespace the math runs on."""
        return self.backend.namespace

    def config(self) -> dict:
        """What is needed to rebuild this network (everything but the parameters)."""
        return {
            "sizes": list(self.sizes),
            "activations": [a.name for a in self.activations],
            "cost": self.cost.name,
            "dtype": self.dtype,
            "init": self.init,
            "seed": self.seed,
        }

    def parameters_to_host(self):
        """Copies of the weights and biases as numpy arrays (an explicit device -> host copy)."""
        return self.host_copies(self.weights), self.host_copies(self.biases)

    @classmethod
    def from_parameters(cls, weights, biases, *, activation="sigmoid", output_activation=None,
                        cost="quadratic", backend="numpy", device=None, dtype=None, **config):
        """A network with the given host (numpy) parameters, copied onto ``backend``."""
        weights = check_host_parameters("weights", weights, ndim=2)
        dtype = check_dtype((weights[0].dtype.name if weights else "float32") if dtype is None else dtype)
        check_fits_dtype("weights", weights, dtype)
        biases = check_host_parameters("biases", biases, ndim=1, dtype=dtype)
        sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights] if weights else []
        _check_parameter_shapes(sizes, weights, biases)
        return cls(sizes, activation=activation, output_activation=output_activation, cost=cost,
                   backend=backend, device=device, dtype=dtype, _parameters=(weights, biases), **config)

    def to(self, backend, device=None, dtype=None) -> "Network":
        """A copy of this network on another backend/device (through the host, explicitly),
        in ``dtype`` (default: its own)."""
        weights, biases = self.parameters_to_host()
        return Network.from_parameters(
            weights, biases, activation=self.activations, cost=self.cost, backend=backend,
            device=device, dtype=self.dtype if dtype is None else dtype, init=self.init, seed=self.seed)

    def save(self, path, *, inputs=None, classes=None):
        """Write this network to ``path``, an .npz model file, atomically; returns the path.

        ``inputs`` ({"mean", "std"}: the standardization its inputs need) and ``classes``
        (the class names by output neuron) are stored with it when given. The parameters
        are copied to the host once, explicitly; ``xprop.load(path, backend=...)`` puts them
        on any backend. A custom activation (a file names activations) or a folder that
        does not exist is refused in one InputError, and nothing is written.
        """
        from .io.modelfile import write_file  # here, so that ``import xprop`` stays light

        return write_file(path, self, inputs=inputs, classes=classes)

    # -- pickling (copy.deepcopy, multiprocessing, joblib) ----------------------------
    def __getstate__(self):
        """What pickle stores: host (numpy) copies of the parameters, the configuration,
        and the backend's name and device, not its arrays: unpickling puts the parameters
        back on a backend of that name and device, in the process that unpickles."""
        weights, biases = self.parameters_to_host()
        return {"weights": weights, "biases": biases, "activations": self.activations, "cost": self.cost,
                "dtype": self.dtype, "init": self.init, "seed": self.seed,
                "backend": self.backend.name, "device": self.backend.device_spec}

    def __setstate__(self, state):
        rebuilt = Network.from_parameters(
            state["weights"], state["biases"], activation=state["activations"], cost=state["cost"],
            backend=state["backend"], device=state["device"], dtype=state["dtype"], init=state["init"],
            seed=state["seed"])
        self.__dict__.update(rebuilt.__dict__)

    # -- the math, behind input checks ---------------------------------------------------
    def feedforward(self, X):
        """The output activations a^L for a batch X of shape (m, n_in).

        X's backend, device, shape and dtype are checked, not its values: that would cost
        a device synchronization per call (NaN in gives NaN out). ``fit``, ``evaluate``
        and ``gradients`` do check the values.
        """
        self.check_inputs(X)
        return backprop.feedforward(self.weights, self.biases, self.activations, X, xp=self.xp)

    def predict(self, X):
        """The index of the most active output neuron for each row of X."""
        return self.xp.argmax(self.feedforward(X), axis=1)

    def predict_proba(self, X):
        """Class probabilities for each row of X, (m, n_out), each row summing to 1.

        A softmax output layer's activations are returned as they are; a sigmoid layer's
        (each in (0, 1)) are divided by their row's sum. Other outputs (tanh, linear,
        relu, custom) may be negative or all zero, so they are refused: their raw values
        are ``feedforward(X)``.
        """
        output = self.activations[-1].name
        if output not in PROBABILITY_OUTPUTS:
            raise InputError(f"predict_proba needs a softmax or sigmoid output layer, this network's is "
                             f"{output}; use net.feedforward(X) for its raw outputs", argument="X")
        a = self.feedforward(X)
        return a if output == "softmax" else a / self.xp.sum(a, axis=1, keepdims=True)

    def gradients(self, X, Y):
        """(∂C/∂w, ∂C/∂b) of the mean cost over the batch, by BP1–BP4.

        ``Y`` holds targets of shape (m, n_out) or integer labels of shape (m,).
        """
        self.check_inputs(X)
        labels, Y = self.labels_and_targets(Y, X.shape[0], "Y")
        check_values(self.backend, self.sizes[-1], [("X", X, "Y", labels, Y)])
        return backprop.gradients(self.weights, self.biases, self.activations, self.cost, X, Y, xp=self.xp)

    def evaluate(self, X, y, *, lmbda=0.0, batch_size=10_000):
        """Mean cost and accuracy (argmax) on (X, y), read back to the host once.

        ``y`` holds integer labels (m,) or one-hot targets (m, n_out). With ``lmbda`` the
        cost includes the L2 term (λ/2n) Σ‖w‖² (ch. 3, eq. 85), n being len(X).
        """
        from .train.steps import measure

        lmbda = check_non_negative("lmbda", lmbda)
        batch_size = check_positive("batch_size", batch_size, numbers.Integral)
        self.check_inputs(X)
        labels, targets = self.labels_and_targets(y, X.shape[0])
        check_values(self.backend, self.sizes[-1], [("X", X, "y", labels, targets)])
        cost_sum, correct = measure(self, X, targets, labels, batch_size=batch_size)
        host = self.backend.to_host(self.xp.stack([cost_sum, correct]))
        n = X.shape[0]
        cost = float(host[0]) / n
        if lmbda:
            cost += self._l2_penalty(lmbda, n)
        return {"cost": cost, "accuracy": float(host[1]) / n, "correct": int(host[1]), "n": n}

    def fit(self, X, Y, *, epochs=30, batch_size=10, eta=3.0, compile=False, verbose=False, **options):
        """Train by mini-batch SGD (the book's ``SGD``); returns the per-epoch History.

        The defaults are the book's chapter 1 run: 30 epochs of mini-batches of 10 at
        η = 3.0. ``verbose``: False prints nothing; True prints the line ``xprop train``
        prints after each epoch, on ``sys.stdout`` (a terminal or a notebook); "progress"
        also draws its progress bar there during each epoch.

        See ``xprop.train.Trainer`` for the options (evaluation data, lmbda, momentum,
        monitoring, schedules, early stopping, callbacks, seed, strategy). With
        ``compile=True`` the same step runs compiled by the backend's library (jax:
        whole epochs under ``jit``; torch: ``torch.compile``); on numpy and
        array-api-strict a warning says there is nothing to compile.
        """
        import inspect

        from .train import Trainer
        from .train.steps import compiled_step

        named = {"network", "epochs", "batch_size", "eta"}
        check_options("fit", options, [p for p in inspect.signature(Trainer).parameters if p not in named])
        if compile:
            if options.get("strategy") is not None:
                raise InputError("give compile=True or a strategy, not both", argument="compile")
            options["strategy"] = compiled_step(self.backend)
        report = _epoch_report(verbose, X)
        callbacks = options.get("callbacks", ())
        if report is not None and isinstance(callbacks, (list, tuple)):  # anything else: Trainer refuses it
            options["callbacks"] = [*callbacks, report]
        return Trainer(self, epochs=epochs, batch_size=batch_size, eta=eta, **options).run(X, Y)

    # -- public input checks (the Trainer and the step strategies use them too) ----------
    def check_inputs(self, X, name="X"):
        """Refuse ``X`` unless it is (m, n_in) in the network's dtype on its backend and device."""
        check_array(self.backend, self.dtype, X, name, ndim=2, width=self.sizes[0])

    def labels_and_targets(self, Y, m, name="y"):
        """(labels or None, float targets (m, n_out)) from integer labels or float targets,
        checked against the network and the m rows of X (metadata only, no device sync)."""
        xp, n_out = self.xp, self.sizes[-1]
        ndim = len(Y.shape) if hasattr(Y, "shape") else None
        if ndim == 1:
            check_array(self.backend, self.dtype, Y, name, ndim=1, floating=False)
            if not self.xp.isdtype(Y.dtype, "integral"):
                raise InputError(f"{name} is 1-D, so it must hold integer class labels; got dtype {Y.dtype}")
            _check_length(name, Y, m)
            # The classes 0..n_out-1 are compared in a dtype that holds them all: an arange in
            # uint8 for 300 outputs would wrap at 256 and make two-hot targets.
            if xp.iinfo(Y.dtype).max < n_out - 1:
                Y = xp.astype(Y, xp.int64)  # a narrower integer: every value is kept exactly
            classes = xp.arange(n_out, dtype=Y.dtype, device=self.backend.device)
            return Y, xp.astype(Y[:, None] == classes, getattr(xp, self.dtype))
        check_array(self.backend, self.dtype, Y, name, ndim=2, width=n_out)
        _check_length(name, Y, m)
        return None, Y

    # -- copies of parameters (roll-back, early stopping, checkpoints) -------------------
    def copies(self, arrays) -> list:
        """Device-side copies of ``arrays`` (no synchronization, no host transfer)."""
        xp = self.xp
        return [xp.asarray(a, copy=True) for a in arrays]

    def parameter_copies(self):
        """(weights, biases) copied on the device."""
        return self.copies(self.weights), self.copies(self.biases)

    def host_copies(self, arrays) -> list:
        """numpy copies of device arrays (``to_host`` copies, even on numpy)."""
        return [self.backend.to_host(a) for a in arrays]

    def device_copies(self, host_arrays, like, name) -> list:
        """Host arrays put on this network's backend, in its dtype, shaped as ``like``."""
        host_arrays = list(host_arrays)
        if len(host_arrays) != len(like) or any(
                tuple(h.shape) != tuple(a.shape) for h, a in zip(host_arrays, like)):
            saved = [tuple(h.shape) for h in host_arrays]
            raise InputError(f"the state's {name} have shapes {saved}, the network's "
                             f"{[tuple(a.shape) for a in like]}; it was saved for another network")
        return [self.backend.from_host(h, self.dtype) for h in host_arrays]

    def _l2_penalty(self, lmbda, n):
        xp = self.xp
        total = xp.stack([xp.sum(w * w) for w in self.weights])
        return 0.5 * lmbda / n * float(self.backend.to_host(xp.sum(total)))

    def __repr__(self):
        acts = ",".join(a.name for a in self.activations)
        return (f"Network({self.sizes}, activations=[{acts}], cost={self.cost.name!r}, "
                f"backend={self.backend.name!r}, device={self.backend.device}, dtype={self.dtype!r})")


#: output activations whose values are non-negative, so that they normalise to probabilities
PROBABILITY_OUTPUTS = ("softmax", "sigmoid")


def _epoch_report(verbose, X):
    """The EpochReport that ``fit(verbose=...)`` adds, writing to the current ``sys.stdout``
    (looked up per call: a notebook or a test may replace it), or None."""
    if not (isinstance(verbose, bool) or (isinstance(verbose, str) and verbose == "progress")):
        raise InputError(f"verbose must be False (silent), True (a line per epoch) or \"progress\" "
                         f"(also a progress bar), got {verbose!r}", argument="verbose")
    if verbose is False:
        return None
    import sys

    from .train.report import EpochReport

    n_examples = X.shape[0] if hasattr(X, "shape") else 0
    return EpochReport(n_examples, stdout=sys.stdout, stderr=sys.stdout, progress=verbose == "progress")


def _layer_activations(activation, output_activation, cost, n_layers):
    if isinstance(activation, (list, tuple)) and not _is_pair(activation):
        if len(activation) != n_layers:
            raise InputError(
                f"activation lists one activation per layer: expected {n_layers}, got {len(activation)}"
            )
        layers = [get_activation(a) for a in activation]
    else:
        layers = [get_activation(activation) for _ in range(n_layers)]
    if output_activation is not None:
        layers[-1] = get_activation(output_activation)
    elif cost.output_activations == ("softmax",) and layers[-1].name != "softmax":
        layers[-1] = get_activation("softmax")
    for layer in layers[:-1]:
        if not layer.elementwise:
            raise InputError(f"{layer.name} can only be the output layer's activation")
    cost.check_output(layers[-1])
    return layers


def _is_pair(spec):
    return isinstance(spec, tuple) and len(spec) == 2 and all(callable(f) for f in spec)


def _check_dtype_supported(backend, dtype):
    info = backend.namespace.__array_namespace_info__()
    if dtype not in info.dtypes(device=backend.device, kind="real floating"):
        raise InputError(
            f"dtype {dtype} is not supported by backend {backend.name!r} on device "
            f"{backend.device}; use ", Setting("dtype", "float32"), argument="dtype")


def _check_length(name, Y, m):
    if Y.shape[0] != m:
        raise InputError(f"{name} has {Y.shape[0]} rows but X has {m}; they must match")


def _check_parameter_shapes(sizes, weights, biases):
    if not weights or len(weights) != len(biases):
        raise InputError("from_parameters needs as many bias vectors as weight matrices, at least one")
    for i, (w, b) in enumerate(zip(weights, biases)):
        if w.ndim != 2 or b.shape != (w.shape[0],) or w.shape[1] != sizes[i]:
            raise InputError(
                f"layer {i}: weights {w.shape} and biases {b.shape} do not chain; expected "
                f"({sizes[i + 1]}, {sizes[i]}) and ({sizes[i + 1]},)"
            )
