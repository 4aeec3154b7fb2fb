"""``python -m xprop``: the same as the ``xprop`` command."""

import sys

from .cli import main

sys.exit(main())
