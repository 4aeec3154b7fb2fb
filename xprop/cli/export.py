"""xprop export: a saved model's feedforward as an ONNX file, to run with onnxruntime.

    xprop export model.npz model.onnx                  # outputs: a, the output activations
    xprop export model.npz model.onnx --argmax         # and label, the predicted class
    xprop export run1/ model.onnx                      # a run's newest checkpoint

MODEL is a model file (``xprop train --save``), a checkpoint file, or a checkpoint
directory (``xprop train --checkpoint``), whose newest checkpoint is exported. The ONNX
input is ``x``, of shape (N, inputs) for any N, in the model's dtype. Needs the extra
``pip install 'xprop[onnx]'``. docs/onnx.md says what the file holds and guarantees.
"""

from __future__ import annotations

import sys

from ..io.checkpoint import find_checkpoint
from ..io.networks import load_model
from ..io.onnx import check_output_path, export_onnx, require_onnx

HELP = "write a saved model's feedforward as an ONNX file"


def add_arguments(parser):
    parser.add_argument("model", metavar="MODEL",
                        help="a model saved by xprop train --save, a checkpoint file, or a --checkpoint "
                             "directory (its newest checkpoint)")
    parser.add_argument("output", metavar="OUT.onnx", help="the ONNX file to write (replaced atomically)")
    parser.add_argument("--argmax", action="store_true",
                        help="add a second output, label: the index of the most active output neuron")


def run(args, stdout=None, stderr=None):
    stdout = stdout or sys.stdout
    require_onnx()  # every check before the model is read
    output = check_output_path(args.output)
    network = load_model(find_checkpoint(args.model))
    export_onnx(network, output, argmax=args.argmax)
    print(f"wrote {output}: {network.sizes} {network.dtype}, input x (N, {network.sizes[0]}), "
          f"output{'s a, label' if args.argmax else ' a'}", file=stdout)
    return 0
