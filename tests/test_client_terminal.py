"""What the terminal client shows and how the user types (``client.terminal``): server lines made
safe for a terminal, written above the prompt, keep-alive PONGs hidden, and the Windows console
editor driven through a stand-in for ``msvcrt``."""

from __future__ import annotations

import sys
import types
import unittest
from typing import Any

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.client import terminal


class ScreenTest(unittest.TestCase):
    """Server lines above the prompt, the line being typed redrawn after them."""

    def shown(self, screen: terminal.Screen, *lines: bytes) -> list[str]:
        """What ``screen`` writes to stdout for ``lines``, one string a line."""
        written: list[str] = []
        original_write = sys.stdout.write
        sys.stdout.write = written.append  # type: ignore[method-assign]  # capture, restored below
        try:
            for line in lines:
                screen.show(line)
        finally:
            sys.stdout.write = original_write  # type: ignore[method-assign]  # restore
        return written

    def test_a_line_goes_above_the_prompt_and_the_typing_is_redrawn(self) -> None:
        screen = terminal.Screen(colour=False, current_input=lambda: "half typ")
        self.assertEqual(self.shown(screen, b"MSG bob hi\n"), ["\r\x1b[KMSG bob hi\n"])
        screen.prompting = True
        self.assertEqual(self.shown(screen, b"MSG bob hi\n"), ["\r\x1b[KMSG bob hi\n> half typ"])

    def test_colour_by_kind_of_line(self) -> None:
        screen = terminal.Screen(colour=True, current_input=lambda: "")
        shown = self.shown(screen, b"DM bob psst\n", b"MSG bob hi\n", b"\x1b[31mERR\n")
        self.assertEqual(
            shown, ["\r\x1b[K\x1b[1;35mDM bob psst\x1b[0m\n", "\r\x1b[KMSG bob hi\n", "\r\x1b[K\ufffd[31mERR\n"]
        )

    def test_keep_alive_pongs_are_hidden_the_users_are_not(self) -> None:
        screen = terminal.Screen(colour=False, current_input=lambda: "")
        screen.hidden_pongs.extend([True, False])  # a keep-alive PING, then the user's
        written = self.shown(screen, b"PONG\n", b"PONG\n")
        self.assertEqual(len(written), 1)
        self.assertIn("PONG", written[0])


class WindowsLineEditorTest(unittest.TestCase):
    """The Windows console editor, driven through a scripted stand-in for ``msvcrt``."""

    def editor_for(self, keys: str) -> tuple[Any, list[str]]:
        fake = types.ModuleType("msvcrt")
        pressed = iter(keys)
        fake.getwch = lambda: next(pressed)  # type: ignore[attr-defined]  # a stand-in module, built here
        written: list[str] = []
        self.patch_console(fake, written)
        return terminal.WindowsLineEditor(), written

    def patch_console(self, fake: types.ModuleType, written: list[str]) -> None:
        saved_module, saved_write = sys.modules.get("msvcrt"), sys.stdout.write
        sys.modules["msvcrt"] = fake
        sys.stdout.write = written.append  # type: ignore[method-assign]  # capture, restored below

        def restore() -> None:
            sys.stdout.write = saved_write  # type: ignore[method-assign]  # restore
            if saved_module is None:
                sys.modules.pop("msvcrt", None)
            else:
                sys.modules["msvcrt"] = saved_module

        self.addCleanup(restore)

    def test_typing_editing_and_enter(self) -> None:
        editor, written = self.editor_for("MSG hix\b\xe0K there\r")  # \xe0 K: an arrow key, ignored
        self.assertEqual(editor.input("> "), "MSG hi there")
        self.assertEqual(editor.buffer, "")
        self.assertIn("\b \b", written)

    def test_the_buffer_is_what_an_incoming_line_redraws(self) -> None:
        editor, _ = self.editor_for("half")
        with self.assertRaises(StopIteration):  # the fake keyboard runs out mid-line
            editor.input("> ")
        self.assertEqual(editor.buffer, "half")

    def test_ctrl_c_and_ctrl_z(self) -> None:
        editor, _ = self.editor_for("ab\x03")
        with self.assertRaises(KeyboardInterrupt):
            editor.input("> ")
        editor, _ = self.editor_for("\x1a")
        with self.assertRaises(EOFError):
            editor.input("> ")
        editor, _ = self.editor_for("a\x1a\r")  # Ctrl+Z is end of input only on an empty line
        self.assertEqual(editor.input("> "), "a")


class ForTerminalTest(unittest.TestCase):
    """``for_terminal``: a server line as the client shows it on a terminal."""

    def setUp(self) -> None:
        self.for_terminal = terminal.for_terminal

    def test_what_a_terminal_would_act_on_is_u_fffd(self) -> None:
        controls = [chr(code) for code in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if code != 0x09]
        bidi = ["\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]
        for character in [*controls, *bidi, "\u2028", "\u2029"]:
            with self.subTest(character=hex(ord(character))):
                self.assertEqual(self.for_terminal(f"a{character}b\n".encode()), "a\ufffdb")

    def test_escape_sequences_lose_their_escape(self) -> None:
        for sequence, shown in (
            (b"\x1b[2J", "\ufffd[2J"),
            (b"\x1b]52;c;cHduZWQ=\x07", "\ufffd]52;c;cHduZWQ=\ufffd"),
            (b"\x1b]8;;https://evil.example/\x1b\\", "\ufffd]8;;https://evil.example/\ufffd\\"),
            (b"\xc2\x9b2J", "\ufffd2J"),
        ):
            with self.subTest(sequence=sequence):
                self.assertEqual(self.for_terminal(b"MSG eve " + sequence + b"\n"), f"MSG eve {shown}")

    def test_text_and_tabs_stay(self) -> None:
        text = "MSG bob tab\there olá ✓ 👩\u200d💻 e\u0301 \u00a0 日本語 عربى"
        self.assertEqual(self.for_terminal(f"{text}\n".encode()), text)

    def test_the_line_ending_goes_invalid_utf8_is_u_fffd(self) -> None:
        for line in (b"PONG\n", b"PONG\r\n", b"PONG"):
            with self.subTest(line=line):
                self.assertEqual(self.for_terminal(line), "PONG")
        self.assertEqual(self.for_terminal(b"a\xffb\xc3\n"), "a\ufffdb\ufffd")


if __name__ == "__main__":
    unittest.main()
