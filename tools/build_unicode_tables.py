"""Build ``src/algokart_chat/unicode_tables.py``, the Unicode data the name rules need, from Unicode's own files.

    python tools/build_unicode_tables.py CONFUSABLES DERIVED_CORE_PROPERTIES DERIVED_AGE
    python tools/build_unicode_tables.py --check CONFUSABLES DERIVED_CORE_PROPERTIES DERIVED_AGE

- ``confusables.txt`` (Unicode Security Mechanisms, UTS #39: https://www.unicode.org/Public/security/)
  gives each character's prototype, the character or string it looks like.
- ``DerivedCoreProperties.txt`` (the Unicode Character Database; Debian's ``unicode-data`` package
  has it in /usr/share/unicode/) gives ``Default_Ignorable_Code_Point``, the invisible characters.
- ``DerivedAge.txt`` (the same) gives the Unicode version of each character: a confusable whose
  prototype has a character newer than ``OLDEST_UNICODE`` (Python 3.10's) is left out, so that
  every Python normalizes and case-folds every prototype alike and all nodes agree on keys.

The output is formatted as ``ruff format`` would, so that the check stays exact.  ``--check``
exits 1 if the committed table differs from what the files give.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "src" / "unicode_tables.py"
OLDEST_UNICODE = (13, 0)  # unicodedata's version in Python 3.10, the oldest the server runs on
_VERSION = re.compile(r"^#\s*(?:Version:\s*|DerivedCoreProperties-|DerivedAge-)([0-9]+\.[0-9]+\.[0-9]+)", re.MULTILINE)


def data_version(text: str) -> str:
    """The Unicode version a data file says it is (its ``# Version:`` or file-name line)."""
    found = _VERSION.search(text)
    if found is None:
        raise ValueError("no version line in the data file")
    return found.group(1)


def _records(text: str) -> list[list[str]]:
    """The fields of each data line: comments and blank lines left out."""
    records = []
    for line in text.splitlines():
        data = line.split("#", 1)[0].strip()
        if data:
            records.append([field.strip() for field in data.split(";")])
    return records


def confusables(text: str) -> dict[str, str]:
    """confusables.txt as ``{source: prototype}`` (every line is of type ``MA``)."""
    table = {}
    for source, prototype, *_ in _records(text):
        table[chr(int(source, 16))] = "".join(chr(int(point, 16)) for point in prototype.split())
    if "\n" in table or "\n" in "".join(table.values()):
        raise ValueError("a line feed in confusables.txt: the packed table separates entries with it")
    return table


def _points(field: str) -> range:
    first, _, last = field.partition("..")
    return range(int(first, 16), int(last or first, 16) + 1)


def known_to_oldest(age_text: str) -> set[str]:
    """The characters DerivedAge.txt says were assigned by ``OLDEST_UNICODE``."""
    known: set[str] = set()
    for points, age, *_ in _records(age_text):
        if tuple(map(int, age.split("."))) <= OLDEST_UNICODE:
            known.update(map(chr, _points(points)))
    return known


def default_ignorable(text: str) -> list[tuple[int, int]]:
    """The code points with ``Default_Ignorable_Code_Point``, as sorted, merged inclusive ranges."""
    ranges: list[tuple[int, int]] = []
    for points, prop, *_ in _records(text):
        if prop == "Default_Ignorable_Code_Point":
            ranges.append((_points(points)[0], _points(points)[-1]))
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return merged


def _literal(text: str) -> str:
    """``text`` as a double-quoted ASCII literal, every other character escaped."""
    out = []
    for char in text:
        point = ord(char)
        if 0x20 <= point < 0x7F and char not in '"\\':
            out.append(char)
        elif char == "\n":
            out.append("\\n")
        elif point <= 0xFF:
            out.append(f"\\x{point:02x}")
        elif point <= 0xFFFF:
            out.append(f"\\u{point:04x}")
        else:
            out.append(f"\\U{point:08x}")
    return '"' + "".join(out) + '"'


def _packed(entries: list[str]) -> list[str]:
    """``"\\n".join(entries)`` as the lines of implicitly joined literals, 8 entries to a line."""
    lines = []
    for start in range(0, len(entries), 8):
        chunk = entries[start : start + 8]
        last = start + 8 >= len(entries)
        lines.append("    " + _literal("\n".join(chunk) + ("" if last else "\n")))
    return lines


def build(confusables_text: str, properties_text: str, age_text: str) -> str:
    """The text of ``src/algokart_chat/unicode_tables.py`` for these three data files."""
    confusables_version, properties_version = data_version(confusables_text), data_version(properties_text)
    ranges = default_ignorable(properties_text)
    known = known_to_oldest(age_text)
    mapping = {
        source: prototype for source, prototype in confusables(confusables_text).items() if set(prototype) <= known
    }
    oldest = ".".join(map(str, OLDEST_UNICODE))
    lines = [
        '"""Unicode data for the name rules (``names.py``).  GENERATED: do not edit.',
        "",
        "Built by tools/build_unicode_tables.py from Unicode's data files:",
        f"- confusables.txt {confusables_version} (UTS #39, Unicode Security Mechanisms): ``CONFUSABLES``, less",
        f"  the few whose prototype has a character newer than Unicode {oldest} (DerivedAge.txt {data_version(age_text)});",
        f"- DerivedCoreProperties.txt {properties_version}: ``DEFAULT_IGNORABLE``.",
        "",
        "Unicode data: Copyright (c) 1991-2025 Unicode, Inc., under the Unicode License v3",
        "(LICENSES/Unicode-3.0.txt).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Final",
        "",
        f'CONFUSABLES_VERSION: Final = "{confusables_version}"',
        f'DEFAULT_IGNORABLE_VERSION: Final = "{properties_version}"',
        "",
        "# Default_Ignorable_Code_Point: invisible characters (fillers, zero widths, format characters,",
        "# variation selectors ...), as sorted inclusive ranges of code points.",
        "DEFAULT_IGNORABLE: Final[tuple[tuple[int, int], ...]] = (",
        *(f"    (0x{low:04X}, 0x{high:04X})," for low, high in ranges),
        ")",
        "",
        "# confusables.txt, packed (a dict literal this size takes 20 ms to compile): one entry a line,",
        "# each a character that looks like another, then the prototype (a character or a string) that",
        "# stands for it in a skeleton.  ``names.py`` reads it into a dict.",
        "CONFUSABLES: Final = (",
        *_packed([source + prototype for source, prototype in mapping.items()]),
        ")",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("confusables", type=Path, help="confusables.txt (UTS #39)")
    parser.add_argument("properties", type=Path, help="DerivedCoreProperties.txt")
    parser.add_argument("age", type=Path, help="DerivedAge.txt")
    parser.add_argument("--check", action="store_true", help="only compare with the committed table")
    args = parser.parse_args(argv)
    text = build(*(path.read_text(encoding="utf-8-sig") for path in (args.confusables, args.properties, args.age)))
    if args.check:
        same = TABLE.read_text(encoding="utf-8") == text
        print(f"{TABLE.relative_to(ROOT)} is {'up to date' if same else 'NOT what the data gives'}")
        return 0 if same else 1
    TABLE.write_text(text, encoding="utf-8")
    print(f"wrote {TABLE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
