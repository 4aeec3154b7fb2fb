"""The backend adapters: found by name and by array type, honest about what is usable,
explicit about every copy, and never imported before they are asked for."""

import subprocess
import sys

import numpy as np
import pytest

import xprop
from xprop.backends import BACKEND_NAMES, HOT_SPOTS, backend_for, describe_backends, get_backend
from xprop.errors import BackendError, BackendUnavailableError


def test_round_trip_host_device_host(case):
    host = np.arange(12.0).reshape(3, 4)
    on_device = case.put(host)
    case.assert_native(on_device)
    back = case.get(on_device)
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, host.astype(case.dtype))


def test_backend_for_finds_the_owner_by_type_and_device(case):
    found = backend_for(case.put(np.ones(3)))
    assert found.name == case.name
    assert found.device == case.backend.device


def test_backend_for_is_cached_by_type(monkeypatch):
    backend_for(np.ones(2))
    calls = []
    monkeypatch.setattr(type(get_backend("numpy")), "is_array", lambda self, a: calls.append(a) or True)
    assert backend_for(np.ones(2)).name == "numpy"
    assert calls == []  # the type was already known: no probing of the backends


def test_unknown_things_are_refused_clearly():
    with pytest.raises(BackendError, match="unknown backend 'tensorflow'; choose one of numpy"):
        get_backend("tensorflow")
    with pytest.raises(BackendError, match="got builtins.list"):
        backend_for([1.0, 2.0])


def test_synchronize_is_callable_everywhere(case):
    x = case.put(np.ones(4))
    case.backend.synchronize(x)


def test_describe_backends_lists_each_with_a_reason_when_unusable():
    rows = {row["backend"]: row for row in describe_backends()}
    assert set(rows) == set(BACKEND_NAMES)
    assert rows["numpy"]["usable"] and rows["numpy"]["devices"] == ["cpu"]
    for row in rows.values():
        assert row["usable"] == (row["reason"] is None)


def _cupy_is_installed():
    return get_backend("cupy", check=False).version() is not None


@pytest.mark.skipif(not _cupy_is_installed(), reason="cupy is not installed")
def test_cupy_without_a_gpu_fails_at_once_with_the_reason():
    cupy_backend = get_backend("cupy", check=False)
    if cupy_backend.available:
        pytest.skip("a CUDA device is present: the unusable path cannot be exercised")
    reason = cupy_backend.unavailable_reason
    assert "cupy is installed but unusable" in reason
    with pytest.raises(BackendUnavailableError, match="backend 'cupy' cannot be used: cupy is installed"):
        xprop.Network([4, 3, 2], backend="cupy")


def test_a_missing_library_says_how_to_install_it(monkeypatch):
    from xprop.backends.base import Backend

    class Missing(Backend):
        name, library = "missing", "xprop_no_such_library"
        install_hint = "install it with pip install no-such-library"

    reason = Missing().unavailable_reason
    assert "xprop_no_such_library is not installed" in reason and "pip install no-such-library" in reason
    with pytest.raises(BackendUnavailableError, match="backend 'missing' cannot be used"):
        Missing().ensure_available()


def test_arrays_from_another_backend_are_refused_not_copied():
    pytest.importorskip("array_api_strict")
    net = xprop.Network([4, 3, 2], backend="array_api_strict", device="device1", dtype="float64")
    with pytest.raises(BackendError, match=r"backend 'numpy'.*net.backend.from_host"):
        net.feedforward(np.ones((2, 4)))
    default_device = get_backend("array_api_strict").from_host(np.ones((2, 4)), "float64")
    with pytest.raises(BackendError, match="on device array_api_strict.Device\\('CPU_DEVICE'\\)"):
        net.feedforward(default_device)


def test_a_float64_request_on_a_device_without_float64_is_refused():
    pytest.importorskip("array_api_strict")
    with pytest.raises(xprop.InputError, match="float64 is not supported.*no_float64.*float32"):
        xprop.Network([4, 3, 2], backend="array_api_strict", device="no_float64", dtype="float64")


def test_network_to_moves_explicitly_and_keeps_the_parameters():
    pytest.importorskip("torch")
    net = xprop.Network([4, 3, 2], dtype="float64", cost="cross-entropy", activation="tanh",
                        output_activation="sigmoid")
    moved = net.to("torch")
    assert moved.backend.name == "torch" and moved.config() == net.config()
    for a, b in zip(net.weights, moved.parameters_to_host()[0]):
        np.testing.assert_array_equal(a, b)


