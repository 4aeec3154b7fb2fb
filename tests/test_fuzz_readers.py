"""Property-based tests of every file reader xprop has: bytes in, an array or xprop's own error out.

Each reader (IDX raw and gzip, the dataset .npz reader, Nielsen's mnist.pkl.gz reader,
the model loader and the checkpoint loader) is given random bytes and mutations of a
valid file: bit flips, truncations, inserted, deleted and overwritten bytes, and headers
forged to announce huge sizes. Whatever it is given, it must return normally or raise
an XpropError (DataError and InputError are ones) whose message names the file; never
another exception, never take longer than the hypothesis deadline, and never allocate
more than ``MEMORY_LIMIT`` (measured with tracemalloc, which numpy reports its arrays to).
Each property runs ``XPROP_FUZZ_EXAMPLES`` examples (default 60, a few seconds in all);
set it higher for a deeper search.
The pickle reader must also never call anything a pickle names beyond the few numpy
functions a plain array needs. No hypothesis database is kept (``database=None``).
"""

from __future__ import annotations

import atexit
import gzip
import io
import json
import math
import os
import pickle
import shutil
import struct
import tempfile
import time
import tracemalloc
import zipfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.lib import format as npy

import xprop
from idxfiles import NAMES as IDX_NAMES
from idxfiles import idx_bytes, write_idx_dataset
from xprop.io.checkpoint import Checkpoint, load_checkpoint
from xprop.data import DataError, DataTooLargeError, load_dataset, read_idx, read_nielsen_pickle, read_npz
from xprop.errors import XpropError
from xprop.io.networks import load_model, network_from, save_model

# an exception numpy could only report while freeing an array is a failure too
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
MEMORY_LIMIT = 32 << 20  # every valid file here is a few kB: no reader needs more
EXAMPLES = int(os.environ.get("XPROP_FUZZ_EXAMPLES", "60"))  # more for a deeper run, e.g. 5000
FUZZ = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=1), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SCRATCH = Path(tempfile.mkdtemp(prefix="xprop-fuzz-"))
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)


# -- the harness --------------------------------------------------------------------------------
def write(data: bytes, name: str) -> Path:
    path = SCRATCH / name
    path.write_bytes(bytes(data))
    return path


def outcome(read, path):
    """``read(path)``'s result, or the XpropError it raised; anything else fails the test,
    as does a peak allocation above MEMORY_LIMIT."""
    tracemalloc.start()
    try:
        return read(path)
    except XpropError as exc:
        message = str(exc)
        assert path.name in message, f"the message does not name the file: {message!r}"
        return exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < MEMORY_LIMIT, f"reading {len(path.read_bytes())} bytes allocated {peak:,} bytes"


