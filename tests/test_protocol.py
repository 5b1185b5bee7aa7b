"""Unit tests of the pure line-protocol module: parsing, text, replies, the encoding of room events."""

from __future__ import annotations

import unittest

import support

from algokart_chat import protocol
from algokart_chat.events import Arrived, AwayChanged, Departed, Parted, Said, Told
from algokart_chat.protocol import Command


class ParseTest(unittest.TestCase):
    def test_verb_is_case_insensitive_and_arguments_keep_inner_spacing(self) -> None:
        self.assertEqual(protocol.parse_command("msg  hello   world"), Command("MSG", "hello   world"))
        self.assertEqual(protocol.parse_command("Ping"), Command("PING", ""))
        self.assertEqual(protocol.parse_command("DM\tbob\t hi"), Command("DM", "bob\t hi"))

    def test_only_ascii_case_folding(self) -> None:
        self.assertEqual(protocol.parse_command("logın x").verb, "logın")

    def test_split_word(self) -> None:
        self.assertEqual(protocol.split_word("bob  hi  there"), ("bob", "hi  there"))
        self.assertEqual(protocol.split_word("bob"), ("bob", ""))


class ReplyTest(unittest.TestCase):
    def test_wire_lines(self) -> None:
        self.assertEqual(protocol.with_text(protocol.message_prefix("Naman"), "hi all"), b"MSG Naman hi all\n")
        self.assertEqual(protocol.with_text(protocol.direct_prefix("José"), "é"), "DM José é\n".encode())
        self.assertEqual(protocol.user_line("Yudi"), b"USER Yudi\n")
        self.assertEqual(protocol.disconnected("Naman"), b"INFO Naman disconnected\n")
        self.assertEqual(protocol.is_away("Zoë", "at lunch"), "INFO Zoë is away: at lunch\n".encode())
        self.assertEqual(
            protocol.error("no-such-user"), b"ERR no-such-user nobody online has that name; WHO lists who is\n"
        )
        self.assertEqual(protocol.error("not-logged-in"), b"ERR not-logged-in send LOGIN <name> first\n")

    def test_every_error_code_is_documented(self) -> None:
        protocol_doc = (support.ROOT / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
        readme = (support.ROOT / "README.md").read_text(encoding="utf-8")
        for code in protocol.ERROR_CODES:
            self.assertIn(f"| `{code}` | {protocol.ERROR_HINTS[code]} |", protocol_doc)  # the hint, word for word
            self.assertIn(f"ERR {code}", readme)
        with self.assertRaises(ValueError):
            protocol.error("no-such-code")

    def test_help_is_info_lines(self) -> None:
        lines = protocol.HELP.decode().splitlines()
        self.assertGreater(len(lines), 5)
        self.assertTrue(all(line.startswith("INFO ") for line in lines))
        for verb in ("LOGIN", "MSG", "DM", "WHO", "PING", "QUIT", "EXIT", "HELP"):
            self.assertIn(verb, protocol.HELP.decode())


class EventEncodingTest(unittest.TestCase):
    def test_each_event_in_wire_lines(self) -> None:
        self.assertEqual(protocol.wire(Said("alice", ["hi", "ho  ho"])), b"MSG alice hi\nMSG alice ho  ho\n")
        self.assertEqual(protocol.wire(Told("Zoë", "psst")), "DM Zoë psst\n".encode())
        self.assertEqual(protocol.wire(Departed(["a", "b"])), b"INFO a disconnected\nINFO b disconnected\n")
        # Reasons and away messages are IRC's: a line user's lines are what they always were.
        self.assertEqual(protocol.wire(Departed(["a"], ["Quit: bye"])), b"INFO a disconnected\n")
        self.assertEqual(protocol.wire(Parted("a", "brb")), b"INFO a disconnected\n")
        self.assertEqual(protocol.wire(AwayChanged("a", "lunch")), b"")
        self.assertEqual(protocol.wire(Arrived("a", away="lunch")), b"")

    def test_an_event_is_encoded_once_and_its_bytes_shared(self) -> None:
        event = Said("alice", ["hi"])
        self.assertIs(event.encoded(protocol.wire), event.encoded(protocol.wire))


if __name__ == "__main__":
    unittest.main()
