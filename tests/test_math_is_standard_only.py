"""The math is written once against the Array API: its modules import no array library."""

import ast
import importlib.util
import pathlib
import subprocess
import sys

import xprop

MATH_MODULES = ["errors", "activations", "costs", "backprop"]
PACKAGE = pathlib.Path(xprop.__file__).parent
FORBIDDEN = {"numpy", "cupy", "torch", "jax", "array_api_strict"}


def _imported_names(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield ("." * node.level) + (node.module or "")


def test_math_modules_import_only_each_other():
    for name in MATH_MODULES:
        for imported in _imported_names(PACKAGE / f"{name}.py"):
            top = imported.lstrip(".").split(".")[0]
            assert top not in FORBIDDEN, f"xprop/{name}.py imports {imported}"
            if imported.startswith("."):
                assert top in MATH_MODULES, f"xprop/{name}.py imports {imported}, not a math module"


def test_math_modules_load_with_numpy_and_cupy_blocked():
    """Executed with ``import numpy`` and ``import cupy`` made to fail, the modules load."""
    code = f"""
import importlib.util, sys, types
for blocked in {sorted(FORBIDDEN)!r}:
    sys.modules[blocked] = None
package = types.ModuleType("mathonly"); package.__path__ = []; sys.modules["mathonly"] = package
for name in {MATH_MODULES!r}:
    spec = importlib.util.spec_from_file_location("mathonly." + name, r"{PACKAGE}/" + name + ".py")
    module = importlib.util.module_from_spec(spec); sys.modules[spec.name] = module
    spec.loader.exec_module(module)
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
    assert importlib.util.find_spec("numpy") is not None  # the block was local to the subprocess
