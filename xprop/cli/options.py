"""Options several commands share, their parsing, and the checks made before any work."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from ..activations import ACTIVATIONS
from ..backends import BACKEND_NAMES
from ..costs import COSTS
from .. import memory
from ..data import DATASETS, SPLITS, VALIDATION_SIZE
from ..errors import InputError
from ..initializers import INITIALIZERS
from ..network import Network
from ..validation import DTYPES

BOOK_SIZES = (784, 30, 10)
#: epochs without improvement before --schedule plateau halves η (the default of --plateau-patience)
PLATEAU_PATIENCE = 10


def positive_int(text):
    return _number(text, int, "a positive integer", lambda v: v > 0)


def non_negative_int(text):
    return _number(text, int, "an integer >= 0", lambda v: v >= 0)


def positive_float(text):
    return _number(text, float, "a positive number", lambda v: v > 0)


def non_negative_float(text):
    return _number(text, float, "a number >= 0", lambda v: v >= 0)


def _number(text, kind, what, ok):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not ok(value) or value != value:  # value != value: NaN
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def memory_size(text):
    """``--max-memory``'s value in bytes: 4G, 500M, 64K or a number of bytes."""
    try:
        return memory.parse_size(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_network_options(parser, *, sizes=BOOK_SIZES, hidden=False):
    """The network's options; with ``hidden`` also --hidden, the hidden layers' widths
    only (the input and output widths then come from the data), exclusive with --sizes."""
    group = parser.add_argument_group("network")
    widths = group.add_mutually_exclusive_group() if hidden else group
    widths.add_argument("--sizes", type=positive_int, nargs="+", default=list(sizes), metavar="N",
                        help=f"layer widths, input first (default: {' '.join(map(str, sizes))})")
    if hidden:
        widths.add_argument("--hidden", type=positive_int, nargs="+", default=None, metavar="N",
                            help="the hidden layers' widths only: the input layer gets as many neurons as "
                                 "the data have features, the output layer one per class (instead of --sizes)")
    group.add_argument("--activation", default="sigmoid", choices=[a for a in ACTIVATIONS if a != "softmax"],
                       help="activation of the hidden layers (and of the output layer unless "
                            "--output-activation says otherwise; default: sigmoid)")
    group.add_argument("--output-activation", choices=list(ACTIVATIONS), default=None,
                       help="activation of the output layer (default: as --activation; softmax "
                            "with --cost log-likelihood)")
    group.add_argument("--cost", default="quadratic", choices=list(COSTS),
                       help="cost function (default: quadratic, as in the book's ch. 1-2)")
    group.add_argument("--init", default="large", choices=list(INITIALIZERS),
                       help="initial weights: large = N(0, 1) as in ch. 1, scaled = N(0, 1/n_in) "
                            "as in ch. 3 (default: large)")
    group.add_argument("--seed", type=non_negative_int, default=0,
                       help="seed of the initial weights and of the shuffling (default: 0)")
    return group


def add_backend_options(parser, *, dtype="float32", threads=False):
    group = parser.add_argument_group("backend")
    group.add_argument("--backend", default="numpy", metavar="NAME",
                       help=f"array library: {', '.join(BACKEND_NAMES)}, a plugin's name, or module:NAME for any Array API "
                            "module (default: numpy; "
                            "`xprop info` lists what is usable here)")
    group.add_argument("--device", default=None,
                       help="device of the backend, e.g. cuda:1 for cupy or torch, device1 for "
                            "array_api_strict (default: the backend's default device)")
    group.add_argument("--dtype", default=dtype, choices=DTYPES, help=f"floating-point type (default: {dtype or 'as saved in the model'})")
    if threads:
        group.add_argument("--threads", type=positive_int, default=None, metavar="N",
                           help="CPU threads of the backend's linear algebra: the BLAS of numpy (needs "
                                "threadpoolctl) or torch's intra-op threads (default: the libraries' own)")
    return group


def sizes_from_data(hidden, data) -> list:
    """``--hidden``'s layer widths completed by the data: features in, one neuron per class out."""
    return [data.n_features, *hidden, data.n_classes]


def limited_threads(threads, backend_name):
    """A context in which the backend's CPU linear algebra uses ``threads`` threads (``--threads``;
    None: the libraries' own choice). numpy's BLAS is already running when xprop starts,
    so OPENBLAS_NUM_THREADS or OMP_NUM_THREADS set now would be ignored: its pools are
    resized through threadpoolctl, and without it the option is refused with the fix."""
    import contextlib

    if threads is None:
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    if backend_name == "torch":
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        stack.callback(torch.set_num_threads, before)
        return stack
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise InputError(f"--threads {threads} needs threadpoolctl to resize numpy's BLAS threads, which "
                         "are already started (OPENBLAS_NUM_THREADS set now would be too late): pip install "
                         "threadpoolctl, or set OMP_NUM_THREADS before starting xprop instead") from None
    stack.enter_context(threadpool_limits(limits=threads))
    return stack


def add_data_options(parser):
    group = parser.add_argument_group("data")
    group.add_argument("--dataset", default="mnist", metavar="NAME|PATH",
                       help=f"{' or '.join(DATASETS)}, or the path of a .npz or .csv file, of Nielsen's "
                            "mnist.pkl.gz or of a folder of IDX files (default: mnist)")
    group.add_argument("--data", metavar="DIR", default=None,
                       help="look for the dataset's files in DIR (or DIR/NAME) first; then in "
                            "$XPROP_DATA/NAME, ~/.cache/xprop/NAME and the system's dataset folder")
    group.add_argument("--no-download", dest="download", action="store_false",
                       help="never download; fail with the list of places looked at instead")
    group.add_argument("--validation-size", type=positive_int, default=VALIDATION_SIZE, metavar="N",
                       help="training examples held out for validation when the file has no "
                            f"validation part (default: {VALIDATION_SIZE:,}, the book's split)")
    group.add_argument("--label-column", metavar="NAME|INDEX", default=None,
                       help="CSV: the column of the labels, by its header's name or its index "
                            "(0 first, -1 last; default: the last)")
    group.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                       help="CSV: whether the first row names the columns (default: found by itself, "
                            "by the rules of docs/datasets.md: a row of names, or pandas' column numbers)")
    group.add_argument("--test-data", metavar="PATH", default=None,
                       help="CSV: a second CSV file of the same columns, the test split (default: none)")
    group.add_argument("--max-memory", type=memory_size, default=None, metavar="SIZE",
                       help="refuse, before any work, data or a run needing more memory than SIZE, "
                            "e.g. 4G or 500M (default: the memory available when it starts)")
    return group


