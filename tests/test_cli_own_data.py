"""The xprop command on the user's own data: the test accuracy at the end, --hidden, --threads."""

import json
import sys

import numpy as np
import pytest

import xprop
import xprop.errors
from helpers import xprop_cli
from xprop.cli import main
from xprop.io.networks import load_model

N_FEATURES, N_CLASSES = 6, 3


def small_arrays(n, seed):
    """``n`` learnable examples of N_FEATURES floats in [0, 1]: class k lights feature 2k."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, n)
    features = rng.uniform(0, 0.3, (n, N_FEATURES)).astype(np.float32)
    features[np.arange(n), 2 * labels] = 1.0
    return features, labels.astype(np.int64)


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    """A small .npz dataset: 300 training (60 held out for validation) and 90 test examples."""
    path = tmp_path_factory.mktemp("own") / "small.npz"
    x_train, y_train = small_arrays(300, 1)
    x_test, y_test = small_arrays(90, 2)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def train(npz, *extra):
    return ["train", "--dataset", npz, "--validation-size", 60, "--epochs", 2, "--no-progress", *extra]


def one_error_line(err, *fragments):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xprop: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.mark.parametrize("extra, shown", [([], True), (["--no-test"], False)], ids=["test", "no-test"])
def test_train_ends_with_the_test_accuracy_unless_no_test(capsys, npz, extra, shown):
    code, out, err = xprop_cli(capsys, *train(npz, "--hidden", 5, *extra))
    assert code == 0, err
    tests = [line for line in out.splitlines() if line.startswith("test accuracy")]
    assert len(tests) == (1 if shown else 0), out
    if shown:
        assert tests[0] == out.splitlines()[-1]
        assert "(" in tests[0] and "/90), cost " in tests[0], tests[0]


def test_the_test_line_is_the_accuracy_evaluate_reports(capsys, tmp_path, npz):
    model = tmp_path / "m.npz"
    code, out, err = xprop_cli(capsys, *train(npz, "--hidden", 5, "--save", model))
    assert code == 0, err
    trained = next(line for line in out.splitlines() if line.startswith("test accuracy"))
    code, out, err = xprop_cli(capsys, "evaluate", model, "--dataset", npz, "--validation-size", 60, "--json")
    assert code == 0, err
    assert f"({json.loads(out)['correct']}/90)" in trained


@pytest.mark.parametrize("hidden, sizes", [([5], [N_FEATURES, 5, N_CLASSES]),
                                           ([7, 4], [N_FEATURES, 7, 4, N_CLASSES])], ids=["one", "two"])
def test_hidden_takes_the_input_and_output_widths_from_the_data(capsys, tmp_path, npz, hidden, sizes):
    model = tmp_path / "m.npz"
    code, out, err = xprop_cli(capsys, *train(npz, "--hidden", *hidden, "--save", model))
    assert code == 0, err
    assert out.startswith(f"training {sizes} "), out
    assert load_model(model).sizes == sizes


def test_hidden_and_sizes_together_are_one_line(capsys, npz):
    with pytest.raises(SystemExit) as stop:
        main(list(map(str, train(npz, "--hidden", 5, "--sizes", N_FEATURES, 5, N_CLASSES))))
    assert stop.value.code == 2
    one_error_line(capsys.readouterr().err, "--hidden", "--sizes")


@pytest.mark.parametrize("again, ok", [([], True), (["--hidden", 5], True), (["--hidden", 9], False)],
                         ids=["not-given", "same", "other"])
def test_resume_keeps_the_runs_sizes(capsys, tmp_path, npz, again, ok):
    run = tmp_path / "run"
    code, out, err = xprop_cli(capsys, *train(npz, "--hidden", 5, "--checkpoint", run))
    assert code == 0, err
    code, out, err = xprop_cli(capsys, "train", "--resume", run, "--epochs", 3, "--no-progress", *again)
    if ok:
        assert code == 0, err
        assert out.startswith(f"training [{N_FEATURES}, 5, {N_CLASSES}] "), out
    else:
        assert code == 1
        one_error_line(err, "--hidden 9 differs from the run", "--hidden 5")


def test_threads_limit_numpys_blas_while_training(capsys, monkeypatch, npz):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    seen = []
    import xprop.cli.train as train_module

    real = train_module.train

    def spy(job, stdout, stderr, **kwargs):
        seen.extend(info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas")
        return real(job, stdout, stderr, **kwargs)

    monkeypatch.setattr(train_module, "train", spy)
    code, out, err = xprop_cli(capsys, *train(npz, "--hidden", 5, "--threads", 1))
    assert code == 0, err
    if not seen:
        pytest.skip("numpy's BLAS is not visible to threadpoolctl here")
    assert set(seen) == {1}


def test_threads_without_threadpoolctl_is_one_line_with_the_fix(capsys, monkeypatch, npz):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails as if not installed
    code, out, err = xprop_cli(capsys, *train(npz, "--hidden", 5, "--threads", 2))
    assert code == 1 and out == ""
    one_error_line(err, "--threads 2", "pip install threadpoolctl", "too late")


@pytest.mark.parametrize("value", ["0", "-1", "two"], ids=["zero", "negative", "word"])
def test_threads_must_be_a_positive_integer(capsys, npz, value):
    with pytest.raises(SystemExit) as stop:
        main(list(map(str, train(npz, "--threads", value))))
    assert stop.value.code == 2
    one_error_line(capsys.readouterr().err, "--threads")


# -- CSV ------------------------------------------------------------------------------------------
SPECIES = ("setosa", "versicolor", "virginica")


def write_csv(path, n, seed, *, header=True, names=True, scale=10.0):
    """``n`` rows of 3 features far from [0, 1] (class k is large in feature k) and a label."""
    rng = np.random.default_rng(seed)
    rows = ["a,b,c,species"] if header else []
    for _ in range(n):
        k = int(rng.integers(3))
        x = rng.normal(0, 1, 3) + scale * np.eye(3)[k] + 50
        rows.append(",".join(f"{v:.4f}" for v in x) + "," + (SPECIES[k] if names else str(k)))
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def csvs(tmp_path_factory):
    root = tmp_path_factory.mktemp("csv")
    return write_csv(root / "train.csv", 200, 1), write_csv(root / "test.csv", 50, 2)


def csv_train(path, *extra):
    return ["train", "--dataset", path, "--validation-size", 40, "--hidden", 8, "--epochs", 3, "--no-progress",
            "--cost", "cross-entropy", "--eta", 0.5, *extra]


@pytest.mark.parametrize("header, names, flags", [(True, True, []), (False, False, []),
                                                   (False, True, ["--no-header"]),
                                                   (True, True, ["--label-column", "species"]),
                                                   (True, True, ["--label-column", "3", "--header"])],
                         ids=["header-found", "no-header-found", "no-header-flag", "label-by-name", "label-by-index"])
def test_train_on_a_csv_file(capsys, tmp_path, header, names, flags):
    path = write_csv(tmp_path / "data.csv", 200, 1, header=header, names=names)
    model = tmp_path / "m.npz"
    code, out, err = xprop_cli(capsys, *csv_train(path, "--save", model, *flags))
    assert code == 0, err
    assert out.startswith("training [3, 8, 3] ") and "160 training, 40 validation" in out, out
    assert load_model(model).sizes == [3, 8, 3]


def test_text_labels_are_stored_as_the_models_classes(capsys, tmp_path, csvs):
    from xprop.io.modelfile import read_file

    model = tmp_path / "m.npz"
    code, out, err = xprop_cli(capsys, *csv_train(csvs[0], "--save", model, "--test-data", csvs[1]))
    assert code == 0, err
    assert "/50), cost " in out.splitlines()[-2]  # the test line, then "saved the model"
    assert read_file(model).classes == list(SPECIES)


BAD_CSV = [
    ("ragged", "a,b,c,y\n1,2,3,x\n1,2,x\n", [], "line 3", "3 fields"),
    ("not-a-number", "a,b,c,y\n1,2,3,x\n1,two,3,x\n", [], "line 3", "'b'", "'two' is not a finite number"),
    ("nan", "1,2,3,0\n1,nan,3,1\n", [], "line 2", "not a finite number"),
    ("empty", "", [], "empty"),
    ("header-only", "a,b,c,y\n", [], "no rows below the header"),
    ("label-name-unknown", "a,b,c,y\n1,2,3,0\n4,5,6,1\n", ["--label-column", "z"], "no column 'z'"),
    ("label-index-out-of-range", "1,2,3,0\n4,5,6,1\n", ["--label-column", "7"], "--label-column 7", "out of range"),
    ("label-name-without-header", "1,2,3,0\n4,5,6,1\n", ["--label-column", "y"], "no header"),
    ("too-few-rows", "1,2,3,0\n4,5,6,1\n", [], "cannot hold out 40 of 2"),
    ("label-blank", "a,b,c,y\n1,2,3,x\n1,2,3,\n", [], "line 3, column 'y'", "the label is blank"),
    ("label-blank-among-numbers", "1,2,3,0\n1,2,3, \n4,5,6,1\n", [], "line 2, column 4", "the label is blank"),
    ("label-fraction", "1,2,3,0\n1,2,3,1.5\n", [], "line 2, column 4", "'1.5' is not a class number",
     "the others are numbers"),
    ("label-negative-fraction", "1,2,3,-1\n1,2,3,-0.5\n", [], "line 2", "'-0.5' is not a class number"),
    ("label-infinite", "1,2,3,1\n1,2,3,inf\n", [], "line 2", "'inf' is not a class number"),
    ("one-row", "1,2,3,0\n", [], "1 training example, too few to hold any out"),
    ("underscore-number", "1,2,3,0\n1_0,2,3,1\n", [], "line 2, column 1", "'1_0' is not a finite number"),
    ("label-huge", "1,2,3,0\n1,2,3,1e20\n", [], "line 2, column 4", "'1e20' is a class number beyond 2,147,483,647"),
    ("label-beyond-int32", "1,2,3,0\n1,2,3,2147483648\n", [], "line 2", "beyond 2,147,483,647"),
    ("header-undecided", "0,1,2,3\n5,6,7,3\n5,6,7,1\n", [], "cannot tell whether the first row (0,1,2,3)",
     "pass --header or --no-header"),
    ("label-name-without-header-flag", "1,2,3,0\n4,5,6,1\n", ["--label-column", "y"], "--label-column y",
     "or --header if the first row is one"),
    ("not-utf8", b"1,2,3,0\n\xff\xfe,5,6,1\n", [], "not a text file in UTF-8"),
]


@pytest.mark.parametrize("text, flags, fragments", [(t, f, fr) for _, t, f, *fr in BAD_CSV],
                         ids=[row[0] for row in BAD_CSV])
def test_a_bad_csv_is_one_line_naming_where(capsys, tmp_path, text, flags, fragments):
    path = tmp_path / "bad.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    model = tmp_path / "m.npz"
    code, out, err = xprop_cli(capsys, *csv_train(path, "--save", model, *flags))
    assert code == 1 and not model.exists()
    one_error_line(err, *fragments)


# What a CSV's first row and labels are read as: (text, header given, names, labels, classes).
# pandas writes ``pd.DataFrame(np.c_[X, y]).to_csv(path, index=False)`` with the header
# 0,1,...,n-1 and float labels; a named label column gives 0,1,...,target.
READ_CSV = [
    ("pandas-unnamed", "0,1,2,3\n5,6,7,1.0\n5,6,7,0.0\n5,6,7,2.0\n", None, ["0", "1", "2", "3"], [1, 0, 2], None),
    ("pandas-label-named", "0,1,2,target\n5,6,7,1\n5,6,7,0\n", None, ["0", "1", "2", "target"], [1, 0], None),
    ("pandas-text-labels", "0,1,2,3\n5,6,7,b\n5,6,7,a\n", None, ["0", "1", "2", "3"], [1, 0], ("a", "b")),
    ("named-header", "a,b,c,y\n5,6,7,1\n5,6,7,0\n", None, ["a", "b", "c", "y"], [1, 0], None),
    ("integers-and-floats", "5,6,7,1.0\n5,6,7,1\n5,6,7,0\n", None, None, [1, 1, 0], None),
    ("text-labels", "5,6,7,b\n5,6,7,a\n", None, None, [1, 0], ("a", "b")),
    ("numbers-only", "1,2,3,0\n4,5,6,1\n", None, None, [0, 1], None),
    ("column-numbers-as-data", "0,1,2,3\n5,6,7,3\n", False, None, [3, 3], None),
    ("column-numbers-as-header", "0,1,2,3\n5,6,7,3\n5,6,7,1\n", True, ["0", "1", "2", "3"], [3, 1], None),
    ("mixed-labels-are-names", "5,6,7,1\n5,6,7,x\n5,6,7,1.0\n", None, None, [0, 2, 1], ("1", "1.0", "x")),
    ("minus-one-plus-one", "5,6,7,1\n5,6,7,-1\n5,6,7,1.0\n", None, None, [1, 0, 1], ("-1", "1")),
    ("negatives-in-numeric-order", "5,6,7,-10\n5,6,7,-2\n5,6,7,3\n", None, None, [0, 1, 2], ("-10", "-2", "3")),
]


@pytest.mark.parametrize("text, header, names, labels, classes", [r[1:] for r in READ_CSV],
                         ids=[r[0] for r in READ_CSV])
def test_the_header_and_the_labels_of_a_csv(tmp_path, text, header, names, labels, classes):
    from xprop.data import load_dataset
    from xprop.data.csv import read_csv

    path = tmp_path / "data.csv"
    path.write_text(text)
    assert read_csv(path, header=header).names == names
    data = load_dataset(path, validation_size=1, header=header)
    assert [*data.training.labels, *data.validation.labels] == labels and data.classes == classes


def test_library_errors_spell_the_arguments_as_python(tmp_path):
    """The messages the command line words with flags name Python's keywords in Python."""
    from xprop.data import DataError, load_dataset

    path = tmp_path / "data.csv"
    path.write_text("0,1,2,3\n5,6,7,3\n5,6,7,1\n")
    with pytest.raises(DataError, match=r"pass header=True or header=False$"):
        load_dataset(path, validation_size=1)
    with pytest.raises(DataError, match=r"^data_dir takes a folder .* give name='.*data.csv'$"):
        load_dataset("mnist", data_dir=path)
    with pytest.raises(xprop.errors.InputError, match=r"pass output_activation='sigmoid' or pick another cost"):
        xprop.Network([3, 2], cost="cross-entropy", output_activation="softmax")


