"""``python -m xprop.bench`` and ``python bench``: the throughput benchmarks."""

import sys

from xprop.bench.run import main  # absolute: ``python bench`` runs this file outside its package

if __name__ == "__main__":
    sys.exit(main())
