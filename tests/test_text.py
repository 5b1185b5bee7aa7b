"""Unit tests of the message-text rules (pure), the same for every protocol."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.text import clean_text


class TextTest(unittest.TestCase):
    def test_control_characters_removed_tabs_become_spaces(self) -> None:
        self.assertEqual(clean_text("a\tb\x1b[2Jc\x7fd\x85e\x9bf\x00g"), "a b[2Jcdefg")

    def test_inner_spacing_kept_ends_trimmed(self) -> None:
        self.assertEqual(clean_text("\x01 hi   there \x02"), "hi   there")

    def test_nothing_printable_is_empty(self) -> None:
        self.assertEqual(clean_text("\x01\x02 \t"), "")

    def test_bidirectional_controls_removed_emoji_and_marks_kept(self) -> None:
        trojan = "a\u202eb\u202dc\u2066d\u2069e\u200ef\u200fg\u061ch\u202ai\u202bj\u202ck\u2067l\u2068m"
        self.assertEqual(clean_text(trojan), "abcdefghijklm")
        family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # ZWJ emoji sequence
        self.assertEqual(clean_text(f"e\u0301 {family}"), f"e\u0301 {family}")

    def test_unicode_text_kept(self) -> None:
        self.assertEqual(clean_text("héllo ✓ 名前"), "héllo ✓ 名前")


if __name__ == "__main__":
    unittest.main()
