"""tools/pins.py: CI's pins as a constraints file, and the floor of a range."""

from __future__ import annotations

import importlib.util
import sys
import unittest

from support import ROOT

from algokart_chat.main import REDIS_PY_NEEDED

_spec = importlib.util.spec_from_file_location("pins", ROOT / "tools" / "pins.py")
assert _spec is not None and _spec.loader is not None
pins = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pins)


class FloorTest(unittest.TestCase):
    def test_the_floor_of_a_range(self) -> None:
        self.assertEqual(pins.floor_of("redis[hiredis]>=5.0.1,<9"), "redis[hiredis]==5.0.1")
        self.assertEqual(pins.floor_of("ruff"), "ruff")

    def test_the_servers_redis_py_floor_is_the_range_users_get(self) -> None:
        floors = [pins.floor_of(line) for line in pins.requirement_lines(pins.CLUSTER)]
        self.assertEqual(floors, [f"redis[hiredis]=={REDIS_PY_NEEDED}"])


class PinsTextTest(unittest.TestCase):
    def test_one_line_per_package_unless_pythons_got_different_versions(self) -> None:
        text = pins.pins_text(
            {
                "3.10": {"coverage": "7.16.2", "ruff": "0.17.6"},
                "3.11": {"coverage": "7.18.0", "ruff": "0.17.6"},
                "3.12": {"coverage": "7.18.0", "ruff": "0.17.6", "librt": "0.17.0"},
            }
        )
        self.assertTrue(text.startswith("#"))
        lines = [line for line in text.splitlines() if not line.startswith("#")]
        self.assertEqual(
            lines,
            [
                'coverage==7.16.2 ; python_version < "3.11"',
                'coverage==7.18.0 ; python_version >= "3.11"',
                "librt==0.17.0",
                "ruff==0.17.6",
            ],
        )

    def test_the_markers_it_writes_hold_where_they_should(self) -> None:
        between = 'python_version >= "3.11" and python_version < "3.13"'
        self.assertEqual(
            [pins._marker_holds(between, minor) for minor in ("3.10", "3.11", "3.12", "3.13")],
            [False, True, True, False],
        )
        self.assertTrue(pins._marker_holds("", "3.14"))

    def test_every_pin_in_the_file_is_exact_and_one_holds_per_package_on_this_python(self) -> None:
        here = f"{sys.version_info[0]}.{sys.version_info[1]}"
        holding: dict[str, int] = {}
        for line in pins.requirement_lines(pins.PINS):
            requirement, _, marker = line.partition(";")
            self.assertRegex(requirement.strip(), r"^[a-z0-9-]+==[0-9][^ ]*$")
            if pins._marker_holds(marker, here):
                name = pins.project_name(requirement)
                holding[name] = holding.get(name, 0) + 1
        self.assertEqual({name for name, count in holding.items() if count != 1}, set())
        self.assertLessEqual({"ruff", "mypy", "coverage", "redis", "hiredis", "setuptools"}, set(holding))


if __name__ == "__main__":
    unittest.main()