def test_a_test_file_with_an_unknown_class_is_one_line(capsys, tmp_path, csvs):
    test = tmp_path / "test.csv"
    test.write_text("a,b,c,species\n50,50,60,setosa\n50,50,60,daisy\n")
    code, out, err = xprop_cli(capsys, *csv_train(csvs[0], "--test-data", test))
    assert code == 1
    one_error_line(err, "line 3", "'daisy'", "not one of the training file's classes")


# Data labelled otherwise than the model's classes: (model trained on names?, data named?, fragments).
OTHER_KIND = [
    ("numbers-model-named-data", False, True, "names its classes ('setosa', 'versicolor', 'virginica')",
     "knows only the class numbers 0 to 2", "give data labelled with those numbers"),
    ("named-model-number-data", True, False, "labels its examples with class numbers",
     "names its classes ('setosa', 'versicolor', 'virginica')", "give data labelled with those names"),
]


@pytest.mark.parametrize("named, data_named, fragments", [(n, d, f) for _, n, d, *f in OTHER_KIND],
                         ids=[r[0] for r in OTHER_KIND])
@pytest.mark.parametrize("command", ["evaluate", "resume"])
def test_data_labelled_otherwise_than_the_model_is_one_line(capsys, tmp_path, named, data_named, fragments, command):
    """Which name is which class number cannot be told: renumbering the names would
    measure, or go on training, the wrong classes."""
    trained_on = write_csv(tmp_path / "trained.csv", 200, 1, names=named)
    other = write_csv(tmp_path / "other.csv", 200, 1, names=data_named)
    run, model = tmp_path / "run", tmp_path / "m.npz"
    code, out, err = xprop_cli(capsys, *csv_train(trained_on, "--save", model, "--checkpoint", run))
    assert code == 0, err
    if command == "evaluate":
        argv = ["evaluate", model, "--dataset", other, "--validation-size", 40, "--split", "validation"]
    else:
        argv = ["train", "--resume", run, "--dataset", other, "--epochs", 4, "--no-progress"]
    code, out, err = xprop_cli(capsys, *argv)
    assert code == 1 and out == ""
    one_error_line(err, str(other), *fragments)


