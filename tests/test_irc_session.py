"""The IRC session in this process, on fake transports: what a test over real sockets cannot see
(the memory WHO masks leave behind)."""

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


if __name__ == "__main__":
    unittest.main()
