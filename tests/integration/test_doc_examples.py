"""The code the documentation shows runs as written: the README's API example, docs/training.md's model-loading recipe."""

import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT


def test_the_readme_api_example_runs_as_written():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- api example", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    code = "import sys\nsys.modules['tensorflow'] = None\n" + textwrap.dedent(block)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["with_mask", "with_mask"]


@pytest.mark.slow
def test_the_documented_model_loading_recipe_runs_as_written_with_plain_keras():
    readme = (ROOT / "docs" / "training.md").read_text()
    block = readme.split("<!-- model-loading recipe", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    code = textwrap.dedent(block)
    # Nothing of ours may be imported: plain Keras must load the model and read its class names.
    guarded = "import sys\nsys.modules['maskdetect'] = None\n" + code
    result = subprocess.run([sys.executable, "-I", "-c", guarded], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-2] == "['not_a_face', 'with_mask', 'without_mask']"
    assert lines[-1].startswith("(2, 3) [b'")