@pytest.mark.parametrize("labels", [["1.0"], ["1", "-1"]], ids=["only-the-positive-ones", "both"])
def test_number_labels_are_the_models_classes_of_those_names(capsys, tmp_path, labels):
    """A model of the classes '-1' and '1' evaluates a file whose labels happen all to be
    1 (read as class numbers) as class '1', not as data labelled otherwise."""
    rng = np.random.default_rng(0)
    rows = [(*rng.random(3), ("1" if i % 2 else "-1")) for i in range(120)]
    (tmp_path / "pm1.csv").write_text("".join(f"{a:.3f},{b:.3f},{c:.3f},{y}\n" for a, b, c, y in rows))
    other = [(*rng.random(3), labels[i % len(labels)]) for i in range(60)]
    (tmp_path / "other.csv").write_text("".join(f"{a:.3f},{b:.3f},{c:.3f},{y}\n" for a, b, c, y in other))
    model = tmp_path / "m.npz"
    code, out, err = xprop_cli(capsys, *csv_train(tmp_path / "pm1.csv", "--save", model))
    assert code == 0, err
    code, out, err = xprop_cli(capsys, "evaluate", model, "--dataset", tmp_path / "other.csv",
                               "--validation-size", 20, "--split", "validation")
    assert code == 0 and err == "" and "other validation: accuracy" in out, err


