"""The benchmark suite: its quick run end to end, and the honesty of its comparisons.

Nothing here asserts a speed. What is checked: ``xprop bench --quick`` writes the JSON
(machine, BLAS, every reference, the targets, the GPU skip reason), the Markdown tables
(the summary among them) and the PNG, and ``--render`` writes the same tables again from
that JSON; every reference trains to the same parameters as xprop from the same start,
so that a ratio of their throughputs compares the same work; the compiled contenders
(jax, torch once it compiles) have rows of their own, their compile time apart from the
throughput, and end an epoch where the eager step ends; the GPU check's harness writes
its JSON and Markdown on the CPU (``--dry-run``), and its shell script runs end to end
without pip or a GPU.

The quick run is a subprocess: it turns on jax's float64 mode (``jax_enable_x64``), a
switch for the whole process that the rest of the test suite must not inherit.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from xprop.backends import get_backend
from xprop.bench import contenders, problems
from xprop.bench import run as bench_run

SIZES = (12, 7, 5, 3)  # two hidden layers: BP2 runs twice
TOLERANCE = {"float64": 1e-10, "float32": 2e-4}


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run([sys.executable, "-m", "xprop.bench", "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, json.loads((out / "bench.json").read_text())


def test_quick_run_writes_json_table_and_plot(quick):
    out, result = quick
    for key in ("machine", "settings", "peak", "peak_start_end", "rows", "targets", "memory", "gpu", "skipped",
                "torch_threads"):
        assert key in result, key
    machine = result["machine"]
    assert machine["libraries"]["numpy"] and "OPENBLAS_CORETYPE" in machine["environment"]
    assert any(pool.get("user_api") == "blas" and pool.get("num_threads") for pool in machine["blas"])
    assert result["peak"]["gflops"] > 0 and result["peak"]["measured"].startswith("interleaved")
    assert [row["shape"] for row in result["peak"]["sizes"]] == [list(s) for s in bench_run.Settings.quick().peak_shapes]
    assert {row["measurement"] for row in result["peak_start_end"]["sizes"]} == {0, 1}  # at the start and at the end
    table = (out / "bench.md").read_text()
    assert "| network | dtype | mini-batch | contender |" in table and "| target |" in table
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_quick_run_summary_table_is_xprop_numpy_over_each_reference(quick):
    """The report's short table (the README's one results table): a row per configuration."""
    from xprop.bench import report

    out, result = quick
    summary = report.summary(result)
    assert summary and summary in (out / "bench.md").read_text()
    header, rule, *lines = summary.splitlines()
    references = [name for name in contenders.REFERENCES if name not in result["skipped"]]
    assert header == ("| network | dtype | mini-batch | xprop numpy, training ex/s | "
                      + " | ".join(f"÷ {name}" for name in references) + " |")
    assert rule.count("|") == header.count("|")
    configs = list(dict.fromkeys((r["network"], r["dtype"], r["batch"]) for r in result["rows"]))
    assert len(lines) == len(configs)
    for line, (network, dtype, batch) in zip(lines, configs):
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        ours = next(r for r in result["rows"] if (r["network"], r["dtype"], r["batch"], r["contender"])
                    == (network, dtype, batch, "xprop numpy"))
        assert cells[:4] == [f"{network} {ours['sizes']}", dtype, str(batch), f"{ours['train']['examples_per_s']:,.0f}"]
        for name, cell in zip(references, cells[4:]):
            theirs = [r for r in result["rows"] if (r["network"], r["dtype"], r["batch"], r["contender"])
                      == (network, dtype, batch, name)]
            want = ("—" if not theirs else
                    f"{ours['train']['examples_per_s'] / theirs[0]['train']['examples_per_s']:.2f}×")
            assert cell == want, (line, name)
    assert "—" in [cell.strip() for cell in lines[-1].split("|")]  # no per-example loop on the wide network


def test_render_rewrites_the_report_from_a_runs_json(quick, tmp_path):
    """``--render`` measures nothing: the same bench.md from the stored bench.json."""
    out, result = quick
    again = tmp_path / "again"
    assert bench_run.main(["--render", str(out / "bench.json"), "--out", str(again)]) == 0
    assert (again / "bench.md").read_text() == (out / "bench.md").read_text()
    assert json.loads((again / "bench.json").read_text()) == result
    assert (again / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    in_place = tmp_path / "in-place"
    in_place.mkdir()
    (in_place / "bench.json").write_text((out / "bench.json").read_text())
    assert bench_run.main(["--render", str(in_place / "bench.json")]) == 0  # --out: the json's folder
    assert (in_place / "bench.md").read_text() == (out / "bench.md").read_text()
    assert (in_place / "bench.json").read_text() == (out / "bench.json").read_text()  # left as it was


def test_quick_run_has_xprop_and_every_reference(quick):
    _, result = quick
    book = {row["contender"] for row in result["rows"] if row["network"] == "book"}
    absent = {name for name in contenders.REFERENCES if name in result["skipped"]}  # torch not installed
    assert all("pip install" in result["skipped"][name] for name in absent)
    assert {"xprop numpy", *contenders.REFERENCES} - absent <= book
    wide = [row for row in result["rows"] if row["network"] == "wide"]
    assert wide and all(row["train_gflops"] > 0 for row in wide)
    for row in result["rows"]:
        assert row["train"]["examples_per_s"] > 0
        assert (row["gradient"] is None) == row["compiled"]  # compiled: whole steps, no gradient alone
        assert row["compiled"] or row["gradient"]["examples_per_s"] > 0
        assert len(row["train"]["seconds"]) == result["settings"]["reps"]
    assert {check["target"] for check in result["targets"] if check["met"] is not None}
    [fraction] = [check for check in result["targets"] if "peak" in check["target"]]
    ours = next(row for row in wide if row["contender"] == "xprop numpy")
    assert fraction["ratio"] == pytest.approx(ours["train_gflops"] / result["peak"]["gflops"])


def test_quick_run_records_why_the_gpu_was_skipped(quick):
    _, result = quick
    if not get_backend("cupy", check=False).available:
        assert "cupy cuda" in result["skipped"] and "no usable GPU" in result["skipped"]["cupy cuda"]
    if isinstance(result["gpu"], dict):
        assert result["gpu"]["skipped"]


def test_quick_run_measures_memory_per_epoch(quick):
    _, result = quick
    memory = result["memory"]
    assert "skipped" not in memory, memory
    assert len(memory["epochs"]) == result["settings"]["memory_epochs"]
    assert memory["peak_mb"] >= memory["after_load_rss_mb"] > 0


def _needs(name):
    if name.startswith("torch"):
        pytest.importorskip("torch", reason="the torch references need torch: pip install 'xprop[torch]'")


def _start(dtype, n=20):
    X, Y = problems.data(n, SIZES, dtype, seed=4)
    weights, biases = problems.parameters(SIZES, dtype, seed=5)
    return weights, biases, X, Y


def _close(got, want, dtype):
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", contenders.REFERENCES)
def test_reference_trains_to_the_same_parameters_as_xprop(name, dtype):
    """One epoch (same shuffle, two mini-batches of 10, η = 3) from the same start."""
    _needs(name)
    start = _start(dtype)
    ours = contenders.Xprop(get_backend("numpy"), *start)
    theirs = contenders.reference(name, *start)
    ours.epoch_seconds(10, problems.ETA)
    theirs.epoch_seconds(10, problems.ETA)
    (want_w, want_b), (got_w, got_b) = ours.host_parameters(), theirs.host_parameters()
    assert not np.allclose(want_w[0], start[0][0])  # it did train
    _close(got_w, want_w, dtype)
    _close(got_b, want_b, dtype)


@pytest.mark.parametrize("name", contenders.REFERENCES)
def test_reference_gradients_are_xprops(name):
    _needs(name)
    start = _start("float64")
    ours, theirs = contenders.Xprop(get_backend("numpy"), *start), contenders.reference(name, *start)
    want_w, want_b = ours.gradients(*ours.batch(0, 10))
    got_w, got_b = theirs.gradients(*theirs.batch(0, 10))
    _close([np.asarray(g.detach() if hasattr(g, "detach") else g) for g in got_w], want_w, "float64")
    _close([np.asarray(g.detach() if hasattr(g, "detach") else g) for g in got_b], want_b, "float64")


def test_python_bench_runs_as_a_module_help():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "xprop.bench", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "--quick" in done.stdout


def test_gpu_helpers_that_need_no_gpu_run_on_the_cpu():
    """The GPU part skips here, but its launch-latency probe is plain Array API code."""
    from xprop.bench import gpu

    usable, skipped = gpu.gpu_backends()
    assert usable or skipped
    assert all(reason.startswith("no usable GPU") for reason in skipped.values())
    assert gpu.launch_latency_us(get_backend("numpy"), count=10) > 0


# -- compiled contenders --------------------------------------------------------------------

def _compiling(name):
    """The backend ``name`` if its ``compiled_step`` compiles here, else skip saying why."""
    backend = get_backend(name, check=False)
    if not backend.available:
        pytest.skip(f"{name}: {backend.unavailable_reason}")
    try:
        contenders.compiled_strategy(backend)
    except contenders.NothingToCompile as exc:
        pytest.skip(f"{name} has no compiled step strategy yet: {exc}")
    return backend


@pytest.mark.parametrize("name", ["jax", "torch"])
def test_quick_run_has_a_compiled_row_beside_each_eager_one(quick, name):
    _compiling(name)
    out, result = quick
    configs = {(r["network"], r["dtype"], r["batch"]) for r in result["rows"] if r["contender"] == f"xprop {name}"}
    compiled = [r for r in result["rows"] if r["contender"] == f"xprop {name} compiled"]
    assert configs and {(r["network"], r["dtype"], r["batch"]) for r in compiled} == configs
    assert all(r["compiled"] and r["strategy"] for r in compiled)
    assert f"xprop {name} compiled" not in result["skipped"]
    order = [r["contender"] for r in result["rows"] if (r["network"], r["dtype"], r["batch"]) == min(configs)]
    assert order.index(f"xprop {name} compiled") == order.index(f"xprop {name}") + 1  # next to the eager one
    table = (out / "bench.md").read_text()
    assert "| network | dtype | mini-batch | backend | eager ex/s | ± | compiled ex/s |" in table
    assert f"| {name} |" in table


def test_quick_run_says_why_a_backend_has_no_compiled_row(quick):
    _, result = quick
    assert "nothing to compile" in result["skipped"]["xprop numpy compiled"]
    assert not any(r["contender"] == "xprop numpy compiled" for r in result["rows"])


def test_compile_time_is_reported_apart_from_the_throughput(quick):
    """The warm-up epoch compiles; the timed epochs compile nothing; compile seconds are
    in the JSON and in bench.md, not in the examples/s."""
    _compiling("jax")
    out, result = quick
    compiled = [r for r in result["rows"] if r["compiled"]]
    assert compiled
    table = (out / "bench.md").read_text()
    for row in compiled:
        assert row["compile_s"] > 0, row["contender"]
        assert row["recompile_s"] == 0, (row["contender"], row["recompile_s"])  # the timed epochs compiled nothing
        assert row["warm_up_s"] >= row["compile_s"]
        assert max(row["train"]["seconds"]) < row["warm_up_s"]  # no timed epoch paid for the compilation
        assert f"| {row['compile_s']:.2f} |" in table
    for row in result["rows"]:
        assert row["compiled"] or "compile_s" not in row


@pytest.mark.parametrize("name", ["jax", "torch"])
def test_compiled_contender_ends_an_epoch_where_eager_ends(name):
    """Two epochs (mini-batch 10, 25 examples: a partial batch each epoch), float32, from the
    same start: the compiled contender's parameters are the eager one's to 1e-4."""
    backend = _compiling(name)
    start = _start("float32", n=25)
    eager = contenders.Xprop(backend, *start)
    compiled = contenders.Xprop(backend, *start, compiled=True)
    assert compiled.name == f"xprop {name} compiled" and eager.name == f"xprop {name}"
    compiled.warm_up(10, problems.ETA)
    eager.epoch_seconds(10, problems.ETA)
    compiled.epoch_seconds(10, problems.ETA)  # a second Trainer.run: the strategy is not started again
    eager.epoch_seconds(10, problems.ETA)
    (want_w, want_b), (got_w, got_b) = eager.host_parameters(), compiled.host_parameters()
    assert not np.allclose(want_w[0], start[0][0])  # it did train
    for got, want in zip(got_w + got_b, want_w + want_b):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert compiled.compile_seconds > 0 and compiled.recompile_seconds == 0


def test_the_compiled_targets_are_evaluated_with_the_spread():
    """Ratios of compiled over eager rows; on the wide network a compiled median inside the
    eager epochs' interquartile range counts as not slower, and says so."""
    from xprop.bench import targets, timing

    def row(network, contender, seconds, batch=10, dtype="float32"):
        return {"network": network, "dtype": dtype, "batch": batch, "contender": contender,
                "train": timing.summary(seconds, 1000), "train_gflops": 1.0}

    rows = [row("book", "xprop numpy", [1.0] * 3), row("book", "xprop jax", [20.0] * 3),
            row("book", "xprop jax compiled", [0.5] * 3),
            row("wide", "xprop numpy", [1.0] * 3, batch=256), row("wide", "xprop jax", [1.0, 1.1, 1.3], batch=256),
            row("wide", "xprop jax compiled", [1.15] * 3, batch=256)]
    checks = {c["target"]: c for c in targets.evaluate(rows, 1.0, {"xprop torch compiled": "nothing to compile"})}
    over_numpy = checks["book float32 mini-batch 10: xprop jax compiled ≥ 1× xprop numpy"]
    assert over_numpy["ratio"] == pytest.approx(2.0) and over_numpy["met"]
    over_eager = checks["book float32 mini-batch 10: xprop jax compiled ≥ 15× xprop jax"]
    assert over_eager["ratio"] == pytest.approx(40.0) and over_eager["met"]
    torch = checks["book float32 mini-batch 10: xprop torch compiled ≥ 1.5× xprop torch"]
    assert torch["met"] is None and "nothing to compile" in torch["note"]
    wide = checks["wide float32 mini-batch 256: xprop jax compiled ≥ 1× xprop jax"]
    assert wide["ratio"] == pytest.approx(1.1 / 1.15) and wide["met"] and "within the spread" in wide["note"]
    assert checks["wide float32 mini-batch 256: xprop numpy ≥ 90% of the matmul peak"]["met"]
    rows[-1] = row("wide", "xprop jax compiled", [1.4] * 3, batch=256)  # slower than the eager's third quartile
    checks = {c["target"]: c for c in targets.evaluate(rows, 1.0)}
    assert checks["wide float32 mini-batch 256: xprop jax compiled ≥ 1× xprop jax"]["met"] is False


