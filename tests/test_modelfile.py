"""Models on disk: .npz without pickle, saved on one backend and loaded on another."""

import zipfile

import numpy as np
import pytest

import xprop
from conftest import Case
from xprop.backends import get_backend
from xprop.modelfile import FORMAT_VERSION, load_model, save_model

PLACES = {"numpy": Case("numpy", None, "float32"), "strict-device1": Case("array_api_strict", "device1", "float64"),
          "torch": Case("torch", "cpu", "float32")}
PAIRS = [(a, b) for a in PLACES for b in PLACES if a != b]


def usable(case):
    backend = get_backend(case.name, case.device, check=False)
    if not backend.available:
        pytest.skip(f"{case.name}: {backend.unavailable_reason}")
    return case


@pytest.mark.parametrize("source, target", PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_a_model_saved_on_one_backend_loads_on_another(tmp_path, source, target):
    source, target = usable(PLACES[source]), usable(PLACES[target])
    net = source.network([6, 5, 3], cost="cross-entropy", init="scaled", seed=3)
    X = np.random.default_rng(0).random((7, 6))
    path = save_model(net, tmp_path / "model.npz")
    loaded = load_model(path, backend=target.name, device=target.device)
    assert loaded.sizes == [6, 5, 3] and loaded.cost.name == "cross-entropy" and loaded.dtype == source.dtype
    assert loaded.config() == net.config()
    for w in loaded.weights + loaded.biases:
        Case(target.name, target.device, source.dtype).assert_native(w)
    for saved, restored in zip(*(n.parameters_to_host() for n in (net, loaded))):
        for a, b in zip(saved, restored):
            np.testing.assert_array_equal(a, b)  # bit for bit: same dtype, no arithmetic on the way
    out_source = source.get(net.feedforward(source.put(X)))
    out_target = loaded.backend.to_host(loaded.feedforward(loaded.backend.from_host(X, loaded.dtype)))
    np.testing.assert_allclose(out_target, out_source, rtol=10 * np.finfo(source.dtype).eps)


def test_dtype_can_be_changed_on_load(tmp_path):
    net = xprop.Network([4, 3, 2], dtype="float64", seed=1)
    loaded = load_model(save_model(net, tmp_path / "m.npz"), dtype="float32")
    assert loaded.dtype == "float32" and loaded.weights[0].dtype == np.float32


def test_the_file_holds_only_plain_arrays(tmp_path):
    net = xprop.Network([4, 3, 2], cost="log-likelihood", activation="tanh", seed=1)
    path = save_model(net, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as archive:
        fields = {k: archive[k] for k in archive.files}
    assert str(fields["format"]) == "xprop-model" and int(fields["format_version"]) == FORMAT_VERSION
    assert fields["sizes"].tolist() == [4, 3, 2]
    assert fields["activations"].tolist() == ["tanh", "softmax"] and str(fields["cost"]) == "log-likelihood"
    assert str(fields["dtype"]) == "float32" and fields["w1"].shape == (2, 3) and fields["b0"].shape == (3,)
    assert all(a.dtype != object for a in fields.values())
    assert load_model(path).activations[-1].name == "softmax"


def rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as archive:
        fields = {k: archive[k] for k in archive.files}
    fields.update(changes)
    for key, value in changes.items():
        if value is None:
            del fields[key]
    np.savez(path, **fields)


@pytest.mark.parametrize("changes, message", [
    ({"format_version": np.array(FORMAT_VERSION + 1)}, "newer than this xprop reads.*upgrade xprop"),
    ({"format": np.array("something-else")}, "not an xprop model"),
    ({"w1": None}, "the parameter w1 is missing"),
    ({"b0": np.zeros(4)}, "parameter shapes do not match sizes"),
    ({"cost": None}, "incomplete: cost missing"),
    ({"activations": np.array(["sigmoid"])}, "sizes .* but 1 activations"),
    ({"sizes": np.array([[1]], dtype=object)}, "pickled objects"),
])
def test_damaged_model_files_are_refused(tmp_path, changes, message):
    path = save_model(xprop.Network([4, 3, 2]), tmp_path / "m.npz")
    rewrite(path, **changes)
    with pytest.raises(xprop.InputError, match=message):
        load_model(path)


@pytest.mark.parametrize("content, message", [(b"hello", "not an .npz file"), (None, "no such file")])
def test_non_models_are_refused(tmp_path, content, message):
    path = tmp_path / "m.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(xprop.InputError, match=message):
        load_model(path)


def test_an_unknown_activation_name_is_refused(tmp_path):
    path = save_model(xprop.Network([4, 3, 2]), tmp_path / "m.npz")
    rewrite(path, activations=np.array(["sigmoid", "swish"]))
    with pytest.raises(xprop.InputError, match="unknown activation 'swish'"):
        load_model(path)


def test_custom_activations_cannot_be_saved(tmp_path):
    net = xprop.Network([4, 3, 2], activation=(lambda z: z, lambda z: z * 0 + 1))
    with pytest.raises(xprop.InputError, match="custom activation"):
        save_model(net, tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_saving_into_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(xprop.InputError, match="does not exist"):
        save_model(xprop.Network([4, 3, 2]), tmp_path / "no" / "m.npz")


def test_a_failed_save_leaves_the_old_file_untouched(tmp_path, monkeypatch):
    path = save_model(xprop.Network([4, 3, 2], seed=1), tmp_path / "m.npz")
    before = path.read_bytes()

    def broken_savez(handle, **arrays):
        handle.write(b"PK half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("xprop.modelfile.numpy.savez", broken_savez)
    with pytest.raises(OSError, match="No space left"):
        save_model(xprop.Network([4, 3, 2], seed=2), path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    assert zipfile.is_zipfile(path)
