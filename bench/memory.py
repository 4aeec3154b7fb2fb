"""Peak memory of a full training run, and whether it grows from epoch to epoch.

Runs in a subprocess of its own (``python -m xprop.bench.memory``), so that its peak
resident set (``ru_maxrss``) belongs to this run alone: it loads Fashion-MNIST with
``xprop.data.load_dataset``, trains the book's network [784, 30, 10] (float32, numpy,
mini-batch 10, η = 3) and after every epoch records the current resident set
(/proc/self/statm) and the peak so far (VmHWM), printed as one JSON line. ``--synthetic N``
uses N seeded random examples instead of the data set (the quick mode).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys

FASHION = "/usr/share/datasets/fashion-mnist"


def rss_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb():
    """The peak resident set of this process: VmHWM, or ru_maxrss where /proc has none.

    VmHWM is preferred: Linux carries ru_maxrss over ``exec``, so a child's ru_maxrss starts
    at its parent's peak (here the benchmark's, torch included) and would not be this run's.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # KiB on Linux


class _PerEpoch:
    def __init__(self):
        self.rows = []

    def on_epoch_end(self, trainer, record):
        self.rows.append({"epoch": record.epoch, "rss_mb": rss_mb(), "peak_mb": peak_mb(),
                          "accuracy": record.evaluation_accuracy, "seconds": record.seconds})


def worker(args):
    import numpy as np

    import xprop
    from xprop.backends import get_backend
    from xprop.bench import problems

    result = {"start_rss_mb": rss_mb()}
    backend = get_backend("numpy")
    if args.synthetic:
        X, Y = problems.data(args.synthetic, problems.BOOK, "float32")
        X, y = backend.from_host(X), backend.from_host(np.argmax(Y, axis=1).astype("int32"))
        evaluation, result["data"] = None, f"{args.synthetic} synthetic examples"
    else:
        from xprop.data import load_dataset

        data = load_dataset("fashion-mnist", data_dir=args.data_dir, download=False, log=None)
        X, y = data.training.to(backend)
        evaluation = data.validation.to(backend)
        result["data"] = f"Fashion-MNIST from {data.source}: {len(data.training)} training examples"
    result["after_load_rss_mb"] = rss_mb()
    net = xprop.Network(list(problems.BOOK), dtype="float32", seed=0)
    per_epoch = _PerEpoch()
    net.fit(X, y, epochs=args.epochs, batch_size=10, eta=problems.ETA, evaluation=evaluation,
            callbacks=[per_epoch])
    rss = [row["rss_mb"] for row in per_epoch.rows]
    result.update(epochs=per_epoch.rows, peak_mb=peak_mb(),
                  training_overhead_mb=peak_mb() - result["after_load_rss_mb"],
                  growth_after_first_epoch_mb=rss[-1] - rss[0])
    print(json.dumps(result))


def measure(*, epochs=3, synthetic=None, data_dir=FASHION, timeout=600):
    """Run the worker in a fresh interpreter; its JSON result (or the reason it failed)."""
    command = [sys.executable, "-m", "xprop.bench.memory", "--epochs", str(epochs), "--data-dir", data_dir]
    if synthetic:
        command += ["--synthetic", str(synthetic)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        return {"skipped": f"the memory run failed: {done.stderr.strip().splitlines()[-1:]}"}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["command"] = " ".join(command[1:])
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--synthetic", type=int, default=0)
    parser.add_argument("--data-dir", default=FASHION)
    worker(parser.parse_args(argv))


if __name__ == "__main__":
    main()
