"""The package's layers (``algokart_chat/__init__.py``): every import of a module of ours runs down;
and the house rule that keeps every part small enough to read: no module over MAX_MODULE_LINES
lines, no class over MAX_CLASS_LINES (CONTRIBUTING.md, *Code map*)."""

from __future__ import annotations

import ast
import unittest
from pathlib import Path

from support import SRC

PACKAGE = SRC / "algokart_chat"
# The layers, lowest first, as the package's docstring lists them; a module is in the first whose
# prefix it has.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "framing", "protocol", "irc", "names", "unicode_tables", "text", "cross_protocol", "events",
        "room", "token_bucket", "version", "config", "options", "logs",
        "cluster.entries", "cluster.scripts", "cluster.target",
        "accounts", "accounts_file", "login_throttle", "history_records", "history", "moderation", "bans_file",
    ),
    ("transport", "password_checks", "moderators"),
    ("sessions",),
    ("room_memory", "cluster"),
    ("server",),
    ("main", "client", "__main__", "accounts_cli"),
)  # fmt: skip


FOLDERS = ("cluster", "server", "sessions", "transport")

MAX_MODULE_LINES = 450
MAX_CLASS_LINES = 350
GENERATED = ("unicode_tables",)  # generated data (tools/build_unicode_tables.py): no rule of size


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    for index, layer in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in layer):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and the package docstring")


def imports_of(path: Path) -> set[str]:
    """The modules of ours that ``path`` imports, by their names under ``algokart_chat``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "algokart_chat":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("algokart_chat."):
                found.add(node.module.removeprefix("algokart_chat."))
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix("algokart_chat.") for a in node.names if a.name.startswith("algokart_chat.")
            )
    return found


class LayersTest(unittest.TestCase):
    def test_every_import_runs_down(self) -> None:
        upward = []
        for path in sorted(PACKAGE.rglob("*.py")):
            module = module_name(path)
            if not module:  # the package's own __init__
                continue
            for imported in sorted(imports_of(path)):
                if imported in FOLDERS:
                    continue  # a folder's __init__: nothing in it
                if layer_of(imported) > layer_of(module):
                    upward.append(f"{module} imports {imported}")
        self.assertEqual(upward, [])

    def test_the_pure_cores_import_no_io(self) -> None:
        io_modules = {"asyncio", "socket", "selectors", "ssl", "subprocess", "threading"}
        for path in sorted(PACKAGE.rglob("*.py")):
            module = module_name(path)
            if not module or layer_of(module) != 0 or module in ("logs", "config", "options"):
                continue  # (logs has its writer thread; config reads the environment it is given)
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = {
                alias.name.split(".")[0]
                for node in ast.walk(tree)
                if isinstance(node, ast.Import)
                for alias in node.names
            }
            names |= {
                node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
            }
            with self.subTest(module=module):
                self.assertEqual(names & io_modules, set())


class SizesTest(unittest.TestCase):
    def test_no_module_is_over_the_most_lines(self) -> None:
        over = []
        for path in sorted(PACKAGE.rglob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if module_name(path) not in GENERATED and lines > MAX_MODULE_LINES:
                over.append(f"{module_name(path)}: {lines} lines (split it into parts of their own)")
        self.assertEqual(over, [])

    def test_no_class_is_over_the_most_lines(self) -> None:
        over = []
        for path in sorted(PACKAGE.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_CLASS_LINES:
                        over.append(f"{module_name(path)}.{node.name}: {lines} lines")
        self.assertEqual(over, [])


if __name__ == "__main__":
    unittest.main()
