"""The README is the front door: its test command is exactly what CI runs."""

import pathlib
import re

import pytest

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


def test_the_python_api_example_runs(monkeypatch, tmp_path):
    """The README's first Python example, as printed, with one epoch instead of 30."""
    from xprop.data import DATASETS
    from xprop.data.locate import find, places

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # never read or write the real cache
    spec = DATASETS["fashion-mnist"]
    if find(spec, places(spec)) is None:
        pytest.skip("Fashion-MNIST is not on this machine: apt-get install dataset-fashion-mnist")
    text = (ROOT / "README.md").read_text()
    example = re.search(r"```python\n(import xprop\nfrom xprop\.data import load_dataset\n.*?)```", text, re.S)
    assert example, "README.md lost its first Python example"
    code = example.group(1)
    assert "epochs=30" in code
    namespace = {}
    exec(compile(code.replace("epochs=30", "epochs=1"), "README.md", "exec"), namespace)
    assert 0.5 < namespace["history"][-1].evaluation_accuracy <= 1  # it learned (chance: 0.1)
    assert [g.shape for g in namespace["grad_w"]] == [(30, 784), (10, 30)]