@st.composite
def mutations(draw, base: bytes, max_edits=4):
    """``base`` with 1 to ``max_edits`` random edits."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, max_edits))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "overwrite"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        elif kind == "overwrite":
            patch = draw(st.binary(min_size=1, max_size=8))
            data[at:at + len(patch)] = patch
    return bytes(data)


HUGE = st.integers(0, 2**32 - 1) | st.sampled_from([2**31, 2**32 - 1, 65536, 10**9])


# -- IDX ----------------------------------------------------------------------------------------
IDX_SAMPLES = [idx_bytes(np.arange(60, dtype=np.uint8).reshape(3, 4, 5)), idx_bytes(np.arange(7, dtype=np.uint8)),
               idx_bytes(np.linspace(-1, 1, 12).astype(">f4").reshape(4, 3)),
               idx_bytes(np.arange(-5, 5).astype(">i2"))]


def forged_idx(code=0x08):
    """An IDX header with random dimensions (often billions of items) and a short body."""
    return st.builds(lambda dims, body: bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + body,
                     st.lists(HUGE, min_size=1, max_size=4), st.binary(max_size=64))


IDX_INPUTS = (st.binary(max_size=200) | st.sampled_from(IDX_SAMPLES).flatmap(mutations)
              | st.sampled_from([0x08, 0x0B, 0x0E]).flatmap(forged_idx))


def check_idx(result, data):
    if isinstance(result, np.ndarray):  # only a whole, consistent file is accepted
        assert result.nbytes + 4 + 4 * result.ndim == len(data), (result.shape, len(data))
    else:
        assert isinstance(result, DataError)


@FUZZ
@given(IDX_INPUTS)
def test_idx_raw(data):
    check_idx(outcome(read_idx, write(data, "raw-idx3-ubyte")), data)


@FUZZ
@given(IDX_INPUTS)
def test_idx_gzip(data):
    check_idx(outcome(read_idx, write(gzip.compress(data, mtime=0), "idx3-ubyte.gz")), data)


@FUZZ
@given(st.sampled_from([gzip.compress(s, mtime=0) for s in IDX_SAMPLES]).flatmap(mutations))
def test_idx_gzip_bytes_mutated(data):
    """The compressed bytes themselves damaged: a bad CRC, a cut stream, a bad header."""
    result = outcome(read_idx, write(data, "damaged-idx1-ubyte.gz"))
    assert isinstance(result, (np.ndarray, DataError))


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
def test_an_idx_header_claiming_4e9_items_is_refused_at_once(gz):
    data = bytes([0, 0, 8, 3]) + struct.pack(">3I", 60000, 256, 256) + bytes(100)  # 3.9e9 bytes
    path = write(gzip.compress(data) if gz else data, "huge-idx3-ubyte" + (".gz" if gz else ""))
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(DataError, match="3,932,160,000 bytes of data, more than"):
        read_idx(path)
    seconds, peak = time.perf_counter() - start, tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert seconds < 0.5 and peak < 1 << 20, (seconds, peak)


def test_a_header_smaller_than_the_limit_but_larger_than_the_file_allocates_nothing():
    """A gzip file cannot say how much it holds: the reader reads what is there, in
    chunks, rather than allocating the 1 GB the header announces."""
    data = bytes([0, 0, 8, 1]) + struct.pack(">I", 10**9) + bytes(1000)
    result = outcome(read_idx, write(gzip.compress(data), "short-idx1-ubyte.gz"))
    assert isinstance(result, DataError) and "is truncated" in str(result) and "the file has 1,000" in str(result)


def test_a_gzip_bomb_is_not_decompressed_beyond_the_announced_size():
    data = bytes([0, 0, 8, 1]) + struct.pack(">I", 1000) + bytes(200 << 20)  # 200 MB of zeros, 200 kB gzipped
    result = outcome(read_idx, write(gzip.compress(data, compresslevel=1), "bomb-idx1-ubyte.gz"))
    assert isinstance(result, DataError) and "longer than its header says" in str(result)


# -- the dataset .npz reader ---------------------------------------------------------------------
def npz_bytes(arrays, mutate=None) -> bytes:
    """An .npz archive of ``arrays``; ``mutate(name, npy_bytes)`` may rewrite members (the
    archive's CRCs are then right, so the damage reaches the .npy parser)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            npy.write_array(member, np.asarray(array), allow_pickle=False)
            data = member.getvalue()
            archive.writestr(name + ".npy", mutate(name, data) if mutate else data)
    return buffer.getvalue()


def keras(n_train=6, n_test=3):
    rng = np.random.default_rng(0)
    return {"x_train": rng.integers(0, 256, (n_train, 4, 4), dtype=np.uint8),
            "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
            "x_test": rng.integers(0, 256, (n_test, 4, 4), dtype=np.uint8),
            "y_test": rng.integers(0, 10, n_test, dtype=np.uint8)}


def forged_npy(shape, descr):
    """A .npy member whose header announces ``shape`` of ``descr`` over the real body."""
    def mutate(name, data):
        if name != "x_train":
            return data
        header = io.BytesIO()
        npy.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
        return header.getvalue() + data[128:]  # numpy pads the real header to 128 bytes
    return mutate


NPZ = npz_bytes(keras())
NPZ_INPUTS = (st.binary(max_size=300) | mutations(NPZ)
              | st.builds(lambda edit, name: npz_bytes(keras(), lambda n, d: edit if n == name else d),
                          mutations(npz_bytes({"a": keras()["x_train"]})[30:30 + 224]),
                          st.sampled_from(sorted(keras())))
              | st.builds(lambda shape, descr: npz_bytes(keras(), forged_npy(shape, descr)),
                          st.lists(HUGE | st.integers(-3, 3), max_size=4).map(tuple),
                          st.sampled_from(["|u1", "<f8", "<U9", "|V0", "|S0", "<c16"])))


def read_dataset(path):
    data = load_dataset(path, validation_size=2)
    return read_npz(path), data


@FUZZ
@given(NPZ_INPUTS)
def test_dataset_npz(data):
    result = outcome(read_dataset, write(data, "data.npz"))
    assert isinstance(result, (tuple, DataError)), result


def test_a_forged_npy_shape_is_refused_before_allocating():
    path = write(npz_bytes(keras(), forged_npy((60000, 65536, 65536), "<f8")), "forged.npz")
    result = outcome(read_npz, path)
    assert isinstance(result, DataError) and "claims shape (60000, 65536, 65536)" in str(result)


# -- small compressed files announcing more than memory allows ----------------------------------
#: the memory the readers are given below: every announcement drawn needs more as float32
SMALL_MEMORY = 64 << 20


@st.composite
def huge_declarations(draw):
    """(kind, n images, image shape, body): a gzip IDX training file or a deflated .npz
    whose header announces ``n`` images (more than SMALL_MEMORY as
    float32, less than the readers' raw caps) but whose compressed body is a few kB."""
    shape = draw(st.sampled_from([(28, 28), (32, 32), (784,), (10, 10, 3), (1, 1)]))
    features = math.prod(shape)
    # images and labels (a byte each) together under the .npz reader's 4 GiB cap on what an
    # archive may claim, else the cap, not the memory, refuses the file
    n = draw(st.integers(SMALL_MEMORY // (4 * features) + 1, min((2 << 30) // (features + 1), 2**32 - 1)))
    body = draw(st.binary(max_size=256) | st.integers(0, 1 << 16).map(bytes))
    return draw(st.sampled_from(["idx", "npz"])), n, shape, body


def huge_idx_folder(n, shape, body):
    folder = SCRATCH / "huge-idx"
    if not folder.is_dir():
        write_idx_dataset(folder, n_train=20, n_test=20)
    header = bytes([0, 0, 8, 1 + len(shape)]) + struct.pack(f">{1 + len(shape)}I", n, *shape)
    (folder / (IDX_NAMES["train_images"] + ".gz")).write_bytes(gzip.compress(header + body))
    labels = bytes([0, 0, 8, 1]) + struct.pack(">I", n) + body[:n]
    (folder / (IDX_NAMES["train_labels"] + ".gz")).write_bytes(gzip.compress(labels))
    return folder


def huge_npz(n, shape, body):
    """A deflated .npz whose x_train announces (n, *shape) bytes and whose zip entry
    claims that size (patched into the local and central headers): only the bytes of
    ``body`` are really there."""
    members = {"x_train": _npy_header((n, *shape)) + body, "y_train": _npy_header((n,)) + body[:n]}
    for name, array in (("x_test", np.zeros((3, *shape), np.uint8)), ("y_test", np.zeros(3, np.uint8))):
        member = io.BytesIO()
        npy.write_array(member, array)
        members[name] = member.getvalue()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name + ".npy", data)
    data = bytearray(buffer.getvalue())
    _claim(data, b"x_train.npy", len(_npy_header((n, *shape))) + n * math.prod(shape))
    _claim(data, b"y_train.npy", len(_npy_header((n,))) + n)
    return bytes(data)


def _npy_header(shape):
    header = io.BytesIO()
    npy.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": shape})
    return header.getvalue()


def _claim(data: bytearray, name: bytes, size: int):
    """Make the zip entry ``name`` claim ``size`` uncompressed bytes, in both its headers."""
    local = data.index(b"PK\x03\x04")
    while data[local + 30:local + 30 + len(name)] != name:
        local = data.index(b"PK\x03\x04", local + 4)
    struct.pack_into("<I", data, local + 22, size)
    central = data.index(b"PK\x01\x02")
    while data[central + 46:central + 46 + len(name)] != name:
        central = data.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 24, size)


@FUZZ
@given(huge_declarations())
def test_a_small_file_announcing_more_than_memory_is_refused_unread(case):
    kind, n, shape, body = case
    path = huge_idx_folder(n, shape, body) if kind == "idx" else write(huge_npz(n, shape, body), "huge.npz")
    start = time.perf_counter()
    result = outcome(lambda p: load_dataset(p, max_memory=SMALL_MEMORY), path)
    assert isinstance(result, DataTooLargeError), result
    assert result.needed > result.limit == SMALL_MEMORY and "\n" not in str(result)
    assert time.perf_counter() - start < 0.5


# -- Nielsen's mnist.pkl.gz -----------------------------------------------------------------------
def nielsen_parts():
    rng = np.random.default_rng(0)
    return tuple((rng.random((n, 5), dtype=np.float32), rng.integers(0, 10, n)) for n in (3, 2, 2))


PICKLES = [pickle.dumps(nielsen_parts(), protocol=p) for p in (2, 3, 4, 5)]
#: callables a hostile pickle might name; none may be called
FORBIDDEN = [("os", "system"), ("posix", "system"), ("builtins", "eval"), ("builtins", "exec"),
             ("builtins", "getattr"), ("builtins", "open"), ("subprocess", "Popen"), ("numpy", "load"),
             ("numpy", "empty"), ("numpy", "ones"), ("numpy.lib.npyio", "load"), ("shutil", "rmtree"),
             ("xprop.data.nielsen", "_ArraysOnly"), ("__builtin__", "eval")]
MARKER = SCRATCH / "pwned"


def _string(text: str) -> bytes:
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data  # SHORT_BINUNICODE


def hostile_pickle(module, name, stack_global, arg, nested):
    """A pickle calling ``module.name(arg)`` through GLOBAL or STACK_GLOBAL and REDUCE,
    optionally inside the tuple structure a real file has."""
    if stack_global:
        call = _string(module) + _string(name) + b"\x93"  # STACK_GLOBAL
    else:
        call = b"c" + f"{module}\n{name}\n".encode()  # GLOBAL
    call += _string(arg) + b"\x85" + b"R"  # TUPLE1, REDUCE
    body = (b"(" + call + b"t") if nested else call  # MARK ... TUPLE
    return b"\x80\x04" + body + b"."


@FUZZ
@given(st.sampled_from(PICKLES).flatmap(mutations) | st.binary(max_size=200))
def test_nielsen_pickle_mutated(data):
    for payload, name in ((data, "mnist.pkl"), (gzip.compress(data, mtime=0), "mnist.pkl.gz")):
        result = outcome(read_nielsen_pickle, write(payload, name))
        assert isinstance(result, (dict, DataError)), result


@FUZZ
@given(st.sampled_from(FORBIDDEN), st.booleans(), st.booleans(),
       st.sampled_from([f"touch {MARKER}", "__import__('os').system('touch %s')" % MARKER, "1"]))
def test_nielsen_pickle_never_calls_what_a_pickle_names(target, stack_global, nested, arg):
    data = hostile_pickle(*target, stack_global, arg, nested)
    result = outcome(read_nielsen_pickle, write(gzip.compress(data), "mnist.pkl.gz"))
    assert isinstance(result, DataError) and "refusing" in str(result), result
    assert not MARKER.exists()


@FUZZ
@given(st.sampled_from(PICKLES), st.sampled_from(FORBIDDEN), st.booleans(), st.data())
def test_nielsen_pickle_with_a_call_spliced_in(base, target, stack_global, draw):
    """A valid pickle with GLOBAL/STACK_GLOBAL + REDUCE of a forbidden name inserted
    anywhere: refused (or a malformed pickle), never called."""
    at = draw.draw(st.integers(2, len(base) - 1))
    call = hostile_pickle(*target, stack_global, f"touch {MARKER}", False)[2:-1]
    result = outcome(read_nielsen_pickle, write(gzip.compress(base[:at] + call + base[at:]), "mnist.pkl.gz"))
    assert isinstance(result, (dict, DataError)), result
    assert not MARKER.exists()


@pytest.mark.parametrize("call", [
    "cnumpy\nndarray\n(I4000000000\n\x85tR.",  # ndarray((4e9,)): 4 GB if it were called
    "cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\nI4000000000\n\x85c_codecs\nencode\n(Vb\nVlatin1\ntRtR.",
    "cnumpy._core.numeric\n_frombuffer\n(cnumpy\nndarray\nVf8\nI1\n\x85VC\ntR.",
], ids=["ndarray-called", "reconstruct-huge", "frombuffer-not-bytes"])
def test_allowed_numpy_names_cannot_allocate_what_a_pickle_asks(call):
    data = b"\x80\x02" + call.encode("latin1")
    result = outcome(read_nielsen_pickle, write(data, "mnist.pkl"))
    assert isinstance(result, DataError) and "refusing" in str(result), result


@pytest.mark.parametrize("flags", [1, 0x3F])
def test_a_pickled_dtype_cannot_claim_to_hold_objects(flags):
    """numpy's dtype.__setstate__ takes the flags it is given: 1 makes a float32 array that
    numpy thinks holds object references (freeing it raised an internal error)."""
    data = pickle.dumps(nielsen_parts(), protocol=2)
    state = b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00"  # the dtype state's (-1, -1, 0): elsize, alignment, flags
    assert state in data
    data = data.replace(state, state[:-1] + bytes([flags]))
    result = outcome(read_nielsen_pickle, write(data, "mnist.pkl"))
    assert isinstance(result, dict) and all(a.dtype.flags == 0 for pair in result.values() for a in pair)


@pytest.mark.parametrize("data", [
    b"\x80\x02N" + b"r" + struct.pack("<I", 2**32 - 1) + b".",  # memo grown to 2**33 entries, zeroed
    b"\x80\x04" + b"\x8e" + struct.pack("<Q", 2**40) + b"xx.",  # BINBYTES8 announcing 1 TB
    b"\x80\x02" + b"B" + struct.pack("<I", 2**31) + b"xx.",  # BINBYTES announcing 2 GB
], ids=["memo-index", "binbytes8", "binbytes"])
def test_ten_bytes_of_pickle_cannot_ask_for_gigabytes(data):
    result = outcome(read_nielsen_pickle, write(data, "mnist.pkl"))
    assert isinstance(result, DataError) and "not a readable pickle" in str(result), result


# -- models and checkpoints ---------------------------------------------------------------------
def _model_bytes():
    path = save_model(xprop.Network([3, 4, 2], seed=1), SCRATCH / "model-base.npz")
    return path.read_bytes()


def _checkpoint_bytes():
    rng = np.random.default_rng(0)
    X, y = rng.random((10, 3)).astype(np.float32), np.arange(10) % 2
    directory = SCRATCH / "checkpoints"
    xprop.Network([3, 4, 2], seed=1).fit(X, y, epochs=1, batch_size=5, eta=0.5, callbacks=[Checkpoint(directory)])
    (path,) = directory.iterdir()
    return path.read_bytes()


MODEL = _model_bytes()
CHECKPOINT = _checkpoint_bytes()


def _members(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {m.filename: archive.read(m) for m in archive.infolist()}


def _rezip(members: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@st.composite
def member_mutations(draw, base: bytes):
    """``base`` (an .npz) with one member's .npy bytes mutated and the archive rebuilt."""
    members = _members(base)
    name = draw(st.sampled_from(sorted(members)))
    members[name] = draw(mutations(members[name]))
    return _rezip(members)


SMALL_ARRAYS = st.one_of(
    st.builds(np.array, st.text(max_size=12)),
    st.builds(np.array, st.integers(-2**63, 2**63 - 1)),
    st.builds(lambda v: np.array(v, dtype=np.int64), st.lists(st.integers(-3, 2**31), max_size=4)),
    st.builds(lambda v: np.array(v, dtype=np.float64), st.lists(st.floats(), max_size=4)),
    st.builds(lambda v: np.array(v), st.lists(st.sampled_from(["sigmoid", "relu", "softmax", "x"]), max_size=3)),
)


@st.composite
def field_replacements(draw, base: bytes):
    """``base`` with one array replaced by a small random one of another kind or shape."""
    members = _members(base)
    name = draw(st.sampled_from(sorted(members)))
    buffer = io.BytesIO()
    npy.write_array(buffer, draw(SMALL_ARRAYS), allow_pickle=False)
    members[name] = buffer.getvalue()
    return _rezip(members)


@FUZZ
@given(st.binary(max_size=300) | mutations(MODEL) | member_mutations(MODEL) | field_replacements(MODEL))
def test_model_loader(data):
    result = outcome(load_model, write(data, "model.npz"))
    assert isinstance(result, (xprop.Network, XpropError)), result


def _json_values():
    return st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                        max_leaves=10)


@st.composite
def header_edits(draw, base: bytes):
    """The checkpoint with one value of its JSON header replaced, or the header's bytes
    replaced by another array (a 0-d integer, say), or nested very deeply."""
    members = _members(base)
    header = json.loads(npy.read_array(io.BytesIO(members["header.json.npy"])).tobytes())
    kind = draw(st.sampled_from(["value", "array", "deep"]))
    if kind == "value":
        key = draw(st.sampled_from(sorted(header)))
        header[key] = draw(_json_values())
        raw = np.frombuffer(json.dumps(header).encode(), np.uint8)
    elif kind == "array":
        raw = draw(SMALL_ARRAYS | st.just(np.array(2**40)))
    else:
        raw = np.frombuffer(("[" * 100000 + "]" * 100000).encode(), np.uint8)
    buffer = io.BytesIO()
    npy.write_array(buffer, raw, allow_pickle=False)
    members["header.json.npy"] = buffer.getvalue()
    return _rezip(members)


def read_checkpoint(path):
    data = load_checkpoint(path)
    try:  # the network's own checks (an unknown backend name, NaN weights) need not name the file
        return data, network_from(data)
    except XpropError as exc:
        return exc


@FUZZ
@given(st.binary(max_size=300) | mutations(CHECKPOINT) | member_mutations(CHECKPOINT) | header_edits(CHECKPOINT))
def test_checkpoint_loader(data):
    result = outcome(read_checkpoint, write(data, "checkpoint-epoch0001.npz"))
    assert isinstance(result, (tuple, XpropError)), result


def test_the_valid_files_are_read():
    """The bases of the mutations above are good files, so the mutations start from sense."""
    for data in IDX_SAMPLES:
        assert isinstance(outcome(read_idx, write(data, "good-idx")), np.ndarray)
    assert isinstance(outcome(read_dataset, write(NPZ, "good.npz")), tuple)
    for data in PICKLES:
        assert isinstance(outcome(read_nielsen_pickle, write(gzip.compress(data), "good.pkl.gz")), dict)
    assert isinstance(outcome(load_model, write(MODEL, "good-model.npz")), xprop.Network)
    assert isinstance(outcome(read_checkpoint, write(CHECKPOINT, "checkpoint-epoch0002.npz")), tuple)
    assert not os.path.exists(MARKER)
