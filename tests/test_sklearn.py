"""The scikit-learn estimators: sklearn's own estimator checks, pipelines, searches, pickling."""

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="the estimators need scikit-learn: pip install 'xprop[sklearn]'")

from sklearn.datasets import load_digits, make_regression  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import xprop  # noqa: E402
from xprop import InputError, get_backend  # noqa: E402
from xprop.sklearn import XpropClassifier, XpropRegressor  # noqa: E402

# Few epochs keep the checks fast; the regressor needs a few more to reach sklearn's
# R² > 0.5 in check_regressors_train.
CHECKED = [XpropClassifier(epochs=5), XpropRegressor(epochs=10)]


def _libraries(check):
    """The array libraries an array API check puts its inputs in (none for other checks)."""
    keywords = getattr(check, "keywords", {})
    places = [keywords.get("array_namespace")]
    places += [getattr(keywords.get(k), "xp", None) for k in ("X_ns_and_device", "other_ns_and_device")]
    return {name for name in places if name}


@parametrize_with_checks(CHECKED)
def test_sklearn_estimator_checks(estimator, check, monkeypatch):
    # scikit-learn runs its array API checks only with scipy's array API support switched on.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    for library in _libraries(check) & {"cupy"}:
        # scikit-learn skips a missing library or a torch device torch was not built for,
        # but creates a cupy array whenever cupy is installed, which fails without a GPU.
        reason = get_backend(library, check=False).unavailable_reason
        if reason:
            pytest.skip(f"{library}: {reason}")
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def test_pipeline_on_digits_beats_90_percent(digits):
    X_train, X_test, y_train, y_test = digits
    model = make_pipeline(StandardScaler(), XpropClassifier(random_state=0)).fit(X_train, y_train)
    assert model.score(X_test, y_test) > 0.90


def test_cross_val_score_gives_one_score_per_fold(digits):
    X, _, y, _ = digits
    scores = cross_val_score(make_pipeline(StandardScaler(), XpropClassifier(epochs=5, random_state=0)),
                             X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.85


def test_grid_search_in_two_processes_picks_the_learning_rate(digits):
    X, _, y, _ = digits
    search = GridSearchCV(make_pipeline(StandardScaler(), XpropClassifier(epochs=3, random_state=0)),
                          {"xpropclassifier__eta": [1e-4, 1.0]}, cv=2, n_jobs=2).fit(X, y)
    assert search.best_params_ == {"xpropclassifier__eta": 1.0}  # 1e-4 barely moves in 3 epochs


@pytest.mark.parametrize("make", [
    pytest.param(lambda: (XpropClassifier(epochs=3, random_state=0), *load_digits(return_X_y=True)),
                 id="classifier"),
    pytest.param(lambda: (XpropRegressor(epochs=3, random_state=0),
                          *make_regression(60, 4, n_targets=2, random_state=0)), id="regressor"),
])
def test_pickle_round_trip_predicts_the_same(make):
    estimator, X, y = make()
    estimator.fit(X / np.abs(X).max(), y if y.dtype.kind == "i" else y / np.abs(y).max())
    copy = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(copy.predict(X), estimator.predict(X))


def test_partial_fit_needs_the_classes_first():
    X, y = load_digits(return_X_y=True)
    clf = XpropClassifier(random_state=0)
    with pytest.raises(InputError, match="classes="):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:100], y[:100], classes=np.arange(10))
    clf.partial_fit(X[100:], y[100:])
    assert clf.n_iter_ == 2 and list(clf.classes_) == list(range(10))


@pytest.mark.parametrize("warm_start", [True, False], ids=["warm", "cold"])
def test_warm_start_continues_training(warm_start):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    clf = XpropClassifier(epochs=1, eta=0.1, warm_start=warm_start, random_state=0)
    first = clf.fit(X, y).score(X, y)
    for _ in range(4):
        clf.fit(X, y)
    assert clf.n_iter_ == (5 if warm_start else 1)
    assert (clf.score(X, y) > first + 0.05) == warm_start


def test_regressor_predicts_1d_for_1d_y_and_2d_for_2d_y():
    X, y = make_regression(50, 3, n_targets=2, random_state=0)
    y = y / np.abs(y).max()
    reg = XpropRegressor(epochs=2, random_state=0)
    assert reg.fit(X, y).predict(X).shape == (50, 2)
    assert reg.fit(X, y[:, 0]).predict(X).shape == (50,)


