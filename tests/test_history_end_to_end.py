"""End-to-end tests of the line protocol's history (docs/PROTOCOL.md, *History*): HISTORY, HISTORY
AFTER, IDS, over real sockets."""

from __future__ import annotations

import re
import unittest
from typing import Any

from support import ServerProcess, ServerTestCase, err

HISTORY_LINE = re.compile(r"^HISTORY (\S+) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) (.*)$")


def kept(lines: list[str]) -> list[tuple[str, str]]:
    """(sender, text) of each HISTORY line."""
    found = [HISTORY_LINE.match(line) for line in lines]
    assert all(found), lines
    return [(match.group(3), match.group(4)) for match in found if match]


def read_history(client: object) -> tuple[list[str], str]:
    """The HISTORY lines of one answer and its end line."""
    lines = []
    while not (line := client.read_line()).startswith("HISTORY-END "):  # type: ignore[attr-defined]
        lines.append(line)
    return lines, line


def seen_then_gone(sender: Any, watcher: Any, *missed: str) -> str:
    """``watcher`` asks for ids, gets ``sender``'s ``MSG seen`` and leaves; then ``sender`` sends
    ``missed`` and syncs.  The id of the message seen."""
    watcher.send("IDS ON")
    watcher.expect("OK")
    sender.send("MSG seen")
    seen = watcher.read_line()
    assert seen.endswith(f" MSG {sender.name} seen"), seen
    watcher.close()
    sender.send(*missed)
    sender.sync()
    return str(seen.split()[0][1:])


class HistoryTest(ServerTestCase):
    def test_latest_messages_with_their_ids_and_times(self) -> None:
        alice, bob = self.logged_in(), self.logged_in()
        alice.send("MSG one", "MSG two  spaced", "MSG three")
        bob.read_lines(3)
        bob.send("HISTORY 2")
        lines, end = read_history(bob)
        self.assertEqual(kept(lines), [(alice.name, "two  spaced"), (alice.name, "three")])
        self.assertEqual(end, "HISTORY-END more 2")  # (older ones are kept)
        alice.send("HISTORY")  # the sender sees its own messages too
        lines, end = read_history(alice)
        self.assertEqual(kept(lines)[-3:], [(alice.name, "one"), (alice.name, "two  spaced"), (alice.name, "three")])
        self.assertIn(end, (f"HISTORY-END complete {len(lines)}", f"HISTORY-END more {len(lines)}"))

    def test_ids_on_live_lines_only_when_asked(self) -> None:
        alice, bob, carol = self.logged_in(), self.logged_in(), self.logged_in()
        bob.send("IDS ON")
        bob.expect("OK")
        alice.send("MSG hello", "MSG again")
        carol.expect(f"MSG {alice.name} hello", f"MSG {alice.name} again")  # exactly the seed's lines
        first, second = bob.read_lines(2)
        found = re.fullmatch(rf"@(\S+) MSG {alice.name} hello", first)
        assert found is not None, first
        self.assertRegex(second, rf"^@\S+ MSG {alice.name} again$")
        bob.send("HISTORY 2")
        lines, _ = read_history(bob)
        self.assertEqual([line.split()[1] for line in lines], [first.split()[0][1:], second.split()[0][1:]])
        bob.send("IDS OFF")
        bob.expect("OK")
        alice.send("MSG plain")
        bob.expect(f"MSG {alice.name} plain")

    def test_recovery_returns_exactly_what_was_missed(self) -> None:
        alice, bob = self.logged_in(), self.logged_in()
        last_seen = seen_then_gone(alice, bob, "MSG missed 1", "MSG missed 2")
        again = self.logged_in()
        again.send("IDS ON")
        again.expect("OK")
        alice.send("MSG live after the login")
        again.read_line()  # (delivered live: not repeated by the recovery)
        again.send(f"HISTORY AFTER {last_seen}")
        lines, end = read_history(again)
        self.assertEqual(kept(lines), [(alice.name, "missed 1"), (alice.name, "missed 2")])
        self.assertEqual(end, "HISTORY-END complete 2")
        again.send(f"history after {lines[-1].split()[1]}")
        self.assertEqual(read_history(again), ([], "HISTORY-END complete 0"))

    def test_an_unknown_id_is_a_partial_answer(self) -> None:
        client = self.logged_in()
        client.send("HISTORY AFTER no-such-id")
        _, end = read_history(client)
        self.assertRegex(end, r"^HISTORY-END (partial \d+ unknown|more \d+)$")

    def test_thousands_of_digits_get_an_answer_and_the_connection_stays(self) -> None:
        alice, guest = self.logged_in(), self.logged_in()
        guest.send("IDS ON")
        guest.expect("OK")
        alice.send("MSG hi")
        seen = guest.read_line().split()[0][1:]
        digits = "7" * 5000  # (int() refuses more than 4,300)
        guest.send(f"HISTORY {digits}")
        lines, end = read_history(guest)
        self.assertEqual((kept(lines)[-1], end.split()[0]), ((alice.name, "hi"), "HISTORY-END"))
        for anchor in (f"a.{digits}", f"{seen}.{digits}"):
            guest.send(f"HISTORY AFTER {anchor}")
            self.assertRegex(read_history(guest)[1], r"^HISTORY-END (partial \d+ unknown|more \d+)$")
        guest.send("PING")
        guest.expect("PONG")

    def test_ids_on_before_login_so_no_live_line_lacks_its_id(self) -> None:
        alice, bob = self.logged_in(), self.connect()
        bob.send("IDS ON")
        bob.expect("OK")
        bob.login()
        alice.send("MSG first")
        self.assertRegex(bob.read_line(), rf"^@\S+ MSG {alice.name} first$")

    def test_bad_arguments_and_before_login(self) -> None:
        client = self.connect()
        client.send("HISTORY")
        client.expect(err("not-logged-in"))
        client.login()
        for line in ("HISTORY 0", "HISTORY x", "HISTORY -1", "HISTORY AFTER", "HISTORY AFTER a b", "HISTORY 3 4",
                     "IDS", "IDS maybe"):  # fmt: skip
            client.send(line)
            client.expect(err("invalid-argument"))
        client.send("HELP")
        self.assertTrue(any("HISTORY" in line for line in client.sync()))


