"""The interactive client's history logic (``client.catchup``): what it asks for after a login,
how it shows history and missed messages, and that each message is shown once, in order.  (The
same in a real pty, against a real server: test_terminal_client_history.)"""

from __future__ import annotations

import datetime
import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.client.catchup import GREETING_COUNT, HELD_MOST, RECOVERY_COUNT, Catchup, shown_time

STAMP = "2026-12-01T11:36:08.123Z"


def history(entry_id: str, sender: str, text: str) -> bytes:
    return f"HISTORY {entry_id} {STAMP} {sender} {text}\n".encode()


def logged_in(catchup: Catchup, login: str = "LOGIN alice") -> list[bytes]:
    catchup.sent(login.encode())
    shown, sent = catchup.received(b"OK\n")
    assert shown == [b"OK\n"] or catchup.reconnecting, shown
    return sent


class CatchupTest(unittest.TestCase):
    def setUp(self) -> None:
        self.catchup = Catchup()
        self.when = shown_time(STAMP)

    def receive(self, *lines: bytes) -> tuple[list[bytes], list[bytes]]:
        shown: list[bytes] = []
        sent: list[bytes] = []
        for line in lines:
            more_shown, more_sent = self.catchup.received(line)
            shown += more_shown
            sent += more_sent
        return shown, sent

    def test_a_login_asks_for_ids_and_the_last_messages_and_hides_the_ids_ok(self) -> None:
        self.assertEqual(logged_in(self.catchup), [b"IDS ON\n", f"HISTORY {GREETING_COUNT}\n".encode()])
        shown, _ = self.receive(b"OK\n", history("a-1", "bob", "hi there"), b"HISTORY-END complete 1\n")
        self.assertEqual(shown, [f"[history {self.when}] MSG bob hi there".encode()])
        self.assertEqual(self.catchup.last_id, "a-1")

    def test_settled_once_the_login_and_its_history_are_answered(self) -> None:
        self.assertTrue(self.catchup.settled)
        self.catchup.sent(b"LOGIN alice")
        self.assertFalse(self.catchup.settled)  # (the prompt waits: what comes now may be history)
        self.receive(b"OK\n", b"OK\n")
        self.assertFalse(self.catchup.settled)
        self.receive(b"HISTORY-END complete 0\n")
        self.assertTrue(self.catchup.settled)
        refused = Catchup()
        refused.sent(b"LOGIN alice")
        refused.received(b"ERR username-taken pick another\n")
        self.assertTrue(refused.settled)

    def test_live_lines_lose_their_id_and_are_held_until_the_answer_without_repeats(self) -> None:
        logged_in(self.catchup)
        shown, _ = self.receive(b"OK\n", b"@a-2 MSG bob second\n", b"@a-3 MSG bob third\n")
        self.assertEqual(shown, [])
        shown, _ = self.receive(
            history("a-1", "bob", "first"), history("a-2", "bob", "second"), b"HISTORY-END more 2\n"
        )
        self.assertEqual(
            shown,
            [
                f"[history {self.when}] MSG bob first".encode(),
                f"[history {self.when}] MSG bob second".encode(),
                b"MSG bob third\n",
            ],
        )
        self.assertEqual(self.receive(b"@a-4 MSG bob fourth\n")[0], [b"MSG bob fourth\n"])
        self.assertEqual(self.catchup.last_id, "a-4")

    def test_a_reconnection_logs_in_again_and_asks_for_what_came_after_the_last_seen(self) -> None:
        logged_in(self.catchup, "LOGIN alice s3cret words")
        self.receive(b"OK\n", b"HISTORY-END complete 0\n", b"@a-7 MSG bob seen\n")
        self.assertEqual(self.catchup.on_connection(), [b"IDS ON\n", b"LOGIN alice s3cret words\n"])
        shown, sent = self.receive(b"OK\n", b"OK\n")  # (IDS ON's, hidden; the login's)
        self.assertEqual((shown, sent), ([], [b"HISTORY AFTER a-7\n"]))
        shown, sent = self.receive(b"@a-9 MSG bob live again\n", history("a-8", "bob", "missed one"))
        self.assertEqual(shown, [f"[missed {self.when}] MSG bob missed one".encode()])
        shown, sent = self.receive(b"HISTORY-END more 1\n")
        self.assertEqual((shown, sent), ([], [b"HISTORY AFTER a-8\n"]))
        shown, _ = self.receive(b"HISTORY-END complete 0\n")
        self.assertEqual(shown, [b"-- back: 1 missed messages above", b"MSG bob live again\n"])

    def test_missed_direct_messages_are_shown_marked_once_in_order(self) -> None:
        logged_in(self.catchup, "LOGIN bob pw")
        self.receive(b"OK\n", b"HISTORY-END complete 0\n", b"@a-7 DM alice seen\n")
        self.assertEqual(self.catchup.last_id, "a-7")
        self.catchup.on_connection()
        self.assertEqual(self.receive(b"OK\n", b"OK\n")[1], [b"HISTORY AFTER a-7\n"])
        shown, _ = self.receive(
            b"@a-10 DM alice live\n",
            history("a-8", "carol", "in the room"),
            f"HISTORY-DM a-9 {STAMP} alice bob  the  gap\n".encode(),
            b"HISTORY-END complete 2\n",
        )
        self.assertEqual(
            shown,
            [
                f"[missed {self.when}] MSG carol in the room".encode(),
                f"[missed {self.when}] DM alice -> bob  the  gap".encode(),
                b"-- back: 2 missed messages above",
                b"DM alice live\n",
            ],
        )
        self.assertEqual(self.catchup.last_id, "a-10")

    def test_a_partial_answer_says_messages_are_lost(self) -> None:
        logged_in(self.catchup)
        self.receive(b"OK\n", b"HISTORY-END complete 0\n", b"@a-7 MSG bob seen\n")
        self.catchup.on_connection()
        self.receive(b"OK\n", b"OK\n")
        shown, _ = self.receive(b"HISTORY-END partial 0 unknown\n")
        self.assertEqual(
            shown[0],
            b"-- back: 0 missed messages above; some messages sent while away may be lost"
            b" (the server keeps only its recent history)",
        )

    def test_a_partial_answer_that_counts_the_lost_says_how_many(self) -> None:
        for end, words in (
            (b"HISTORY-END partial 2 38\n", b"; 38 messages sent while away may be lost"),
            (b"HISTORY-END partial 2 1\n", b"; 1 message sent while away may be lost"),
            (b"HISTORY-END partial 2\n", b"; some messages sent while away may be lost"),  # (an older server)
        ):
            self.catchup = Catchup()
            logged_in(self.catchup)
            self.receive(b"OK\n", b"HISTORY-END complete 0\n", b"@a-7 MSG bob seen\n")
            self.catchup.on_connection()
            self.receive(b"OK\n", b"OK\n")
            shown, _ = self.receive(end)
            self.assertIn(b"-- back: 0 missed messages above" + words + b" (", shown[0])

    def test_nothing_ever_seen_asks_for_everything_kept(self) -> None:
        logged_in(self.catchup)
        self.receive(b"OK\n", b"HISTORY-END complete 0\n")
        self.catchup.on_connection()
        self.assertEqual(self.receive(b"OK\n", b"OK\n")[1], [f"HISTORY {RECOVERY_COUNT}\n".encode()])

    def test_ids_on_comes_first_so_no_live_line_lacks_its_id(self) -> None:
        self.assertEqual(self.catchup.connected(), [b"IDS ON\n"])
        self.assertEqual(self.receive(b"OK\n"), ([], []))  # (hidden)
        self.assertEqual(logged_in(self.catchup), [f"HISTORY {GREETING_COUNT}\n".encode()])
        shown, _ = self.receive(b"@a-2 MSG bob second\n", history("a-1", "bob", "first"))
        shown += self.receive(history("a-2", "bob", "second"), b"HISTORY-END more 2\n")[0]
        self.assertEqual(shown, [f"[history {self.when}] MSG bob {text}".encode() for text in ("first", "second")])
        old = Catchup()  # (a server that refuses IDS before a login: asked after it)
        old.connected()
        self.assertEqual(old.received(b"ERR not-logged-in log in first\n"), ([], []))
        self.assertEqual(logged_in(old), [b"IDS ON\n", f"HISTORY {GREETING_COUNT}\n".encode()])

    def test_held_lines_in_a_recovery_without_a_last_id_are_shown_once(self) -> None:
        logged_in(self.catchup)
        self.receive(b"OK\n", b"HISTORY-END complete 0\n")
        self.catchup.on_connection()
        self.assertEqual(self.receive(b"OK\n", b"OK\n")[1], [f"HISTORY {RECOVERY_COUNT}\n".encode()])
        shown, _ = self.receive(b"@a-2 MSG bob live\n", history("a-1", "bob", "gone"), history("a-2", "bob", "live"))
        shown += self.receive(b"HISTORY-END complete 2\n")[0]
        self.assertEqual(
            shown,
            [
                f"[missed {self.when}] MSG bob gone".encode(),
                f"[missed {self.when}] MSG bob live".encode(),
                b"-- back: 2 missed messages above",
            ],
        )

    def test_your_own_messages_are_not_shown_as_missed(self) -> None:
        logged_in(self.catchup, "LOGIN alice pw")
        self.receive(b"OK\n", b"HISTORY-END complete 0\n", b"@a-7 MSG bob seen\n")
        self.catchup.sent(b"MSG mine")
        self.catchup.sent(b"DM bob mine too")
        self.catchup.on_connection()
        self.receive(b"OK\n", b"OK\n")
        shown, _ = self.receive(
            history("a-8", "alice", "mine"),
            history("a-9", "bob", "missed"),
            f"HISTORY-DM a-10 {STAMP} alice bob mine too\n".encode(),
            history("a-11", "alice", "someone else with the name, after"),
            b"HISTORY-END complete 4\n",
        )
        self.assertEqual(
            shown,
            [
                f"[missed {self.when}] MSG bob missed".encode(),
                f"[missed {self.when}] MSG alice someone else with the name, after".encode(),
                b"-- back: 2 missed messages above",
            ],
        )
        self.assertEqual((self.catchup.last_id, self.catchup.own_sent), ("a-11", 0))

    def test_history_off_shows_nothing_of_it(self) -> None:
        logged_in(self.catchup)
        shown, _ = self.receive(b"OK\n", b"ERR history-off history is off on this server\n", b"MSG bob hi\n")
        self.assertEqual(shown, [b"MSG bob hi\n"])

    def test_refused_logins_and_kicks(self) -> None:
        self.catchup.sent(b"LOGIN alice")
        self.assertEqual(self.receive(b"ERR username-taken pick another\n")[0], [b"ERR username-taken pick another\n"])
        self.assertIsNone(self.catchup.credentials)
        self.assertEqual(self.catchup.on_connection(), [b"IDS ON\n"])  # nobody to log in as
        self.receive(b"OK\n")
        logged_in(self.catchup)
        self.catchup.on_connection()
        self.receive(b"ERR bad-password wrong password for that account\n")
        self.assertEqual(self.catchup.login_failed, "bad-password")
        self.receive(b"INFO kicked by op: enough\n")
        self.assertTrue(self.catchup.stay_away)

    def test_lines_held_are_bounded(self) -> None:
        logged_in(self.catchup)
        self.receive(b"OK\n")
        shown, _ = self.receive(*(b"@x MSG bob flood\n" for _ in range(HELD_MOST + 3)))
        self.assertEqual(len(shown), 3)
        self.assertEqual(len(self.catchup.held), HELD_MOST)

    def test_times_are_local_with_the_date_when_not_today(self) -> None:
        moment = datetime.datetime.fromisoformat("2026-12-01T11:36:08.123+00:00").astimezone()
        self.assertEqual(shown_time(STAMP, now=moment), moment.strftime("%H:%M"))
        self.assertEqual(shown_time(STAMP, now=moment + datetime.timedelta(days=2)), moment.strftime("%Y-%m-%d %H:%M"))
        self.assertEqual(shown_time("not-a-time"), "not-a-time")


if __name__ == "__main__":
    unittest.main()
