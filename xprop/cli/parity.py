"""xprop parity: a parity certificate for an array library, against numpy float64.

    xprop parity --backend torch
    xprop parity --backend array_api_strict --device device1 --dtype float64

Gradients on several architectures and batch sizes and on every cost × activation, one
epoch of SGD, the namespace, device and dtype of every result, host reads per
mini-batch, and refusal of arrays of another library: one line per check, the largest
error in units of the dtype's eps against its limit. Exit status 0 when every line
passes, 1 otherwise (an unknown or unusable backend is one failed line).
"""

from __future__ import annotations

import sys

from ..testing import check_backend, format_report
from . import options

HELP = "certify that a backend computes what numpy float64 computes"


def add_arguments(parser):
    options.add_backend_options(parser, dtype="float32")


def run(args, stdout=None, stderr=None):
    out = stdout or sys.stdout
    report = check_backend(args.backend, device=args.device, dtype=args.dtype)
    print(format_report(report), file=out)
    return 0 if report.passed else 1
