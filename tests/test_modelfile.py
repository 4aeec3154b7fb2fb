"""Models on disk: .npz without pickle, saved on one backend and loaded on another."""

import json
import zipfile

import numpy as np
import pytest

import xprop
from conftest import Case
from xprop.backends import get_backend
from xprop.io.modelfile import VERSION
from xprop.io.networks import load_model, save_model

PLACES = {"numpy": Case("numpy", None, "float32"), "strict-device1": Case("array_api_strict", "device1", "float64"),
          "torch": Case("torch", "cpu", "float32")}
PAIRS = [(a, b) for a in PLACES for b in PLACES if a != b]


def usable(case):
    backend = get_backend(case.name, case.device, check=False)
    if not backend.available:
        pytest.skip(f"{case.name}: {backend.unavailable_reason}")
    return case


def assert_same_parameters(net, loaded):
    """Bit for bit: the same dtype, and no arithmetic on the way."""
    for saved, restored in zip(*(n.parameters_to_host() for n in (net, loaded))):
        for a, b in zip(saved, restored):
            np.testing.assert_array_equal(a, b)


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
    assert_same_parameters(net, loaded)
    out_source = source.get(net.feedforward(source.put(X)))
    out_target = loaded.backend.to_host(loaded.feedforward(loaded.backend.from_host(X, loaded.dtype)))
    np.testing.assert_allclose(out_target, out_source, rtol=10 * np.finfo(source.dtype).eps)


@pytest.mark.parametrize("place", PLACES)
def test_net_save_then_xprop_load_gives_the_same_network(tmp_path, place):
    """On array-api-strict's device1 neither side may convert an array to numpy silently
    (that raises there): the parameters leave and reach the device by explicit copies."""
    case = usable(PLACES[place])
    net = case.network([5, 4, 3], activation="tanh", cost="log-likelihood", seed=2)
    path = net.save(tmp_path / "model.npz")
    assert path == tmp_path / "model.npz"
    loaded = xprop.load(path, backend=case.name, device=case.device)
    assert loaded.config() == net.config() and loaded.backend.device == net.backend.device
    for w in loaded.weights + loaded.biases:
        case.assert_native(w)
    assert_same_parameters(net, loaded)
    assert xprop.save(loaded, tmp_path / "again.npz") == tmp_path / "again.npz"


def test_dtype_can_be_changed_on_load(tmp_path):
    net = xprop.Network([4, 3, 2], dtype="float64", seed=1)
    loaded = load_model(save_model(net, tmp_path / "m.npz"), dtype="float32")
    assert loaded.dtype == "float32" and loaded.weights[0].dtype == np.float32