# -- the GPU check ---------------------------------------------------------------------------

def test_gpu_check_dry_run_writes_its_json_and_markdown(tmp_path):
    """The GPU check's harness on numpy (no GPU): every configuration × mode has a row, measured
    or "not available" with the reason, in the JSON and in the Markdown."""
    from xprop.bench import gpu_check

    assert gpu_check.main(["--dry-run", "--out", str(tmp_path)]) == 0
    per_backend = json.loads((tmp_path / "gpu_check-numpy.json").read_text())
    gathered = json.loads((tmp_path / "gpu_check.json").read_text())
    assert gathered["backends"] == [per_backend]
    assert per_backend["clock"] == "host clock" and "finished" in per_backend
    rows = per_backend["rows"]
    assert [(r["network"], r["batch"], r["mode"]) for r in rows] == [
        (network, batch, mode) for network, _, batch in gpu_check.DRY_CONFIGS for mode in gpu_check.MODES]
    for r in rows:
        if r["mode"] == "eager":
            assert r["status"] == "measured" and r["finite"]
            assert r["step_us"] > 0 and len(r["epoch_s"]) == per_backend["reps"]
            assert r["examples_per_s"] == pytest.approx(r["examples_per_epoch"] / np.median(r["epoch_s"]))
        else:
            assert r["status"] == "not available" and r["reason"], r
    assert "nothing to compile" in next(r for r in rows if r["mode"] == "compiled")["reason"]
    table = (tmp_path / "gpu_check.md").read_text()
    assert "| network | mini-batch | mode | µs per step |" in table
    assert table.count("| eager |") == len(gpu_check.DRY_CONFIGS) and "not available" in table


