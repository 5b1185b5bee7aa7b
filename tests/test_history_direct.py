"""Unit tests of direct messages in the room's history (history.py): kept only between two
accounts, seen only by those two, in the room's order and within its bounds."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat import protocol
from algokart_chat.events import MessageId, Stamp, Told
from algokart_chat.history import History, Kept, Partner, is_kept_direct, size_of
from algokart_chat.room_memory import MemoryRoom
from algokart_chat.sessions import line_history


class Inbox:
    def __init__(self) -> None:
        self.got: list[object] = []

    def deliver(self, payload: object) -> None:
        self.got.append(payload)


def room(n: int) -> Kept:
    return Kept(MessageId(f"id-{n}"), 1000.0, "carol", f"room {n}")


def direct(n: int, sender: str = "alice", to: str = "bob", accounts: tuple[str, str] = ("A", "B")) -> Kept:
    return Kept(MessageId(f"id-{n}"), 1000.0, sender, f"dm {n}", None, None, to, *accounts)


def ids(entries: list[Kept]) -> list[str]:
    return [kept.id for kept in entries]


def mixed() -> History:
    """id-1 room, id-2 A->B, id-3 room, id-4 B->A, id-5 A->C, id-6 room."""
    history = History(100, 1 << 20, 3600)
    for entry in (
        room(1),
        direct(2),
        room(3),
        direct(4, "bob", "alice", ("B", "A")),
        direct(5, "alice", "cleo", ("A", "C")),
        room(6),
    ):
        history.add(entry)
    return history


class WhoSeesWhatTest(unittest.TestCase):
    def test_without_an_account_only_room_messages(self) -> None:
        history = mixed()
        self.assertEqual(history.latest(10, 1000.0), ([room(1), room(3), room(6)], "complete"))
        self.assertEqual(ids(history.after("id-1", 10, 1000.0).entries), ["id-3", "id-6"])

    def test_an_account_sees_the_room_and_its_own_direct_messages(self) -> None:
        history = mixed()
        self.assertEqual(
            ids(history.latest(10, 1000.0, account="A").entries), ["id-1", "id-2", "id-3", "id-4", "id-5", "id-6"]
        )
        self.assertEqual(ids(history.latest(10, 1000.0, account="B").entries), ["id-1", "id-2", "id-3", "id-4", "id-6"])
        self.assertEqual(ids(history.latest(10, 1000.0, account="C").entries), ["id-1", "id-3", "id-5", "id-6"])
        self.assertEqual(ids(history.latest(10, 1000.0, account="D").entries), ["id-1", "id-3", "id-6"])
        self.assertEqual(ids(history.after("id-1", 10, 1000.0, account="B").entries), ["id-2", "id-3", "id-4", "id-6"])

    def test_a_conversation_between_two_accounts(self) -> None:
        history = mixed()
        for account, peer in (("A", "B"), ("B", "A")):
            answer = history.latest(10, 1000.0, account=account, with_peer=peer)
            self.assertEqual((ids(answer.entries), answer.state), (["id-2", "id-4"], "complete"))
        self.assertEqual(ids(history.latest(10, 1000.0, account="A", with_peer="C").entries), ["id-5"])
        self.assertEqual(history.latest(10, 1000.0, account="B", with_peer="C").entries, [])
        self.assertEqual(history.before("id-4", 5, 1000.0, account="A", with_peer="B"), ([direct(2)], "complete"))
        self.assertEqual(ids(history.after("id-2", 5, 1000.0, account="A", with_peer="B").entries), ["id-4"])
        self.assertEqual(ids(history.around("id-4", 3, 1000.0, account="B", with_peer="A").entries), ["id-2", "id-4"])
        self.assertEqual(history.between("id-2", "id-4", 5, 1000.0, account="A", with_peer="B"), ([], "complete"))

    def test_an_id_the_asker_cannot_see_is_unknown_to_it(self) -> None:
        history = mixed()
        self.assertEqual(history.after("id-2", 10, 1000.0, account="C").state, "partial")
        self.assertEqual(history.after("id-2", 10, 1000.0).state, "partial")
        self.assertEqual(history.before("id-5", 10, 1000.0, account="B"), ([], "partial"))
        self.assertEqual(history.around("id-2", 3, 1000.0), ([], "partial"))
        self.assertEqual(history.between("id-1", "id-5", 3, 1000.0, account="B"), ([], "partial"))
        self.assertEqual(ids(history.after("id-2", 10, 1000.0, account="A").entries), ["id-3", "id-4", "id-5", "id-6"])

    def test_counts_and_more_count_only_what_the_asker_sees(self) -> None:
        history = mixed()
        self.assertEqual(history.latest(2, 1000.0), ([room(3), room(6)], "more"))
        self.assertEqual(ids(history.latest(3, 1000.0, account="B").entries), ["id-3", "id-4", "id-6"])
        cut = history.after("id-1", 2, 1000.0, account="C")
        self.assertEqual((ids(cut.entries), cut.state), (["id-3", "id-5"], "more"))
        until = history.after("id-1", 10, 1000.0, until="id-6", account="B")
        self.assertEqual((ids(until.entries), until.state), (["id-2", "id-3", "id-4"], "complete"))
        self.assertEqual(history.after("id-3", 10, 1000.0, until="id-6"), ([], "complete"))

    def test_partners_latest_first(self) -> None:
        history = mixed()
        self.assertEqual(history.partners("A", 1000.0), [Partner("C", "cleo", 1000.0), Partner("B", "bob", 1000.0)])
        self.assertEqual(history.partners("B", 1000.0), [Partner("A", "alice", 1000.0)])  # (its name in the latest)
        self.assertEqual(history.partners("D", 1000.0), [])


class KeptOnlyBetweenAccountsTest(unittest.TestCase):
    def test_a_direct_message_without_both_accounts_is_never_kept(self) -> None:
        history = History(100, 1 << 20, 3600)
        history.add(Kept(MessageId("x-1"), 1000.0, "alice", "hi", None, None, "bob", "A", None))
        history.add(Kept(MessageId("x-2"), 1000.0, "alice", "hi", None, None, "bob", None, "B"))
        self.assertEqual(len(history), 0)
        for sender_account, recipient_account in (("A", None), (None, "B"), (None, None)):
            told = Told("alice", "hi", account=sender_account)
            told.to_account = recipient_account
            told.stamp = Stamp(MessageId("x-3"), 1000.0)
            self.assertFalse(is_kept_direct(told))
            self.assertFalse(history.add_told(told, "bob"))
        self.assertEqual(len(history), 0)

    def test_a_tagmsg_or_an_unstamped_one_is_not_kept(self) -> None:
        history = History(100, 1 << 20, 3600)
        told = Told("alice", None, None, "TAGMSG", "+typing=active", account="A")
        told.to_account, told.stamp = "B", Stamp(MessageId("x-1"), 1000.0)
        self.assertFalse(history.add_told(told, "bob"))
        unstamped = Told("alice", "hi", account="A")
        unstamped.to_account = "B"
        self.assertFalse(history.add_told(unstamped, "bob"))

    def test_the_memory_room_keeps_a_direct_message_between_two_accounts_only(self) -> None:
        chat: MemoryRoom[Inbox] = MemoryRoom(clock=lambda: 7.0, history=History(10, 1000, 60))
        alice, bob, guest = Inbox(), Inbox(), Inbox()
        chat.join(alice, "alice", lambda _result: None, account="A")
        chat.join(bob, "Bob", lambda _result: None, account="B")
        chat.join(guest, "guest", lambda _result: None)
        kept = Told("alice", "psst", account="A")
        chat.direct("bob", kept)
        self.assertEqual(kept.to_account, "B")
        assert kept.stamp is not None
        to_guest, from_guest = Told("alice", "hey", account="A"), Told("guest", "yo")
        chat.direct("guest", to_guest)
        chat.direct("bob", from_guest)
        self.assertEqual((to_guest.to_account, from_guest.to_account), (None, "B"))
        self.assertEqual(
            list(chat.history.entries()), [Kept(kept.stamp.id, 7.0, "alice", "psst", None, None, "Bob", "A", "B")]
        )
        self.assertEqual(bob.got, [kept, from_guest])


class BoundsTest(unittest.TestCase):
    def test_direct_messages_count_against_the_same_bounds(self) -> None:
        history = History(3, 1 << 20, 3600)
        for entry in (room(1), direct(2), room(3), direct(4)):
            history.add(entry)
        self.assertEqual(ids(list(history.entries())), ["id-2", "id-3", "id-4"])
        self.assertEqual(size_of(direct(2)), len("id-2alicedm 2bobAB"))
        history.add(room(5))
        history.add(room(6))
        self.assertEqual(ids(list(history.entries())), ["id-4", "id-5", "id-6"])
        self.assertEqual((history.dropped, history.room_dropped), (3, 2))
        history.add(room(7))  # the last direct message goes
        self.assertEqual(history._directs, 0)

    def test_a_direct_message_let_go_is_no_loss_to_those_without_an_account(self) -> None:
        history = History(2, 1 << 20, 3600)
        for entry in (direct(1), room(2), room(3)):
            history.add(entry)
        self.assertEqual(history.latest(10, 1000.0), ([room(2), room(3)], "complete"))
        self.assertEqual(history.latest(10, 1000.0, account="A").state, "partial")

    def test_a_lookup_walks_past_others_direct_messages(self) -> None:
        history = History(1000, 1 << 24, 3600)
        history.add(room(0))
        for n in range(1, 999):
            history.add(direct(n, accounts=("X", "Y")))
        history.add(room(999))
        self.assertEqual(history.latest(5, 1000.0), ([room(0), room(999)], "complete"))
        self.assertEqual(history.after("id-0", 5, 1000.0), ([room(999)], "complete"))
        self.assertEqual(len(history.latest(5, 1000.0, account="X").entries), 5)


class LineProtocolTest(unittest.TestCase):
    def test_a_kept_direct_message_is_a_line_of_its_own(self) -> None:
        self.assertEqual(
            protocol.history_line(Kept(MessageId("a-1"), 0.5, "Zoë", "hi  there", None, None, "bob", "zoe", "bob")),
            "HISTORY-DM a-1 1970-01-01T00:00:00.500Z Zoë bob hi  there\n".encode(),
        )

    def test_ids_on_live_direct_lines_only_for_kept_ones(self) -> None:
        kept, guest = Told("alice", "hi", account="A"), Told("guest", "yo")
        kept.to_account = guest.to_account = "B"
        kept.stamp, guest.stamp = Stamp(MessageId("p-1"), 0.0), Stamp(MessageId("p-2"), 0.0)
        self.assertEqual(protocol.wire_with_ids(kept), b"@p-1 DM alice hi\n")
        self.assertEqual(protocol.wire_with_ids(guest), b"DM guest yo\n")
        self.assertEqual(protocol.wire(kept), b"DM alice hi\n")  # the seed's, untouched
        history = History(10, 1 << 20, 3600)
        history.add_told(kept, "bob")
        self.assertEqual(
            (line_history.first_kept(kept, history), line_history.first_kept(guest, history)), ("p-1", None)
        )

    def test_an_answer_without_an_account_is_the_room_messages(self) -> None:
        history = mixed()
        asked = line_history.Question(None, 20)
        self.assertEqual(line_history.answer(history, asked, 1000.0, None).count(b"\n"), 4)
        self.assertIn(b"HISTORY-DM id-4 ", line_history.answer(history, asked, 1000.0, None, "B"))
        self.assertNotIn(b"id-5", line_history.answer(history, asked, 1000.0, None, "B"))


if __name__ == "__main__":
    unittest.main()
