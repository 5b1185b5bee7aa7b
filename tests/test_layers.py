"""The package's layers (``algokart_chat/__init__.py``): every import of a module of ours runs down;
the house rule that keeps every part small enough to read: no module over MAX_MODULE_LINES lines,
no class over MAX_CLASS_LINES (CONTRIBUTING.md, *Code map*); and the tests mirror the modules:
every module has a test file named after it (CONTRIBUTING.md, *Code map*), but those of
NOT_NAMED."""

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
    ("command", "main", "client", "__main__", "accounts_cli"),
)  # fmt: skip


FOLDERS = ("cluster", "server", "sessions", "transport")

MAX_MODULE_LINES = 450
MAX_CLASS_LINES = 350
GENERATED = ("unicode_tables",)  # generated data (tools/build_unicode_tables.py): no rule of size
TESTS = SRC.parent / "tests"
# The modules with no test file named after them: the file that tests them instead, and why.
NOT_NAMED: dict[str, tuple[str, str]] = {
    "transport.interfaces": ("test_connection", "Protocols only: tested through their implementations"),
    "unicode_tables": ("test_names", "generated: test_names checks it is what its builder makes of Unicode's data"),
    "__main__": ("test_accounts_cli", "two statements: test_accounts_cli runs python -m algokart_chat"),
    "cluster.room_redis": ("test_room_contract", "the room's coordinator: the room's rules run on both rooms"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_files(module: str) -> tuple[str, str]:
    """The names a test file of ``module`` may have: ``test_<module>`` (with the folder's name
    before it in cluster/ and client/) and ``test_<module>_end_to_end``."""
    parts = module.split(".")
    name = "_".join(parts) if parts[0] in ("cluster", "client") else parts[-1]
    return f"test_{name}.py", f"test_{name}_end_to_end.py"


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


class MirrorTest(unittest.TestCase):
    def modules(self) -> list[str]:
        return [module_name(path) for path in sorted(PACKAGE.rglob("*.py")) if path.name != "__init__.py"]

    def test_every_module_has_a_test_file_named_after_it(self) -> None:
        missing = [
            f"{module}: tests/{' or '.join(test_files(module))} (or in NOT_NAMED, with the reason)"
            for module in self.modules()
            if module not in NOT_NAMED and not any((TESTS / name).exists() for name in test_files(module))
        ]
        self.assertEqual(missing, [])

    def test_each_module_not_named_is_one_and_its_tests_exist(self) -> None:
        modules = self.modules()
        for module, (tests, reason) in NOT_NAMED.items():
            with self.subTest(module=module):
                self.assertIn(module, modules)
                self.assertFalse(any((TESTS / name).exists() for name in test_files(module)), "named now: drop it")
                self.assertTrue((TESTS / f"{tests}.py").exists(), tests)
                self.assertTrue(reason)

    def test_the_names_follow_the_folder_rule(self) -> None:
        self.assertEqual(test_files("server.output"), ("test_output.py", "test_output_end_to_end.py"))
        self.assertEqual(test_files("cluster.link")[0], "test_cluster_link.py")
        self.assertEqual(test_files("client.terminal")[0], "test_client_terminal.py")


if __name__ == "__main__":
    unittest.main()