def test_predict_ignores_a_label_column_of_another_kind(capsys, predict_command, tmp_path):
    """xprop predict reads no labels: a model of class numbers predicts numbers for rows
    whose label column holds names."""
    model = tmp_path / "m.npz"
    code, out, err = xprop_cli(capsys, *csv_train(write_csv(tmp_path / "numbers.csv", 200, 1, names=False),
                                                  "--save", model))
    assert code == 0, err
    code, out, err = xprop_cli(capsys, "predict", model, write_csv(tmp_path / "named.csv", 20, 2))
    assert code == 0, err
    assert out.splitlines()[0] == "prediction" and set(out.splitlines()[1:]) <= {"0", "1", "2"}


# -- --standardize ----------------------------------------------------------------------------------
def test_standardize_is_measured_on_the_training_split_and_kept_in_the_model(capsys, tmp_path, csvs):
    from xprop.data import load_dataset
    from xprop.io.modelfile import read_file

    model = tmp_path / "m.npz"
    code, out, err = xprop_cli(capsys, *csv_train(csvs[0], "--save", model, "--standardize", "--test-data", csvs[1]))
    assert code == 0, err
    trained = next(line for line in out.splitlines() if line.startswith("test accuracy"))
    training = load_dataset(csvs[0], validation_size=40).training.images
    inputs = read_file(model).inputs
    np.testing.assert_allclose(inputs["mean"], training.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(inputs["std"], training.std(axis=0), rtol=1e-4)
    code, out, err = xprop_cli(capsys, "evaluate", model, "--dataset", csvs[0], "--validation-size", 40,
                               "--test-data", csvs[1])
    assert code == 0, err
    assert trained.removeprefix("test accuracy ") in out  # evaluate standardizes as training did


@pytest.mark.parametrize("inputs, problem", [({"mean": np.zeros(3)}, "must hold the arrays mean and std"),
                                             ({"mean": np.zeros(2), "std": np.ones(2)}, "vectors of 3"),
                                             ({"mean": np.zeros(3), "std": np.zeros(3)}, "std > 0")],
                         ids=["no-std", "wrong-length", "zero-std"])
def test_a_model_files_inputs_are_checked_both_ways(tmp_path, inputs, problem):
    from xprop.errors import FileFormatError, InputError
    from xprop.io.networks import save_model
    from xprop.io.npz import read_document, write_document
    from xprop.network import Network

    network = Network([3, 4, 2])
    with pytest.raises(InputError, match=problem):
        save_model(network, tmp_path / "m.npz", inputs=inputs)
    good = save_model(network, tmp_path / "good.npz", inputs={"mean": np.zeros(3), "std": np.ones(3)})
    document, _ = read_document(good)
    document["network"]["inputs"] = inputs
    write_document(tmp_path / "bad.npz", document)
    with pytest.raises(FileFormatError, match=f"network.inputs: .*{problem}"):
        load_model(tmp_path / "bad.npz")


# -- xprop predict ----------------------------------------------------------------------------------
@pytest.fixture
def predict_command(monkeypatch):
    """``xprop predict`` in the command table (where xprop.cli lists it)."""
    from xprop import cli
    from xprop.cli import predict

    monkeypatch.setitem(cli.COMMANDS, "predict", predict)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, csvs):
    model = tmp_path_factory.mktemp("model") / "m.npz"
    assert main(list(map(str, csv_train(csvs[0], "--save", model, "--standardize", "--output-activation",
                                         "softmax", "--cost", "log-likelihood")))) == 0
    return model