def test_gpu_check_records_a_backend_that_cannot_run(tmp_path):
    from xprop.bench import gpu_check

    gpu_check.check_backend("nonesuch", configs=gpu_check.DRY_CONFIGS, steps=2, reps=1, out=str(tmp_path),
                            log=lambda line: None)
    assert json.loads((tmp_path / "gpu_check-nonesuch.json").read_text())["unavailable"]
    assert gpu_check.main(["--report", "--out", str(tmp_path)]) == 0
    assert "**nonesuch**: not usable:" in (tmp_path / "gpu_check.md").read_text()


def test_gpu_check_script_runs_end_to_end_without_pip_or_a_gpu(tmp_path):
    """``bench/gpu_check.sh OUT --dry-run``: every step under its time limit, recorded in
    steps.tsv, the measurements (numpy) and the summary written under OUT."""
    import pathlib

    script = pathlib.Path(__file__).resolve().parents[1] / "bench" / "gpu_check.sh"
    done = subprocess.run(["bash", str(script), str(tmp_path), "--dry-run"], capture_output=True, text=True,
                          timeout=300, env={**__import__("os").environ, "PYTHON": sys.executable})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for name in ("steps.tsv", "summary.md", "gpu_check.json", "gpu_check.md", "gpu_check-numpy.json",
                 "xprop-info.txt", "nvidia-smi.txt", "parity.txt"):
        assert (tmp_path / name).exists(), name
    steps = [line.split("\t") for line in (tmp_path / "steps.tsv").read_text().splitlines()]
    assert [name for name, *_ in steps if name.startswith("measure")] == ["measure cupy (dry run: numpy)"]
    assert all(status == "0" for _, status, _ in steps), steps
    assert "xprop" in (tmp_path / "xprop-info.txt").read_text()


