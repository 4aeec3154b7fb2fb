"""scikit-learn estimators around the Network: ``XpropClassifier`` and ``XpropRegressor``.

The estimator is the boundary between scikit-learn's world (labels of any type, cloning,
pickling, grid searches in other processes) and the network's (arrays on one backend and
device). It follows scikit-learn's rules for where arrays live:

* By default inputs are numpy (or anything ``validate_data`` turns into numpy: lists,
  DataFrames, and torch or jax CPU arrays through ``numpy.asarray``). They are copied onto
  the chosen ``backend``/``device`` explicitly (``backend.from_host``), and outputs come
  back as numpy.
* With ``sklearn.config_context(array_api_dispatch=True)`` and X an array of another
  library (torch, cupy, jax, array-api-strict), everything follows X: the network trains
  on X's library and device, X is never copied to the host, and outputs and fitted
  arrays are arrays of X's library on X's device. ``y`` given on another library or device
  is moved to X's (scikit-learn's rule for mixed inputs); text labels stay on the host.
  A ``backend``/``device`` that names another place than X's is refused, not honoured by a
  silent copy.

The fitted model is ``network_``, a ``Network``; ``coefs_[i]`` (n_in, n_out) and
``intercepts_[i]`` give its parameters with ``MLPClassifier``'s names and orientation.
A Network pickles as host copies of its parameters and is rebuilt on its backend when
unpickled, so an estimator pickles and clones whatever the backend.

The defaults are the book's network (chapter 1: one hidden layer of 30 sigmoid neurons,
30 epochs of mini-batches of 10, eta = 3.0). The classifier uses the cross-entropy cost
of chapter 3 on sigmoid outputs, which learns faster than the quadratic cost when an
output neuron is badly wrong; ``predict_proba`` normalises the sigmoid outputs so that a
row sums to 1 (with ``output_activation="softmax", cost="log-likelihood"`` it is the
softmax itself). The regressor has a linear output with the quadratic cost, whose
minimum is the conditional mean; eta = 3.0 would diverge on a linear output, so its
default is 0.1. Outputs are float64 whatever the network's dtype (float32 on a device
without float64), as scikit-learn's are.
"""

from __future__ import annotations

import numbers

import numpy as np

try:
    from sklearn import get_config
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError("xprop.sklearn needs scikit-learn: pip install 'xprop[sklearn]'") from None

from array_api_compat import array_namespace, is_array_api_obj, is_numpy_array
from array_api_compat import device as array_device

from .backends import backend_for
from .costs import get_cost
from .errors import InputError
from .network import Network
from .train import EarlyStopping, ReduceOnPlateau
from .validation import check_backend, check_dtype, check_positive

__all__ = ["XpropClassifier", "XpropRegressor"]


def _stays_where_it_is(X) -> bool:
    """Whether X is used where it lives: array API dispatch is on and X is an array of a
    library other than numpy (scikit-learn's rule: everything follows X)."""
    return bool(get_config()["array_api_dispatch"]) and is_array_api_obj(X) and not is_numpy_array(X)


def _floats(X, dtype, host):
    """The float dtypes ``validate_data`` lets X keep, the network's first (an integer X is
    converted straight to it), in X's library."""
    names = (dtype, "float64" if dtype == "float32" else "float32")
    xp = np if host else array_namespace(X)
    return [getattr(xp, name) for name in names]


def _onto(backend, array, dtype, host):
    """``array`` on ``backend`` in ``dtype``: an explicit copy of a host array, a conversion
    on the device (none if the dtype is right) of an array that is there already."""
    if host:
        return backend.from_host(array, dtype)
    xp = backend.namespace
    return xp.astype(array, getattr(xp, dtype), copy=False)


def _where_x_is(y, backend, host):
    """``y`` where X is: unchanged for host inputs; else numbers on X's backend and device
    (an explicit copy if they are elsewhere: scikit-learn's rule for mixed inputs), text
    labels on the host (no array library but numpy holds them)."""
    if host or backend.owns(y):
        return y
    if is_numpy_array(y):
        return y if y.dtype.kind not in "biuf" else backend.from_host(y)
    return backend.from_host(backend_for(y).to_host(y))


