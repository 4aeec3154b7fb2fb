"""scikit-learn estimators around the Network: ``XpropClassifier`` and ``XpropRegressor``.

The estimator is the boundary between scikit-learn's world (numpy arrays, labels of any
type, cloning, pickling, grid searches in other processes) and the network's (arrays on
one backend and device). Inputs are checked by scikit-learn's ``validate_data`` and copied
onto the chosen backend explicitly (``backend.from_host``); outputs are copied back to the
host. The fitted parameters live on the host as numpy arrays, ``coefs_[i]`` of shape
(n_in, n_out) and ``intercepts_[i]`` as in ``MLPClassifier``, and a ``Network`` is built
from them when one is needed, so an estimator pickles and clones whatever the backend.

The defaults are the book's network (chapter 1: one hidden layer of 30 sigmoid neurons,
30 epochs of mini-batches of 10, eta = 3.0). The classifier uses the cross-entropy cost
of chapter 3 on sigmoid outputs, which learns faster than the quadratic cost when an
output neuron is badly wrong; ``predict_proba`` normalises the sigmoid outputs so that a
row sums to 1 (with ``output_activation="softmax", cost="log-likelihood"`` it is the
softmax itself). The regressor has a linear output with the quadratic cost, whose
minimum is the conditional mean; eta = 3.0 would diverge on a linear output, so its
default is 0.1.
"""

from __future__ import annotations

import numbers

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError("xprop.sklearn needs scikit-learn: pip install 'xprop[sklearn]'") from None

from .errors import InputError
from .network import Network
from .train import EarlyStopping

__all__ = ["XpropClassifier", "XpropRegressor"]

_FLOATS = (np.float64, np.float32)


