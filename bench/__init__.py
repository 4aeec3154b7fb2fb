"""xprop's benchmarks, installed as ``xprop.bench``.

    xprop bench [--quick] [--out DIR]        # or: python -m xprop.bench, python bench
    python bench/mpi_scaling.py              # data-parallel scaling over MPI
    bash bench/gpu_check.sh [OUT]            # unattended, on the first machine with a GPU

``run`` measures training and gradient throughput of xprop on every usable backend, eager
and, where the backend compiles (jax, torch), compiled, against the references
(``contenders.REFERENCES``: the book's per-example loop, hand-written numpy, PyTorch by hand
and with autograd), all in one process and one run, and writes JSON, a Markdown table and
a PNG plot. ``gpu_check`` times one SGD step on a GPU, eager, compiled, fused and captured
in a CUDA graph, on the device's clock. Nothing here is imported by ``import xprop``.
"""
