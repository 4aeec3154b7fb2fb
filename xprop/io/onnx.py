"""A network's feedforward as an ONNX model, for onnxruntime and every other ONNX runtime.

The graph is not a second copy of the math: ``backprop.feedforward`` runs once on ndonnx,
an Array API namespace that records each operation as an ONNX node instead of computing
it. The input ``x`` is symbolic, shape ("N", n_in) in the network's dtype (N: any number
of rows); the trained weights and biases are constants. Outputs: ``a``, the output
activations a^L of shape ("N", n_out), and with ``argmax=True`` also ``label``, the index
of the most active output neuron (int64), what ``Network.predict`` returns.

The recorded graph is then cleaned: the math computes a (w^l)^T, so ndonnx records a
Transpose of each weight constant; those are folded into constants already transposed.
ndonnx guards each MatMul against empty operands with an If; that guard is replaced by
the MatMul. Nodes nothing uses are dropped. ONNX's shape inference and checker run last. The
network's sizes, activations, cost, dtype and the xprop version go into the model's
metadata_props. ndonnx, onnx and onnxruntime (which ndonnx uses to fold constants) are the
optional extra ``xprop[onnx]``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from .. import backprop
from ..activations import ACTIVATIONS
from ..errors import InputError
from ..errors import MissingExtraError
from .atomic import atomic_write

INSTALL_HINT = "pip install 'xprop[onnx]' (or pip install ndonnx onnx onnxruntime)"
REQUIRED = ("ndonnx", "onnx", "onnxruntime")
INPUT, OUTPUT, LABEL = "x", "a", "label"
BATCH = "N"  # the name of the dynamic batch dimension


def require_onnx():
    """Raise MissingExtraError, before any work, if a library the export needs is absent."""
    missing = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtraError(f"ONNX export needs {', '.join(missing)}, which "
                                f"{'is' if len(missing) == 1 else 'are'} not installed; {INSTALL_HINT}")


def check_output_path(path) -> Path:
    """``path`` as a Path, or one InputError if a file cannot be written there."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"the ONNX output {path} is a directory; give a file name such as {path / 'model.onnx'}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"cannot write {path}: the folder {parent} does not exist; create it first "
                         "or choose another path")
    return path


def check_expressible(network):
    """One InputError naming the layer whose activation an ONNX file cannot name."""
    for layer, sigma in enumerate(network.activations, start=1):
        if ACTIVATIONS.get(sigma.name) is not type(sigma) and sigma.name in ("", "custom"):
            raise InputError(f"layer {layer}'s activation is a custom function without a name, which an "
                             "ONNX file cannot record; give it one: CustomActivation(function, derivative, "
                             "name='...'), written with the array's own namespace")


def metadata(network, *, argmax=False) -> dict:
    """The ONNX metadata_props: the network's description, each value a string."""
    from .. import __version__

    config = network.config()
    return {"xprop_version": __version__, "sizes": json.dumps(config["sizes"]),
            "activations": json.dumps(config["activations"]), "cost": config["cost"],
            "dtype": config["dtype"], "input": INPUT, "outputs": json.dumps([OUTPUT, LABEL] if argmax else [OUTPUT])}


def build_model(network, *, argmax=False, clean=True):
    """The ONNX ModelProto of ``network``'s feedforward (see the module docstring)."""
    require_onnx()
    check_expressible(network)
    import ndonnx
    import onnx

    weights, biases = network.parameters_to_host()
    x = ndonnx.argument(shape=(BATCH, network.sizes[0]), dtype=getattr(ndonnx, network.dtype))
    try:
        a = backprop.feedforward([ndonnx.asarray(w) for w in weights], [ndonnx.asarray(b) for b in biases],
                                 network.activations, x, xp=ndonnx)
        outputs = {OUTPUT: a, LABEL: ndonnx.argmax(a, axis=1)} if argmax else {OUTPUT: a}
        model = ndonnx.build({INPUT: x}, outputs)
    except (TypeError, AttributeError, NotImplementedError, ValueError) as exc:
        names = ", ".join(s.name for s in network.activations)
        raise InputError(f"this network ({names}) cannot be expressed in ONNX through ndonnx: {exc}; "
                         "use the built-in activations") from None
    if clean:
        fold_constant_transposes(model.graph)
        inline_matmul_guards(model.graph)
        drop_unused_nodes(model.graph)
    for output in model.graph.output:  # feedforward keeps the rows: the outputs have N rows too
        output.type.tensor_type.shape.dim[0].dim_param = BATCH
    model.producer_name, model.doc_string = "xprop", f"xprop network {network.sizes}: feedforward"
    onnx.helper.set_model_props(model, metadata(network, argmax=argmax))
    model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    onnx.checker.check_model(model, full_check=True)
    return model


