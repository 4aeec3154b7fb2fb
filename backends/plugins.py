"""Backends from other distributions, through the entry-point group ``xprop.backends``.

A distribution declares ``[project.entry-points."xprop.backends"] NAME = "pkg.module:Class"``
with ``Class`` a subclass of ``Backend``; ``backend="NAME"`` then uses it without any
change to xprop. The group is read once; a plugin is imported only when its name is first
asked for, or when all are described (``xprop info``). A plugin that fails to import, is
not a Backend subclass, or takes a built-in's name is kept as a reason, never raised:
one broken plugin must not break the other backends or ``xprop info``.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass

from .base import Backend

GROUP = "xprop.backends"


@dataclass(frozen=True)
class Plugin:
    """One entry point of the group: its backend class, or the one-line reason it has none."""

    name: str
    target: str  # "pkg.module:Class", as declared
    distribution: str | None
    backend_class: type | None = None
    reason: str | None = None

    @property
    def origin(self) -> str:
        """Where it comes from, for ``xprop info``."""
        return f"plugin {self.target}" + (f" from {self.distribution}" if self.distribution else "")


_entry_points: dict | None = None
_loaded: dict[str, Plugin] = {}


def _declared() -> dict:
    """The group's entry points by name (read once); a name declared twice keeps the first."""
    global _entry_points
    if _entry_points is None:
        found = {}
        for entry in importlib.metadata.entry_points(group=GROUP):
            found.setdefault(entry.name, entry)
        _entry_points = found
    return _entry_points


def names() -> list[str]:
    """The names the installed distributions declare, sorted; nothing is imported."""
    return sorted(_declared())


def plugin(name: str, builtin: tuple) -> Plugin | None:
    """The plugin declared as ``name`` (imported on first ask, then cached), or None."""
    if name not in _loaded:
        entry = _declared().get(name)
        if entry is None:
            return None
        _loaded[name] = _load(entry, builtin)
    return _loaded[name]


def all_plugins(builtin: tuple) -> list[Plugin]:
    """Every declared plugin, each imported (or its reason), sorted by name."""
    return [plugin(name, builtin) for name in names()]


def loaded() -> list[Plugin]:
    """The plugins imported so far (for finding the owner of an array without importing more)."""
    return list(_loaded.values())


def forget() -> None:
    """Read the entry points again on the next lookup (after installing a distribution)."""
    global _entry_points
    _entry_points = None
    _loaded.clear()


def _load(entry, builtin: tuple) -> Plugin:
    dist = getattr(getattr(entry, "dist", None), "name", None)
    made = dict(name=entry.name, target=entry.value, distribution=dist)
    if entry.name in builtin:
        return Plugin(**made, reason=f"named like the built-in backend {entry.name!r}, so ignored; "
                                     "rename the entry point")
    try:
        obj = entry.load()
    except BaseException as exc:  # noqa: BLE001 - a plugin's import may fail in any way, even SystemExit
        if isinstance(exc, KeyboardInterrupt):
            raise
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        what = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
        return Plugin(**made, reason=f"cannot import {entry.value}: {what}")
    if not (isinstance(obj, type) and issubclass(obj, Backend)):
        return Plugin(**made, reason=f"{entry.value} is not a subclass of xprop.backends.Backend "
                                     f"(it is {type(obj).__name__} {obj!r:.60}); point the entry point at one")
    if obj.name != entry.name:  # users type the entry point's name; the backend reports it
        obj = type(obj.__name__, (obj,), {"name": entry.name, "__module__": obj.__module__})
    return Plugin(**made, backend_class=obj)
