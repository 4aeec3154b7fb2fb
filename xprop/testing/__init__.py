"""Tools for testing an array library with xprop: the parity certificate.

``check_backend(name, device=..., dtype=...)`` runs every parity check (gradients,
trajectory, namespace and device, host reads, refused copies) against numpy float64 and
returns a ``ParityReport``; ``format_report`` prints it as a table (``xprop parity``).
"""

from .parity import CHECKS, Check, Line, ParityReport, Target, check_backend, run_check
from .report import format_line, format_report

__all__ = ["CHECKS", "Check", "Line", "ParityReport", "Target", "check_backend", "run_check",
           "format_line", "format_report"]