def export_onnx(network, path, *, argmax=False) -> Path:
    """Write ``network``'s feedforward as the ONNX file ``path`` (atomically); return the path."""
    path = check_output_path(path)
    model = build_model(network, argmax=argmax)
    with atomic_write(path) as handle:
        handle.write(model.SerializeToString())
    return path


def fold_constant_transposes(graph):
    """Replace each Transpose of a Constant by a Constant holding the transposed tensor."""
    import numpy
    from onnx import helper, numpy_helper

    constants = {node.output[0]: node for node in graph.node
                 if node.op_type == "Constant" and node.attribute[0].name == "value"}
    for index, node in enumerate(graph.node):
        if node.op_type != "Transpose" or node.input[0] not in constants:
            continue
        value = numpy_helper.to_array(constants[node.input[0]].attribute[0].t)
        perm = [p for attr in node.attribute if attr.name == "perm" for p in attr.ints] or None
        folded = numpy.ascontiguousarray(numpy.transpose(value, perm))
        graph.node[index].CopyFrom(helper.make_node(
            "Constant", [], [node.output[0]], value=numpy_helper.from_array(folded, node.output[0])))


def inline_matmul_guards(graph):
    """Replace each If that guards a MatMul against empty operands by the MatMul itself.

    ndonnx records a @ b as If(size(a)·size(b) = 0, then: a zero-filled result built in
    ~170 nodes, else: MatMul), a mitigation for runtimes that mishandle empty matrices;
    onnxruntime multiplies an empty batch correctly (tests/test_onnx.py runs N = 0), so
    only the MatMul is kept. An If whose else branch is anything else is left as it is.
    """
    from onnx import helper

    for index, node in enumerate(graph.node):
        branches = {attribute.name: attribute.g for attribute in node.attribute}
        inner = branches["else_branch"].node if node.op_type == "If" and "else_branch" in branches else []
        if (len(node.output) == 1 and [n.op_type for n in inner] == ["MatMul", "Identity"]
                and inner[1].input[0] == inner[0].output[0]):
            graph.node[index].CopyFrom(helper.make_node("MatMul", list(inner[0].input), [node.output[0]]))


def drop_unused_nodes(graph):
    """Remove the nodes none of whose outputs reaches a graph output (subgraphs included)."""
    needed = {output.name for output in graph.output}
    keep = []
    for node in reversed(graph.node):
        if any(name in needed for name in node.output):
            keep.append(node)
            needed.update(node.input)
            needed.update(_outer_names(node))
    del graph.node[:]
    graph.node.extend(reversed(keep))


def _outer_names(node) -> set:
    """Every name a node's subgraphs (an If's branches) read, whether from outside or not."""
    names = set()
    for attribute in node.attribute:
        for sub in [attribute.g] if attribute.HasField("g") else list(attribute.graphs):
            for inner in sub.node:
                names.update(inner.input)
                names.update(_outer_names(inner))
    return names


def count_nodes(graph) -> int:
    """The number of nodes of ``graph``, those of its subgraphs included."""
    total = 0
    for node in graph.node:
        total += 1
        for attribute in node.attribute:
            for sub in [attribute.g] if attribute.HasField("g") else list(attribute.graphs):
                total += count_nodes(sub)
    return total