def _widest_float(array):
    """``array`` in float64, as scikit-learn's outputs are, or in float32 on a device that
    has no float64 (scikit-learn's rule for such devices)."""
    xp = array_namespace(array)
    floats = xp.__array_namespace_info__().dtypes(device=array_device(array), kind="real floating")
    return xp.astype(array, floats.get("float64", xp.float32), copy=False)


def _same_place(a, b) -> bool:
    """Whether two backends are one library on one device."""
    return a.name == b.name and a.device == b.device


def _host(array):
    """A numpy copy of a fitted array or output, wherever it lives (for messages and
    comparisons only)."""
    return array if is_numpy_array(array) else backend_for(array).to_host(array)


class _XpropEstimator(BaseEstimator):
    """What the classifier and the regressor share: the options, the network, the training."""

    _metric = "evaluation_accuracy"  # what early stopping and reduce_eta watch
    _default_cost, _default_eta = "cross-entropy", 3.0

    def __init__(self, hidden_layer_sizes=(30,), *, activation="sigmoid", output_activation=None,
                 cost=None, init="scaled", epochs=30, batch_size=10, eta=None, lmbda=0.0,
                 momentum=0.0, backend=None, device=None, dtype="float32", random_state=None,
                 compile=False, early_stopping=None, reduce_eta=None, validation_fraction=0.1,
                 warm_start=False, verbose=False):
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
        self.reduce_eta = reduce_eta
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        return tags

    # -- the fitted parameters, MLPClassifier's way round --------------------------------
    @property
    def coefs_(self):
        """The weight matrices, ``coefs_[i]`` of shape (n_in, n_out): ``network_.weights[i]``
        transposed; numpy copies when the estimator was fitted on host inputs, arrays on
        the network's device otherwise."""
        return [w.T for w in self._fitted_parameters(0)]

    @property
    def intercepts_(self):
        """The bias vectors, ``intercepts_[i]`` of shape (n_out,), placed as ``coefs_``."""
        return self._fitted_parameters(1)

    def _fitted_parameters(self, which):
        if "network_" not in vars(self):
            raise AttributeError(f"this {type(self).__name__} is not fitted yet: call fit first")
        net = self.network_
        arrays = (net.weights, net.biases)[which]
        return net.host_copies(arrays) if self._host_inputs else list(arrays)

    # -- where the network computes ------------------------------------------------------
    def _placement(self, X):
        """(backend, host): the backend the network computes on, and whether X is a host
        array copied onto it (True) or an array used where it lives (False)."""
        if not _stays_where_it_is(X):
            return check_backend(self.backend or "numpy", self.device), True
        owner = backend_for(X)
        if self.backend in (None, owner.name) and (
                self.device is None or _same_place(check_backend(owner.name, self.device), owner)):
            return owner, False
        raise InputError(
            f"X is a {owner.name} array on {owner.device} and array API dispatch is on, so the "
            f"estimator computes where X is; but backend={self.backend!r}, device={self.device!r} "
            "name another place: leave backend and device None, or give numpy arrays to have "
            "them copied there", argument="backend")

    def _check_same_place(self, X, host, method):
        """With array API dispatch on, refuse X of another library or device than fit's
        (scikit-learn's rule: a fitted estimator is used where it was fitted)."""
        if not get_config()["array_api_dispatch"]:
            return
        net = self.network_
        if host == self._host_inputs and (host or net.backend.owns(X)):
            return
        fitted = "numpy" if self._host_inputs else f"{net.backend.name} on {net.backend.device}"
        given = "numpy or array-like"
        if not host:
            owner = backend_for(X)
            given = f"{owner.name} on {owner.device}"
        raise InputError(
            f"Inputs passed to {type(self).__name__}.{method}() must use the same namespace and the "
            f"same device as those passed to fit(): fit had {fitted}, {method} has {given}; move X "
            "there, or fit again on these inputs", argument="X")

    # -- prediction ----------------------------------------------------------------------
    def _outputs(self, X, method):
        """The network's output activations for X, in X's library: numpy for host inputs."""
        check_is_fitted(self, "network_")
        net, host = self.network_, not _stays_where_it_is(X)
        self._check_same_place(X, host, method)
        X = validate_data(self, X, reset=False, dtype=_floats(X, net.dtype, host))
        out = net.feedforward(_onto(net.backend, X, net.dtype, host))
        return net.backend.to_host(out).astype(np.float64) if host else _widest_float(out)

    # -- training ------------------------------------------------------------------------
    def fit(self, X, y):
        """Train for ``epochs`` epochs (continuing from the last fit with ``warm_start``)."""
        return self._fit(X, y, epochs=self.epochs, keep=self.warm_start)

    def _fit(self, X, y, *, epochs, keep, classes=None, method="fit"):
        """Train for ``epochs`` epochs, from the fitted network when ``keep`` and fitted.

        A fit that fails (a bad option, bad data, a divergence) leaves the fitted state as
        it was: ``classes_``, ``n_features_in_`` and the rest are set as the fit goes, and a
        half-made fit must not pair new classes with the old network."""
        before = dict(vars(self))
        try:
            return self._fit_or_fail(X, y, epochs=epochs, keep=keep, classes=classes, method=method)
        except Exception:
            vars(self).clear()
            vars(self).update(before)
            raise

    def _fit_or_fail(self, X, y, *, epochs, keep, classes, method):
        keep = keep and "network_" in vars(self)
        backend, host = self._placement(X)
        dtype = check_dtype(self.dtype)
        callbacks = self._schedules()  # the options checked before any work
        if keep:
            self._check_same_place(X, host, method)
            self._check_same_network(self.network_, method)
        X, y = validate_data(self, X, y, reset=not keep, dtype=_floats(X, dtype, host),
                             multi_output=self._multi_output, y_numeric=self._multi_output)
        targets = self._targets(_where_x_is(y, backend, host), keep, classes, backend, dtype)
        X = _onto(backend, X, dtype, host)
        if keep:
            net = self.network_
            if not _same_place(net.backend, backend) or net.dtype != dtype:  # set_params changed them
                net = net.to(backend, dtype=dtype)
        else:
            self._seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
            self.n_iter_ = 0
            net = self._new_network(X.shape[1], self._n_outputs(), backend=backend, dtype=dtype)
        evaluation = None
        if callbacks:  # they watch a held-out share of the rows
            train, held = self._split(X.shape[0], backend)
            take = backend.namespace.take
            evaluation = (take(X, held, axis=0), take(targets, held, axis=0))
            X, targets = take(X, train, axis=0), take(targets, train, axis=0)
        history = net.fit(X, targets, epochs=epochs, batch_size=self.batch_size, eta=self._eta(),
                          lmbda=self.lmbda, momentum=self.momentum, seed=self._seed + self.n_iter_,
                          compile=self.compile, evaluation=evaluation, callbacks=callbacks,
                          verbose=bool(self.verbose), monitor=None if evaluation is None else [self._metric])
        self.network_, self._host_inputs = net, host
        self.n_iter_ += len(history)
        self.n_layers_ = len(net.sizes)
        self.history_ = history
        return self

    def _schedules(self) -> list:
        """The callbacks that watch the held-out rows: chapter 3's learning-rate schedule
        (halve eta after ``reduce_eta`` epochs without improvement, stop at eta/128) and
        early stopping (stop after ``early_stopping`` such epochs, keep the best)."""
        schedules = []
        if self.reduce_eta is not None:
            patience = check_positive("reduce_eta", self.reduce_eta, numbers.Integral)
            schedules.append(ReduceOnPlateau(patience=patience, metric=self._metric))
        if self.early_stopping is not None:
            patience = check_positive("early_stopping", self.early_stopping, numbers.Integral)
            schedules.append(EarlyStopping(patience=patience, metric=self._metric))
        return schedules

    def _new_network(self, n_in, n_out, *, seed=None, **placement):
        hidden = self.hidden_layer_sizes
        hidden = [hidden] if isinstance(hidden, numbers.Integral) else list(hidden)
        return Network([n_in, *hidden, n_out], activation=self.activation,
                       output_activation=self._output_activation(), cost=self._cost(), init=self.init,
                       seed=self._seed if seed is None else seed, **placement)

    def _check_same_network(self, net, method):
        """Refuse to continue the fitted network when ``set_params`` has since described
        another (layer sizes, activations, cost, init): training it further would leave
        ``get_params()`` describing a model that is not the one fitted."""
        # what the options describe now, on one input (the input width is the data's, and
        # drawing a layer of n_in weights to compare names would be work for nothing)
        wanted = self._new_network(1, net.sizes[-1], seed=net.seed).config()
        fitted = {**net.config(), "sizes": [1, *net.sizes[1:]]}
        changed = [name for name, key in (("hidden_layer_sizes", "sizes"), ("activation/output_activation",
                                          "activations"), ("cost", "cost"), ("init", "init"))
                   if wanted[key] != fitted[key]]
        if changed:
            named = " and ".join([", ".join(changed[:-1]), changed[-1]] if len(changed) > 1 else changed)
            how = "warm_start=False" if method == "fit" else "a new estimator (sklearn.base.clone)"
            raise InputError(f"{method} continues the fitted network {net.sizes} "
                             f"({', '.join(fitted['activations'])}; {fitted['cost']}), but {named} now "
                             f"describe another; set them back, or start anew with {how}",
                             argument=changed[0].split("/")[0])

    # None for cost, eta or output_activation: the estimator's own default
    def _cost(self):
        return self._default_cost if self.cost is None else self.cost

    def _eta(self):
        return self._default_eta if self.eta is None else self.eta

    def _output_activation(self):
        return self._default_output_activation() if self.output_activation is None else self.output_activation

    def _split(self, m, backend):
        """Training rows and held-out rows for the schedules (a seeded shuffle drawn on the
        host, as every xprop shuffle, so that one seed splits alike on every backend), as
        index arrays on ``backend``."""
        fraction = self.validation_fraction
        if not (isinstance(fraction, numbers.Real) and 0 < fraction < 1):
            raise InputError(f"validation_fraction must be a number between 0 and 1, got {fraction!r}",
                             argument="validation_fraction")
        held = max(1, int(round(fraction * m)))
        if held >= m:
            raise InputError(f"early_stopping and reduce_eta hold out {held} of {m} rows, leaving none to "
                             "train on; give more rows, or set them to None", argument="validation_fraction")
        order = np.random.default_rng(self._seed).permutation(m)
        return backend.from_host(order[held:], "int64"), backend.from_host(order[:held], "int64")


