"""The versions live in two places: exact pins in the requirements files, ranges in pyproject.toml. They agree,
list by list: the same packages (with the same extras) in each pair, and every pin inside its range."""

import pytest
import tomllib
from conftest import ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = "maskdetect"
# Each list of pyproject.toml and the requirements file whose own lines pin it; its -r lines include other lists.
PINNED_BY = {
    "dependencies": "requirements-detect.txt",
    "train": "requirements.txt",
    "ray": "requirements-ray.txt",
    "mqtt": "requirements-mqtt.txt",
    "dev": "requirements-dev.txt",
}


def read_requirements(name):
    """(the requirements on a file's own lines, the files its -r lines include)."""
    pins, included = [], []
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            included.append(line.removeprefix("-r ").strip())
        elif line:
            pins.append(Requirement(line))
    return pins, included


def declared(name):
    """The requirements of one list of pyproject.toml: the dependencies or an extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    texts = project["dependencies"] if name == "dependencies" else project["optional-dependencies"][name]
    return [Requirement(text) for text in texts]


def by_package(requirements):
    """{(normalised name, extras): requirement}, each package once."""
    keyed = {(canonicalize_name(r.name), frozenset(r.extras)): r for r in requirements}
    assert len(keyed) == len(requirements), f"a package is listed twice in {[str(r) for r in requirements]}"
    return keyed


def test_every_requirements_file_pins_exact_versions():
    for name in PINNED_BY.values():
        for pin in read_requirements(name)[0]:
            assert len(pin.specifier) == 1 and next(iter(pin.specifier)).operator == "==", f"{name}: {pin} is no pin"


@pytest.mark.parametrize("listed", PINNED_BY)
def test_a_pyproject_list_and_its_requirements_file_hold_the_same_packages_each_pin_in_its_range(listed):
    name = PINNED_BY[listed]
    ranges = by_package([r for r in declared(listed) if canonicalize_name(r.name) != PROJECT])
    pins = by_package(read_requirements(name)[0])
    assert sorted(set(ranges) - set(pins)) == [], f"in pyproject.toml's {listed} but not pinned in {name}"
    assert sorted(set(pins) - set(ranges)) == [], f"pinned in {name} but not in pyproject.toml's {listed}"
    for package, pin in pins.items():
        version = next(iter(pin.specifier)).version
        assert ranges[package].specifier.contains(version, prereleases=True), (
            f"{name} pins {pin}, outside pyproject.toml's {listed}: {ranges[package]}"
        )


def test_the_extras_include_what_their_requirements_files_include():
    for listed in ("train", "ray", "mqtt"):
        assert read_requirements(PINNED_BY[listed])[1] == [PINNED_BY["dependencies"]], PINNED_BY[listed]
    # dev installs the project with other extras; its requirements file includes those extras' files.
    extras = [sorted(r.extras) for r in declared("dev") if canonicalize_name(r.name) == PROJECT]
    assert extras == [sorted(listed for listed, name in PINNED_BY.items() if name in read_requirements(PINNED_BY["dev"])[1])]