def network_from_args(args) -> Network:
    """The Network the network and backend options describe (fails fast on a bad backend,
    and on layers whose parameters cannot fit in memory, before drawing any)."""
    memory.check_network(args.sizes, _itemsize(args), limit=memory.memory_limit(getattr(args, "max_memory", None)))
    return Network(args.sizes, activation=args.activation, output_activation=args.output_activation,
                   cost=args.cost, init=args.init, backend=args.backend, device=args.device,
                   dtype=args.dtype, seed=args.seed)


def load_data_from_args(args, stream, *, splits=SPLITS):
    """The dataset the data options name (progress and download messages go to ``stream``):
    only the ``splits`` asked for, the first ``--limit`` training examples when given,
    refused before reading if it cannot fit in ``--max-memory`` or the memory available."""
    from ..data import load_dataset

    return load_dataset(args.dataset, data_dir=args.data, download=args.download,
                        validation_size=args.validation_size, log=stream,
                        limit=getattr(args, "limit", None), splits=splits,
                        max_memory=getattr(args, "max_memory", None), label_column=args.label_column,
                        header=args.header, test_path=args.test_data)


def check_memory(args, n_training, n_evaluation):
    """Refuse, before the first epoch, a training run that cannot fit in ``--max-memory``
    or the memory available: data, parameters, mini-batch activations (``xprop.memory``)."""
    from ..train.batches import GATHER_BYTES

    memory.check_training(args.sizes, n_training=n_training, n_evaluation=n_evaluation,
                          batch_size=args.batch_size, itemsize=_itemsize(args), momentum=args.momentum > 0,
                          gather_bytes=GATHER_BYTES, limit=memory.memory_limit(getattr(args, "max_memory", None)))


def _itemsize(args):
    """Bytes of one number in the run's dtype (float32 when it is the model's own)."""
    return 8 if args.dtype == "float64" else 4


def check_output_path(path, option) -> Path | None:
    """Refuse, before any work, an output path that could not be written at the end."""
    if path is None:
        return None
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"{option} {path}: that is a folder; give a file name")
    if not folder.is_dir():
        raise InputError(f"{option} {path}: the folder {folder} does not exist; create it first")
    try:  # a real file, not os.access: that says yes to root even on a read-only file system
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise InputError(f"{option} {path}: cannot write in {folder} ({exc.strerror or exc})") from None
    return path
