"""xprop info: each backend, whether it is usable here and why not, versions, devices, datasets."""

from __future__ import annotations

import importlib.metadata
import platform
import sys

from ..backends import describe_backends
from ..data import DATASETS
from ..data.locate import cache_dir, find, places

HELP = "backends usable here (and why not), library versions, devices, datasets"


def add_arguments(parser):
    parser.add_argument("--data", metavar="DIR", default=None, help="also look for datasets in DIR")


def run(args, stdout=None, stderr=None):
    out = stdout or sys.stdout
    print(f"xprop {_version('xprop')}  python {platform.python_version()}  numpy {_version('numpy')}  "
          f"array-api-compat {_version('array-api-compat')}", file=out)
    print("\nbackends (plugins: entry-point group xprop.backends; any Array API module: "
          "--backend module:NAME):", file=out)
    for row in describe_backends():
        status = "usable" if row["usable"] else "not usable"
        version = row["version"] or ("-" if "origin" in row else "not installed")  # a plugin's own failure
        print(f"  {row['backend']:<17} {status:<11} {version}", file=out)
        if "origin" in row:  # a plugin
            print(f"  {'':<17} from: {row['origin']}", file=out)
        if row["usable"]:
            print(f"  {'':<17} devices: {', '.join(row['devices']) or '-'}", file=out)
        else:
            print(f"  {'':<17} why: {row['reason']}", file=out)
    print("\ndatasets:", file=out)
    for spec in DATASETS.values():
        found = find(spec, places(spec, args.data))
        where = str(found.directory) if found else f"not here; downloaded into {cache_dir(spec.name)} on first use"
        print(f"  {spec.name:<17} {where}", file=out)
    matplotlib = _version("matplotlib")
    print(f"\nplots (--plot): {'matplotlib ' + matplotlib if matplotlib else 'not available; pip install xprop[plot]'}",
          file=out)
    return 0


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
