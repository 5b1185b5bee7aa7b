"""The line protocol's history commands (``sessions.line_history``), their pure parts: HISTORY's
argument read into a question, the answer written from a history (latest, AFTER an id, stopping
before what the asker got live, what a partial one says it lost), IDS's argument, and the first
message of an event that history keeps.  Over a connection and end to end:
test_history_end_to_end; the history itself: test_history and test_history_records."""

from __future__ import annotations

import unittest
from typing import TypeVar

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.events import Arrived, MessageId, Said, Stamp, Together, Told
from algokart_chat.history import History
from algokart_chat.sessions.line_history import DEFAULT_COUNT, MOST, Question, answer, first_kept, ids_wanted, question
from test_history import filled

Event = TypeVar("Event", Said, Told)


def stamped(event: Event, stamp_id: str) -> Event:
    event.stamp = Stamp(MessageId(stamp_id), 1000.0)
    return event


class QuestionTest(unittest.TestCase):
    def test_a_count_or_after_an_id(self) -> None:
        self.assertEqual(question(""), Question(None, DEFAULT_COUNT))
        self.assertEqual(question("5"), Question(None, 5))
        self.assertEqual(question(str(MOST + 1)), Question(None, MOST))
        self.assertEqual(question("after x-1"), Question(MessageId("x-1"), MOST))
        self.assertEqual(question("AFTER x-1"), Question(MessageId("x-1"), MOST))

    def test_a_count_of_any_length_is_capped_without_reading_it_whole(self) -> None:
        self.assertEqual(question("9" * 5000), Question(None, MOST))  # (int() refuses > 4,300 digits)
        self.assertEqual(question("0" * 5000 + "7"), Question(None, 7))
        self.assertIsNone(question("0" * 5000))

    def test_anything_else_is_no_question(self) -> None:
        for argument in ("0", "-1", "5 more", "٣", "AFTER", "AFTER a b", "AFTER a\tb", "LATEST"):
            with self.subTest(argument=argument):
                self.assertIsNone(question(argument))

    def test_ids_on_or_off_in_any_case(self) -> None:
        self.assertEqual([ids_wanted(word) for word in ("ON", "on", "Off", "OFF")], [True, True, False, False])
        for word in ("", "yes", "ON ", "ſON"):
            with self.subTest(word=word):
                self.assertIsNone(ids_wanted(word))


class AnswerTest(unittest.TestCase):
    def test_the_latest_then_the_end_line(self) -> None:
        lines = answer(filled(3), Question(None, 2), 1000.0, None).decode().splitlines()
        self.assertEqual([line.split(" ")[1] for line in lines[:-1]], ["id-2", "id-3"])
        self.assertEqual(lines[-1], "HISTORY-END more 2")

    def test_after_an_id_stops_before_the_first_message_got_live(self) -> None:
        lines = answer(filled(5), Question(MessageId("id-1"), MOST), 1000.0, MessageId("id-4")).decode().splitlines()
        self.assertEqual([line.split(" ")[1] for line in lines[:-1]], ["id-2", "id-3"])
        self.assertEqual(lines[-1], "HISTORY-END complete 2")

    def test_a_partial_answer_says_how_many_are_lost(self) -> None:
        history = filled(6, lines=3)  # id-1 .. id-3 let go
        self.assertTrue(answer(history, Question(MessageId("id-1"), MOST), 1000.0, None).endswith(b"partial 3 2\n"))
        self.assertTrue(
            answer(history, Question(MessageId("gone"), MOST), 1000.0, None).endswith(b"partial 3 unknown\n")
        )
        # (the id was let go but nothing after it was: the whole gap is there)
        self.assertTrue(answer(history, Question(MessageId("id-3"), MOST), 1000.0, None).endswith(b"complete 3\n"))

    def test_an_id_with_a_suffix_of_any_length_is_an_id_not_kept(self) -> None:
        history = filled(6, lines=3)
        for anchor in ("id-1." + "7" * 5000, "id-5." + "7" * 5000, "id-5.1", "id-5." + "1" * 10):
            with self.subTest(anchor=anchor[:12]):
                reply = answer(history, Question(MessageId(anchor), MOST), 1000.0, MessageId("id-6." + "7" * 5000))
                self.assertTrue(reply.endswith(b"partial 0 unknown\n"), reply[-40:])


class FirstKeptTest(unittest.TestCase):
    def setUp(self) -> None:
        self.history = History(100, 1 << 20, 3600)

    def kept(self, event: Said | Told) -> Said | Told:
        if isinstance(event, Told):
            self.history.add_told(event, "bob")
        else:
            self.history.add_said(event)
        return event

    def test_the_first_stamped_text_that_history_keeps(self) -> None:
        said = self.kept(stamped(Said("bob", ["hi"]), "s-1"))
        tag = self.kept(stamped(Said("bob", [], None, "TAGMSG", "+typing=active"), "s-0"))
        self.assertEqual(first_kept(said, self.history), "s-1")
        self.assertIsNone(first_kept(tag, self.history))
        self.assertIsNone(first_kept(self.kept(Said("bob", ["not stamped"])), self.history))
        self.assertEqual(first_kept(Together([Arrived("ann"), tag, said]), self.history), "s-1")
        self.assertIsNone(first_kept(Together([Arrived("ann")]), self.history))

    def test_a_direct_message_only_between_two_accounts(self) -> None:
        told = stamped(Told("ann", "psst", account="A"), "d-1")
        self.kept(told)
        self.assertIsNone(first_kept(told, self.history))
        told.to_account = "B"
        self.kept(told)
        self.assertEqual(first_kept(told, self.history), "d-1")
        self.assertIsNone(first_kept(Together([told]), self.history))  # (a Together holds broadcasts only)

    def test_only_what_history_has(self) -> None:
        small = History(100, 40, 3600)
        big = stamped(Said("bob", ["x" * 50]), "s-1")  # (over the byte bound: never kept)
        small.add_said(big)
        self.assertIsNone(first_kept(big, small))
        batch = stamped(Said("bob", ["x" * 30, "y"]), "s-2")  # (its first text let go by the bound)
        small.add_said(batch)
        self.assertEqual(first_kept(Together([big, batch]), small), "s-2")  # (kept, let go: it knows where)
        cut = stamped(Said("bob", ["x" * 50, "y"]), "s-3")  # (over the bound as a whole: text by text)
        small.add_said(cut)
        self.assertEqual(first_kept(cut, small), "s-3.1")
        told = stamped(Told("ann", "x" * 50, account="A"), "d-1")
        told.to_account = "B"
        small.add_told(told, "bob")
        self.assertIsNone(first_kept(told, small))

    def test_an_answer_after_a_message_never_kept_is_not_lost(self) -> None:
        history = filled(3, size=60)
        big = stamped(Said("bob", ["x" * 70]), "s-big")
        history.add_said(big)
        live = first_kept(big, history)
        reply = answer(history, Question(MessageId("id-1"), MOST), 1000.0, live).decode().splitlines()
        self.assertEqual(reply[-1], "HISTORY-END complete 2")


if __name__ == "__main__":
    unittest.main()
