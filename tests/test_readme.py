"""The README is the front door: its test command is exactly what CI runs."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```(?:sh|bash|console)\n(.*?)```", text, flags=re.S)


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    ci_command = [line for line in ci.splitlines() if "pytest" in line and not line.startswith("#")]
    assert len(ci_command) == 1, "the CI script should run pytest exactly once"
    blocks = "\n".join(_readme_commands())
    assert ci_command[0].strip() in blocks.splitlines(), (
        f"README.md does not show the CI test command {ci_command[0].strip()!r}"
    )