class _XpropEstimator(BaseEstimator):
    """What the classifier and the regressor share: the options, the network, the training."""

    _metric = "evaluation_accuracy"  # what early stopping watches

    def __init__(self, hidden_layer_sizes=(30,), *, activation="sigmoid", output_activation=None,
                 cost="quadratic", init="large", epochs=30, batch_size=10, eta=3.0, lmbda=0.0,
                 momentum=0.0, backend="numpy", device=None, dtype="float32", random_state=None,
                 compile=False, early_stopping=None, validation_fraction=0.1, warm_start=False,
                 verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output_activation = output_activation
        self.cost = cost
        self.init = init
        self.epochs = epochs
        self.batch_size = batch_size
        self.eta = eta
        self.lmbda = lmbda
        self.momentum = momentum
        self.backend = backend
        self.device = device
        self.dtype = dtype
        self.random_state = random_state
        self.compile = compile
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.verbose = verbose

    # -- the network, built from the host parameters ------------------------------------
    def _network(self, n_in=None, n_out=None):
        """The Network of the fitted parameters, or a fresh one of n_in -> n_out."""
        options = dict(activation=self.activation, output_activation=self._output_activation(),
                       cost=self.cost, backend=self.backend, device=self.device, dtype=self.dtype)
        if n_in is None:
            return Network.from_parameters([np.ascontiguousarray(c.T) for c in self.coefs_],
                                           list(self.intercepts_), init=self.init, seed=self._seed,
                                           **options)
        hidden = self.hidden_layer_sizes
        hidden = [hidden] if isinstance(hidden, numbers.Integral) else list(hidden)
        return Network([n_in, *hidden, n_out], init=self.init, seed=self._seed, **options)

    def _output_activation(self):
        return self.output_activation

    def _outputs(self, X):
        """The network's output activations for X, on the host."""
        check_is_fitted(self, "coefs_")
        X = validate_data(self, X, reset=False, dtype=_FLOATS)
        net = self._network()
        out = net.feedforward(net.backend.from_host(X, net.dtype))
        return net.backend.to_host(out).astype(np.float64)

    # -- training ----------------------------------------------------------------------
    def _fit(self, X, y, *, epochs, keep, classes=None):
        """Train for ``epochs`` epochs, from the fitted parameters when ``keep`` and fitted."""
        keep = keep and hasattr(self, "coefs_")
        X, y = validate_data(self, X, y, reset=not keep, dtype=_FLOATS, multi_output=self._multi_output,
                             y_numeric=self._multi_output)
        targets = self._targets(y, keep, classes)
        if not keep:
            self._seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
            self.n_iter_ = 0
        net = self._network() if keep else self._network(X.shape[1], self._n_outputs())
        to = net.backend.from_host  # the estimator boundary: an explicit host -> device copy
        targets_dtype = None if targets.dtype.kind in "iu" else net.dtype
        callbacks, evaluation = [], None
        if self.early_stopping is not None:
            train, held = self._split(len(X))
            callbacks.append(EarlyStopping(patience=self.early_stopping, metric=self._metric))
            evaluation = (to(X[held], net.dtype), to(targets[held], targets_dtype))
            X, targets = X[train], targets[train]
        history = net.fit(to(X, net.dtype), to(targets, targets_dtype), epochs=epochs,
                          batch_size=self.batch_size, eta=self.eta, lmbda=self.lmbda,
                          momentum=self.momentum, seed=self._seed + self.n_iter_, compile=self.compile,
                          evaluation=evaluation, callbacks=callbacks, verbose=bool(self.verbose),
                          monitor=None if evaluation is None else [self._metric])
        weights, biases = net.parameters_to_host()
        self.coefs_ = [np.ascontiguousarray(w.T) for w in weights]
        self.intercepts_ = biases
        self.n_iter_ += len(history)
        self.n_layers_ = len(weights) + 1
        self.history_ = history
        return self

    def _split(self, m):
        """Training rows and held-out rows for early stopping (a seeded shuffle)."""
        fraction = self.validation_fraction
        if not (isinstance(fraction, numbers.Real) and 0 < fraction < 1):
            raise InputError(f"validation_fraction must be a number between 0 and 1, got {fraction!r}",
                             argument="validation_fraction")
        held = max(1, int(round(fraction * m)))
        if held >= m:
            raise InputError(f"early stopping holds out {held} of {m} rows, leaving none to train on; "
                             "give more rows or early_stopping=None", argument="early_stopping")
        order = np.random.default_rng(self._seed).permutation(m)
        return order[held:], order[:held]


class XpropClassifier(ClassifierMixin, _XpropEstimator):
    """A fully connected network trained by backpropagation, as a scikit-learn classifier.

    >>> clf = XpropClassifier(hidden_layer_sizes=(30,), epochs=30).fit(X, y)
    >>> clf.predict(X_test), clf.predict_proba(X_test)

    One output neuron per class; the predicted class is the most active one.
    """

    _multi_output = False

    def __init__(self, hidden_layer_sizes=(30,), *, activation="sigmoid", output_activation=None,
                 cost="cross-entropy", init="scaled", epochs=30, batch_size=10, eta=3.0, lmbda=0.0,
                 momentum=0.0, backend="numpy", device=None, dtype="float32", random_state=None,
                 compile=False, early_stopping=None, validation_fraction=0.1, warm_start=False,
                 verbose=False):
        super().__init__(hidden_layer_sizes, activation=activation, output_activation=output_activation,
                         cost=cost, init=init, epochs=epochs, batch_size=batch_size, eta=eta,
                         lmbda=lmbda, momentum=momentum, backend=backend, device=device, dtype=dtype,
                         random_state=random_state, compile=compile, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, warm_start=warm_start,
                         verbose=verbose)

    def fit(self, X, y):
        """Train for ``epochs`` epochs (continuing from the last fit with ``warm_start``)."""
        return self._fit(X, y, epochs=self.epochs, keep=self.warm_start)

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y); ``classes``, every label there will be, is required the first time."""
        if not hasattr(self, "classes_") and classes is None:
            raise InputError("the first partial_fit needs classes=..., every class label there will be "
                             "(e.g. classes=numpy.unique(y_all))", argument="classes")
        return self._fit(X, y, epochs=1, keep=True, classes=classes)

    def _targets(self, y, keep, classes):
        check_classification_targets(y)
        if not keep:
            self.classes_ = np.unique(y) if classes is None else np.unique(np.asarray(classes))
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise InputError(f"classes={list(classes)} differ from those of the first fit, "
                             f"{list(self.classes_)}; give the same classes every time", argument="classes")
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise InputError(f"y holds labels {list(unknown[:5])} not among the classes "
                             f"{list(self.classes_)}; give every label in classes=... on the first "
                             "call (or fit without warm_start)",
                             argument="y")
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _n_outputs(self):
        return len(self.classes_)

    def predict(self, X):
        """The class of the most active output neuron, for each row of X."""
        check_is_fitted(self, "coefs_")
        return self.classes_[np.argmax(self._outputs(X), axis=1)]

    def predict_proba(self, X):
        """Class probabilities (rows sum to 1): the output activations, normalised."""
        out = self._outputs(X)
        return out / np.maximum(out.sum(axis=1, keepdims=True), np.finfo(np.float64).tiny)

    def predict_log_proba(self, X):
        """The logarithm of ``predict_proba``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class XpropRegressor(RegressorMixin, _XpropEstimator):
    """A fully connected network trained by backpropagation, as a scikit-learn regressor.

    >>> reg = XpropRegressor(hidden_layer_sizes=(30,), epochs=30).fit(X, y)
    >>> reg.predict(X_test)          # 1-D for 1-D y, (m, n_targets) for 2-D y

    The output layer is linear (``output_activation=None`` means linear here) and the cost
    quadratic: one output neuron per target.
    """

    _multi_output = True
    _metric = "evaluation_cost"

    def __init__(self, hidden_layer_sizes=(30,), *, activation="sigmoid", output_activation=None,
                 cost="quadratic", init="scaled", epochs=30, batch_size=10, eta=0.1, lmbda=0.0,
                 momentum=0.0, backend="numpy", device=None, dtype="float32", random_state=None,
                 compile=False, early_stopping=None, validation_fraction=0.1, warm_start=False,
                 verbose=False):
        super().__init__(hidden_layer_sizes, activation=activation, output_activation=output_activation,
                         cost=cost, init=init, epochs=epochs, batch_size=batch_size, eta=eta,
                         lmbda=lmbda, momentum=momentum, backend=backend, device=device, dtype=dtype,
                         random_state=random_state, compile=compile, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, warm_start=warm_start,
                         verbose=verbose)

    def fit(self, X, y):
        """Train for ``epochs`` epochs (continuing from the last fit with ``warm_start``)."""
        return self._fit(X, y, epochs=self.epochs, keep=self.warm_start)

    def partial_fit(self, X, y):
        """One epoch over (X, y), continuing from the parameters so far."""
        return self._fit(X, y, epochs=1, keep=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _output_activation(self):
        return "linear" if self.output_activation is None else self.output_activation

    def _targets(self, y, keep, classes):
        y = np.asarray(y, dtype=np.float64)
        self._y_1d = y.ndim == 1 if not keep else self._y_1d
        targets = y.reshape(-1, 1) if y.ndim == 1 else y
        if keep and targets.shape[1] != len(self.intercepts_[-1]):
            raise InputError(f"y has {targets.shape[1]} targets, the fitted network "
                             f"{len(self.intercepts_[-1])}; fit without warm_start to change them",
                             argument="y")
        self._n_targets = targets.shape[1]
        return targets

    def _n_outputs(self):
        return self._n_targets

    def predict(self, X):
        """The output activations for each row of X (1-D when the fit's y was 1-D)."""
        out = self._outputs(X)
        return out[:, 0] if self._y_1d else out