class BoundedHistoryTest(ServerTestCase):
    server_args = ("--history-lines", "3")

    def test_only_the_last_lines_are_kept_and_the_answer_says_so(self) -> None:
        alice, bob = self.logged_in(), self.logged_in()
        bob.send("IDS ON")
        bob.expect("OK")
        alice.send(*(f"MSG m{n}" for n in range(5)))
        first = bob.read_lines(5)[0].split()[0][1:]
        bob.send("HISTORY 10")
        lines, end = read_history(bob)
        self.assertEqual(kept(lines), [(alice.name, "m2"), (alice.name, "m3"), (alice.name, "m4")])
        self.assertEqual(end, "HISTORY-END partial 3")
        # gone, and so is the first message bob got live (m0 itself): every message kept reached
        # bob live, so none comes again, and nothing bob did not get is gone
        bob.send(f"HISTORY AFTER {first}")
        lines, end = read_history(bob)
        self.assertEqual(lines, [])
        self.assertEqual(end, "HISTORY-END complete 0")

    def test_a_gap_older_than_the_history_says_how_many_are_lost(self) -> None:
        alice, bob = self.logged_in(), self.logged_in()
        last_seen = seen_then_gone(alice, bob, *(f"MSG away {n}" for n in range(5)))  # seen, away 0, 1 let go
        again = self.logged_in()
        again.send(f"HISTORY AFTER {last_seen}")
        lines, end = read_history(again)
        self.assertEqual(kept(lines), [(alice.name, f"away {n}") for n in range(2, 5)])
        self.assertEqual(end, "HISTORY-END partial 3 2")  # (two lost after the one seen)
        again.send("HISTORY AFTER from-before-a-restart")
        self.assertEqual(read_history(again)[1], "HISTORY-END partial 3 unknown")


class SmallHistoryTest(ServerTestCase):
    server_args = ("--history-bytes", "200")

    def test_a_first_live_message_never_kept_does_not_stop_the_recovery(self) -> None:
        alice, carol = self.logged_in(), self.logged_in()
        carol.send("IDS ON")
        carol.expect("OK")
        alice.send("MSG before")
        before = carol.read_line().split()[0][1:]
        bob = self.logged_in()
        bob.send("IDS ON")
        bob.expect("OK")
        alice.send("MSG " + "x" * 300, "MSG after")  # (the first is over the byte bound: never kept)
        bob.read_lines(2)
        bob.send(f"HISTORY AFTER {before}")
        self.assertEqual(read_history(bob), ([], "HISTORY-END complete 0"))


class HistoryOffTest(unittest.TestCase):
    def test_history_off(self) -> None:
        with ServerProcess("--history-age", "0") as server, server.client() as client:
            client.login()
            client.send("HISTORY", "HISTORY AFTER x")
            client.expect(err("history-off"), err("history-off"))
            client.send("IDS ON", "MSG hi")
            client.expect("OK")
            self.assertEqual(client.sync(), [])


if __name__ == "__main__":
    unittest.main()