def test_predict_proba_rows_sum_to_one_with_softmax_too():
    X, y = load_digits(return_X_y=True)
    clf = XpropClassifier(epochs=2, output_activation="softmax", cost="log-likelihood", eta=0.1,
                          random_state=0).fit(X / 16.0, y)
    np.testing.assert_allclose(clf.predict_proba(X / 16.0).sum(axis=1), 1.0, rtol=1e-5)


def test_early_stopping_stops_before_the_epochs_run_out():
    X, y = load_digits(return_X_y=True)
    clf = XpropClassifier(epochs=200, early_stopping=2, eta=3.0, random_state=0).fit(X / 16.0, y)
    assert clf.n_iter_ < 200 and clf.history_.stopped_early


@pytest.mark.parametrize("options, message", [
    ({"validation_fraction": 1.5, "early_stopping": 2}, "validation_fraction"),
    ({"hidden_layer_sizes": (0,)}, "sizes"),
    ({"eta": -1.0}, "eta"),
], ids=["validation-fraction", "hidden-size", "eta"])
def test_bad_options_fail_with_one_line_naming_them(options, message):
    X, y = load_digits(return_X_y=True)
    with pytest.raises(InputError, match=message):
        XpropClassifier(epochs=1, **options).fit(X, y)


def test_torch_backend_fits_and_predicts(digits):
    pytest.importorskip("torch", reason="the torch backend needs torch: pip install torch")
    X_train, X_test, y_train, y_test = digits
    model = make_pipeline(StandardScaler(), XpropClassifier(backend="torch", epochs=5, random_state=0))
    predicted = model.fit(X_train, y_train).predict(X_test)
    assert isinstance(predicted, np.ndarray) and (predicted == y_test).mean() > 0.85


@pytest.mark.parametrize("verbose, lines", [(True, 2), (False, 0)], ids=["verbose", "quiet"])
def test_verbose_prints_one_line_per_epoch(verbose, lines, capsys):
    X, y = load_digits(return_X_y=True)
    XpropClassifier(epochs=2, verbose=verbose, random_state=0).fit(X / 16.0, y)
    assert capsys.readouterr().out.count("epoch ") == lines


# -- array API dispatch: the estimator computes where X is ----------------------------------
PLACES = [pytest.param("array_api_strict", "CPU_DEVICE", id="strict-cpu"),
          pytest.param("array_api_strict", "device1", id="strict-device1"),
          pytest.param("torch", "cpu", id="torch-cpu")]


@pytest.fixture
def dispatch(monkeypatch):
    """``with dispatch():`` runs its body with scikit-learn's array API dispatch on (which
    scikit-learn allows only with scipy's array API support switched on too)."""
    from sklearn import config_context

    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    return lambda: config_context(array_api_dispatch=True)


def _library(name):
    return pytest.importorskip(name, reason=f"this check needs {name}: pip install {name.replace('_', '-')}")


def _on(name, device, *arrays):
    """``arrays`` as arrays of library ``name`` on ``device`` (a device by its name)."""
    xp = _library(name)
    if name == "jax":
        xp, place = _library("jax.numpy"), xp.devices(device)[0]
    else:
        place = xp.Device(device) if name == "array_api_strict" else device
    return [xp.asarray(a, device=place) for a in arrays]


@pytest.mark.parametrize("library, device", PLACES)
@pytest.mark.parametrize("estimator", [XpropClassifier(epochs=5, dtype="float64"),
                                       XpropRegressor(epochs=5, dtype="float64"),
                                       XpropClassifier(epochs=5, dtype="float64", early_stopping=2)],
                         ids=["classifier", "regressor", "early-stopping"])
def test_dispatch_gives_numpys_values_on_every_library(estimator, library, device, monkeypatch):
    # scikit-learn's own check with check_values=True: attributes and every method's output
    # equal to the all-numpy fit within 2.2e-13 (float64), beside namespace, device and dtype.
    from sklearn.utils.estimator_checks import check_array_api_input_and_values

    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    xp = _library(library)
    default = xp.get_default_dtype() if library == "torch" else None
    if default is not None:
        # scikit-learn's accuracy_score averages torch integer labels in torch's default
        # float dtype, float32 (0.8333333134651184 for 25 of 30 against numpy's
        # 0.8333333333333334): the classifier's score would differ by 2e-8 for scikit-learn's
        # reason, not xprop's, whenever the accuracy is not a float32 number.
        xp.set_default_dtype(xp.float64)
    try:
        check_array_api_input_and_values(type(estimator).__name__, estimator, library, device, "float64")
    finally:
        if default is not None:
            xp.set_default_dtype(default)


