"""Every backend computes the same gradients as the numpy float64 reference, and returns
them in its own namespace, on its own device, in its own dtype.

The checks are xprop.testing's parity harness, the same that ``xprop parity`` runs for a
library's authors: one test per check and backend × device × dtype, so that one failure
hides no other. The checks that only concern the reference (numpy float64 against
finite differences) run once.
"""

import pytest

from xprop.testing import CHECKS, Target, format_line, run_check

BACKEND_CHECKS = [c for c in CHECKS if not c.reference]
REFERENCE_CHECKS = [c for c in CHECKS if c.reference]


@pytest.mark.parametrize("check", BACKEND_CHECKS, ids=lambda c: c.name)
def test_backend_matches_numpy_float64(case, check):
    line = run_check(check, Target(case.name, case.device, case.dtype))
    assert line.check == check.name
    assert line.passed, format_line(line)


@pytest.mark.parametrize("check", REFERENCE_CHECKS, ids=lambda c: c.name)
def test_reference_matches_finite_differences(check):
    line = run_check(check, Target("numpy", None, "float64"))
    assert line.passed, format_line(line)
