"""Finding a named dataset: the places in order, the book's split, and the not-found message."""

import dataclasses
import gzip
import pickle

import numpy as np
import pytest

import xprop.data
from idxfiles import NAMES, idx_bytes, write_idx_dataset
from xprop.data import DataError, DatasetNotFoundError, load_dataset


@pytest.fixture
def fashion(monkeypatch, tmp_path):
    """fashion-mnist with its system folder moved under tmp_path; returns (env, system folder)."""
    system = tmp_path / "usr-share" / "fashion-mnist"
    spec = dataclasses.replace(xprop.data.DATASETS["fashion-mnist"], system_dirs=(str(system),))
    monkeypatch.setitem(xprop.data.DATASETS, "fashion-mnist", spec)
    return {"XDG_CACHE_HOME": str(tmp_path / "cache")}, system


def load(env, **kwargs):
    return load_dataset("fashion-mnist", env=env, download=False, validation_size=100, log=None, **kwargs)


def test_the_places_are_searched_in_order(tmp_path, fashion):
    env, system = fashion
    places = {"data": tmp_path / "data" / "fashion-mnist", "env": tmp_path / "env" / "fashion-mnist",
              "cache": tmp_path / "cache" / "xprop" / "fashion-mnist", "system": system}
    for seed, directory in enumerate(places.values()):
        write_idx_dataset(directory, n_train=200, n_test=20, seed=10 * seed)
    env["XPROP_DATA"] = str(tmp_path / "env")
    for name in ("data", "env", "cache", "system"):
        data = load(env, data_dir=tmp_path / "data")
        assert data.source == str(places[name]), name
        for path in places[name].iterdir():
            path.unlink()


def test_data_dir_may_hold_the_files_directly(tmp_path, fashion):
    env, _ = fashion
    arrays = write_idx_dataset(tmp_path / "mine", n_train=300, n_test=40, gz=False)
    data = load(env, data_dir=tmp_path / "mine")
    assert data.source == str(tmp_path / "mine")
    np.testing.assert_array_equal(data.test.labels, arrays["test_labels"])


def test_the_book_split_and_pixel_scale(tmp_path, fashion):
    env, _ = fashion
    arrays = write_idx_dataset(tmp_path / "d", n_train=600, n_test=50)
    data = load(env, data_dir=tmp_path / "d")
    assert (len(data.training), len(data.validation), len(data.test)) == (500, 100, 50)
    assert data.training.images.shape == (500, 784) and data.training.images.dtype == np.float32
    np.testing.assert_array_equal(data.validation.images * 255, arrays["train_images"][500:].reshape(100, 784))
    np.testing.assert_array_equal(data.training.labels, arrays["train_labels"][:500])
    assert data.training.images.min() >= 0.0 and data.training.images.max() == 1.0
    assert data.n_classes == 10 and data.n_features == 784


def test_the_dotted_raw_file_names_are_accepted(tmp_path, fashion):
    env, _ = fashion
    write_idx_dataset(tmp_path / "d", n_train=200, n_test=20, gz=False)
    for path in (tmp_path / "d").iterdir():
        path.rename(path.with_name(path.name.replace("-idx", ".idx")))
    assert len(load(env, data_dir=tmp_path / "d").test) == 20


def test_files_that_do_not_belong_together_are_refused(tmp_path, fashion):
    env, _ = fashion
    write_idx_dataset(tmp_path / "d", n_train=200, n_test=20)
    (tmp_path / "d" / (NAMES["test_labels"] + ".gz")).write_bytes(gzip.compress(idx_bytes(np.zeros(19, np.uint8))))
    with pytest.raises(DataError, match="20 images but labels of shape .19,.; the files do not belong together"):
        load(env, data_dir=tmp_path / "d")


def test_swapped_files_are_refused(tmp_path, fashion):
    env, _ = fashion
    directory = tmp_path / "d"
    write_idx_dataset(directory, n_train=200, n_test=20)
    images, labels = (directory / (NAMES[r] + ".gz") for r in ("test_images", "test_labels"))
    images_bytes = images.read_bytes()
    images.write_bytes(labels.read_bytes())
    labels.write_bytes(images_bytes)
    with pytest.raises(DataError, match="not a list of labels; are the files swapped"):
        load(env, data_dir=directory)


def test_nielsens_pickle_stands_in_for_mnist(tmp_path):
    rng = np.random.default_rng(0)
    parts = tuple((rng.random((k, 784), dtype=np.float32), rng.integers(0, 10, k)) for k in (30, 6, 4))
    cache = tmp_path / "cache" / "xprop" / "mnist"
    cache.mkdir(parents=True)
    (cache / "mnist.pkl.gz").write_bytes(gzip.compress(pickle.dumps(parts)))
    data = load_dataset("mnist", env={"XDG_CACHE_HOME": str(tmp_path / "cache")}, download=False, log=None)
    assert (len(data.training), len(data.validation), len(data.test)) == (30, 6, 4)


def test_not_found_lists_every_place_and_every_fix(tmp_path, fashion):
    env, system = fashion
    env["XPROP_DATA"] = str(tmp_path / "env")
    partial = tmp_path / "data"
    write_idx_dataset(partial, n_train=200, n_test=20)
    (partial / (NAMES["test_images"] + ".gz")).unlink()
    with pytest.raises(DatasetNotFoundError) as caught:
        load(env, data_dir=partial)
    message = str(caught.value)
    cache = tmp_path / "cache" / "xprop" / "fashion-mnist"
    for line in (f"{partial / 'fashion-mnist'} (data_dir): no such folder",
                 f"{partial} (data_dir): missing t10k-images-idx3-ubyte (.gz or raw)",
                 f"{tmp_path / 'env' / 'fashion-mnist'} ($XPROP_DATA): no such folder",
                 f"{cache} (the user cache): no such folder",
                 f"{system} (the dataset-fashion-mnist package): no such folder",
                 "Downloading was turned off (download=False).",
                 "sudo apt-get install dataset-fashion-mnist",
                 "pass data_dir='FOLDER'", "XPROP_DATA=ROOT", f"into {cache}",
                 "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                 "try again without download=False"):
        assert line in message, line
    assert "--" not in message  # the arguments as Python spells them, not the command line's flags


def test_an_unwritable_cache_names_the_arguments_as_python(tmp_path, fashion):
    env, _ = fashion
    env["XDG_CACHE_HOME"] = str(tmp_path / "a-file")
    (tmp_path / "a-file").write_text("")
    with pytest.raises(DataError, match=r"^cannot create .*; set XDG_CACHE_HOME to a writable place, or put the "
                                        r"files in a folder and pass data_dir='FOLDER'$"):
        load_dataset("fashion-mnist", env=env, log=None)


def test_unset_xprop_data_is_mentioned(tmp_path, fashion):
    env, _ = fashion
    with pytest.raises(DatasetNotFoundError, match=r"\$XPROP_DATA: not set"):
        load(env)


@pytest.mark.parametrize("name", ["cifar10", "nothing/here.npz"])
def test_unknown_names_and_missing_paths_are_refused(name):
    with pytest.raises(DataError, match="unknown dataset|no such file"):
        load_dataset(name, log=None)


def test_a_folder_without_idx_files_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="does not hold the four IDX files"):
        load_dataset(tmp_path / "empty", log=None)
