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

from xprop import InputError  # noqa: E402
from xprop.sklearn import XpropClassifier, XpropRegressor  # noqa: E402

# Few epochs keep the checks fast; the regressor needs a few more to reach sklearn's
# R² > 0.5 in check_regressors_train.
CHECKED = [XpropClassifier(epochs=5), XpropRegressor(epochs=10)]


@parametrize_with_checks(CHECKED)
def test_sklearn_estimator_checks(estimator, check, monkeypatch):
    # The array API check asks that scipy's array API support be switched on; with numpy
    # inputs (what it passes an estimator without array API support) scipy is unaffected.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
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
