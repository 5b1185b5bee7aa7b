"""CI's exact versions (``.ci/constraints.txt``), and what the ends of our version ranges do.

    python tools/pins.py refresh            # newest of every range, on every Python: rewrite the pins
    python tools/pins.py newest             # newest of every range: lint, types, cluster tests; report
    python tools/pins.py oldest             # the floor of every range: types and cluster tests
    python tools/pins.py oldest --types     # the floor: types only (CI runs this)

Users get ranges (``requirements-cluster.txt``, the ``[cluster]`` extra); CI installs exactly the
versions in ``.ci/constraints.txt`` (``pip install -c``), so a new release upstream never turns
``main`` red on its own.  The pins change on purpose only: ``refresh`` installs the newest release of
everything CI installs (``requirements-dev.txt``, ``requirements-cluster.txt`` and the build backend),
into a fresh venv for each CPython 3.10+ on PATH, and writes what each got; a package whose newest
release differs between Pythons gets one line per version, with a ``python_version`` marker.

``newest`` is how the next release is found on purpose: it installs the newest of every range, says
which versions differ from the pins, and runs ruff, mypy and the cluster suite with them; exit status
1 if anything breaks.  ``oldest`` checks the other end: ``redis[hiredis]`` at the floor of its range
(what ``>=`` names), with everything else as pinned.  Both need the network and ``redis-server``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PINS = ROOT / ".ci" / "constraints.txt"
DEV = ROOT / "requirements-dev.txt"
CLUSTER = ROOT / "requirements-cluster.txt"
BUILD_BACKEND = "setuptools"  # as pyproject.toml's [build-system] asks, pinned for CI's wheel build
CLUSTER_TESTS = ["test_cluster_target", "test_cluster", "test_room_contract", "test_cluster_protocol"]
HEADER = """\
# Exactly what CI installs (pip install -c .ci/constraints.txt): the development tools, redis-py and
# hiredis, the test servers from PyPI and the build backend.  Users get the ranges of
# requirements-cluster.txt; these change on purpose only, with `python tools/pins.py refresh`
# (CONTRIBUTING.md says when and how).  Made by tools/pins.py: edit it with that, not by hand.
"""


def requirement_lines(path: Path) -> list[str]:
    """The requirements of a requirements file, without comments and blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def floor_of(requirement: str) -> str:
    """``redis[hiredis]>=5.0.1,<9`` as ``redis[hiredis]==5.0.1``; a requirement without a floor
    as it is."""
    found = re.match(r"([A-Za-z0-9_.\-\[\], ]+?)\s*(?:[<>=!~].*)?$", requirement)
    floor = re.search(r">=\s*([^,;\s]+)", requirement)
    if found is None or floor is None:
        return requirement
    return f"{found.group(1)}=={floor.group(1)}"


def project_name(requirement: str) -> str:
    """The distribution a requirement or a pin names, normalised as PyPI does (``Foo_bar`` and
    ``foo-bar`` are one)."""
    name = re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def pythons() -> list[str]:
    """Every CPython 3.10+ here, as .ci/run finds them: pyenv's where there is pyenv, else the
    ``python3.X`` commands on PATH; the one running this if none."""
    candidates = [shutil.which(f"python3.{minor}") or "" for minor in range(10, 20)]
    if shutil.which("pyenv"):
        root = Path(subprocess.run(["pyenv", "root"], check=True, text=True, capture_output=True).stdout.strip())
        candidates = [str(root / "versions" / f"{release}" / "bin" / "python") for release in _pyenv_releases()]
    found: dict[str, str] = {}
    for candidate in candidates:
        if candidate and (minor := _minor_of(candidate)) and int(minor.split(".")[1]) >= 10:
            found.setdefault(minor, candidate)
    return list(found.values()) or [sys.executable]


def _pyenv_releases() -> list[str]:
    bare = subprocess.run(["pyenv", "versions", "--bare"], check=True, text=True, capture_output=True).stdout
    return [release for release in bare.split() if re.fullmatch(r"3\.\d+\.\d+", release)]


