"""The package installs the same everywhere: extras with lower bounds, pins in one file, one version."""

import ast
import pathlib
import re
import subprocess
import sys
import tomllib
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
SELF = re.compile(r"^xprop\[([a-z0-9_,\-]+)\]$")


def _name(requirement):
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_every_extra_has_lower_bounds_and_no_pins(extra):
    for requirement in EXTRAS[extra]:
        if SELF.match(requirement):
            assert set(SELF.match(requirement).group(1).split(",")) <= set(EXTRAS), requirement
            continue
        spec = requirement.split(";")[0]
        assert ">=" in spec, f"[{extra}] {requirement}: give a lower bound"
        assert "==" not in spec, f"[{extra}] {requirement}: exact pins go in tests/constraints.txt"
    for requirement in PYPROJECT["project"]["dependencies"]:
        assert ">=" in requirement and "==" not in requirement, requirement


def test_the_extras_are_named_after_what_they_bring():
    assert EXTRAS["torch"] == ["torch>=2.4"]
    assert {_name(r) for r in EXTRAS["jax"]} == {"jax", "jaxlib"}
    assert EXTRAS["oracles"] == ["xprop[torch,jax]"]  # the old name, an alias
    assert {"cuda12", "cuda13", "mpi", "plot", "bench", "onnx", "sklearn", "test"} <= set(EXTRAS)


def test_the_exact_pins_are_in_tests_constraints_only():
    pins = {}
    for line in (ROOT / "tests" / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"tests/constraints.txt: {line!r} is not an exact pin"
            pins[name] = version
    assert {"torch", "jax", "jaxlib"} <= set(pins)
    for extra in ("torch", "jax"):  # the pins satisfy the extras' lower bounds
        for requirement in EXTRAS[extra]:
            lower = requirement.split(">=")[1]
            assert _version(pins[_name(requirement)]) >= _version(lower), requirement
    for text in ((ROOT / "pyproject.toml").read_text(), (ROOT / "tox.ini").read_text()):
        assert not re.search(r"\b(torch|jax|jaxlib)==", text)


def _version(text):
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0])[:3])


def test_the_readme_and_ci_install_with_the_constraints():
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "pytest" in line and not line.startswith("#")]
    assert ci and "-c tests/constraints.txt" in ci[0]
    assert "oracles" not in ci[0]


def test_the_version_is_written_once():
    assert "version" not in PYPROJECT["project"]
    assert "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "xprop.__version__"}
    tree = ast.parse((ROOT / "xprop" / "__init__.py").read_text())
    [version] = [node.value.value for node in tree.body if isinstance(node, ast.Assign)
                 and any(getattr(t, "id", None) == "__version__" for t in node.targets)]
    import xprop

    assert xprop.__version__ == version
    try:
        from importlib.metadata import version as installed
        assert installed("xprop") == version
    except Exception:  # not installed (tests run from a checkout): the AST is the check
        pass


def test_the_license_is_declared_and_needs_a_new_enough_setuptools():
    assert PYPROJECT["project"]["license"] == "MIT"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    [setuptools] = [r for r in PYPROJECT["build-system"]["requires"] if _name(r) == "setuptools"]
    assert _version(setuptools.split(">=")[1]) >= (77,)  # the PEP 639 license string


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    try:
        import setuptools  # noqa: F401 - building without isolation needs no download
    except ImportError:
        pytest.skip("setuptools is not installed: pip install setuptools")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                           str(ROOT), "-w", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    [built] = out.glob("xprop-*.whl")
    with zipfile.ZipFile(built) as opened:
        return opened.namelist()


def test_the_wheel_ships_every_package_the_license_and_py_typed(wheel):
    names = set(wheel)
    for package in PYPROJECT["tool"]["setuptools"]["packages"]:
        assert package.replace(".", "/") + "/__init__.py" in names, f"{package} is not in the wheel"
    assert "xprop/backends/numpy_backend.py" in names
    assert "xprop/py.typed" in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names), sorted(names)[-10:]
    assert not any(name.startswith(("tests/", "backends/", "bench/")) for name in names)
