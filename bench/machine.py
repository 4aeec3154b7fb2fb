"""What the numbers were measured on: CPU, cores, library versions, BLAS and its threads."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata

LIBRARIES = ("numpy", "array-api-compat", "array-api-strict", "torch", "jax", "jaxlib", "cupy",
             "threadpoolctl", "matplotlib")
ENVIRONMENT = ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def describe():
    return {"cpu": _cpu_name(), "cores": os.cpu_count(), "affinity": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity") else None, "platform": platform.platform(),
            "python": sys.version.split()[0], "libraries": versions(), "blas": blas(),
            "environment": {k: os.environ.get(k) for k in ENVIRONMENT}}


def versions():
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    try:
        found["xprop"] = metadata.version("xprop")
    except metadata.PackageNotFoundError:
        found["xprop"] = None
    return found


def blas():
    """numpy's BLAS as threadpoolctl sees it (library, version, threads, core type)."""
    import numpy  # noqa: F401 - loads the BLAS threadpoolctl inspects

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl is not installed (pip install 'xprop[bench]')",
                 "numpy_config": _numpy_config()}]
    return [{k: pool.get(k) for k in ("user_api", "internal_api", "version", "num_threads",
                                       "architecture", "threading_layer", "prefix")}
            for pool in threadpool_info()]


def blas_threads():
    """numpy's BLAS thread count (to give torch the same), or None when unknown."""
    counts = [pool.get("num_threads") for pool in blas() if pool.get("user_api") == "blas"]
    return counts[0] if counts else None


def _numpy_config():
    import numpy

    try:
        return numpy.show_config(mode="dicts").get("Build Dependencies", {}).get("blas")
    except TypeError:
        return None


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None
