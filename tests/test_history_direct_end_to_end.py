"""End-to-end: direct messages in history over real sockets (docs/PROTOCOL.md, *History*): kept
between two accounts only, shown to those two only (``HISTORY-DM``), under whatever name they
come back with, and recovered in order with the room's messages by ``HISTORY AFTER``."""

from __future__ import annotations

import re

from support import Client

from test_accounts_login import password_of
from test_history_end_to_end import read_history
from test_irc_accounts import IrcAccountsTestCase

DM_LINE = re.compile(r"^HISTORY-DM (\S+) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) (\S+) (.*)$")


def directs(lines: list[str]) -> list[tuple[str, str, str]]:
    """(sender, recipient, text) of each HISTORY-DM line."""
    return [(m.group(3), m.group(4), m.group(5)) for line in lines if (m := DM_LINE.match(line))]


class DirectHistoryTest(IrcAccountsTestCase):
    def account(self, name: str, typed: str | None = None) -> Client:
        client = self.connect()
        client.send(f"LOGIN {typed or name} {password_of(name)}")
        client.expect("OK")
        return client

    def guest(self) -> Client:
        client = self.connect()
        return client.login()

    def test_kept_between_two_accounts_and_seen_by_those_two_only(self) -> None:
        alice, bob, carol, guest = self.account("alice"), self.account("bob"), self.account("carol"), self.guest()
        alice.send("DM bob secret  plans")
        bob.expect("DM alice secret  plans")
        bob.send("DM alice ok")
        alice.expect("DM bob ok")
        alice.send("MSG hello all")
        for client in (bob, carol, guest):
            client.expect("MSG alice hello all")
        for client in (carol, guest):
            client.send("HISTORY 500")
            lines, _ = read_history(client)
            self.assertEqual(directs(lines), [])
            self.assertFalse(any("secret" in line or line.startswith("HISTORY-DM") for line in lines), lines)
        alice.send("HISTORY 3")
        lines, end = read_history(alice)
        self.assertEqual(directs(lines), [("alice", "bob", "secret  plans"), ("bob", "alice", "ok")])
        self.assertEqual(lines[-1].split(" ", 4)[3:], ["alice", "hello all"])
        self.assertEqual(end, "HISTORY-END more 3")
        ids = [line.split()[1] for line in lines]
        bob.close()
        alice.expect("INFO bob disconnected")
        # bob comes back typing its name otherwise: the messages keep the names they were sent with
        again = self.account("bob", typed="BOB")
        again.send(f"HISTORY AFTER {ids[0]}")
        lines, end = read_history(again)
        self.assertEqual([line.split()[1] for line in lines], ids[1:])
        self.assertEqual(directs(lines), [("bob", "alice", "ok")])
        self.assertEqual(end, "HISTORY-END complete 2")
        guest.send(f"HISTORY AFTER {ids[0]}")  # an id it cannot see is one it does not know
        self.assertEqual(read_history(guest)[1].split()[1], "partial")

    def test_never_kept_with_a_side_without_an_account(self) -> None:
        alice, guest = self.account("dave"), self.guest()
        alice.send(f"DM {guest.name} to a guest")
        guest.expect("DM dave to a guest")
        guest.send("DM dave from a guest")
        alice.expect(f"DM {guest.name} from a guest")
        alice.send("HISTORY 500")
        lines, _ = read_history(alice)
        self.assertFalse(any("a guest" in line for line in lines), lines)

    def test_ids_on_direct_lines_between_accounts_and_recovery_after_a_drop(self) -> None:
        erin, fay = self.account("erin"), self.account("fay")
        fay.send("IDS ON")
        fay.expect("OK")
        erin.send("DM fay first")
        seen = fay.read_line()
        self.assertRegex(seen, r"^@\S+ DM erin first$")
        guest = self.guest()
        guest.send("DM fay from a guest")
        fay.expect(f"DM {guest.name} from a guest")  # (not kept: no id)
        erin.send("DM fay while away", "MSG in the room")  # (delivered, but never read: lost in flight)
        erin.sync()
        fay.close()
        erin.expect("INFO fay disconnected")  # (the name is free again)
        back = self.account("fay")
        back.send(f"HISTORY AFTER {seen.split()[0][1:]}")
        lines, end = read_history(back)
        self.assertEqual(directs(lines), [("erin", "fay", "while away")])
        self.assertEqual(lines[1].split(" ", 4)[3:], ["erin", "in the room"])
        self.assertEqual(end, "HISTORY-END complete 2")
        erin.send("DM fay live")
        back.expect("DM erin live")  # (without IDS ON, the seed's line)
        back.send("HISTORY AFTER " + seen.split()[0][1:])  # (stops before the first live one)
        self.assertEqual(len(read_history(back)[0]), 2)

    def test_an_irc_nick_logged_in_to_an_account(self) -> None:
        gus = self.account("gus")
        hal = self.logged_in("hal", nick="halnick")
        hal.send("PRIVMSG gus :from irc")
        gus.expect("DM halnick from irc")
        gus.send("DM halnick back")
        hal.read_until(r"PRIVMSG halnick :back$")
        later = self.account("hal")  # the same account, on the line protocol, under its own name
        later.send("HISTORY 2")
        lines, _ = read_history(later)
        self.assertEqual(directs(lines), [("halnick", "gus", "from irc"), ("gus", "halnick", "back")])
