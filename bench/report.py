"""The benchmark's outputs: a Markdown table, a PNG plot, and the JSON file beside them."""

from __future__ import annotations

import json


def write_json(result, path):
    with open(path, "w") as out:
        json.dump(result, out, indent=1, default=str)


def markdown(result):
    """The whole report as Markdown: machine, book and wide tables, targets, memory, GPU."""
    machine, lines = result["machine"], []
    blas = ", ".join(f"{p.get('internal_api')} {p.get('version')} ({p.get('num_threads')} threads, "
                     f"{p.get('architecture')})" for p in machine["blas"] if p.get("user_api") == "blas")
    settings = result["settings"]
    pinned = machine.get("affinity")
    cores = f"{machine['cores']} cores" + (f" (this run on {pinned} of them: --threads)"
                                          if pinned and machine["cores"] and pinned < machine["cores"] else "")
    lines += [f"Machine: {machine['cpu']}, {cores}; Python {machine['python']}; "
              f"numpy {machine['libraries']['numpy']}, torch {machine['libraries']['torch']}; BLAS: {blas}; "
              f"OPENBLAS_CORETYPE={machine['environment']['OPENBLAS_CORETYPE']}.",
              f"Throughput in examples/s: median of {settings['reps']} repetitions after {settings['warmup']} "
              f"warm-up; ± is the interquartile range over the median. Training: whole SGD epochs of "
              f"{settings['book_examples']} examples (book) / {settings['wide_examples']} (wide), shuffle "
              "included; gradient: feedforward + backprop only.", ""]
    short = summary(result)
    if short:
        lines += ["Summary: training throughput of xprop on numpy, and how many times each reference's it is "
                  "(xprop numpy ÷ reference; above 1, xprop is faster).", "", short, ""]
    lines += ["| network | dtype | mini-batch | contender | training ex/s | ± | gradient ex/s | compile s "
              "| xprop numpy ÷ this |",
              "|---|---|---:|---|---:|---:|---:|---:|---:|"]
    for row in result["rows"]:
        lines.append(_row(row, result["rows"]))
    against = compiled_table(result)
    if against:
        lines += ["", "Compiled steps against eager: the same Trainer with the backend's compiled step strategy "
                  "(`compile=True`). Compile s: the time of the calls that compiled, all in the warm-up epoch "
                  "that ran before the timed repetitions (first epoch s: that epoch, compilation included); "
                  "the throughput is from the timed epochs, which compiled nothing (recompile s).", "",
                  against]
    peak, start_end = result["peak"], result.get("peak_start_end")
    also = (f"; measured apart, at the start and at the end of the run, the best was {start_end['gflops']:.0f} GFLOP/s"
            if start_end else "")
    lines += ["", f"numpy float32 matrix-product peak: {peak['gflops']:.0f} GFLOP/s "
              f"(the best of the products {', '.join(sorted({'×'.join(map(str, r['shape'])) for r in peak['sizes']}))}, "
              f"each the median of its repetitions, timed in turn with the wide network's contenders in the same "
              f"repetitions{also}).", ""]
    wide = [r for r in result["rows"] if r["network"] == "wide"]
    if wide:
        lines += ["| wide network contender | training GFLOP/s | % of peak | gradient GFLOP/s | % of peak |",
                  "|---|---:|---:|---:|---:|"]
        for row in wide:
            gradient = ("— | —" if row["gradient_gflops"] is None else
                        f"{row['gradient_gflops']:.0f} | {100 * row['gradient_gflops'] / peak['gflops']:.0f}%")
            lines.append(f"| {row['contender']} | {row['train_gflops']:.0f} | "
                         f"{100 * row['train_gflops'] / peak['gflops']:.0f}% | {gradient} |")
        lines.append("")
    lines += ["| target | measured | met |", "|---|---:|---|"]
    for check in result["targets"]:
        measured = "—" if check["ratio"] is None else (
            f"{check['ratio']:.0%}" if "peak" in check["target"] else f"{check['ratio']:.2f}×")
        met = {True: "yes", False: "**no**", None: check.get("note", "")}[check["met"]]
        if check["met"] and check.get("note"):
            met += f" ({check['note']})"
        lines.append(f"| {check['target']} | {measured} | {met} |")
    lines += ["", _memory(result["memory"]), ""]
    if isinstance(result.get("gpu"), list) and result["gpu"]:
        lines += [_gpu(result["gpu"]), ""]
    lines += ["Skipped: " + "; ".join(
        f"{name}: {why}" for name, why in result["skipped"].items()) if result["skipped"] else "Skipped: nothing."]
    return "\n".join(lines) + "\n"


def summary(result):
    """The short table: one row per network, dtype and mini-batch; xprop numpy's training
    examples/s, then xprop numpy's throughput over each reference's (the README shows it).

    A reference not run on a configuration (the per-example loop on the wide network) gets
    "—"; a configuration without xprop numpy is left out. "" when nothing is left.
    """
    from xprop.bench.targets import XPROP, find

    rows = result["rows"]
    references = list(dict.fromkeys(r["contender"] for r in rows if not r["contender"].startswith("xprop")))
    lines = ["| network | dtype | mini-batch | xprop numpy, training ex/s | "
             + " | ".join(f"÷ {name}" for name in references) + " |",
             "|---|---|---:|---:|" + "---:|" * len(references)]
    for network, dtype, batch in dict.fromkeys((r["network"], r["dtype"], r["batch"]) for r in rows):
        ours = find(rows, network, dtype, batch, XPROP)
        if ours is None:
            continue
        speed = ours["train"]["examples_per_s"]
        ratios = []
        for name in references:
            theirs = find(rows, network, dtype, batch, name)
            ratios.append("—" if theirs is None else f"{speed / theirs['train']['examples_per_s']:.2f}×")
        lines.append(f"| {network} {ours['sizes']} | {dtype} | {batch} | {speed:,.0f} | " + " | ".join(ratios) + " |")
    return "\n".join(lines) if len(lines) > 2 else ""


