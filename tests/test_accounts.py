"""Unit tests of the accounts (pure): the line format, scrypt hashing and checking, the collection."""

from __future__ import annotations

import unittest
from unittest import mock

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat import accounts
from algokart_chat.accounts import (
    DEFAULT_PARAMS,
    Account,
    Accounts,
    AccountsFormatError,
    DuplicateAccount,
    PasswordHash,
    ScryptParams,
    ScryptUnavailable,
    format_accounts,
    hash_password,
    needs_rehash,
    parse_accounts,
    password_problem,
    verify_password,
)

FAST = ScryptParams(n=16, r=1, p=1)  # scrypt at its cheapest, for tests that are not about its cost


def account(name: str, password: str = "secret", roles: frozenset[str] = frozenset()) -> Account:
    return Account(name, hash_password(password, FAST), roles)


class HashTest(unittest.TestCase):
    def test_the_right_password_verifies_a_wrong_one_does_not(self) -> None:
        stored = hash_password("correct horse", FAST)
        self.assertTrue(verify_password("correct horse", stored))
        for wrong in ("correct hors", "Correct horse", "", "correct horse "):
            self.assertFalse(verify_password(wrong, stored), wrong)

    def test_each_hash_has_its_own_salt(self) -> None:
        first, second = hash_password("same", FAST), hash_password("same", FAST)
        self.assertNotEqual(first.salt, second.salt)
        self.assertNotEqual(first.digest, second.digest)
        self.assertEqual((len(first.salt), len(first.digest)), (16, 32))

    def test_the_defaults_and_their_cost_are_stored_with_the_hash(self) -> None:
        self.assertEqual(DEFAULT_PARAMS, ScryptParams(n=16384, r=8, p=1))
        stored = hash_password("pw")  # the real cost, once
        self.assertTrue(stored.encode().startswith("scrypt$16384$8$1$"))
        self.assertTrue(verify_password("pw", PasswordHash.decode(stored.encode())))

    def test_a_password_is_compared_in_normal_form(self) -> None:
        stored = hash_password("Zo\u00eb", FAST)  # ë as one character
        self.assertTrue(verify_password("Zoe\u0308", stored))  # e and a combining diaeresis

    def test_the_comparison_is_constant_time(self) -> None:
        stored = hash_password("pw", FAST)
        with mock.patch("hmac.compare_digest", return_value=False) as compare:
            self.assertFalse(verify_password("pw", stored))
        compare.assert_called_once()

    def test_needs_rehash_below_the_current_parameters(self) -> None:
        self.assertTrue(needs_rehash(hash_password("pw", FAST)))
        weak = PasswordHash(DEFAULT_PARAMS, b"s" * 16, b"d" * 32)
        self.assertFalse(needs_rehash(weak))
        self.assertTrue(needs_rehash(weak, ScryptParams(n=1 << 15, r=8, p=1)))
        self.assertTrue(needs_rehash(PasswordHash(DEFAULT_PARAMS, b"s" * 8, b"d" * 32)))
        self.assertFalse(needs_rehash(PasswordHash(ScryptParams(1 << 15, 8, 2), b"s" * 16, b"d" * 32)))

    def test_without_scrypt_a_clear_error(self) -> None:
        with mock.patch.object(accounts, "hashlib", spec=[]), self.assertRaises(ScryptUnavailable) as caught:
            hash_password("pw", FAST)
        self.assertIn("OpenSSL 1.1", str(caught.exception))

    def test_passwords_that_cannot_be_set(self) -> None:
        for password in ("", " lead", "trail ", "new\nline", "tab\there", "nul\x00", "a\u2028b", "x" * 1025):
            self.assertIsNotNone(password_problem(password), repr(password))
        for password in ("a", "two words", "pässwörd", "密码", "x" * 1024):
            self.assertIsNone(password_problem(password), password)

    def test_the_hash_is_not_in_the_repr(self) -> None:
        stored = hash_password("pw", FAST)
        self.assertNotIn(stored.encode().split("$")[-1], repr(Account("alice", stored)))