def _minor_of(interpreter: str | Path) -> str:
    """``"3.12"`` for a Python 3.12; empty if ``interpreter`` does not run."""
    command = [str(interpreter), "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"]
    try:
        return subprocess.run(command, check=True, text=True, capture_output=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def run(*command: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in the clone, without CI's PIP_CONSTRAINT: what pip installs here is chosen
    by the action (the newest, the floor), never by the pins in force."""
    print("$", *command, flush=True)
    environment = {name: value for name, value in os.environ.items() if name != "PIP_CONSTRAINT"}
    return subprocess.run([str(part) for part in command], check=check, text=True, cwd=ROOT, env=environment)


def make_venv(interpreter: str, directory: Path) -> Path:
    """A fresh venv in ``directory`` made by ``interpreter``; its Python."""
    run(interpreter, "-m", "venv", directory)
    python = directory / "bin" / "python"
    return python if python.exists() else directory / "Scripts" / "python.exe"


def pip_install(python: Path, *arguments: str | Path) -> None:
    run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *arguments)


def installed(python: Path) -> dict[str, str]:
    """Every distribution in the venv of ``python`` but pip itself, as name: version."""
    listing = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        check=True,
        text=True,
        capture_output=True,
    ).stdout
    versions = dict(line.split("==", 1) for line in listing.splitlines() if "==" in line)
    return {project_name(name): version for name, version in versions.items() if project_name(name) != "pip"}


def pins_text(by_python: dict[str, dict[str, str]]) -> str:
    """The constraints file for what each Python (``"3.10"``: its versions) got."""
    minors = sorted(by_python, key=_minor_number)
    lines = []
    for name in sorted({name for versions in by_python.values() for name in versions}):
        got: dict[str, list[str]] = {}
        for minor in minors:
            if name in by_python[minor]:
                got.setdefault(by_python[minor][name], []).append(minor)
        for version, where in got.items():
            marker = "" if len(got) == 1 else f" ; {_python_range(where, minors)}"
            lines.append(f"{name}=={version}{marker}")
    return HEADER + "\n".join(lines) + "\n"


def _minor_number(minor: str) -> int:
    return int(minor.split(".")[1])


def _python_range(where: list[str], minors: list[str]) -> str:
    """A marker for the Pythons ``where`` (consecutive among ``minors``, as releases that drop
    old Pythons make them): the newest reach past the last one seen, the oldest below the first."""
    first, last = minors.index(where[0]), minors.index(where[-1])
    if where != minors[first : last + 1]:
        return " or ".join(f'python_version == "{minor}"' for minor in where)
    lower = f'python_version >= "{where[0]}"' if first > 0 else ""
    upper = f'python_version < "{minors[last + 1]}"' if last + 1 < len(minors) else ""
    return " and ".join(part for part in (lower, upper) if part)


def refresh(scratch: Path) -> int:
    by_python: dict[str, dict[str, str]] = {}
    for index, interpreter in enumerate(pythons()):
        python = make_venv(interpreter, scratch / f"venv-{index}")
        pip_install(python, "--upgrade", "-r", DEV, "-r", CLUSTER, BUILD_BACKEND)
        by_python[_minor_of(python)] = installed(python)
    before = PINS.read_text(encoding="utf-8") if PINS.exists() else ""
    after = pins_text(by_python)
    PINS.write_text(after, encoding="utf-8")
    print(
        f"{PINS.relative_to(ROOT)}: {'unchanged' if after == before else 'rewritten'} (Python {', '.join(by_python)})"
    )
    return 0


def pinned() -> dict[str, str]:
    """The pins that hold on this Python: name: version."""
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    versions = {}
    for line in requirement_lines(PINS):
        requirement, _, marker = line.partition(";")
        if _marker_holds(marker, here):
            name, _, version = requirement.strip().partition("==")
            versions[project_name(name)] = version
    return versions


def _marker_holds(marker: str, minor: str) -> bool:
    """Whether a marker as ``pins_text`` writes them holds on Python ``minor``."""
    compare = {"==": int.__eq__, ">=": int.__ge__, "<": int.__lt__}
    clause = re.compile(r'\s*python_version\s*(==|>=|<)\s*"(3\.\d+)"\s*')
    for alternative in marker.split(" or ") if marker.strip() else []:
        parts = [clause.fullmatch(part) for part in alternative.split(" and ")]
        if all(part and compare[part[1]](_minor_number(minor), _minor_number(part[2])) for part in parts):
            return True
    return not marker.strip()


def checks(python: Path, *, lint: bool, tests: bool) -> list[str]:
    """Run the checks with the venv of ``python``; the names of those that failed."""
    tools = python.parent
    failed = []
    mypy_cache = python.parent.parent / "mypy-cache"  # not the clone's: other versions, maybe at once
    steps: list[tuple[str, list[str | Path]]] = [("mypy", [tools / "mypy", "--cache-dir", mypy_cache])]
    if lint:
        steps[:0] = [
            ("ruff check", [tools / "ruff", "check", "src", "tests", "bench", "tools"]),
            ("ruff format", [tools / "ruff", "format", "--check", "src", "tests", "bench", "tools"]),
        ]
    for label, command in steps:
        if run(*command, check=False).returncode != 0:
            failed.append(label)
    if tests:
        suite = subprocess.run(
            [str(python), "-m", "unittest", *CLUSTER_TESTS],
            cwd=ROOT / "tests",
            env={**os.environ, "ALGOKART_REQUIRE_CLUSTER_TESTS": "1"},
            check=False,
        )
        if suite.returncode != 0:
            failed.append("the cluster suite")
    return failed


def newest(scratch: Path, *, tests: bool) -> int:
    python = make_venv(sys.executable, scratch / "venv")
    pip_install(python, "--upgrade", "-r", DEV, "-r", CLUSTER, BUILD_BACKEND)
    got, pins = installed(python), pinned()
    changed = [
        f"{name} {pins.get(name, '(not pinned)')} -> {version}"
        for name, version in sorted(got.items())
        if pins.get(name) != version
    ]
    print("newer than the pins:", *(changed or ["nothing"]), sep="\n  ")
    failed = checks(python, lint=True, tests=tests)
    print("with the newest releases:", f"{', '.join(failed)} failed" if failed else "everything passed")
    return 1 if failed else 0


def oldest(scratch: Path, *, tests: bool) -> int:
    python = make_venv(sys.executable, scratch / "venv")
    floors = [floor_of(requirement) for requirement in requirement_lines(CLUSTER)]
    keep = {project_name(requirement) for requirement in floors}
    constraints = scratch / "constraints.txt"
    constraints.write_text(
        "\n".join(line for line in requirement_lines(PINS) if project_name(line) not in keep), encoding="utf-8"
    )
    pip_install(python, "-c", constraints, "mypy", *floors)
    print("the floor of every range:", *floors)
    failed = checks(python, lint=False, tests=tests)
    print("with the oldest releases:", f"{', '.join(failed)} failed" if failed else "everything passed")
    return 1 if failed else 0


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/pins.py", description=__doc__.split("\n\n", 2)[0])
    parser.add_argument("action", choices=("refresh", "newest", "oldest"))
    parser.add_argument("--types", action="store_true", help="newest/oldest: lint and types only, no tests")
    options = parser.parse_args(arguments)
    with tempfile.TemporaryDirectory(prefix="algokart-pins-") as directory:
        scratch = Path(directory)
        if options.action == "refresh":
            return refresh(scratch)
        if options.action == "newest":
            return newest(scratch, tests=not options.types)
        return oldest(scratch, tests=not options.types)


if __name__ == "__main__":
    sys.exit(main())