@pytest.mark.parametrize("columns", [4, 3], ids=["with-label", "features-only"])
def test_predict_writes_the_class_names_and_probabilities_as_csv(capsys, predict_command, tmp_path, csvs,
                                                                  trained, columns):
    data = tmp_path / "new.csv"
    data.write_text("\n".join(",".join(line.split(",")[:columns]) for line in csvs[1].read_text().splitlines()))
    out_path = tmp_path / "p.csv"
    code, out, err = xprop_cli(capsys, "predict", trained, data, "--out", out_path, "--proba")
    assert code == 0, err
    rows = out_path.read_text().splitlines()
    assert rows[0] == "prediction,p_setosa,p_versicolor,p_virginica"
    assert len(rows) == 51
    truth = [line.split(",")[-1] for line in csvs[1].read_text().splitlines()[1:]]
    predicted = [row.split(",")[0] for row in rows[1:]]
    assert sum(p == t for p, t in zip(predicted, truth)) >= 45  # the standardized model is right
    assert all(abs(sum(map(float, row.split(",")[1:])) - 1) < 1e-4 for row in rows[1:])


@pytest.mark.parametrize("proba, shape, kind", [(False, (50,), "i"), (True, (50, 3), "f")], ids=["labels", "proba"])
def test_predict_writes_npy(capsys, predict_command, tmp_path, csvs, trained, proba, shape, kind):
    out_path = tmp_path / "p.npy"
    code, out, err = xprop_cli(capsys, "predict", trained, csvs[1], "--out", out_path, *(["--proba"] if proba else []))
    assert code == 0, err
    array = np.load(out_path)
    assert array.shape == shape and array.dtype.kind == kind


