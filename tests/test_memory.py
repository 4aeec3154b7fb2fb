"""What a run needs is refused in one line before anything is allocated (``xprop.memory``).

Tables: sizes as written on the command line; networks, runs and datasets that cannot fit
an explicit limit (each refused with MemoryLimitError carrying its facts, never by
allocating: tracemalloc's peak stays small); the readers' ``limit`` reading only the rows
asked for; the command line's one-line refusals. No test allocates more than a few MB.
"""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

from idxfiles import NAMES, write_idx_dataset
from xprop import memory
from xprop.cli import main
from xprop.data import DataError, DataTooLargeError, load_dataset
from xprop.errors import InputError
from xprop.memory import Limit, MemoryLimitError

PEAK = 16 << 20  # no refusal may allocate more
KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30


@pytest.mark.parametrize("text, expected", [
    ("4G", 4 * GIB), ("500M", 500 * MIB), ("64K", 64 * KIB), ("64k", 64 * KIB), ("1.5GiB", 3 * GIB // 2),
    ("2MB", 2 * MIB), ("1024", 1024), ("1T", 1 << 40), (" 8g ", 8 * GIB), (".5G", GIB // 2),
])
def test_sizes_are_read(text, expected):
    assert memory.parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "4Q", "-1G", "0", "0.0001", "G", "1e3", "4 G B", "nan", "inf"])
def test_bad_sizes_are_refused(text):
    with pytest.raises(InputError, match="expected a size") as caught:
        memory.parse_size(text)
    assert caught.value.argument == "max_memory"


def test_available_memory_is_a_positive_number():
    available = memory.available_memory()
    assert available is None or available > 0
    assert memory.memory_limit().source == "available memory"
    assert memory.memory_limit("1G") == Limit(GIB, "max_memory")


