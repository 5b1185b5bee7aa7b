"""What a HISTORY answer costs, in this process over fake transports: as WHO's, one more token of
the sender's input budget for every whole KiB of the answer (docs/PROTOCOL.md, *History*)."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.history import History
from in_process import InProcessServer, lines_of

# A budget of 10 lines at once and next to nothing after: what a burst pays is all there is.
TIGHT_BUDGET = ("--max-per-ip", "0", "--rate-limit", "0.001", "--rate-burst", "10")


class HistoryAnswerCostTest(unittest.TestCase):
    def asked(self, text_bytes: int, pings: int) -> list[str]:
        """Two messages of ``text_bytes`` each kept; the asker's one burst: LOGIN, HISTORY and
        ``pings`` PINGs.  What the asker got."""
        chat = InProcessServer(*TIGHT_BUDGET)
        self.addCleanup(chat.close)
        chat.room.history = History(1000, 1 << 20, 86400.0)
        chat.connect("LOGIN talker", "MSG " + "a" * text_bytes, "MSG " + "b" * text_bytes)
        chat.settle()
        asker = chat.connect("LOGIN asker", "HISTORY", *(["PING"] * pings))
        chat.settle()
        replies = lines_of(asker)
        self.assertEqual(replies[0], "OK")
        self.assertEqual(replies[3], "HISTORY-END complete 2")
        return replies[4:]

    def test_an_answer_under_a_kib_costs_its_line_only(self) -> None:
        # 2 x about 450 bytes: the 10 lines of the burst are paid, and every PING is answered.
        self.assertEqual(self.asked(400, 8), ["PONG"] * 8)

    def test_an_answer_of_a_kib_or_more_costs_a_token_more(self) -> None:
        # 2 x about 750 bytes: one token more than the burst holds, so the PINGs wait, paid for and
        # in order, until it is repaid (at 0.001 a second: not in this test).
        self.assertEqual(self.asked(700, 8), [])

    def test_a_token_for_each_whole_kib(self) -> None:
        # With a token to spare, a 1.5 KiB answer is paid for and the PINGs are answered; a 2.5 KiB
        # one costs two tokens, one more than the budget has left.
        self.assertEqual(self.asked(700, 7), ["PONG"] * 7)
        self.assertEqual(self.asked(1200, 7), [])


if __name__ == "__main__":
    unittest.main()