def test_predict_to_stdout_on_a_dataset_split(capsys, predict_command, tmp_path, npz):
    model = tmp_path / "m.npz"
    assert main(list(map(str, train(npz, "--hidden", 5, "--save", model)))) == 0
    capsys.readouterr()
    code, out, err = xprop_cli(capsys, "predict", model, npz, "--split", "test")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "prediction" and len(lines) == 91 and set(lines[1:]) <= {"0", "1", "2"}


BAD_PREDICT = [
    ("out-suffix", ["--out", "{tmp}/p.txt"], "--out", ".csv or .npy"),
    ("out-folder-missing", ["--out", "{tmp}/no/p.csv"], "does not exist"),
    ("out-is-data", ["--out", "{data}"], "would destroy it"),
    ("wrong-width", ["{wide}"], "5 columns", "3 features"),
    ("data-missing", ["{tmp}/none.csv"], "no such CSV file"),
]


@pytest.mark.parametrize("argv, fragments", [(a, f) for _, a, *f in BAD_PREDICT], ids=[r[0] for r in BAD_PREDICT])
def test_bad_predict_input_is_one_line(capsys, predict_command, tmp_path, csvs, trained, argv, fragments):
    wide = tmp_path / "wide.csv"
    wide.write_text("1,2,3,4,5\n")
    names = {"tmp": tmp_path, "data": csvs[1], "wide": wide}
    argv = [a.format(**names) for a in argv]
    data = [] if argv[0].endswith(".csv") and not argv[0].startswith("--") else [csvs[1]]
    code, out, err = xprop_cli(capsys, "predict", trained, *data, *argv)
    assert code == 1
    one_error_line(err, *fragments)