def test_an_address_space_limit_lowers_the_memory_available():
    code = ("import resource; from xprop import memory; "
            "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30)); print(memory.available_memory())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert 0 < int(out) < 3 << 30


# -- networks and runs that cannot fit -----------------------------------------------------------
@pytest.mark.parametrize("sizes, itemsize, limit", [
    ([784, 100_000_000, 10], 4, GIB),
    ([4, 10**12, 3], 4, None),  # beyond any machine: the memory available refuses it
    ([784, 30, 10], 4, KIB),
    ([784, 30_000, 30_000, 10], 8, 4 * GIB),
], ids=["wide-hidden", "1e12-wide", "book-in-1K", "two-wide-float64"])
def test_a_network_that_cannot_fit_is_refused_before_drawing_a_weight(sizes, itemsize, limit):
    tracemalloc.start()
    try:
        with pytest.raises(MemoryLimitError) as caught:
            memory.check_network(sizes, itemsize, limit=memory.memory_limit(limit))
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    error = caught.value
    assert peak < PEAK
    assert error.needed == memory.parameter_count(sizes) * (8 + itemsize) and error.needed > error.limit
    assert error.argument == "sizes" and str(sizes) in error.what
    assert "\n" not in str(error) and "choose smaller layers" in str(error)


@pytest.mark.parametrize("run, limit, part", [
    (dict(batch_size=10_000_000_000), None, "activations"),  # the mini-batch alone
    (dict(batch_size=10, n_training=200_000_000), 8 * GIB, "data"),
    (dict(batch_size=60_000, sizes=[784, 10_000, 10]), 4 * GIB, "activations"),
    (dict(batch_size=10, sizes=[784, 20_000, 20_000, 10], momentum=True), 4 * GIB, "parameters"),
], ids=["batch-1e10", "data", "batch-times-width", "momentum"])
def test_a_run_that_cannot_fit_is_refused_with_its_parts(run, limit, part):
    run = {"sizes": [784, 30, 10], "n_training": 50_000, "n_evaluation": 10_000, "itemsize": 4, **run}
    with pytest.raises(MemoryLimitError) as caught:
        memory.check_training(**run, limit=memory.memory_limit(limit))
    parts = memory.training_estimate(**run)
    assert max(parts, key=parts.get) == part and f"{part} " in str(caught.value)
    assert caught.value.needed == sum(parts.values())
    assert "a smaller batch_size or limit, or " in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("run", [
    dict(sizes=[784, 30, 10], n_training=50_000, n_evaluation=10_000, batch_size=10),
    dict(sizes=[784, 100, 10], n_training=60_000, n_evaluation=10_000, batch_size=60_000, momentum=True),
], ids=["book", "full-batch"])
def test_the_books_runs_fit_in_a_gigabyte(run):
    memory.check_training(**run, itemsize=4, limit=Limit(GIB, "max_memory"))


def test_momentum_adds_the_velocities():
    run = dict(sizes=[10, 20, 3], n_training=100, batch_size=10, itemsize=4)
    grow = memory.training_estimate(**run, momentum=True)["parameters"] - memory.training_estimate(**run)["parameters"]
    assert grow == memory.parameter_count([10, 20, 3]) * 4


# -- datasets: declared sizes against the limit, before decompressing ----------------------------
def _huge_idx_folder(folder, n_train=2_600_000, body=4096):
    """Four gzip IDX files whose training images announce ``n_train`` 28x28 images but
    hold only ``body`` bytes of them: a reader that trusted the header would allocate."""
    write_idx_dataset(folder, n_train=20, n_test=20)
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", n_train, 28, 28)
    (folder / (NAMES["train_images"] + ".gz")).write_bytes(gzip.compress(header + bytes(body)))
    (folder / (NAMES["train_labels"] + ".gz")).write_bytes(
        gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", n_train) + bytes(body)))
    return folder


def _huge_npz(path, n_train=2_400_000):
    """A deflated .npz whose x_train really is ``n_train`` zero 28x28 images (about
    1.9 GB raw, 7 GiB as float32) in a file of a few MB."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        def member(name, array_or_header, body=b""):
            with archive.open(name + ".npy", "w", force_zip64=True) as stream:
                stream.write(array_or_header)
                stream.write(body)

        def header(shape, dtype):
            buffer = __import__("io").BytesIO()
            np.lib.format.write_array_header_1_0(buffer, {"descr": np.dtype(dtype).str, "fortran_order": False,
                                                          "shape": shape})
            return buffer.getvalue()

        with archive.open("x_train.npy", "w", force_zip64=True) as stream:
            stream.write(header((n_train, 28, 28), "u1"))
            zeros = bytes(1 << 20)
            left = n_train * 784
            while left:
                stream.write(zeros[:min(left, len(zeros))])
                left -= min(left, len(zeros))
        for name, array in (("y_train", np.zeros(n_train, np.uint8)), ("x_test", np.zeros((10, 28, 28), np.uint8)),
                            ("y_test", np.zeros(10, np.uint8))):
            member(name, header(array.shape, array.dtype), array.tobytes())
    return path


@pytest.fixture(scope="module")
def huge_npz(tmp_path_factory):
    return _huge_npz(tmp_path_factory.mktemp("huge") / "huge.npz", n_train=600_000)


@pytest.mark.parametrize("kind, max_memory", [
    ("idx", "1G"), ("idx", "100M"), ("idx", None), ("npz", "1G"), ("npz", "200M"),
], ids=["idx-1G", "idx-100M", "idx-available", "npz-1G", "npz-200M"])
def test_a_small_file_announcing_gigabytes_is_refused_before_decompressing(tmp_path, huge_npz, kind, max_memory):
    source = _huge_idx_folder(tmp_path / "d", n_train=2_600_000 if max_memory else 2**31 // 784 + 60_000) \
        if kind == "idx" else huge_npz
    if kind == "idx" and max_memory is None and memory.available_memory() > 12 * GIB:
        source = _huge_idx_folder(tmp_path / "d", n_train=2_700_000)
        max_memory = "8G"
    start = time.perf_counter()
    tracemalloc.start()
    try:
        with pytest.raises(DataTooLargeError) as caught:
            load_dataset(source, max_memory=max_memory)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    error = caught.value
    assert time.perf_counter() - start < 1 and peak < PEAK
    assert isinstance(error, DataError) and isinstance(error, MemoryLimitError)
    assert error.needed > error.limit and "\n" not in str(error) and str(source) in str(error)
    assert "limit=" in str(error)


@pytest.mark.parametrize("limit", [1, 100, 5_000])
def test_limit_reads_only_the_rows_asked_for(huge_npz, limit):
    tracemalloc.start()
    try:
        data = load_dataset(huge_npz, limit=limit, validation_size=10, max_memory="1G")
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert len(data.training) == limit and len(data.validation) == 10 and len(data.test) == 10
    assert peak < PEAK + limit * 784 * 5


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
@pytest.mark.parametrize("limit, splits", [(50, ("training", "validation", "test")), (None, ("test",)),
                                           (7, ("training",)), (None, ("validation",))])
def test_limit_and_splits_give_the_same_rows_as_reading_everything(tmp_path, gz, limit, splits):
    arrays = write_idx_dataset(tmp_path / "d", n_train=300, n_test=40, gz=gz)
    whole = load_dataset(tmp_path / "d", validation_size=100)
    part = load_dataset(tmp_path / "d", validation_size=100, limit=limit, splits=splits)
    for name in splits:
        want = whole.split(name).head(limit) if name == "training" and limit else whole.split(name)
        assert np.array_equal(part.split(name).images, want.images)
        assert np.array_equal(part.split(name).labels, want.labels)
    assert part.n_features == 784 and len(arrays["test_labels"]) == 40


def test_a_truncated_file_is_still_noticed_when_rows_are_skipped(tmp_path):
    write_idx_dataset(tmp_path / "d", n_train=300, n_test=40)
    path = tmp_path / "d" / (NAMES["train_images"] + ".gz")
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-100]))
    with pytest.raises(DataError, match="truncated"):
        load_dataset(tmp_path / "d", validation_size=100, limit=10)


# -- the command line ----------------------------------------------------------------------------
@pytest.fixture
def small_npz(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "small.npz"
    np.savez(path, x_train=rng.integers(0, 256, (300, 16), dtype=np.uint8), y_train=rng.integers(0, 4, 300),
             x_test=rng.integers(0, 256, (50, 16), dtype=np.uint8), y_test=rng.integers(0, 4, 50))
    return path


# The fixes of a run or data that cannot fit, with the arguments they name: (id, limit, the fix as
# Python spells it, as the command line does). small.npz holds 350 examples of 88 bytes as float32.
FIXES = [
    ("data-some-fit", "20K",
     "read fewer training examples with limit=132, or raise max_memory if this machine has more",
     "read fewer training examples with --limit 132, or raise --max-memory if this machine has more"),
    ("data-none-fit", "4K", "it does not fit even with limit=1, or raise max_memory if this machine has more",
     "it does not fit even with --limit 1, or raise --max-memory if this machine has more"),
]


@pytest.mark.parametrize("max_memory, python", [f[1:3] for f in FIXES], ids=[f[0] for f in FIXES])
def test_data_that_cannot_fit_names_the_arguments_as_python(small_npz, max_memory, python):
    with pytest.raises(DataTooLargeError) as caught:
        load_dataset(small_npz, validation_size=50, max_memory=max_memory)
    assert str(caught.value).endswith(f" of max_memory; {python}") and caught.value.source == "max_memory"


def test_a_run_that_cannot_fit_names_the_arguments_as_python():
    run = dict(sizes=[16, 8, 4], n_training=300, n_evaluation=50, batch_size=10**10, itemsize=4)
    with pytest.raises(MemoryLimitError, match=r" of max_memory; use smaller layers, a smaller batch_size or "
                                               r"limit, or raise max_memory if this machine has more$"):
        memory.check_training(**run, limit=memory.memory_limit("1G"))


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "16", "100000000", "4", "--max-memory", "1G"], "the network [16, 100000000, 4]"),
    (["--sizes", "16", "8", "4", "--max-memory", "4K"], "small.npz (training 250, validation 50, test 50"),
    (["--sizes", "16", "8", "4", "--max-memory", "200K", "--validation-size", "5000"], "cannot hold out 5,000"),
    *[(["--sizes", "16", "8", "4", "--max-memory", size], f" of --max-memory; {flags}") for _, size, _, flags in FIXES],
    (["--sizes", "16", "8", "4", "--batch-size", "10000000000", "--max-memory", "1G"],
     " of --max-memory; use smaller layers, a smaller --batch-size or --limit, or raise --max-memory if this "
     "machine has more"),
], ids=["network", "data", "validation", *[f[0] for f in FIXES], "run"])
def test_train_refuses_in_one_line_before_any_work(small_npz, capsys, monkeypatch, argv, message):
    import xprop.train.trainer

    monkeypatch.setattr(xprop.train.trainer.Trainer, "run", lambda *a, **k: pytest.fail("training started"))
    code = main(["train", "--dataset", str(small_npz), "--validation-size", "50", "--epochs", "1", *argv])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and err.count("\n") == 1 and err.startswith("xprop: error:")
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["4Q", "0", "-5M"])
def test_a_bad_max_memory_is_refused_by_the_parser(small_npz, capsys, value):
    with pytest.raises(SystemExit) as caught:
        main(["train", "--dataset", str(small_npz), "--max-memory", value])
    err = capsys.readouterr().err
    assert caught.value.code == 2 and err.count("\n") == 1 and "--max-memory" in err


@pytest.mark.parametrize("batch_size, refused", [(10_000_000_000, True), (10, False)])
def test_check_memory_refuses_a_batch_that_cannot_fit(batch_size, refused):
    from argparse import Namespace

    from xprop.cli import options

    args = Namespace(sizes=[16, 8, 4], batch_size=batch_size, dtype="float32", momentum=0.0, max_memory=None)
    if refused:
        with pytest.raises(MemoryLimitError, match="mini-batches of 10,000,000,000"):
            options.check_memory(args, 300, 50)
    else:
        options.check_memory(args, 300, 50)
