"""Unit tests of ``sessions.irc_registration``: registration up to the welcome and NICK after it,
over a fake session (``Registrant``) and an in-memory room, with no loop and no socket."""

from __future__ import annotations

import unittest
from typing import Any, cast

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.moderators import Moderators
from algokart_chat.sessions.irc_registration import COMMANDS, IrcRegistration
from algokart_chat.transport.connection import Connection
from irc_fakes import FakeHost


class FakeConnection:
    def __init__(self) -> None:
        self.closing = False
        self.closed: str | None = None
        self.registered = False
        self.peer = ("192.0.2.1", 4000)
        self.peer_text = "192.0.2.1:4000"

    def close(self, reason: str) -> None:
        self.closing, self.closed = True, reason

    def mark_registered(self) -> None:
        self.registered = True


class FakeSession:
    """A ``Registrant`` that records what registration does to it."""

    def __init__(self, host: FakeHost) -> None:
        self.host = host
        self.name: str | None = None
        self.caps: frozenset[str] = frozenset()
        self.lines: list[str] = []
        self.held = False
        self.renames: list[tuple[str, str]] = []
        self.operator = False

    def deliver(self, payload: Any) -> None:
        pass

    def reply(self, code: str, *params: str) -> None:
        self.lines.append(" ".join((code, *params)))

    def send(self, reply: bytes) -> None:
        self.lines += reply.decode().split("\r\n")[:-1]

    def hold(self) -> None:
        self.held = True

    def go_on(self) -> None:
        self.held = False

    def use_caps(self, enabled: frozenset[str]) -> None:
        self.caps = enabled

    def welcomed(self, nick: str) -> None:
        self.name = nick

    def renamed(self, old: str, new: str) -> None:
        self.renames.append((old, new))
        self.name = new

    def logged_in(self, operator: bool) -> None:
        self.operator = operator


class RegistrationTest(unittest.TestCase):
    def setUp(self) -> None:
        self.host = FakeHost()
        self.session = FakeSession(self.host)
        self.connection = FakeConnection()
        self.registration = IrcRegistration(
            self.session, self.host.channel, cast(Connection, self.connection), None, Moderators(None, 64)
        )

    def send(self, command: str, *params: str) -> None:
        COMMANDS[command](self.registration, list(params))

    def test_nick_and_user_register_with_the_identity_of_user_and_hold_nothing_before(self) -> None:
        self.send("NICK", "ann")
        self.assertIsNone(self.host.room.held_name("ann"))  # (nothing held before registration)
        self.assertEqual(self.registration.me, "ann")
        self.send("USER", "ann\u00e9", "0", "*", "Ann \x02Lee\x02")
        self.assertEqual((self.session.name, self.connection.registered), ("ann", True))
        self.assertEqual(self.host.room.held_name("ANN"), "ann")
        self.assertEqual(tuple(self.registration.user or ()), ("~user", "Ann Lee"))
        self.assertEqual(self.host.channel.identity("ann").realname, "Ann Lee")
        self.assertIn(" 001 ann ", " ".join(self.session.lines))

    def test_cap_ls_holds_registration_until_end(self) -> None:
        self.send("CAP", "LS", "302")
        self.send("NICK", "bo")
        self.send("USER", "bo", "0", "*", "Bo")
        self.assertIsNone(self.session.name)
        self.send("CAP", "REQ", "away-notify")
        self.assertEqual(self.session.caps, {"away-notify", "cap-notify"})
        self.send("CAP", "END")
        self.assertEqual(self.session.name, "bo")

    def test_a_taken_nick_is_433_and_the_next_free_one_registers(self) -> None:
        self.host.log_in("cy")
        self.send("USER", "c", "0", "*", "Cy")
        self.send("NICK", "CY")
        self.assertEqual(self.session.lines, ["433 CY Nickname is already in use"])
        self.send("NICK", "cy2")
        self.assertEqual(self.session.name, "cy2")

    def test_nick_after_registration_renames_in_the_room(self) -> None:
        self.send("NICK", "dee")
        self.send("USER", "d", "0", "*", "Dee")
        self.send("NICK", "dee2")
        self.assertEqual(self.session.renames, [("dee", "dee2")])
        self.assertEqual(self.host.room.held_name("dee2"), "dee2")
        self.assertIsNone(self.host.room.held_name("dee"))
        self.send("USER", "d", "0", "*", "Dee")
        self.assertEqual(self.session.lines[-1], "462 You may not reregister")

    def test_without_accounts_authenticate_is_unknown_and_pass_is_ignored(self) -> None:
        self.send("AUTHENTICATE", "PLAIN")
        self.send("PASS", "secret")
        self.send("NICK", "eve")
        self.send("USER", "e", "0", "*", "Eve")
        self.assertEqual(self.session.lines[0], "421 AUTHENTICATE Unknown command")
        self.assertEqual((self.session.name, self.registration.account), ("eve", None))

    def test_leave_cancels_nothing_when_no_check_is_under_way(self) -> None:
        self.registration.leave()
        self.assertFalse(self.session.held)


if __name__ == "__main__":
    unittest.main()