def test_a_standardized_runs_checkpoint_evaluates_and_resumes_standardized(capsys, tmp_path, csvs):
    run = tmp_path / "run"
    code, out, err = xprop_cli(capsys, *csv_train(csvs[0], "--standardize", "--test-data", csvs[1], "--checkpoint", run))
    assert code == 0, err
    trained = next(line for line in out.splitlines() if line.startswith("test accuracy"))
    code, out, err = xprop_cli(capsys, "evaluate", run, "--dataset", csvs[0], "--validation-size", 40,
                               "--test-data", csvs[1])
    assert code == 0, err
    assert trained.removeprefix("test accuracy ") in out
    code, out, err = xprop_cli(capsys, "train", "--resume", run, "--epochs", 4, "--no-progress")
    assert code == 0, err
    assert "resuming from" in out and out.splitlines()[-1].startswith("test accuracy")


# -- the standardization and class names of a run's checkpoints --------------------------------------
def written_before(checkpoint):
    """Rewrite ``checkpoint`` as xprop train wrote checkpoints before they kept the
    standardization and class names in the network's part: in the metadata, as JSON."""
    from xprop.io.npz import read_document, write_document

    document, _ = read_document(checkpoint)
    network, metadata = document["network"], document["metadata"]
    metadata["inputs"] = {key: array.tolist() for key, array in network.pop("inputs").items()}
    metadata["classes"] = network.pop("classes")
    write_document(checkpoint, document)


@pytest.mark.parametrize("layout", ["network", "metadata"], ids=["as-model-files", "written-before"])
def test_evaluate_and_predict_take_a_checkpoint_directory_standardized_and_named(
        capsys, predict_command, tmp_path, csvs, layout):
    """A run on a CSV of text labels with --standardize: its checkpoint directory is
    evaluated and predicted with exactly as the model file the run saved, whether the
    checkpoint keeps the standardization and class names where model files do or, as
    xprop train's checkpoints did before, in its metadata."""
    from xprop.io.checkpoint import latest_checkpoint
    from xprop.io.npz import read_document

    run, model = tmp_path / "run", tmp_path / "m.npz"
    code, out, err = xprop_cli(capsys, *csv_train(csvs[0], "--standardize", "--test-data", csvs[1],
                                                  "--checkpoint", run, "--save", model))
    assert code == 0, err
    checkpoint = latest_checkpoint(run)
    document, _ = read_document(checkpoint)
    assert document["network"]["classes"] == list(SPECIES) and "inputs" in document["network"]
    assert not {"inputs", "classes"} & set(document["metadata"])
    if layout == "metadata":
        written_before(checkpoint)
    evaluate = ["--dataset", csvs[0], "--validation-size", 40, "--test-data", csvs[1], "--json"]
    results = [xprop_cli(capsys, "evaluate", source, *evaluate) for source in (model, run)]
    assert [code for code, _, _ in results] == [0, 0], results
    assert json.loads(results[0][1])["correct"] == json.loads(results[1][1])["correct"]
    predictions = []
    for source in (model, run):
        code, out, err = xprop_cli(capsys, "predict", source, csvs[1])
        assert code == 0, err
        predictions.append(out)
    lines = predictions[1].splitlines()
    assert predictions[0] == predictions[1] and lines[0] == "prediction" and set(lines[1:]) <= set(SPECIES)


def test_resuming_a_checkpoint_written_before_keeps_its_standardization_and_class_names(capsys, tmp_path, csvs):
    from xprop.io.checkpoint import latest_checkpoint
    from xprop.io.modelfile import read_file

    run = tmp_path / "run"
    code, out, err = xprop_cli(capsys, *csv_train(csvs[0], "--standardize", "--checkpoint", run))
    assert code == 0, err
    before = read_file(latest_checkpoint(run))
    written_before(latest_checkpoint(run))
    model = tmp_path / "m.npz"
    code, out, err = xprop_cli(capsys, "train", "--resume", run, "--epochs", 4, "--no-progress", "--save", model)
    assert code == 0, err
    for after in (read_file(latest_checkpoint(run)), read_file(model)):
        assert after.classes == list(SPECIES)
        for key in ("mean", "std"):
            np.testing.assert_array_equal(after.inputs[key], before.inputs[key])
    assert read_file(latest_checkpoint(run)).epoch == 4
