"""xprop's benchmarks, installed as ``xprop.bench``.

    xprop bench [--quick] [--out DIR]        # or: python -m xprop.bench, python bench
    python bench/mpi_scaling.py              # data-parallel scaling over MPI

``run`` measures training and gradient throughput of xprop on every usable backend
against the references (``contenders.REFERENCES``: the book's per-example loop,
hand-written numpy, PyTorch by hand and with autograd), all in one process and one run, and writes
JSON, a Markdown table and a PNG plot. Nothing here is imported by ``import xprop``.
"""