@pytest.mark.parametrize("library, device", [*PLACES, pytest.param("jax", "cpu", id="jax-cpu")])
def test_dispatch_trains_on_xs_device_and_keeps_everything_there(library, device, dispatch):
    from array_api_compat import device as device_of

    X, y = load_digits(return_X_y=True)
    X, y = _on(library, device, X / 16.0, y)
    with dispatch():
        clf = XpropClassifier(epochs=3, random_state=0).fit(X, y)
        predicted, proba = clf.predict(X), clf.predict_proba(X)
        accuracy = clf.score(X, y)
    net = clf.network_
    assert net.backend.name == library and net.backend.device == device_of(X)
    for array in [predicted, proba, clf.classes_, *clf.coefs_, *clf.intercepts_]:
        assert type(array) is type(X) and device_of(array) == device_of(X)
    assert accuracy > 0.85


def test_dispatch_refuses_a_backend_other_than_xs(dispatch):
    torch = _library("torch")
    X, y = load_digits(return_X_y=True)
    with dispatch(), pytest.raises(InputError, match="computes where X is"):
        XpropClassifier(epochs=1, backend="numpy").fit(torch.asarray(X), torch.asarray(y))


def test_dispatch_refuses_predicting_on_another_library_than_fit(dispatch):
    torch = _library("torch")
    X, y = load_digits(return_X_y=True)
    with dispatch():
        clf = XpropClassifier(epochs=1, random_state=0).fit(torch.asarray(X), torch.asarray(y))
        with pytest.raises(ValueError, match=r"XpropClassifier\.predict\(\) must use the same namespace"):
            clf.predict(X)
    # without dispatch, scikit-learn's rule is numpy in, numpy out: the network's device is
    # reached by explicit copies, and the labels come back as numpy
    assert isinstance(clf.predict(X), np.ndarray) and clf.predict(X).dtype == y.dtype


def test_dispatch_moves_y_to_xs_library_and_keeps_text_labels_on_the_host(dispatch):
    torch = _library("torch")
    strict = _library("array_api_strict")
    X, y = load_digits(return_X_y=True)
    X = torch.asarray(X / 16.0)
    with dispatch():
        numbers = XpropClassifier(epochs=1, random_state=0).fit(X, strict.asarray(y, device=strict.Device("device1")))
        assert isinstance(numbers.predict(X), torch.Tensor)
        names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
        texts = XpropClassifier(epochs=1, random_state=0).fit(X, names[y])
        assert list(texts.classes_) == sorted(names) and texts.predict(X).dtype == names.dtype


def test_dispatch_partial_fit_refuses_unknown_labels_read_on_the_device(dispatch):
    torch = _library("torch")
    X, y = load_digits(return_X_y=True)
    X, y = torch.asarray(X / 16.0), torch.asarray(y)
    with dispatch():
        clf = XpropClassifier(random_state=0).partial_fit(X[y < 5], y[y < 5], classes=[0, 1, 2, 3, 4])
        with pytest.raises(InputError, match=r"labels \[5, 6, 7, 8, 9\] not among"):
            clf.partial_fit(X, y)
        clf.partial_fit(X[y < 5], torch.asarray(y[y < 5], dtype=torch.int32))  # int32 labels: same classes
    assert clf.n_iter_ == 2


def test_dispatch_fitted_estimator_pickles_back_onto_its_device(dispatch):
    torch = _library("torch")
    X, y = load_digits(return_X_y=True)
    X, y = torch.asarray(X / 16.0), torch.asarray(y)
    with dispatch():
        clf = XpropClassifier(epochs=2, random_state=0).fit(X, y)
        copy = pickle.loads(pickle.dumps(clf))
        assert torch.equal(copy.predict(X), clf.predict(X))


def test_reduce_eta_halves_eta_on_a_plateau_as_in_chapter_3():
    X, y = load_digits(return_X_y=True)
    clf = XpropClassifier(epochs=12, reduce_eta=1, eta=3.0, random_state=0).fit(X / 16.0, y)
    etas = [record.eta for record in clf.history_]
    assert etas[0] == 3.0 and min(etas) < 3.0  # halved at least once on the held-out rows
    assert all(later in (earlier, earlier / 2) for earlier, later in zip(etas, etas[1:]))


