"""``xprop parity`` certifies a backend: it passes on the real ones, prints its table, and
fails, naming the failing lines, on a backend with a plausible library bug."""

from __future__ import annotations

import numpy
import pytest

from xprop.backends import get_backend, registry
from xprop.backends.numpy_backend import NumpyBackend
from xprop import cli
from xprop.cli import main
from xprop.cli import parity as parity_command
from xprop.testing import check_backend, format_report

LOG2E_HALF = float(numpy.float16(numpy.log2(numpy.e)))  # log2(e) rounded to half precision


class _NumpyWith:
    """numpy's namespace with some functions replaced: a library with one bug."""

    def __init__(self, **replaced):
        self.__dict__.update(replaced)

    def __getattr__(self, name):
        return getattr(numpy, name)


def _coarse_exp(x, /):
    """exp as exp2(x · log2 e) with the constant in half precision: off by ~2e-4·|x|."""
    return numpy.exp2(x * numpy.asarray(LOG2E_HALF, dtype=x.dtype))


def _sum_dropping_an_odd_tail(x, /, *, axis=None, keepdims=False, **kwargs):
    """sum that skips the last element of an odd-length axis (a vectorisation bug of the
    kind a new library's reduction kernels have)."""
    axes = range(x.ndim) if axis is None else [axis % x.ndim] if isinstance(axis, int) else axis
    for a in axes:
        if x.shape[a] % 2:
            x = numpy.take(x, range(x.shape[a] - 1), axis=a)
    return numpy.sum(x, axis=axis, keepdims=keepdims, **kwargs)


def _broken(name, **replaced):
    return type(f"Broken{name}", (NumpyBackend,), {"name": name, "namespace": _NumpyWith(**replaced)})


BROKEN = {
    "coarse-exp": (_broken("coarse-exp", exp=_coarse_exp), "gradients: sigmoid>sigmoid+quadratic"),
    "odd-sum": (_broken("odd-sum", sum=_sum_dropping_an_odd_tail), "feedforward and evaluate"),
}


@pytest.fixture(autouse=True)
def parity_is_a_command(monkeypatch):
    monkeypatch.setitem(cli.COMMANDS, "parity", parity_command)


@pytest.fixture
def register(monkeypatch):
    """Make a backend class findable by name for one test."""
    monkeypatch.setattr(registry, "_by_name", {})

    def add(cls):
        monkeypatch.setitem(registry._CLASSES, cls.name, cls)
    return add


@pytest.mark.parametrize("backend,device,dtype", [
    ("array_api_strict", "device1", "float32"),
    ("array_api_strict", "device1", "float64"),
    ("numpy", None, "float32"),
    ("torch", None, "float32"),
], ids=["strict-device1-float32", "strict-device1-float64", "numpy-float32", "torch-float32"])
def test_a_real_backend_passes_and_prints_its_table(capsys, backend, device, dtype):
    usable = get_backend(backend, check=False)
    if not usable.available:
        pytest.skip(f"{backend}: {usable.unavailable_reason}")
    argv = ["parity", "--backend", backend, "--dtype", dtype] + (["--device", device] if device else [])
    status = main(argv)
    out = capsys.readouterr().out
    print(out)
    assert status == 0, out
    assert f"backend {backend}, device {device or 'default'}, dtype {dtype}" in out
    for name in ("gradients: odd m=1", "gradients: relu>softmax+log-likelihood", "trajectory",
                 "reference = finite differences", "no host synchronisation", "refused"):
        assert name in out
    assert "FAILED" not in out and out.rstrip().endswith("checks, all passed")


@pytest.mark.parametrize("bug", BROKEN, ids=str)
def test_a_backend_with_a_library_bug_fails_naming_the_line(capsys, register, bug):
    cls, failing = BROKEN[bug]
    register(cls)
    status = main(["parity", "--backend", cls.name, "--dtype", "float32"])
    out = capsys.readouterr().out
    print(out)
    assert status == 1
    failed = [line for line in out.splitlines() if "FAILED" in line and not line.startswith(tuple("0123456789"))]
    assert any(line.startswith(failing) for line in failed), out
    assert not any(line.startswith(("initial parameters", "reference =")) for line in failed), out


def test_the_tolerance_is_what_catches_a_small_error(register):
    """The coarse exp is wrong by ~1e-4 relative, far under what a loose test would notice."""
    cls, failing = BROKEN["coarse-exp"]
    register(cls)
    line = next(line for line in check_backend(cls.name).lines if line.check == failing)
    assert not line.passed and 64 < line.error < 1e5, line


@pytest.mark.parametrize("argv,reason", [
    (["--backend", "no-such-library"], "unknown backend 'no-such-library'"),
    (["--backend", "numpy", "--device", "device1"], "device"),
    (["--backend", "array_api_strict", "--device", "no_float64", "--dtype", "float64"], "float64"),
], ids=["unknown backend", "unknown device", "dtype the device lacks"])
def test_an_unusable_backend_is_one_failed_line(capsys, argv, reason):
    status = main(["parity", *argv])
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "FAILED" in line]
    assert status == 1
    assert len(lines) == 2 and reason in lines[0], out  # the line and the summary


def test_the_report_names_every_failure():
    report = check_backend("no-such-library")
    assert not report.passed and [line.check for line in report.failures] == ["backend no-such-library"]
    assert format_report(report).splitlines()[-1].startswith("1 of 1 checks FAILED: backend no-such-library")
