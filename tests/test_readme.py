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
    monkeypatch.chdir(tmp_path)  # the example saves model.npz where it runs
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


def test_the_readme_is_a_front_door():
    """What xprop is, two commands, an example, a summary: the rest lives in docs/."""
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250


def test_the_readmes_results_table_is_the_bench_commands_output():
    """The README's table is copied verbatim from the report ``xprop bench`` wrote, and says so."""
    text = (ROOT / "README.md").read_text()
    lines = text.splitlines()
    [start] = [i for i, line in enumerate(lines) if line.startswith("| network | dtype | mini-batch | xprop numpy")]
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    table = "\n".join(lines[start:end]) + "\n"
    assert end - start > 2, "the results table has no rows"
    assert table in (ROOT / "docs" / "bench" / "bench.md").read_text()
    assert re.search(r"`xprop bench [^`]*--out docs/bench`", text), "README.md does not name the command"
    assert "docs/bench/bench.md" in text


def _slug(heading):
    """GitHub's anchor for a Markdown heading."""
    heading = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return heading.replace(" ", "-")


def _anchors(path):
    seen, anchors = {}, set()
    in_code = False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        slug = _slug(line.lstrip("#"))
        anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


@pytest.mark.parametrize("page", ["README.md", *sorted(p.relative_to(ROOT).as_posix()
                                                       for p in (ROOT / "docs").rglob("*.md"))])
def test_every_relative_link_finds_its_file_and_heading(page):
    path = ROOT / page
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)  # links in code are not links
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no such heading")
    assert not broken, f"{page}: {broken}"


def test_the_scikit_learn_example_runs(monkeypatch, tmp_path, capsys):
    """The README's estimator example, as printed: it learns the digits."""
    pytest.importorskip("sklearn", reason="scikit-learn is not installed; pip install 'xprop[sklearn]'")
    text = (ROOT / "README.md").read_text()
    example = re.search(r"```python\n(from sklearn.datasets import load_digits\n.*?)```", text, re.S)
    assert example, "README.md lost its scikit-learn example"
    namespace = {}
    exec(compile(example.group(1), "README.md", "exec"), namespace)
    assert namespace["model"].score(namespace["X_test"], namespace["y_test"]) > 0.9