class XpropClassifier(ClassifierMixin, _XpropEstimator):
    """A fully connected network trained by backpropagation, as a scikit-learn classifier.

    >>> clf = XpropClassifier(hidden_layer_sizes=(30,), epochs=30).fit(X, y)
    >>> clf.predict(X_test), clf.predict_proba(X_test)

    One output neuron per class; the predicted class is the most active one. ``cost=None``
    is the cross-entropy cost on sigmoid outputs, ``eta=None`` is 3.0 (the book's).
    """

    _multi_output = False

    def _default_output_activation(self):
        """Sigmoid output neurons, one score per class, whatever the hidden layers'
        activation; softmax where the cost asks for it (the log-likelihood)."""
        return "softmax" if get_cost(self._cost()).output_activations == ("softmax",) else "sigmoid"

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y); ``classes``, every label there will be, is required the first time."""
        if "classes_" not in vars(self) and classes is None:
            raise InputError("the first partial_fit needs classes=..., every class label there will be "
                             "(e.g. classes=numpy.unique(y_all))", argument="classes")
        return self._fit(X, y, epochs=1, keep=True, classes=classes, method="partial_fit")

    def _targets(self, y, keep, classes, backend, dtype):
        """y's class numbers 0..k-1 on ``backend``; ``classes_`` (sorted labels) set on the
        first fit, where y is: numpy for host or text labels, else on X's device."""
        check_classification_targets(y)
        given = None if classes is None else np.unique(np.asarray(classes))
        if given is not None and keep and not np.array_equal(given, _host(self.classes_)):
            raise InputError(f"classes={given.tolist()} differ from those of the first fit, "
                             f"{_host(self.classes_).tolist()}; give the same classes every time",
                             argument="classes")
        if is_numpy_array(y):  # labels of any type numpy holds
            if not keep:
                self.classes_ = np.unique(y) if given is None else given
            all_known = np.isin(y, self.classes_).all()
            numbers = np.searchsorted(self.classes_, y)
        else:  # numbers (or bools) on X's device, found there: one read-back, for the check
            xp = array_namespace(y)
            if not keep:
                self.classes_ = (xp.astype(xp.sort(xp.unique_values(_sortable(xp, y))), y.dtype)
                                 if given is None else backend.from_host(given))
            classes, key = _sortable(xp, self.classes_), _sortable(xp, _same_dtype(xp, y, self.classes_))
            numbers = xp.searchsorted(classes, key)
            found = xp.take(classes, xp.clip(numbers, max=classes.shape[0] - 1))
            all_known = bool(xp.all(found == key))
        if not all_known:
            labels, classes = _host(y), _host(self.classes_)
            unknown = np.unique(labels[~np.isin(labels, classes)])
            raise InputError(f"y holds labels {unknown[:5].tolist()} not among the classes "
                             f"{classes.tolist()}; give every label in classes=... on the first call "
                             "(or fit without warm_start)", argument="y")
        # numbers found on the device are in searchsorted's integer dtype already
        return backend.from_host(numbers, "int64") if is_numpy_array(numbers) else numbers

    def _n_outputs(self):
        return self.classes_.shape[0]

    def predict(self, X):
        """The class of the most active output neuron, for each row of X."""
        out = self._outputs(X, "predict")
        numbers = array_namespace(out).argmax(out, axis=1)
        classes = self.classes_
        if is_numpy_array(classes) != is_numpy_array(numbers):
            if is_numpy_array(classes):  # text labels, which only numpy holds
                numbers = _host(numbers)
            else:  # fitted on a device, asked for numpy outputs (array API dispatch off)
                classes = _host(classes)
        return array_namespace(classes).take(classes, numbers)

    def predict_proba(self, X):
        """Class probabilities (rows sum to 1): the output activations, normalised."""
        return self._proba(X, "predict_proba")

    def predict_log_proba(self, X):
        """The logarithm of ``predict_proba``."""
        proba = self._proba(X, "predict_log_proba")
        with np.errstate(divide="ignore"):
            return array_namespace(proba).log(proba)

    def _proba(self, X, method):
        out = self._outputs(X, method)
        xp = array_namespace(out)
        return out / xp.clip(xp.sum(out, axis=1, keepdims=True), min=xp.finfo(out.dtype).smallest_normal)


