#!/usr/bin/env python3
"""The package's module list in docs/layout.md, made from the code: each module with the first sentence of its
docstring, packages in the order data flows through them.

    python tools/layout.py            print the list
    python tools/layout.py --write    rewrite it in docs/layout.md (between its two markers)
    python tools/layout.py --check    exit 1 when docs/layout.md's list is not the code's
"""

import argparse
import ast
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "maskdetect"
DOC = ROOT / "docs" / "layout.md"
START = "<!-- modules: made by tools/layout.py from the docstrings; do not edit by hand -->"
END = "<!-- end of modules -->"
# Subpackages in the order data flows through them; the command line on top, last.
ORDER = ["io", "detect", "classify", "video", "serve", "cluster", "training", "evaluation", "cli"]
NAME_WIDTH = 24
WIDTH = 110


def first_sentence(path):
    """The first sentence of a module's docstring ('' without one)."""
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    text = " ".join(docstring.split("\n\n")[0].split())
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def entry(name, text, indent):
    """One module's line(s): its name, then its sentence wrapped under itself."""
    lead = " " * indent + name
    lines = textwrap.wrap(text, WIDTH - NAME_WIDTH) or [""]
    first = f"{lead:<{NAME_WIDTH}}{lines[0]}" if len(lead) < NAME_WIDTH else f"{lead} {lines[0]}"
    return [first.rstrip()] + [" " * NAME_WIDTH + line for line in lines[1:]]


def module_list():
    """The module list as text, one package after another."""
    lines = ["maskdetect/"]
    for path in sorted(PACKAGE.glob("*.py")):
        lines += entry(path.name, first_sentence(path), 2)
    packages = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    for package in sorted(packages, key=lambda name: (ORDER.index(name) if name in ORDER else len(ORDER), name)):
        folder = PACKAGE / package
        lines += entry(f"{package}/", first_sentence(folder / "__init__.py"), 2)
        for path in sorted(folder.glob("*.py")):
            if path.name != "__init__.py":
                lines += entry(path.name, first_sentence(path), 4)
    return "\n".join(["```", *lines, "```"])


def with_list(document, listing):
    """``document`` with the text between its markers replaced by ``listing``."""
    if START not in document or END not in document:
        raise SystemExit(f"{DOC} has no {START!r} ... {END!r} markers")
    head, rest = document.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{listing}\n{END}{tail}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="rewrite the list in docs/layout.md")
    action.add_argument("--check", action="store_true", help="exit 1 when docs/layout.md's list is not the code's")
    args = parser.parse_args()
    listing = module_list()
    document = DOC.read_text(encoding="utf-8")
    if args.write:
        DOC.write_text(with_list(document, listing), encoding="utf-8")
    elif args.check:
        if with_list(document, listing) != document:
            print(f"{DOC} lists other modules than the code has: run python tools/layout.py --write", file=sys.stderr)
            return 1
    else:
        print(listing)
    return 0


if __name__ == "__main__":
    sys.exit(main())
