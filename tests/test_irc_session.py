"""The IRC session in this process, on fake transports: what a test over real sockets cannot see
(the memory WHO masks leave behind, what a message to several targets costs in tokens)."""

from __future__ import annotations

import tracemalloc
import unittest

from support import FakeTransport

from in_process import InProcessServer, lines_of

HOSTILE = "\ufdfa" * 160  # 480 bytes; NFKC makes each of them 18 characters


def registered(chat: InProcessServer, nick: str, *lines: str) -> FakeTransport:
    transport = chat.connect_irc(f"NICK {nick}", f"USER {nick} 0 * :{nick}", "JOIN #chat", *lines)
    chat.settle()
    return transport


class WhoMaskTest(unittest.TestCase):
    def test_distinct_hostile_masks_leave_no_memory_behind(self) -> None:
        chat = InProcessServer("--rate-limit", "0", "--rate-limit-bytes", "0")
        self.addCleanup(chat.close)
        asker = registered(chat, "asker")
        registered(chat, "alice")

        def ask(first: int, count: int) -> None:
            for number in range(first, first + count):
                chat.send(asker, f"WHO {HOSTILE}{number}*")
                chat.settle(1)
                self.assertTrue(asker.written.endswith(b":End of WHO list\r\n"))
                asker.written.clear()

        ask(0, 10)  # (whatever the first ones allocate for good)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            ask(10, 300)
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        self.assertLess(grown, 64 * 1024)  # (fnmatch's cache kept about 58 KiB for each)

    def test_masks_compare_as_names_do_and_a_mask_longer_than_any_name_matches_nothing(self) -> None:
        chat = InProcessServer()
        self.addCleanup(chat.close)
        asker = registered(chat, "asker")
        for nick in ("Alice", "alicia", "bob", "\ufdfa"):
            registered(chat, nick)
        answers = {
            "ALI*": ["Alice", "alicia"],
            "ａｌｉｃｅ": ["Alice"],  # fullwidth, as LOGIN compares names
            "?l?c??": ["alicia"],
            "*\ufdfa*": ["\ufdfa"],
            "\u0635*": ["\ufdfa"],  # (its NFKC form starts with U+0635)
            "a" * 19 + "*": [],
            HOSTILE + "*": [],
        }
        for mask, expected in answers.items():
            asker.written.clear()
            chat.send(asker, f"WHO {mask}")
            chat.settle()
            found = [line.split(" ")[4] for line in lines_of(asker) if " 352 " in line]
            self.assertEqual(found, expected, mask)
            self.assertEqual(lines_of(asker)[-1], f":irc.test 315 asker {mask} :End of WHO list")


class TargetsTest(unittest.TestCase):
    def test_each_distinct_target_costs_a_line_of_the_budget(self) -> None:
        chat = InProcessServer("--rate-burst", "8")
        self.addCleanup(chat.close)
        readers = [registered(chat, f"r{number}") for number in range(4)]
        sender = registered(chat, "sender")
        for reader in readers:
            reader.written.clear()
        # 4 lines fit a budget of 8 lines; the first, to 4 targets, costs 4, then 4 more: the
        # budget is spent, and the rest waits for tokens.
        chat.send(sender, *(f"PRIVMSG r0,r1,r2,r3 :{number}" for number in range(3)))
        chat.settle()
        for reader in readers:
            self.assertEqual(len(lines_of(reader)), 1)
        self.assertFalse(sender.reading)  # (in debt: the other two lines wait for tokens)

    def test_a_repeated_target_counts_once(self) -> None:
        chat = InProcessServer("--rate-burst", "8")
        self.addCleanup(chat.close)
        reader = registered(chat, "reader")
        sender = registered(chat, "sender")
        reader.written.clear()
        chat.send(sender, "PRIVMSG " + ",".join(["reader", "READER", "ｒｅａｄｅｒ"] * 12) + " :x", "PRIVMSG reader :y")
        chat.settle()
        head = ":sender!sender@irc.test PRIVMSG reader"
        self.assertEqual(lines_of(reader), [f"{head} :x", f"{head} :y"])


if __name__ == "__main__":
    unittest.main()
