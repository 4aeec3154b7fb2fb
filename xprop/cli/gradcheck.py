"""xprop gradcheck: backpropagation against finite differences, for an architecture on a backend.

    xprop gradcheck                                   # the book's [784, 30, 10], numpy, float64
    xprop gradcheck --sizes 10 8 4 --cost log-likelihood --backend torch

Random inputs in [0, 1) and random labels; for each weight matrix and bias vector a
sample of entries is compared. Exit status 0 when the largest relative error is within
the tolerance, 1 otherwise.
"""

from __future__ import annotations

import math
import sys

import numpy

from ..errors import InputError
from ..gradcheck import check_gradients
from . import options

HELP = "check backprop's gradients against finite differences"
TOLERANCE = {"float64": 1e-6, "float32": 1e-2}


def add_arguments(parser):
    options.add_network_options(parser)
    options.add_backend_options(parser, dtype="float64")
    parser.add_argument("--examples", type=options.positive_int, default=10, metavar="M",
                        help="random examples in the batch (default: 10)")
    parser.add_argument("--samples", type=options.positive_int, default=20, metavar="K",
                        help="entries checked per weight matrix and bias vector (default: 20)")
    parser.add_argument("--tolerance", type=options.positive_float, default=None,
                        help="largest acceptable relative error (default: 1e-6 for float64, 1e-2 for float32)")


def run(args, stdout=None, stderr=None):
    out = stdout or sys.stdout
    network = options.network_from_args(args)
    rng = numpy.random.default_rng(args.seed)
    X = network.backend.from_host(rng.random((args.examples, network.sizes[0])), network.dtype)
    y = network.backend.from_host(rng.integers(0, network.sizes[-1], args.examples), "int32")
    result = check_gradients(network, X, y, samples=args.samples, seed=args.seed)
    tolerance = args.tolerance or TOLERANCE[network.dtype]
    print(f"gradcheck {network!r}, {args.examples} random examples", file=out)
    for array in result.arrays:
        verdict = (f"relative error {array.relative_error:.1e}" if array.conclusive else
                   f"too small to check (largest gradient {array.largest_gradient:.1e}, finite "
                   f"differences resolve {100 * array.resolution:.1e})")
        print(f"  {array.name:<4} {array.entries:>3} entries  {verdict}", file=out)
    error = result.max_relative_error
    if math.isnan(error):
        raise InputError("every gradient is too small for finite differences to check; try --init scaled, "
                         "fewer inputs or --dtype float64")
    ok = error <= tolerance
    print(f"largest relative error {error:.2e} ({result.worst}): {'OK' if ok else 'FAILED'}, tolerance {tolerance:g}",
          file=out)
    return 0 if ok else 1
