#!/usr/bin/env python3
"""The package's import graph: every import of one maskdetect module by another, lazy ones included.

Prints each module with what it imports, then the cycles and the upward imports (a library module
importing the command line, maskdetect.cli); exits 1 when there is either. Run from the clone:

    python tools/import_graph.py
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "maskdetect"
# The command line: it sits on top, and nothing below it may import it. ``python -m maskdetect`` belongs to it.
COMMAND_LINE = ("maskdetect.cli", "maskdetect.__main__")


def module_name(path, root=ROOT):
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_graph(root=ROOT):
    """{module: set of the package's modules it imports}."""
    paths = {module_name(path, root): path for path in sorted((root / PACKAGE).rglob("*.py"))}
    graph = {}
    for name, path in paths.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # "from maskdetect.x import y" imports maskdetect.x, or the module maskdetect.x.y.
                targets = [
                    f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in paths else node.module
                    for alias in node.names
                ]
            else:
                continue
            imported.update(target for target in targets if target in paths and target != name)
        graph[name] = imported
    return graph


def cycles(graph):
    """The groups of modules that import each other, directly or not (Tarjan's strongly connected components)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def is_command_line(name):
    return any(name == part or name.startswith(part + ".") for part in COMMAND_LINE)


def upward_imports(graph):
    """(module, command-line module) pairs where a library module imports the command line."""
    return sorted(
        (name, target)
        for name, targets in graph.items()
        if not is_command_line(name)
        for target in targets
        if is_command_line(target)
    )


def main():
    graph = module_graph()
    for name in sorted(graph):
        print(f"{name} -> {', '.join(sorted(graph[name])) or '(nothing of ours)'}")
    found, upward = cycles(graph), upward_imports(graph)
    print(
        f"\n{len(graph)} modules, {sum(map(len, graph.values()))} imports, "
        f"{len(found)} import cycles, {len(upward)} upward imports"
    )
    for group in found:
        print("cycle:", " <-> ".join(group))
    for name, target in upward:
        print(f"upward: {name} imports {target}")
    return 1 if found or upward else 0


if __name__ == "__main__":
    sys.exit(main())