class LineFormatTest(unittest.TestCase):
    def test_every_valid_name_round_trips(self) -> None:
        names = ("alice", "Bob_2", "x.y-z", "Zoë", "名前", "Алиса", "山田たろう", "김민수", "ｔａｒｏ", "a" * 32)
        original = Accounts(
            account(name, roles=frozenset({"op"}) if i % 2 else frozenset()) for i, name in enumerate(names)
        )
        text = format_accounts(original)
        again = parse_accounts(text)
        self.assertEqual(list(again), list(original))
        self.assertEqual(format_accounts(again), text)

    def test_the_layout_of_a_line(self) -> None:
        stored = PasswordHash(ScryptParams(16, 1, 1), b"\x00" * 16, b"\xff" * 32)
        self.assertEqual(
            Account("alice", stored, frozenset({"op"})).encode(),
            "alice:scrypt$16$1$1$AAAAAAAAAAAAAAAAAAAAAA==$//////////////////////////////////////////8=:op",
        )
        self.assertEqual(Account("bob", stored).encode().count(":"), 1)

    def test_comments_blank_lines_a_bom_and_crlf_are_allowed(self) -> None:
        line = account("alice").encode()
        parsed = parse_accounts(f"\ufeff# accounts\n\n  \n{line}\r\n# end\r\n")
        self.assertEqual([a.name for a in parsed], ["alice"])
        self.assertEqual(len(parse_accounts("")), 0)
        self.assertEqual(parse_accounts(line + ":").get("alice"), parse_accounts(line).get("alice"))

    def test_bad_lines_are_refused_with_their_number_and_reason(self) -> None:
        good = account("alice").encode()
        hash_field = good.split(":")[1]
        n, r, p, salt, digest = hash_field.split("$")[1:]
        cases = {
            "bob": "expected name:hash",
            "bob:a:b:c": "expected name:hash",
            f"bo b:{hash_field}": "not a valid name",
            f"\u0430\u04cf\u0456\u0441\u0435:{hash_field}": "lookalike",
            f":{hash_field}": "length",
            "bob:hunter2": "the hash is not scrypt$n$r$p$salt$hash",
            f"bob:bcrypt${n}${r}${p}${salt}${digest}": "the hash is not scrypt",
            f"bob:scrypt${n}${r}${salt}${digest}": "expected scrypt$n$r$p$salt$hash",
            f"bob:scrypt$15${r}${p}${salt}${digest}": "power of 2",
            f"bob:scrypt$x${r}${p}${salt}${digest}": "whole numbers",
            f"bob:scrypt$1048576$8${p}${salt}${digest}": "MiB",
            f"bob:scrypt$16$1$64${salt}${digest}": None,  # allowed: n * r * p is small
            f"bob:scrypt$131072$8$64${salt}${digest}": "n * r * p",
            f"bob:scrypt${n}${r}${p}$not*base64${digest}": "base64",
            f"bob:scrypt${n}${r}${p}$QUFB${digest}": "8 bytes",
            f"bob:{hash_field}:admin": "unknown role",
            f"bob:{hash_field}:op,op": "repeated",
            f"bob:{hash_field}:OP": "unknown role",
        }
        for line, reason in cases.items():
            with self.subTest(line=line):
                if reason is None:
                    parse_accounts(line)
                    continue
                with self.assertRaises(AccountsFormatError) as caught:
                    parse_accounts(f"# header\n{good}\n{line}\n")
                self.assertEqual(caught.exception.line_number, 3)
                self.assertTrue(str(caught.exception).startswith("line 3: "), caught.exception)
                self.assertIn(reason, str(caught.exception))
                self.assertNotIn("\n", str(caught.exception))

    def test_a_reason_never_quotes_what_may_be_a_password(self) -> None:
        for line in ("alice:hunter2", "alice hunter2:scrypt$1$1$1$a$b", "alice:scrypt$16$1$1$QUFBQUFBQUE=$x:hunter2"):
            with self.subTest(line=line), self.assertRaises(AccountsFormatError) as caught:
                parse_accounts(line)
            self.assertNotIn("hunter2", str(caught.exception))

    def test_two_lines_of_one_account_are_refused(self) -> None:
        text = f"{account('alice').encode()}\n{account('bob').encode()}\n{account('aIice').encode()}\n"
        with self.assertRaises(AccountsFormatError) as caught:
            parse_accounts(text)
        self.assertEqual(str(caught.exception), "line 3: 'aIice' is the same account as the one on line 1")


class AccountsTest(unittest.TestCase):
    def test_looked_up_by_username_key(self) -> None:
        alice = account("alice", roles=frozenset({"op"}))
        found = Accounts([alice, account("bob")])
        for spelling in ("alice", "ALICE", "aIice", "a1ice", "ａｌｉｃｅ"):
            self.assertIs(found.get(spelling), alice, spelling)
            self.assertIn(spelling, found)
        self.assertIsNone(found.get("carol"))
        self.assertEqual(alice.key, "allce")
        self.assertEqual([a.name for a in found], ["alice", "bob"])

    def test_duplicate_keys_are_an_error(self) -> None:
        with self.assertRaises(DuplicateAccount):
            Accounts([account("alice"), account("ALICE")])

    def test_changes_make_a_new_collection(self) -> None:
        before = Accounts([account("alice"), account("bob")])
        replaced = account("Alice", "new")
        after = before.with_account(replaced).without("BOB")
        self.assertEqual([a.name for a in before], ["alice", "bob"])
        self.assertEqual(list(after), [replaced])
        self.assertEqual(len(after.without("nobody")), 1)


if __name__ == "__main__":
    unittest.main()
