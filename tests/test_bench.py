"""The benchmark suite: its quick run end to end, and the honesty of its comparisons.

Nothing here asserts a speed. What is checked: ``xprop bench --quick`` writes the JSON
(machine, BLAS, every reference, the targets, the GPU skip reason), the Markdown tables
(the summary among them) and the PNG, and ``--render`` writes the same tables again from
that JSON; and every reference trains to the same parameters as xprop from the same
start, so that a ratio of their throughputs compares the same work.
"""

import json

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
    assert bench_run.main(["--quick", "--out", str(out)]) == 0
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
        assert row["train"]["examples_per_s"] > 0 and row["gradient"]["examples_per_s"] > 0
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
        pytest.importorskip("torch", reason="the torch references need torch: pip install 'xprop[oracles]'")


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
