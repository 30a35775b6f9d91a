"""Command lines generated from the settings classes (maskdetect.settings), and settings read back from them."""

from __future__ import annotations

import argparse
from typing import Any, TypeVar

from maskdetect.settings import options_of, with_values

Settings = TypeVar("Settings")

# The argparse settings an option's metadata may carry besides its flags, help and group.
_ARGPARSE_KEYS = ("type", "choices", "metavar", "nargs", "action", "const")


def add_options(parser: argparse.ArgumentParser, defaults: Any, only: tuple[str, ...] | None = None) -> None:
    """Add every option of the settings object ``defaults`` (its values are the defaults shown) to ``parser``,
    each in its argument group; with ``only``, just the options of those fields."""
    groups: dict[str, Any] = {}
    for name, spec, default in options_of(defaults):
        if only is not None and name not in only:
            continue
        group = spec["group"]
        target = parser if group is None else groups.setdefault(group, parser.add_argument_group(group))
        settings = {key: spec[key] for key in _ARGPARSE_KEYS if spec.get(key) is not None}
        if "metavar" not in settings and "choices" not in settings and spec.get("action") in (None, "append"):
            # Named after the option, as argparse names it, whatever the field is called.
            settings["metavar"] = spec["flags"][-1].lstrip("-").replace("-", "_").upper()
        if spec.get("action") == "append" and default:
            # An option given again and again starts from nothing, not from its default's items.
            default = None
        target.add_argument(*spec["flags"], dest=name, default=default, help=spec["help"], **settings)


def read_options(defaults: Settings, args: argparse.Namespace) -> Settings:
    """``defaults`` with the value of each of its options that ``args`` holds (an option repeated with
    ``append`` and never given keeps its default)."""
    values = {
        name: getattr(args, name)
        for name, spec, _ in options_of(defaults)
        if hasattr(args, name) and not (spec.get("action") == "append" and getattr(args, name) is None)
    }
    return with_values(defaults, values)
