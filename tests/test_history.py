"""Unit tests of the room's history (history.py): every lookup and what it says of its
completeness.  How it is kept, its bounds and places: test_history_records; end to end:
test_history_end_to_end."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat import protocol
from algokart_chat.events import MessageId, Said, Stamp, Together
from algokart_chat.history import LET_GO_LEAST, History, Kept
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


class LostTest(unittest.TestCase):
    """``lost_after``: how many messages after an id were let go, when the history can tell."""

    def test_none_lost_after_an_id_kept(self) -> None:
        self.assertEqual(filled(5).lost_after("id-2"), 0)

    def test_the_messages_let_go_after_an_id_let_go(self) -> None:
        history = filled(6, lines=3)  # id-1 .. id-3 let go
        self.assertEqual(history.lost_after("id-1"), 2)
        self.assertEqual(history.lost_after("id-3"), 0)
        self.assertEqual(history.lost_after("id-1", until="id-3"), 1)  # (id-3 on, the asker got live)
        self.assertEqual(history.lost_after("id-1", until="id-5"), 2)  # (until kept: up to the oldest kept)
        answer = history.after("id-1", 10, 1000.0)
        self.assertEqual((ids(answer.entries), answer.state), (["id-4", "id-5", "id-6"], "partial"))

    def test_unknown_ids_and_ids_let_go_too_long_ago(self) -> None:
        history = filled(10, lines=3)
        self.assertIsNone(history.lost_after("never"))
        self.assertIsNone(history.lost_after("id-1", until="never"))
        history = filled(30, lines=3)  # the last LET_GO_LEAST let go are remembered: id-12 .. id-27
        self.assertEqual(LET_GO_LEAST, 16)
        self.assertIsNone(history.lost_after("id-11"))
        self.assertEqual(history.lost_after("id-12"), 15)

    def test_no_count_across_a_gap(self) -> None:
        history = filled(4, lines=3)  # id-1 let go
        history.mark_gap()  # (a cluster node rejoined: what came next may not have been read)
        for n in range(5, 10):
            history.add(entry(n))  # id-2 .. id-6 let go
        self.assertIsNone(history.lost_after("id-4"))  # (2 without the gap)
        self.assertEqual(history.lost_after("id-5"), 1)

    def test_direct_messages_let_go_count_for_their_two_accounts_only(self) -> None:
        history = History(2, 1 << 20, 3600)
        history.add(entry(1))
        history.add(Kept(MessageId("dm-2"), 1000.0, "alice", "psst", None, None, "bob", "A", "B"))
        for n in range(3, 6):
            history.add(entry(n))  # id-1, dm-2 and id-3 let go
        self.assertEqual(history.lost_after("id-1"), 1)
        self.assertEqual(history.lost_after("id-1", account="B"), 2)
        self.assertEqual(history.lost_after("id-1", account="C"), 1)
        self.assertEqual(history.lost_after("dm-2", account="A"), 1)
        self.assertIsNone(history.lost_after("dm-2"))  # (an id the asker cannot see: unknown to it)

    def test_texts_of_a_batch_let_go(self) -> None:
        history = History(2, 1 << 20, 3600)
        said = Said("bob", ["a", "b", "c", "d"])
        said.stamp = Stamp(MessageId("s-1"), 1000.0)
        history.add_said(said)  # s-1 and s-1.1 let go
        self.assertEqual(history.lost_after("s-1"), 1)
        self.assertEqual(history.lost_after("s-1.1"), 0)
        self.assertEqual(history.lost_after("s-1.2"), 0)


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