def test_the_file_holds_only_plain_arrays(tmp_path):
    net = xprop.Network([4, 3, 2], cost="log-likelihood", activation="tanh", seed=1)
    path = save_model(net, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as archive:
        fields = {k: archive[k] for k in archive.files}
    header = json.loads(fields.pop("header.json").tobytes())
    assert (header["format"], header["version"], header["kind"]) == ("xprop", VERSION, "model")
    assert header["network"]["sizes"] == [4, 3, 2] and header["network"]["cost"] == "log-likelihood"
    assert header["network"]["activations"] == ["tanh", "softmax"] and header["network"]["dtype"] == "float32"
    assert fields["network.weights.1"].shape == (2, 3) and fields["network.biases.0"].shape == (3,)
    assert all(a.dtype != object for a in fields.values())
    assert load_model(path).activations[-1].name == "softmax"


def write_version_1(net, path):
    """A model file as xprop's first format wrote it: plain arrays, format "xprop-model"."""
    config = net.config()
    weights, biases = net.parameters_to_host()
    arrays = {"format": np.array("xprop-model"), "format_version": np.array(1),
              "sizes": np.array(config["sizes"], dtype=np.int64), "activations": np.array(config["activations"]),
              "cost": np.array(config["cost"]), "dtype": np.array(config["dtype"]),
              "init": np.array(config["init"]), "seed": np.array(config["seed"], dtype=np.int64)}
    for i, (w, b) in enumerate(zip(weights, biases)):
        arrays[f"w{i}"], arrays[f"b{i}"] = w, b
    np.savez(path, **arrays)
    return path


def test_a_model_file_of_the_first_format_still_loads(tmp_path):
    net = xprop.Network([4, 3, 2], cost="log-likelihood", activation="tanh", seed=4)
    loaded = load_model(write_version_1(net, tmp_path / "old.npz"))
    assert loaded.config() == net.config()
    for a, b in zip(sum(net.parameters_to_host(), []), sum(loaded.parameters_to_host(), [])):
        np.testing.assert_array_equal(a, b)


def rewrite_header(path, change):
    with np.load(path, allow_pickle=False) as archive:
        fields = {k: archive[k] for k in archive.files}
    header = json.loads(fields["header.json"].tobytes())
    change(header, fields)
    fields["header.json"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(path, **fields)


@pytest.mark.parametrize("change, message", [
    (lambda h, f: h.update(version=VERSION + 1), "newer than this xprop reads.*upgrade xprop"),
    (lambda h, f: h.update(format="something-else"), "not an xprop model or checkpoint"),
    (lambda h, f: f.pop("network.weights.1"), "damaged.*KeyError"),
    (lambda h, f: f.update({"network.biases.0": np.zeros(4)}), "parameter shapes do not match sizes"),
    (lambda h, f: h["network"].pop("cost"), "incomplete: cost missing"),
    (lambda h, f: h["network"].update(activations=["sigmoid"]), "sizes .* but 1 activations"),
    (lambda h, f: h["network"].update(activations=["sigmoid", "swish"]), "unknown activation 'swish'"),
])
def test_damaged_model_files_are_refused(tmp_path, change, message):
    path = save_model(xprop.Network([4, 3, 2]), tmp_path / "m.npz")
    rewrite_header(path, change)
    with pytest.raises(xprop.FileFormatError, match=message):
        load_model(path)


def rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as archive:
        fields = {k: archive[k] for k in archive.files}
    fields.update(changes)
    for key, value in changes.items():
        if value is None:
            del fields[key]
    np.savez(path, **fields)


@pytest.mark.parametrize("changes, message", [
    ({"format_version": np.array(2)}, "declares model format version 2 in the layout of version 1"),
    ({"format_version": np.array(3)}, "newer than this xprop reads.*upgrade xprop"),
    ({"format": np.array("something-else")}, "not an xprop model"),
    ({"w1": None}, "the parameter w1 is missing"),
    ({"b0": np.zeros(4)}, "parameter shapes do not match sizes"),
    ({"cost": None}, "incomplete: cost missing"),
    ({"activations": np.array(["sigmoid"])}, "sizes .* but 1 activations"),
    ({"sizes": np.array([[1]], dtype=object)}, "pickled objects"),
])
def test_damaged_first_format_model_files_are_refused(tmp_path, changes, message):
    path = write_version_1(xprop.Network([4, 3, 2]), tmp_path / "m.npz")
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
    path = write_version_1(xprop.Network([4, 3, 2]), tmp_path / "m.npz")
    rewrite(path, activations=np.array(["sigmoid", "swish"]))
    with pytest.raises(xprop.InputError, match="unknown activation 'swish'"):
        load_model(path)


def test_custom_activations_cannot_be_saved(tmp_path):
    net = xprop.Network([4, 3, 2], activation=(lambda z: z, lambda z: z * 0 + 1))
    with pytest.raises(xprop.InputError, match="custom activation") as refused:
        net.save(tmp_path / "m.npz")
    assert "\n" not in str(refused.value) and "stores activations by name" in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_saving_into_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(xprop.InputError, match="does not exist") as refused:
        xprop.Network([4, 3, 2]).save(tmp_path / "no" / "m.npz")
    assert "\n" not in str(refused.value) and "create it first" in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_save_takes_a_network_first(tmp_path):
    with pytest.raises(xprop.InputError, match="takes an xprop.Network first, got str"):
        xprop.save(str(tmp_path / "m.npz"), xprop.Network([4, 3, 2]))
    assert list(tmp_path.iterdir()) == []


def test_a_failed_save_leaves_the_old_file_untouched(tmp_path, monkeypatch):
    path = save_model(xprop.Network([4, 3, 2], seed=1), tmp_path / "m.npz")
    before = path.read_bytes()

    def broken_savez(handle, **arrays):
        handle.write(b"PK half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("xprop.io.npz.numpy.savez", broken_savez)
    with pytest.raises(OSError, match="No space left"):
        save_model(xprop.Network([4, 3, 2], seed=2), path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    assert zipfile.is_zipfile(path)