def test_importing_xprop_imports_no_framework():
    """Lazy imports: building a numpy network pulls in no torch, jax, cupy or strict."""
    code = (
        "import sys, xprop; xprop.Network([3, 2]);"
        "print(sorted(m for m in ('torch', 'jax', 'cupy', 'array_api_strict') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_backends_are_installed_inside_xprop():
    import xprop.backends as installed

    assert installed.__name__ == "xprop.backends"
    assert installed.__file__.replace("\\", "/").endswith("backends/__init__.py")


def test_to_host_is_a_copy_the_caller_owns(case):
    on_device = case.put(np.arange(4.0))
    back = case.get(on_device)
    back.setflags(write=True)  # jax hands back read-only buffers; a copy may be made writable
    back[0] = 99.0
    np.testing.assert_array_equal(case.get(on_device), np.arange(4.0))


def test_parameters_to_host_cannot_change_the_network(case):
    net = case.network([3, 2])
    weights, biases = net.parameters_to_host()
    weights[0][...] = 7.0
    biases[0][...] = 7.0
    again_w, again_b = net.parameters_to_host()
    assert not np.any(again_w[0] == 7.0) and not np.any(again_b[0] == 7.0)


# -- a bare install: libraries that are not there, or are broken --------------------------------
# What each backend's reason must tell the user to run when its library is missing.
INSTALL_COMMANDS = {
    "numpy": "pip install 'numpy>=2.1'",
    "cupy": "pip install 'xprop[cuda12]'",
    "array_api_strict": "pip install array-api-strict",
    "torch": "pip install 'xprop[torch]'",
    "jax": "pip install 'xprop[jax]'",
}
OPTIONAL = ("cupy", "array_api_strict", "torch", "jax")  # what a bare `pip install -e .` lacks


def _without(monkeypatch, *libraries):
    """Make ``import LIBRARY`` fail as if it were not installed (None in sys.modules is
    Python's own way to block an import), with fresh, empty backend caches."""
    from xprop.backends import registry

    for library in libraries:
        monkeypatch.setitem(sys.modules, library, None)
    monkeypatch.setattr(registry, "_by_name", {})
    monkeypatch.setattr(registry, "_by_type", {})


def test_every_backend_has_an_install_command():
    assert set(INSTALL_COMMANDS) == set(BACKEND_NAMES)


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_a_library_not_installed_is_described_with_its_pip_command(monkeypatch, name):
    library = get_backend(name, check=False).library
    _without(monkeypatch, library)
    row = {row["backend"]: row for row in describe_backends()}[name]
    assert row == {"backend": name, "usable": False, "reason": row["reason"], "version": None, "devices": []}
    assert row["reason"].startswith(f"{library} is not installed; install it with ")
    assert INSTALL_COMMANDS[name] in row["reason"] and "\n" not in row["reason"]
    with pytest.raises(BackendUnavailableError, match=f"backend {name!r} cannot be used: {library} is not installed"):
        get_backend(name)


def test_describe_backends_on_a_bare_install(monkeypatch):
    _without(monkeypatch, *OPTIONAL)
    rows = {row["backend"]: row for row in describe_backends()}
    assert rows["numpy"]["usable"] and rows["numpy"]["devices"] == ["cpu"]
    for name in OPTIONAL:
        assert not rows[name]["usable"] and rows[name]["version"] is None and rows[name]["devices"] == []
        assert INSTALL_COMMANDS[name] in rows[name]["reason"]


def test_xprop_info_on_a_bare_install_exits_0_with_the_reasons(monkeypatch, capsys):
    from xprop.cli import main

    _without(monkeypatch, *OPTIONAL)
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.split()[:2] == ["numpy", "usable"] for line in lines)
    for name in OPTIONAL:
        row = next(i for i, line in enumerate(lines) if line.split()[:1] == [name])
        assert lines[row].split()[1:] == ["not", "usable", "not", "installed"], lines[row]
        assert lines[row + 1].split()[0] == "why:" and INSTALL_COMMANDS[name] in lines[row + 1]


def test_backend_for_skips_a_blocked_library(monkeypatch):
    _without(monkeypatch, *OPTIONAL)
    assert backend_for(np.ones(2)).name == "numpy"
    with pytest.raises(BackendError, match="got builtins.list"):
        backend_for([1.0, 2.0])


