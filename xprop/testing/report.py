"""The parity report as a table: one line per check, its largest error and limit, and the verdict."""

from __future__ import annotations

import numpy


def format_line(line) -> str:
    """One check: ``name  error  limit  ok|FAILED  detail``."""
    if line.error is None:
        error, limit = "-", "-"
    else:
        error = f"{line.error:.3g} {line.unit}".strip()
        limit = f"<= {line.limit:g} {line.unit}".strip()
    verdict = "ok" if line.passed else "FAILED"
    detail = f"  {line.detail}" if line.detail else ""
    return f"{line.check:<58} {error:>14} {limit:>16}  {verdict:<6}{detail}"


def format_report(report) -> str:
    """The whole table, headed by what was tested and how errors are measured."""
    device = report.device if report.device is not None else "default"
    head = [f"xprop parity: backend {report.backend}, device {device}, dtype {report.dtype}"]
    try:
        eps = float(numpy.finfo(report.dtype).eps)
        head.append(f"error = max|x - x_ref| / (eps * (max|x_ref| + tiny)) against numpy float64, "
                    f"eps = {eps:.3g}; rel: relative to finite differences")
    except (TypeError, ValueError):
        pass
    head.append(f"{'check':<58} {'max error':>14} {'limit':>16}  result")
    failed = len(report.failures)
    tail = (f"{len(report.lines)} checks, all passed" if report.passed else
            f"{failed} of {len(report.lines)} checks FAILED: " + "; ".join(line.check for line in report.failures))
    return "\n".join(head + [format_line(line) for line in report.lines] + [tail])
