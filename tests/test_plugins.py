"""Backends from other distributions (the entry-point group ``xprop.backends``) and from any
Array API module (``module:NAME``): found by name, trained on like a built-in, and a broken
one shown with its reason without breaking anything else."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import xprop
from xprop.backends import BACKEND_NAMES, describe_backends, get_backend
from xprop.backends.generic import ModuleBackend
from xprop.backends.plugins import GROUP
from xprop.backends.registry import reload_plugins
from xprop.cli import main
from xprop.errors import BackendError, BackendUnavailableError

from processes import child_env, parameters, reference_run, write_dataset

DIST = Path(__file__).parent / "plugin_dist"
DEMO = "demo_numpy = xprop_demo_plugin.backend:DemoNumpyBackend"


@pytest.fixture
def installed(monkeypatch, tmp_path):
    """``installed(lines)``: as if distributions declared these ``NAME = module:object`` entry
    points (the demo distribution and modules written into tmp_path are importable)."""
    monkeypatch.syspath_prepend(str(DIST))
    monkeypatch.syspath_prepend(str(tmp_path))
    loads = []

    def declare(*lines):
        points = []
        for line in lines:
            name, _, value = (part.strip() for part in line.partition("="))
            points.append(_CountingEntryPoint(name=name, value=value, group=GROUP, loads=loads))
        monkeypatch.setattr(importlib.metadata, "entry_points",
                            lambda group=None, **kw: [p for p in points if group in (None, p.group)])
        reload_plugins()
        return loads

    yield declare
    monkeypatch.undo()
    reload_plugins()


class _CountingEntryPoint(importlib.metadata.EntryPoint):
    """An entry point that records each time it is imported."""

    def __init__(self, *, loads, **kw):
        super().__init__(**kw)
        vars(self)["loads"] = loads  # EntryPoint is immutable

    def load(self):
        self.loads.append(self.name)
        return super().load()


def one_epoch(backend, *, dtype="float64"):
    rng = np.random.default_rng(3)
    X, y = rng.random((60, 6)), rng.integers(0, 3, 60)
    net = xprop.Network([6, 5, 3], backend=backend, dtype=dtype, seed=4)
    net.fit(net.backend.from_host(X, dtype), net.backend.from_host(y, "int64"), epochs=1, batch_size=7,
            eta=0.5, seed=2, momentum=0.3)
    return net


# -- plugins, in process ------------------------------------------------------------------------
def test_a_plugin_is_found_by_name_and_trains_exactly_like_numpy(installed):
    installed(DEMO)
    net = one_epoch("demo_numpy")
    assert type(net.backend).__name__ == "DemoNumpyBackend" and net.backend.name == "demo_numpy"
    for got, want in zip(net.parameters_to_host(), one_epoch("numpy").parameters_to_host()):
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)


def test_plugins_are_imported_only_when_asked_for_and_once(installed):
    loads = installed(DEMO, "other = xprop_demo_plugin.backend:DemoNumpyBackend")
    get_backend("numpy")
    with pytest.raises(BackendError, match="choose one of numpy.*demo_numpy, other"):
        get_backend("tensorflow")
    assert loads == []  # a built-in, or a name no plugin declares, imports no plugin
    get_backend("demo_numpy")
    get_backend("demo_numpy")
    assert loads == ["demo_numpy"]
    describe_backends()
    describe_backends()
    assert loads == ["demo_numpy", "other"]


BROKEN = {
    "raises-on-import": ("broken = broken_plugin:Backend", "raise RuntimeError('needs a GPU driver')",
                         "broken", "cannot import broken_plugin:Backend: RuntimeError: needs a GPU driver"),
    "exits-on-import": ("broken = broken_plugin:Backend", "raise SystemExit('bye')",
                        "broken", "cannot import broken_plugin:Backend: SystemExit: bye"),
    "missing-object": ("broken = broken_plugin:Nothing", "", "broken",
                       "cannot import broken_plugin:Nothing: AttributeError"),
    "not-a-backend": ("broken = broken_plugin:Backend", "class Backend: pass", "broken",
                      "broken_plugin:Backend is not a subclass of xprop.backends.Backend"),
    "named-like-a-built-in": ("numpy = broken_plugin:Backend", "raise RuntimeError('never imported')", "numpy",
                              "named like the built-in backend 'numpy', so ignored; rename the entry point"),
}


@pytest.mark.parametrize("line, source, name, reason", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_plugin_is_a_row_with_its_reason_and_breaks_nothing_else(installed, tmp_path, capsys,
                                                                           line, source, name, reason):
    (tmp_path / "broken_plugin.py").write_text(source + "\n")
    sys.modules.pop("broken_plugin", None)
    installed(line, DEMO)
    rows = describe_backends()
    plugin_rows = [r for r in rows if "origin" in r]
    assert [r["backend"] for r in rows if "origin" not in r] == list(BACKEND_NAMES)
    broken = next(r for r in plugin_rows if r["backend"] == name)
    assert not broken["usable"] and reason in broken["reason"] and "\n" not in broken["reason"]
    assert broken["origin"] == f"plugin {line.partition('= ')[2]}"
    assert next(r for r in plugin_rows if r["backend"] == "demo_numpy")["usable"]  # the other plugin
    assert get_backend("numpy").name == "numpy" and type(get_backend("numpy")).__module__.endswith("numpy_backend")
    if name != "numpy":
        with pytest.raises(BackendError, match=f"backend plugin 'broken' .* cannot be used: {reason[:20]}"):
            get_backend("broken")
    capsys.readouterr()
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"why: {broken['reason']}" in out and "demo_numpy" in out
    sys.modules.pop("broken_plugin", None)


# -- module:NAME, the adapter built on the standard alone --------------------------------------
@pytest.mark.parametrize("module", ["numpy", "array_api_strict"], ids=["numpy", "array-api-strict"])
def test_any_array_api_module_trains_bit_identically_to_numpy(module):
    # array-api-strict is numpy underneath: the same operations, so the same bits
    net = one_epoch(f"module:{module}")
    assert isinstance(net.backend, ModuleBackend) and net.backend.library == module
    assert all(w.__array_namespace__() is net.backend.module for w in net.weights + net.biases)
    for got, want in zip(net.parameters_to_host(), one_epoch("numpy").parameters_to_host()):
        for g, w in zip(got, want):
            assert g.dtype == w.dtype == np.float64
            np.testing.assert_array_equal(g, w)


def test_module_backend_keeps_to_a_non_default_device():
    import array_api_strict

    device1 = array_api_strict.Device("device1")
    backend = get_backend("module:array_api_strict", device1)
    x = backend.from_host(np.arange(3.0), "float32")
    assert x.device == device1 and backend.owns(x) and not get_backend("module:array_api_strict").owns(x)
    np.testing.assert_array_equal(backend.to_host(x), np.arange(3.0, dtype=np.float32))


class _FarAwayArray:
    """An array on a device neither DLPack nor numpy can read (as a GPU array would be)."""

    device = "gpu:0"

    def __dlpack__(self, **kw):
        raise BufferError("no")

    def __dlpack_device__(self):
        return (2, 0)  # kDLCUDA


def test_module_backend_refuses_a_silent_device_copy():
    with pytest.raises(BackendError, match="cannot be copied to the host through the standard"):
        get_backend("module:numpy").to_host(_FarAwayArray())


REFUSED = {
    "not-a-namespace": ("module:math", "math is not an Array API namespace"),
    "not-installed": ("module:no_such_library_here", "no_such_library_here is not installed"),
}


@pytest.mark.parametrize("name, reason", REFUSED.values(), ids=REFUSED.keys())
def test_module_backend_refuses_what_it_cannot_use_in_one_line(name, reason):
    with pytest.raises(BackendUnavailableError, match=reason):
        xprop.Network([2, 2], backend=name)


def test_unknown_backend_names_the_module_form():
    with pytest.raises(BackendError, match="or module:NAME for any Array API module"):
        get_backend("tensorflow")


# -- the whole path: pip install, then the command line in another process ---------------------
@pytest.mark.slow
def test_an_installed_plugin_trains_from_the_command_line_like_numpy(tmp_path):
    try:
        import setuptools  # noqa: F401 - the demo distribution is built without isolation
    except ImportError:
        pytest.skip("setuptools is not installed, so the demo plugin cannot be built offline")
    target = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(shutil.copytree(DIST, tmp_path / "dist"))],
        capture_output=True, text=True, timeout=120)
    if built.returncode != 0:
        pytest.skip(f"pip could not build the demo plugin offline: {built.stderr.strip()[-300:]}")
    data = write_dataset(tmp_path / "d.npz", n_train=200, n_val=50, n_test=50)
    args = ["--dataset", data, "--sizes", 16, 8, 4, "--epochs", 2, "--dtype", "float64", "--no-progress"]
    want, _ = reference_run(tmp_path, *args)
    env = dict(child_env(), PYTHONPATH=os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")]))
    got = tmp_path / "plugin.npz"
    run = subprocess.run([sys.executable, "-m", "xprop", "train", *map(str, args), "--backend", "demo_numpy",
                          "--save", str(got)], capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    assert "demo_numpy" in run.stdout
    for g, w in zip(parameters(got), parameters(want)):
        np.testing.assert_array_equal(g, w)
    info = subprocess.run([sys.executable, "-m", "xprop", "info"], capture_output=True, text=True, timeout=120,
                          env=env)
    assert info.returncode == 0 and "from: plugin xprop_demo_plugin.backend:DemoNumpyBackend from xprop-demo-plugin" in info.stdout