@pytest.mark.parametrize("failure", [
    RuntimeError("jaxlib 0.1 is too old for jax 0.10.2;\nreinstall with pip install -U jaxlib"),
    ModuleNotFoundError("No module named 'jaxlib'", name="jaxlib"),  # a dependency is missing
    ImportError("libcudart.so.12: cannot open shared object file"),
], ids=["raises", "dependency-missing", "shared-library-missing"])
def test_an_installed_but_broken_library_gives_a_one_line_reason(monkeypatch, failure):
    import importlib

    real = importlib.import_module

    def fake(name, *args, **kwargs):
        if name == "jax":
            raise failure
        return real(name, *args, **kwargs)

    _without(monkeypatch)
    monkeypatch.setattr(importlib, "import_module", fake)
    row = get_backend("jax", check=False).describe()
    first_line = str(failure).splitlines()[0]
    assert row["reason"] == f"jax is installed but unusable: {type(failure).__name__}: {first_line}"
    assert (row["usable"], row["version"], row["devices"]) == (False, None, [])


def test_a_failing_probe_gives_a_one_line_reason():
    from xprop.backends.numpy_backend import NumpyBackend

    class Broken(NumpyBackend):
        def _probe(self):
            raise OSError("the device fell off the bus\ntraceback-like detail\nmore detail")

    row = Broken().describe()
    assert row["reason"] == "numpy is installed but unusable: OSError: the device fell off the bus"
    assert row["version"] == np.__version__ and row["devices"] == []  # installed: its version is shown


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_describing_a_backend_imports_no_other_framework(name):
    """Only the described backend's own library may be imported, and only if installed."""
    others = [b for b in BACKEND_NAMES if b not in (name, "numpy")]
    code = (
        "import sys\nfrom xprop.backends import get_backend\n"
        f"get_backend({name!r}, check=False).describe()\n"
        f"print(sorted(m for m in {others!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- fused operations: the seam for per-backend kernels (tests/test_fused.py tests the kernels) --
#: the hot spots each backend fuses where it can run: cupy every one, torch those it has
#: single operations for (backends/torch_fused.py), the others none
FUSES = {"cupy": set(HOT_SPOTS), "torch": {"sigmoid", "sigmoid_delta", "quadratic_sigmoid_output_error"}}


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_cupy_and_torch_fuse_and_only_where_they_can_run(name):
    backend = get_backend(name, check=False)  # answered without a traceback, usable or not
    fused = {spot: backend.fused(spot) for spot in HOT_SPOTS}
    expected = FUSES.get(name, set()) if backend.available else set()
    assert {spot for spot, kernel in fused.items() if kernel is not None} == expected
    assert all(callable(fused[spot]) for spot in expected)


def test_an_unknown_fused_operation_is_refused():
    with pytest.raises(xprop.InputError, match="unknown fused operation 'sgd_updte'; did you mean 'sgd_update'"):
        get_backend("numpy").fused("sgd_updte")
    with pytest.raises(xprop.InputError, match="the functions of xprop/backprop.py named sigmoid, sigmoid_delta"):
        get_backend("numpy").fused("sgd_step")  # the whole step is no hot spot: its chains are


@pytest.mark.parametrize("spot", HOT_SPOTS)
def test_each_hot_spot_has_its_unfused_reference_taking_xp(spot):
    """The contract: a fused op replaces the reference of its name (xprop.backprop.UNFUSED,
    also an attribute of xprop/backprop.py), with the same signature, ``xp=`` included."""
    import inspect

    from xprop import backprop

    reference = getattr(backprop, spot)
    assert backprop.UNFUSED[spot] is reference
    xp = inspect.signature(reference).parameters.get("xp")
    assert xp is not None and xp.kind is inspect.Parameter.KEYWORD_ONLY


def test_describe_backends_says_where_each_backend_comes_from():
    rows = describe_backends()
    assert [row["backend"] for row in rows[:len(BACKEND_NAMES)]] == list(BACKEND_NAMES)
    assert all("origin" not in row for row in rows[:len(BACKEND_NAMES)])
    assert all(row["origin"].startswith("plugin ") for row in rows[len(BACKEND_NAMES):])


@pytest.mark.parametrize("alias", ["module:numpy", "module:array_api_strict"], ids=["numpy", "array-api-strict"])
def test_a_module_backend_is_cached_and_found_for_its_arrays(alias):
    backend = get_backend(alias)
    assert get_backend(alias) is backend
    x = backend.from_host(np.ones(2))
    assert backend.owns(x) and backend.is_array(x)
    assert backend.namespace is backend.module
