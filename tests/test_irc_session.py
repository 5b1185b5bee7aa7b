"""The IRC session in this process, on fake transports: what a test over real sockets cannot see
(the memory WHO masks leave behind, what a message to several targets costs in tokens)."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from in_process import InProcessServer, lines_of
from irc_fakes import registered


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
