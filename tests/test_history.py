"""Unit tests of the room's history (history.py): every bound, every lookup and what it says of
its completeness."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat import protocol
from algokart_chat.events import MessageId, Said, Stamp, Together
from algokart_chat.history import History, Kept, size_of
from algokart_chat.room_memory import MemoryRoom


class Inbox:
    def deliver(self, payload: object) -> None:
        pass


def entry(n: int, at: float = 1000.0, text: str = "hello") -> Kept:
    return Kept(MessageId(f"id-{n}"), at, "alice", text)


def ids(entries: list[Kept]) -> list[str]:
    return [kept.id for kept in entries]


def filled(count: int, lines: int = 100, size: int = 1 << 20, age: float = 3600) -> History:
    history = History(lines, size, age)
    for n in range(1, count + 1):
        history.add(entry(n))
    return history


class BoundsTest(unittest.TestCase):
    def test_lines(self) -> None:
        history = filled(5, lines=3)
        self.assertEqual(ids(list(history.entries())), ["id-3", "id-4", "id-5"])
        self.assertEqual(history.dropped, 2)

    def test_bytes(self) -> None:
        one = size_of(entry(1))
        self.assertEqual(one, len("id-1") + len("alice") + len("hello"))
        history = filled(5, size=2 * one)
        self.assertEqual(ids(list(history.entries())), ["id-4", "id-5"])
        self.assertLessEqual(history.kept_bytes, 2 * one)
        history.add(Kept(MessageId("big"), 1000.0, "alice", "x" * 3 * one))  # bigger than the bound: not kept
        self.assertEqual(ids(list(history.entries())), ["id-4", "id-5"])

    def test_bytes_count_utf8_and_the_irc_form(self) -> None:
        self.assertEqual(size_of(Kept(MessageId("i"), 0.0, "Zoë", "é", "\x01ACTION é\x01", "PRIVMSG")), 1 + 4 + 2 + 11)

    def test_age(self) -> None:
        history = History(100, 1 << 20, 60)
        history.add(entry(1, at=1000.0))
        history.add(entry(2, at=1030.0))
        history.add(entry(3, at=1070.0))  # id-1 is 70 s old now
        self.assertEqual(ids(list(history.entries())), ["id-2", "id-3"])
        self.assertEqual(history.latest(10, now=1100.0).entries, [entry(3, at=1070.0)])  # trimmed when asked too

    def test_any_zero_turns_it_off(self) -> None:
        for bounds in ((0, 100, 60.0), (10, 0, 60.0), (10, 100, 0.0)):
            history = History(*bounds)
            history.add(entry(1))
            self.assertFalse(history.on)
            self.assertEqual(len(history), 0)

    def test_memory_stays_bounded(self) -> None:
        history = filled(10_000, lines=50)
        self.assertEqual(len(history), 50)
        self.assertEqual(len(history._index), 50)


class LookupTest(unittest.TestCase):
    def test_latest(self) -> None:
        history = filled(5)
        self.assertEqual(history.latest(2, 1000.0), (list(history.entries())[3:], "more"))
        self.assertEqual(history.latest(9, 1000.0).state, "complete")
        self.assertEqual(filled(5, lines=3).latest(9, 1000.0).state, "partial")

    def test_after(self) -> None:
        history = filled(5)
        self.assertEqual(ids(history.after("id-2", 10, 1000.0).entries), ["id-3", "id-4", "id-5"])
        self.assertEqual(history.after("id-2", 10, 1000.0).state, "complete")
        self.assertEqual(history.after("id-5", 10, 1000.0), ([], "complete"))
        cut = history.after("id-1", 2, 1000.0)
        self.assertEqual((ids(cut.entries), cut.state), (["id-2", "id-3"], "more"))
        until = history.after("id-1", 10, 1000.0, until="id-4")
        self.assertEqual((ids(until.entries), until.state), (["id-2", "id-3"], "complete"))

    def test_after_with_the_first_live_message_gone_repeats_nothing(self) -> None:
        history = filled(5, lines=3)  # id-1 and id-2 let go: every message kept came after id-2
        answer = history.after("id-1", 10, 1000.0, until="id-2")
        self.assertEqual((ids(answer.entries), answer.state), ([], "partial"))

    def test_after_an_id_gone_is_partial(self) -> None:
        history = filled(5, lines=3)
        answer = history.after("id-1", 10, 1000.0)
        self.assertEqual((ids(answer.entries), answer.state), (["id-3", "id-4", "id-5"], "partial"))
        self.assertEqual(history.after("never", 10, 1000.0).state, "partial")

    def test_before_around_between(self) -> None:
        history = filled(9)
        self.assertEqual(history.before("id-5", 2, 1000.0).entries, [entry(3), entry(4)])
        self.assertEqual(history.before("id-5", 2, 1000.0).state, "more")
        self.assertEqual(history.before("id-3", 5, 1000.0).state, "complete")
        self.assertEqual(ids(history.around("id-5", 3, 1000.0).entries), ["id-4", "id-5", "id-6"])
        self.assertEqual(ids(history.between("id-7", "id-3", 10, 1000.0).entries), ["id-4", "id-5", "id-6"])
        self.assertEqual(history.between("id-3", "id-7", 2, 1000.0).state, "more")
        for answer in (history.before("x", 2, 0), history.around("x", 2, 0), history.between("x", "id-2", 2, 0)):
            self.assertEqual(answer, ([], "partial"))


class SaidTest(unittest.TestCase):
    def test_each_text_is_kept_with_its_own_id(self) -> None:
        history = History(10, 1000, 60)
        said = Said("bob", ["a", None, "c"], ["a", "\x01VERSION\x01", "c"], "PRIVMSG")
        said.stamp = Stamp(MessageId("s-1"), 5.0)
        history.add_said(said)
        self.assertEqual(ids(list(history.entries())), ["s-1", "s-1.1", "s-1.2"])
        self.assertEqual(list(history.entries())[1].raw, "\x01VERSION\x01")
        tag = Said("bob", [], None, "TAGMSG", "+typing=active")
        tag.stamp = Stamp(MessageId("s-2"), 5.0)
        history.add_said(tag)  # not a message
        self.assertEqual(len(history), 3)

    def test_the_memory_room_keeps_what_it_stamps(self) -> None:
        room: MemoryRoom[Inbox] = MemoryRoom(clock=lambda: 7.0, history=History(10, 1000, 60))
        said = Said("bob", ["hi"])
        room.broadcast(said, Inbox())
        assert said.stamp is not None
        self.assertEqual(list(room.history.entries()), [Kept(said.stamp.id, 7.0, "bob", "hi", None, None)])


class WireTest(unittest.TestCase):
    def test_history_lines(self) -> None:
        self.assertEqual(
            protocol.history_line(Kept(MessageId("a-1"), 0.5, "Zoë", "hi  there")),
            "HISTORY a-1 1970-01-01T00:00:00.500Z Zoë hi  there\n".encode(),
        )
        self.assertEqual(protocol.history_line(Kept(MessageId("a-1"), 0.5, "bob", None)), b"")
        self.assertEqual(protocol.history_end("partial", 3), b"HISTORY-END partial 3\n")

    def test_live_lines_with_ids(self) -> None:
        said = Said("bob", ["x", "y"])
        said.stamp = Stamp(MessageId("p-9"), 0.0)
        self.assertEqual(protocol.wire_with_ids(said), b"@p-9 MSG bob x\n@p-9.1 MSG bob y\n")
        self.assertEqual(protocol.wire(said), b"MSG bob x\nMSG bob y\n")  # the seed's, untouched
        together = Together([said, Said("eve", ["z"])])
        self.assertEqual(protocol.wire_with_ids(together), b"@p-9 MSG bob x\n@p-9.1 MSG bob y\nMSG eve z\n")


if __name__ == "__main__":
    unittest.main()