def _sortable(xp, labels):
    """Bool labels as int8 (False < True), since sort and searchsorted take only numbers."""
    return xp.astype(labels, xp.int8) if labels.dtype == xp.bool else labels


def _same_dtype(xp, y, classes):
    """Integer labels in the fitted classes' dtype (int32 labels for int64 classes are the
    same labels); other differences are refused."""
    if y.dtype == classes.dtype:
        return y
    if xp.isdtype(y.dtype, "integral") and xp.isdtype(classes.dtype, "integral"):
        return xp.astype(y, classes.dtype)
    raise InputError(f"y's labels are {y.dtype}, the fitted classes {classes.dtype}; give labels of "
                     "the first fit's dtype", argument="y")


class XpropRegressor(RegressorMixin, _XpropEstimator):
    """A fully connected network trained by backpropagation, as a scikit-learn regressor.

    >>> reg = XpropRegressor(hidden_layer_sizes=(30,), epochs=30).fit(X, y)
    >>> reg.predict(X_test)          # 1-D for 1-D y, (m, n_targets) for 2-D y

    One output neuron per target. ``output_activation=None`` is linear, ``cost=None`` the
    quadratic cost, ``eta=None`` 0.1 (a linear output's step is not damped by σ').
    """

    _multi_output = True
    _metric = "evaluation_cost"
    _default_cost, _default_eta = "quadratic", 0.1

    def _default_output_activation(self):
        return "linear"

    def partial_fit(self, X, y):
        """One epoch over (X, y), continuing from the parameters so far."""
        return self._fit(X, y, epochs=1, keep=True, method="partial_fit")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _targets(self, y, keep, classes, backend, dtype):
        """y as targets (m, n_targets) on ``backend`` in the network's dtype."""
        targets = array_namespace(y).reshape(y, (-1, 1)) if y.ndim == 1 else y
        if keep and targets.shape[1] != self.network_.sizes[-1]:
            raise InputError(f"y has {targets.shape[1]} targets, the fitted network "
                             f"{self.network_.sizes[-1]}; fit without warm_start to change them",
                             argument="y")
        self._n_targets = targets.shape[1]
        return _onto(backend, targets, dtype, is_numpy_array(targets))

    def _n_outputs(self):
        return self._n_targets

    def predict(self, X):
        """The output activations for each row of X: 1-D for one target (y of shape (m,) or
        (m, 1), as MLPRegressor), (m, n_targets) for more."""
        out = self._outputs(X, "predict")
        return out[:, 0] if self.network_.sizes[-1] == 1 else out
