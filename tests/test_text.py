"""Unit tests of the message-text rules (pure), the same for every protocol."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.text import clean_text, cut, one_line

# Everything str.splitlines takes for the end of a line (LF and CR aside, which end lines on the wire).
LINE_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


class TextTest(unittest.TestCase):
    def test_control_characters_removed_tabs_become_spaces(self) -> None:
        self.assertEqual(clean_text("a\tb\x1b[2Jc\x7fd\x85e\x9bf\x00g"), "a b[2Jcdefg")

    def test_cut_keeps_whole_characters_within_the_bytes(self) -> None:
        self.assertEqual(cut("abc", 3), "abc")
        self.assertEqual(cut("abcd", 3), "abc")
        self.assertEqual(cut("aé€\U0001f600", 6), "aé€")  # 1 + 2 + 3 bytes
        self.assertEqual(cut("aé€\U0001f600", 9), "aé€")
        self.assertEqual(cut("aé€\U0001f600", 10), "aé€\U0001f600")
        self.assertEqual(cut("é" * 10, 0), "")

    def test_inner_spacing_kept_ends_trimmed(self) -> None:
        self.assertEqual(clean_text("\x01 hi   there \x02"), "hi   there")

    def test_nothing_printable_is_empty(self) -> None:
        self.assertEqual(clean_text("\x01\x02 \t"), "")

    def test_bidirectional_controls_removed_emoji_and_marks_kept(self) -> None:
        trojan = "a\u202eb\u202dc\u2066d\u2069e\u200ef\u200fg\u061ch\u202ai\u202bj\u202ck\u2067l\u2068m"
        self.assertEqual(clean_text(trojan), "abcdefghijklm")
        family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # ZWJ emoji sequence
        self.assertEqual(clean_text(f"e\u0301 {family}"), f"e\u0301 {family}")

    def test_line_and_paragraph_separators_become_spaces_other_line_breaks_go(self) -> None:
        forged = "hi\u2028MSG alice forged\u2029bye"
        self.assertEqual(clean_text(forged), "hi MSG alice forged bye")
        self.assertEqual(clean_text("a\x0bb\x0cc\x1cd\x1de\x1ef\x85g"), "abcdefg")
        for separator in LINE_BREAKS:
            with self.subTest(separator=hex(ord(separator))):
                self.assertEqual(clean_text(f"one{separator}two").splitlines(), [clean_text(f"one{separator}two")])
        self.assertEqual(clean_text("\u2028 \u2029"), "")

    def test_one_line_keeps_irc_formatting_and_breaks_no_line(self) -> None:
        self.assertEqual(one_line("hi\u2028MSG alice forged\u2029bye"), "hi MSG alice forged bye")
        self.assertEqual(one_line("a\x0bb\x0cc\x1cd\x85e"), "abcde")
        formatted = "\x02bold\x02 \x1ditalic\x1d \x1estruck\x1e \x0304colour\x0f \x01ACTION waves\x01 \u202e"
        self.assertEqual(one_line(formatted), formatted)  # (IRC users get the text as sent)
        for separator in set(LINE_BREAKS) - {"\x1d", "\x1e"}:  # GS and RS: IRC's italics and strikethrough
            with self.subTest(separator=hex(ord(separator))):
                self.assertEqual(len(one_line(f"one{separator}two").splitlines()), 1)

    def test_unicode_text_kept(self) -> None:
        self.assertEqual(clean_text("héllo ✓ 名前"), "héllo ✓ 名前")


if __name__ == "__main__":
    unittest.main()