def compiled_table(result):
    """Each compiled contender beside its backend's eager one, per network, dtype and
    mini-batch: both throughputs, their ratio, the compile seconds. "" when none ran."""
    from xprop.bench.targets import find

    rows = result["rows"]
    lines = ["| network | dtype | mini-batch | backend | eager ex/s | ± | compiled ex/s | ± | compiled ÷ eager "
             "| compile s | first epoch s | recompile s |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        if not row.get("compiled"):
            continue
        eager_name = row["contender"].removesuffix(" compiled")
        eager = find(rows, row["network"], row["dtype"], row["batch"], eager_name)
        train = row["train"]
        if eager is None:
            eager_cells, ratio = "— | —", "—"
        else:
            eager_cells = f"{eager['train']['examples_per_s']:,.0f} | {100 * eager['train']['iqr_relative']:.0f}%"
            ratio = f"{train['examples_per_s'] / eager['train']['examples_per_s']:.2f}×"
        lines.append(f"| {row['network']} {row['sizes']} | {row['dtype']} | {row['batch']} | "
                     f"{eager_name.removeprefix('xprop ')} | {eager_cells} | {train['examples_per_s']:,.0f} | "
                     f"{100 * train['iqr_relative']:.0f}% | {ratio} | {row['compile_s']:.2f} | "
                     f"{row['warm_up_s']:.2f} | {row['recompile_s']:.2f} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def _row(row, rows):
    from xprop.bench.targets import XPROP, find

    ours = find(rows, row["network"], row["dtype"], row["batch"], XPROP)
    ratio = "" if ours is None or ours is row else \
        f"{ours['train']['examples_per_s'] / row['train']['examples_per_s']:.2f}×"
    train, gradient = row["train"], row["gradient"]
    gradient = "—" if gradient is None else f"{gradient['examples_per_s']:,.0f}"
    compiled = f"{row['compile_s']:.2f}" if row.get("compiled") else ""
    return (f"| {row['network']} | {row['dtype']} | {row['batch']} | {row['contender']} | "
            f"{train['examples_per_s']:,.0f} | {100 * train['iqr_relative']:.0f}% | "
            f"{gradient} | {compiled} | {ratio} |")


def _gpu(gpus):
    """The GPU part: event-timed training throughput per backend, eager and compiled."""
    lines = ["| GPU | contender | network | mini-batch | training ex/s | ± | TFLOP/s | % of peak | compile s |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for gpu in gpus:
        for row in gpu["rows"]:
            compiled = f"{row['compile_s']:.2f}" if row.get("compiled") else ""
            lines.append(f"| {gpu['device']} | {row.get('contender', 'xprop ' + gpu['backend'])} | {row['sizes']} | "
                         f"{row['batch']} | {row['train']['examples_per_s']:,.0f} | "
                         f"{100 * row['train']['iqr_relative']:.0f}% | {row['tflops']:.2f} | "
                         f"{100 * row['fraction_of_peak']:.0f}% | {compiled} |")
    peaks = "; ".join(f"{gpu['backend']}: float32 matmul peak {gpu['peak']['tflops']:.1f} TFLOP/s, "
                      f"{gpu['launch_latency_us']:.1f} µs per elementwise launch" for gpu in gpus)
    return "\n".join(lines) + f"\n\nGPU ({peaks}); epochs timed with CUDA events."


def _memory(memory):
    if "skipped" in memory:
        return f"Memory: not measured ({memory['skipped']})."
    per_epoch = ", ".join(f"{row['rss_mb']:.0f}" for row in memory["epochs"])
    return (f"Memory ({memory['data']}; book network, float32, mini-batch 10): resident "
            f"{memory['after_load_rss_mb']:.0f} MB after loading, peak {memory['peak_mb']:.0f} MB "
            f"(training adds {memory['training_overhead_mb']:.0f} MB); resident after each epoch "
            f"{per_epoch} MB: growth after the first epoch {memory['growth_after_first_epoch_mb']:+.1f} MB.")


def plot(result, path):
    """Book-network training throughput per contender (log scale) and the wide network's GFLOP/s."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    book = [r for r in rows if r["network"] == "book"]
    configs = sorted({(r["dtype"], r["batch"]) for r in book})
    names = list(dict.fromkeys(r["contender"] for r in book))
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 1]})
    width = 0.8 / max(len(names), 1)
    for k, name in enumerate(names):
        values = []
        for dtype, batch in configs:
            match = [r for r in book if (r["dtype"], r["batch"], r["contender"]) == (dtype, batch, name)]
            values.append(match[0]["train"]["examples_per_s"] if match else 0)
        left.bar([i + k * width for i in range(len(configs))], values, width, label=name)
    left.set_xticks([i + 0.4 - width / 2 for i in range(len(configs))],
                    [f"{d}\nmb {b}" for d, b in configs])
    left.set_yscale("log")
    left.set_ylabel("training examples/s (median)")
    left.set_title("book network [784, 30, 10]: whole SGD epochs")
    left.legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    wide = [r for r in rows if r["network"] == "wide"]
    right.bar(range(len(wide)), [r["train_gflops"] for r in wide])
    right.axhline(result["peak"]["gflops"], color="k", linestyle="--", label="numpy matmul peak")
    right.set_xticks(range(len(wide)), [r["contender"] for r in wide], rotation=45, ha="right", fontsize=8)
    right.set_ylabel("GFLOP/s")
    right.set_title(f"wide {wide[0]['sizes'] if wide else ''}\nfloat32, mb 256")
    right.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
