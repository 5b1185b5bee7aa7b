"""Unit tests of the name rules (pure), shared by every protocol, the room and the cluster."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat import names


class UsernameTest(unittest.TestCase):
    def test_valid_names(self) -> None:
        for name in ("a", "Naman", "x_y-z.9", "a" * 32, "José", "名前", "ａｌｉｃｅ"):
            self.assertTrue(names.is_valid_username(name), name)

    def test_invalid_names(self) -> None:
        for name in ("", "a" * 33, "é" * 33, "a b", "a\tb", "bob!", "a/b", "e\u0301", "💬", "x\x00", "１½"):
            self.assertFalse(names.is_valid_username(name), name)

    def test_names_in_one_script_pass_mixed_scripts_do_not(self) -> None:
        for name in ("Алиса", "Zoë_2", "ΑΒΓ-1", "山田たろう", "김민수", "ｔａｒｏ", "Иван.2"):
            self.assertTrue(names.is_valid_username(name), name)
        for name in ("\u0410lice", "Ωmega", "pаypal", "Алиса\u0391"):  # Cyrillic А in Latin, Greek with Latin ...
            self.assertFalse(names.is_valid_username(name), name)
        self.assertEqual(names.letter_scripts("Zoë_2.-"), {"LATIN"})
        self.assertEqual(names.letter_scripts("_-.123"), set())

    def test_key_ignores_case_and_width(self) -> None:
        self.assertEqual(names.username_key("ＡＬＩＣＥ"), names.username_key("alice"))
        self.assertEqual(names.username_key("Straße"), names.username_key("STRASSE"))
        self.assertNotEqual(names.username_key("alice"), names.username_key("alice2"))


if __name__ == "__main__":
    unittest.main()
