"""The package's shape holds: no import cycle, nothing below the command line imports it, each command imports
only what its extra declares, the public API needs neither TensorFlow nor the command line, and docs/layout.md
lists the modules as they are."""

import subprocess
import sys

from conftest import ROOT

from tools.import_graph import cycles, module_graph, upward_imports


def test_the_package_has_no_import_cycle_and_the_library_never_imports_the_command_line():
    graph = module_graph()
    assert len(graph) > 40 and "maskdetect.cli.video" in graph
    assert cycles(graph) == []
    assert upward_imports(graph) == []


def test_the_import_graph_tool_finds_a_cycle_and_an_upward_import(tmp_path):
    package = tmp_path / "maskdetect"
    (package / "cli").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from maskdetect import b\n")
    (package / "b.py").write_text("def f():\n    from maskdetect.a import g\n")
    (package / "cli" / "__init__.py").write_text("")
    (package / "cli" / "common.py").write_text("import maskdetect.a\n")
    (package / "c.py").write_text("from maskdetect.cli.common import x\n")
    graph = module_graph(tmp_path)
    assert cycles(graph) == [["maskdetect.a", "maskdetect.b"]]
    assert upward_imports(graph) == [("maskdetect.c", "maskdetect.cli.common")]


def test_the_public_api_imports_neither_tensorflow_nor_the_command_line():
    code = "import sys, maskdetect.api; print(sorted(m for m in sys.modules if m.startswith(('tensorflow', 'maskdetect.cli'))))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _third_party(module, root=ROOT):
    """The top-level names of what ``module`` imports from outside the standard library and the package."""
    import ast

    path = root / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = root / module.replace(".", "/") / "__init__.py"
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name != "maskdetect"}


def _declared():
    """(detection, training, Ray) requirements from pyproject.toml, as normalised distribution names."""
    import re

    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(requirements):
        return {re.split(r"[<>=!~\[ ;]", requirement)[0].lower().replace("_", "-") for requirement in requirements}

    extras = project["optional-dependencies"]
    return names(project["dependencies"]), names(extras["train"]), names(extras["ray"]) | names(extras["mqtt"])


def test_each_command_imports_only_what_its_extra_declares():
    from importlib.metadata import packages_distributions

    distributions = {name: {d.lower().replace("_", "-") for d in dists} for name, dists in packages_distributions().items()}
    graph = module_graph()
    detection, training, cluster = _declared()
    # The Keras backend is the one part of detection that needs the training extra (it says so when missing).
    keras_backend = {"maskdetect.classify.keras_backend", "maskdetect.quiet_tensorflow"}
    commands = {
        "image": detection,
        "video": detection,
        "evaluate": detection,
        "face_check": detection,
        "train": detection | training,
        "export": detection | training,
        "label_review": detection | training,
        "label": detection,
    }
    for command, allowed in commands.items():
        reached, todo = set(), [f"maskdetect.cli.{command}"]
        while todo:
            module = todo.pop()
            if module in reached or (allowed is detection and module in keras_backend):
                continue
            reached.add(module)
            todo.extend(graph[module])
        for module in reached:
            # --ray runs maskdetect.cluster, the one part that needs the ray extra (it says so when missing).
            extra = allowed | cluster if module.startswith(("maskdetect.cluster", "maskdetect.video.mqtt")) else allowed
            for name in _third_party(module):
                assert distributions.get(name, set()) & extra, f"{command} imports {name}, which its extra does not declare"
    outside = {module for module in graph if not module.startswith("maskdetect.cluster")}
    assert not any({"ray", "pyarrow"} & _third_party(module) for module in outside), "only maskdetect.cluster imports Ray"
    assert "imutils" not in detection | training  # said in the README: not used, and why


def test_the_module_list_in_docs_layout_is_the_codes():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "layout.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
