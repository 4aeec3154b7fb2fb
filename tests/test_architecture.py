"""The layers of the package: no import circles, no module reaching into another's private
names, and the math importing no array library."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: folder in the repository -> the package it is installed as
PACKAGES = {"xprop": "xprop", "backends": "xprop.backends", "bench": "xprop.bench"}


def _modules():
    modules = {}
    for folder, package in PACKAGES.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
            modules[".".join([package, *parts])] = path
    return modules


def _imports(name, path, modules):
    """(imported module, imported name) pairs of ``name``'s own xprop imports, lazy ones too."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            if target.startswith("xprop"):
                found += [(f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target, a.name)
                          for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(a.name, None) for a in node.names if a.name.startswith("xprop")]
    return found


def test_the_import_graph_has_no_circles():
    modules = _modules()
    graph = {name: {m for m, _ in _imports(name, path, modules) if m in modules and m != name}
             for name, path in modules.items()}
    circles = []

    def visit(node, stack):
        for nxt in graph[node]:
            if nxt in stack:
                circles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in done:
                done.add(nxt)
                visit(nxt, stack + [nxt])

    for start in graph:
        done = {start}
        visit(start, [start])
    assert not circles, f"import circles: {circles[:5]}"


def test_no_module_imports_a_private_name_of_another():
    modules = _modules()
    private = [(name, target, imported) for name, path in modules.items()
               for target, imported in _imports(name, path, modules)
               if imported and imported.startswith("_") and not imported.startswith("__")]
    assert not private, private


def test_the_math_imports_no_array_library():
    for module in ("backprop", "costs", "activations"):
        tree = ast.parse((ROOT / "xprop" / f"{module}.py").read_text())
        names = {a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
        names |= {node.module.split(".")[0] for node in ast.walk(tree)
                  if isinstance(node, ast.ImportFrom) and node.module and not node.level}
        assert not names & {"numpy", "cupy", "torch", "jax", "array_api_strict", "array_api_compat"}, (module, names)