def test_the_gpu_part_runs_eager_and_compiled_contenders_with_a_stand_in_clock(monkeypatch):
    """``run.measure_gpu`` on CPU backends, its CUDA events replaced by the host clock: one row
    per configuration and mode, compiled rows with their compile seconds, and its table."""
    import time

    from xprop.bench import gpu, report

    def epoch_seconds(contender, backend, *, batch, eta, warmup, reps):
        stamps = [time.perf_counter()]
        contender.epochs(warmup + reps, batch, eta, lambda: stamps.append(time.perf_counter()))
        return [b - a for a, b in zip(stamps, stamps[1:])][warmup:]

    monkeypatch.setattr(gpu, "matmul_peak", lambda backend: {"n": 1, "tflops": 1.0})
    monkeypatch.setattr(gpu, "launch_latency_us", lambda backend: 5.0)
    monkeypatch.setattr(gpu, "epoch_seconds", epoch_seconds)
    settings = bench_run.Settings.quick()
    settings.book_examples, settings.wide_examples, settings.wide_sizes = 100, 256, (784, 16, 10)
    names = ["numpy"] + [name for name in ("jax",) if get_backend(name, check=False).available]
    results = [bench_run.measure_gpu(get_backend(name), settings, lambda line: None) for name in names]
    for result in results:
        compiled = [row for row in result["rows"] if row["compiled"]]
        assert len(result["rows"]) == 2 * (1 + bool(compiled))  # book mb 10 and the wide network
        assert all(row["train"]["examples_per_s"] > 0 for row in result["rows"])
        assert all(row["compile_s"] > 0 and row["recompile_s"] == 0 for row in compiled)
        assert bool(compiled) == (result["backend"] != "numpy")
    assert "nothing to compile" in results[0]["compiled_skipped"]
    table = report._gpu(results)
    assert table.count("\n| ") == sum(len(result["rows"]) for result in results)  # a line per row