def test_warm_start_follows_a_backend_changed_between_fits():
    pytest.importorskip("torch", reason="the torch backend needs torch: pip install torch")
    X, y = load_digits(return_X_y=True)
    clf = XpropClassifier(epochs=1, warm_start=True, random_state=0).fit(X / 16.0, y)
    before = clf.coefs_[0]
    clf.set_params(backend="torch").fit(X / 16.0, y)
    assert clf.network_.backend.name == "torch" and clf.n_iter_ == 2
    assert isinstance(clf.coefs_[0], np.ndarray) and not np.array_equal(clf.coefs_[0], before)


@pytest.mark.parametrize("options, outputs", [
    pytest.param({"activation": "relu"}, ["relu", "sigmoid"], id="relu-hidden"),
    pytest.param({"activation": "tanh"}, ["tanh", "sigmoid"], id="tanh-hidden"),
    pytest.param({"activation": "relu", "cost": "log-likelihood", "eta": 0.1}, ["relu", "softmax"], id="softmax"),
    pytest.param({"activation": "relu", "cost": "quadratic"}, ["relu", "sigmoid"], id="quadratic"),
])
def test_the_classifiers_output_layer_is_sigmoid_whatever_the_hidden_activation(options, outputs):
    X, y = load_digits(return_X_y=True)
    clf = XpropClassifier(epochs=1, random_state=0, **options).fit(X / 16.0, y)
    assert [a.name for a in clf.network_.activations] == outputs


@pytest.mark.parametrize("change, named", [
    ({"hidden_layer_sizes": (4,)}, "hidden_layer_sizes"),
    ({"activation": "tanh"}, "activation/output_activation"),
    ({"cost": "quadratic"}, "cost"),
    ({"hidden_layer_sizes": (4,), "cost": "quadratic"}, "hidden_layer_sizes and cost"),
], ids=["sizes", "activation", "cost", "two"])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_warm_start_refuses_a_network_set_params_has_changed(change, named, method):
    X, y = load_digits(return_X_y=True)
    clf = XpropClassifier(epochs=1, warm_start=True, random_state=0).fit(X / 16.0, y)
    before = clf.network_.config()
    with pytest.raises(InputError, match=f"but {named} now describe another"):
        getattr(clf.set_params(**change), method)(X / 16.0, y)
    assert clf.network_.config() == before and clf.n_iter_ == 1  # nothing trained


@pytest.mark.parametrize("library, device", PLACES)
def test_dispatch_takes_bool_labels(library, device, dispatch):
    X, y = load_digits(return_X_y=True)
    X, y = _on(library, device, X / 16.0, y == 3)
    with dispatch():
        clf = XpropClassifier(epochs=2, random_state=0).fit(X, y)
        predicted = clf.predict(X)
        assert clf.score(X, y) > 0.85
    assert _host_list(clf.classes_) == [False, True] and predicted.dtype == y.dtype


def _host_list(array):
    return np.asarray(xprop.backend_for(array).to_host(array)).tolist()


@pytest.mark.parametrize("option", ["early_stopping", "reduce_eta"])
@pytest.mark.parametrize("value", [True, 0, -2, 1.5])
def test_schedule_options_are_named_when_refused(option, value):
    X, y = load_digits(return_X_y=True)
    with pytest.raises(InputError, match=f"^{option} must be a positive integer"):
        XpropClassifier(epochs=1, **{option: value}).fit(X, y)


def test_the_regressor_predicts_1d_for_one_target_given_as_a_column():
    X, y = make_regression(40, 3, random_state=0)
    reg = XpropRegressor(epochs=2, random_state=0).fit(X, (y / np.abs(y).max())[:, None])
    assert reg.predict(X).shape == (40,)  # as MLPRegressor


def test_a_failed_refit_leaves_the_fitted_estimator_as_it_was():
    X, y = load_digits(return_X_y=True)
    clf = XpropClassifier(epochs=1, random_state=0).fit(X / 16.0, y)
    before = clf.predict(X[:20] / 16.0)
    with pytest.raises(InputError, match="activation"):
        clf.set_params(activation="bogus").fit(X / 16.0, np.array(["x", "y"])[y % 2])
    assert list(clf.classes_) == list(range(10)) and clf.n_features_in_ == 64
    np.testing.assert_array_equal(clf.set_params(activation="sigmoid").predict(X[:20] / 16.0), before)
