"""Where a named dataset's files may be, in order, and what to tell the user if they are nowhere.

The places, first match wins:

1. ``data_dir`` (the command line's ``--data DIR``): ``DIR/NAME`` or ``DIR`` itself
2. ``$XPROP_DATA/NAME``
3. the user cache: ``$XDG_CACHE_HOME/xprop/NAME``, by default ``~/.cache/xprop/NAME``
   (downloads go there)
4. the folder an operating-system package installs, e.g. Debian's
   ``dataset-fashion-mnist`` puts Fashion-MNIST in ``/usr/share/datasets/fashion-mnist``

A folder counts when it holds all four IDX files (gzip or raw), or, for MNIST, Nielsen's
``mnist.pkl.gz``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Setting
from .catalog import ROLES, DatasetSpec

NIELSEN_FILE = "mnist.pkl.gz"


@dataclass(frozen=True)
class Place:
    directory: Path
    why: str | Setting  # how this place came to be searched, for messages: the argument that named it


@dataclass
class Found:
    """A complete set of files: four IDX ``paths`` by role, or one Nielsen ``pickle``."""

    directory: Path
    paths: dict = field(default_factory=dict)
    pickle: Path | None = None


def cache_dir(name, env=None) -> Path:
    """``$XDG_CACHE_HOME/xprop/NAME``, by default ``~/.cache/xprop/NAME``."""
    env = os.environ if env is None else env
    root = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "xprop" / name


def places(spec: DatasetSpec, data_dir=None, env=None) -> list:
    """The folders to search for ``spec``, in order."""
    env = os.environ if env is None else env
    found = []
    if data_dir is not None:
        named = Setting("data_dir")
        found += [Place(Path(data_dir) / spec.name, named), Place(Path(data_dir), named)]
    if env.get("XPROP_DATA"):
        found.append(Place(Path(env["XPROP_DATA"]) / spec.name, "$XPROP_DATA"))
    found.append(Place(cache_dir(spec.name, env), "the user cache"))
    found += [Place(Path(d), f"the {spec.system_package} package") for d in spec.system_dirs]
    return found


def find_in(spec: DatasetSpec, directory) -> Found | None:
    """The dataset's files in ``directory``, or None if some are missing."""
    directory = Path(directory)
    paths = {role: _first_file(directory, spec.local_names(role)) for role in ROLES}
    if all(paths.values()):
        return Found(directory, paths)
    if spec.nielsen_pickle and (directory / NIELSEN_FILE).is_file():
        return Found(directory, pickle=directory / NIELSEN_FILE)
    return None


def find(spec: DatasetSpec, searched) -> Found | None:
    """The first complete place among ``searched``."""
    for place in searched:
        found = find_in(spec, place.directory)
        if found is not None:
            return found
    return None


def describe(spec: DatasetSpec, place: Place) -> tuple:
    """One line on what ``place`` holds, for the not-found message, in parts (``InputError``'s)."""
    directory = place.directory
    where = (f"{directory} (", place.why, ")")
    if not directory.exists():
        return (*where, ": no such folder")
    if not directory.is_dir():
        return (*where, ": not a folder")
    missing = [spec.files[r].stem for r in ROLES if not _first_file(directory, spec.local_names(r))]
    return (*where, f": missing {', '.join(missing)} (.gz or raw)")


def not_found_message(spec: DatasetSpec, searched, env=None, download_failures=(), downloads_allowed=True) -> list:
    """Every place looked at, every download tried, and the ways to fix it, a line each: the
    parts of a message (texts and the Settings of the arguments it names, ``InputError``'s)."""
    env = os.environ if env is None else env
    names = ", ".join(f.name for f in spec.files.values())
    cache = cache_dir(spec.name, env)
    no_download = Setting("download", False)
    lines = [f"dataset {spec.name} ({spec.title}) was not found" +
             (" and could not be downloaded." if download_failures else ".")]
    lines.append("Looked in:")
    lines += [("  ", *describe(spec, p)) for p in searched]
    if "XPROP_DATA" not in env:
        lines.append("  $XPROP_DATA: not set")
    if download_failures:
        lines.append(f"Tried to download into {cache}:")
        lines += [f"  {failure}" for failure in download_failures]
    elif not downloads_allowed:
        lines.append(("Downloading was turned off (", no_download, ")."))
    lines.append("Fix it in one of these ways:")
    if spec.system_package:
        lines.append(f"  - install the system package: sudo apt-get install {spec.system_package}")
    lines.append((f"  - put {names} (gzip or not) in a folder and pass ", Setting("data_dir", "FOLDER")))
    lines.append(f"  - or set XPROP_DATA=ROOT with the files in ROOT/{spec.name}")
    lines.append(f"  - or download them by hand from {spec.mirrors[0]} into {cache}")
    if spec.nielsen_pickle:
        lines.append(f"  - or put Nielsen's {NIELSEN_FILE} (from the book's repository) in one of those folders")
    retry = (" without ", no_download) if not downloads_allowed else ()
    lines.append(("  - or, with internet access, try again", *retry, f": xprop downloads into {cache}"))
    return [part for i, line in enumerate(lines)
            for part in ("\n" if i else "", *((line,) if isinstance(line, str) else line))]


def _first_file(directory, names):
    for name in names:
        path = directory / name
        if path.is_file():
            return path
    return None
