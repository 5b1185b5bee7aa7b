"""The project's Markdown files hold together: every relative link ``[text](path#anchor)`` between
them reaches a file that exists and, with an anchor, a heading of that file by GitHub's rules; the
README stays a front page of at most 300 lines; every setting is in docs/SETTINGS.md with its
environment twin."""

from __future__ import annotations

import re
import subprocess
import unicodedata
import unittest
from pathlib import Path
from urllib.parse import unquote

from support import ROOT

from algokart_chat.options import OPTIONS

README_MOST_LINES = 300
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)  # a code span may go on over a line break
LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # https:, mailto:, ...
SKIPPED_FOLDERS = {"node_modules", "dist", "build"}


def markdown_files() -> list[Path]:
    """The tracked *.md files (git ls-files); without git, those of the tree outside hidden
    folders, virtual environments and build output."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", "*.md"], cwd=ROOT, capture_output=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        listed = b""
    if listed:
        return sorted(ROOT / name for name in listed.decode("utf-8").split("\0") if name)
    found = []
    for path in ROOT.rglob("*.md"):
        folders = path.relative_to(ROOT).parts[:-1]
        if any(part.startswith(".") or part in SKIPPED_FOLDERS for part in folders):
            continue
        if any((ROOT.joinpath(*folders[: i + 1]) / "pyvenv.cfg").exists() for i in range(len(folders))):
            continue
        found.append(path)
    return sorted(found)


def prose_lines(text: str) -> list[str]:
    """The lines of ``text`` outside fenced code blocks, where ``#`` starts a comment, not a heading."""
    lines = []
    fence = ""
    for line in text.splitlines():
        opened = FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = ""
            continue
        if opened:
            fence = opened.group(1)
            continue
        lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text as rendered (links as their text, no code or emphasis
    marks), lower case, every character but letters, marks, digits, ``_``, ``-`` and spaces removed,
    each space a ``-``."""
    text = LINK.sub(lambda found: found.group(1), heading).lower()
    kept = "".join(char for char in text if char in " -_" or unicodedata.category(char)[0] in "LMN")
    return kept.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor; the second of a name gets ``-1``, the third ``-2``, and so on."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose_lines(text):
        heading = HEADING.match(line)
        if heading is None:
            continue
        base = slug(heading.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> list[str]:
    """The targets of the links in ``text``'s prose (not in code blocks or code spans), paragraph
    by paragraph: a link's text may go on over a line break."""
    targets = []
    for paragraph in re.split(r"\n[ \t]*\n", "\n".join(prose_lines(text))):
        targets += [found.group(2) for found in LINK.finditer(CODE_SPAN.sub("", paragraph))]
    return targets


def broken_links(source: Path) -> list[str]:
    """Each relative link of ``source`` that leads nowhere, with the reason."""
    broken = []
    for target in links(source.read_text(encoding="utf-8")):
        if not target or EXTERNAL.match(target):
            continue
        path, _, anchor = target.partition("#")
        destination = (source.parent / unquote(path)).resolve() if path else source
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md":
            if unquote(anchor) not in anchors(destination.read_text(encoding="utf-8")):
                broken.append(f"{target}: no such heading in {destination.relative_to(ROOT)}")
        elif anchor:
            broken.append(f"{target}: an anchor into a file that is not Markdown")
    return broken


class SlugTest(unittest.TestCase):
    def test_githubs_rules(self) -> None:
        self.assertEqual(slug("Running it as a service"), "running-it-as-a-service")
        self.assertEqual(slug("Fairness under load, measured"), "fairness-under-load-measured")
        self.assertEqual(
            slug("Memory in Redis, and one node's flood on another"), "memory-in-redis-and-one-nodes-flood-on-another"
        )
        self.assertEqual(slug("Order: PING as a sync point"), "order-ping-as-a-sync-point")
        self.assertEqual(slug("The `--max-clients` limit"), "the---max-clients-limit")
        self.assertEqual(slug("snake_case and Zoë"), "snake_case-and-zoë")
        self.assertEqual(slug("[A link](elsewhere.md) here"), "a-link-here")

    def test_duplicates_are_numbered_and_code_blocks_are_not_headings(self) -> None:
        text = "# Title\n## Notes\n```sh\n# a comment\n```\n## Notes\n### Notes\n"
        self.assertEqual(anchors(text), {"title", "notes", "notes-1", "notes-2"})

    def test_links_in_code_are_not_links(self) -> None:
        text = '[a](a.md) `[b](b.md)`\n```\n[c](c.md)\n```\n[d](d.md#e "title") `code\n[f](f.md)`\n'
        self.assertEqual(links(text), ["a.md", "d.md#e"])

    def test_a_link_text_may_go_on_over_a_line_break(self) -> None:
        self.assertEqual(links("see [the long\nname](a.md#b), or\n\n[c](c.md)\n"), ["a.md#b", "c.md"])


class MarkdownLinksTest(unittest.TestCase):
    def test_the_project_has_its_documents(self) -> None:
        names = {path.relative_to(ROOT).as_posix() for path in markdown_files()}
        for expected in ("README.md", "CHANGELOG.md", "CONTRIBUTING.md", "docs/OPERATIONS.md", "docs/SETTINGS.md"):
            self.assertIn(expected, names)

    def test_every_relative_link_and_anchor_resolves(self) -> None:
        for source in markdown_files():
            with self.subTest(source=source.relative_to(ROOT).as_posix()):
                self.assertEqual(broken_links(source), [])

    def test_the_readme_lists_every_document(self) -> None:
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        for path in markdown_files():
            name = path.relative_to(ROOT).as_posix()
            if name != "README.md":
                self.assertIn(f"]({name})", readme, f"README's links miss {name}")


class FrontPageTest(unittest.TestCase):
    def test_the_readme_is_a_front_page(self) -> None:
        lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
        self.assertLessEqual(len(lines), README_MOST_LINES, "move detail to docs/ and link it")

    def test_the_readme_keeps_the_two_commands(self) -> None:
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        self.assertIn("python src/server.py\n", readme)
        self.assertIn("python -m unittest discover -s tests -v\n", readme)

    def test_the_layout_draws_every_module_of_the_package_on_a_line_of_its_own(self) -> None:
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
        first_words = {
            line.split()[0]
            for line in layout.splitlines()
            if line.strip() and line[0] in " _abcdefghijklmnopqrstuvwxyz"
        }
        package = ROOT / "src" / "algokart_chat"
        modules = {path.name for path in package.rglob("*.py") if path.name != "__init__.py"}
        folders = {f"{path.name}/" for path in package.iterdir() if path.is_dir() and path.name != "__pycache__"}
        self.assertEqual((modules | folders) - first_words, set())

    def test_every_setting_is_documented_with_its_environment_twin(self) -> None:
        settings = (ROOT / "docs" / "SETTINGS.md").read_text(encoding="utf-8")
        for option in OPTIONS:
            self.assertIn(f"| `{option.flag}` | `{option.env}` |", settings)


if __name__ == "__main__":
    unittest.main()
