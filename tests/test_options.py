"""Unit tests of the table of settings (options.py): every option's flag and environment twin
follow one rule and are unique, every default is a value its reader accepts, the table and
``config.Settings`` hold the same fields, and each reader refuses bad text with a one-line reason.
How config reads them (flag, then environment, then default): test_config; every setting in
docs/SETTINGS.md: test_docs; the server's --help: test_process."""

from __future__ import annotations

import dataclasses
import logging
import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.config import Settings
from algokart_chat.options import OPTIONS, Option, yes_or_no


def option(flag: str) -> Option:
    return next(candidate for candidate in OPTIONS if candidate.flag == flag)


class TableTest(unittest.TestCase):
    def test_each_environment_twin_is_its_flag_in_capitals(self) -> None:
        for each in OPTIONS:
            with self.subTest(flag=each.flag):
                self.assertRegex(each.flag, r"^--[a-z0-9]+(-[a-z0-9]+)*$")
                self.assertEqual(each.env, each.flag[2:].upper().replace("-", "_"))

    def test_flags_twins_and_fields_are_unique(self) -> None:
        for name in ("flag", "env", "field"):
            values = [getattr(each, name) for each in OPTIONS]
            self.assertEqual(len(values), len(set(values)), name)

    def test_the_table_and_the_settings_hold_the_same_fields(self) -> None:
        self.assertEqual([each.field for each in OPTIONS], [field.name for field in dataclasses.fields(Settings)])

    def test_every_default_is_accepted_by_its_reader(self) -> None:
        for each in OPTIONS:
            with self.subTest(flag=each.flag):
                each.parse(each.default)  # (raises ValueError if not)

    def test_every_help_is_one_line(self) -> None:
        for each in OPTIONS:
            with self.subTest(flag=each.flag):
                self.assertTrue(each.help)
                self.assertNotIn("\n", each.help)


class ReadersTest(unittest.TestCase):
    def refused(self, flag: str, raw: str) -> str:
        with self.assertRaises(ValueError) as caught:
            option(flag).parse(raw)
        reason = str(caught.exception)
        self.assertNotIn("\n", reason)
        return reason

    def test_whole_numbers_within_their_range(self) -> None:
        self.assertEqual((option("--port").parse("0"), option("--port").parse("65535")), (0, 65535))
        for raw in ("65536", "-1", "4k", " 80", "+80", "٣"):  # (an Arabic-Indic digit is no ASCII digit)
            with self.subTest(raw=raw):
                self.assertEqual(self.refused("--port", raw), "expected a whole number from 0 to 65535")

    def test_seconds_are_plain_decimals(self) -> None:
        self.assertEqual(
            [option("--idle-timeout").parse(raw) for raw in ("600", "0.5", ".5", "3.")], [600, 0.5, 0.5, 3]
        )
        for raw in ("nan", "inf", "1e3", "-1", "soon", ""):
            with self.subTest(raw=raw):
                self.assertIn("(0 turns it off)", self.refused("--idle-timeout", raw))

    def test_an_empty_optional_value_is_none(self) -> None:
        for flag in ("--host", "--tls-port", "--redis-url", "--accounts", "--bans"):
            with self.subTest(flag=flag):
                self.assertIsNone(option(flag).parse(""))
        self.assertEqual(self.refused("--host", "a b"), "expected a host name or IP address")

    def test_yes_or_no_in_any_case(self) -> None:
        self.assertEqual([yes_or_no(raw) for raw in ("yes", "TRUE", "On", "1")], [True] * 4)
        self.assertEqual([yes_or_no(raw) for raw in ("no", "False", "OFF", "0")], [False] * 4)
        with self.assertRaisesRegex(ValueError, "expected yes or no"):
            yes_or_no("maybe")

    def test_names_and_levels(self) -> None:
        self.assertEqual(option("--irc-channel").parse("#chat"), "#chat")
        for raw in ("chat", "#a b", "#a,b", "#a:b", "#" + "c" * 50):
            with self.subTest(raw=raw):
                self.assertIn("such as #chat", self.refused("--irc-channel", raw))
        self.assertEqual(option("--irc-server-name").parse("irc.example.org"), "irc.example.org")
        self.assertIn("host name", self.refused("--irc-server-name", "-bad"))
        self.assertEqual(
            (option("--log-level").parse("debug"), option("--log-format").parse("JSON")), (logging.DEBUG, "json")
        )
        self.assertIn("DEBUG, INFO", self.refused("--log-level", "loud"))
        self.assertEqual(self.refused("--log-format", "xml"), "expected text or json")


if __name__ == "__main__":
    unittest.main()
