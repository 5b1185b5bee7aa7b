"""Unit tests of the in-memory room: membership, names, login order, who receives what."""

from __future__ import annotations

import unittest
from collections.abc import Callable
from typing import Any

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.events import Arrived, Echoed, Said, Together, Told
from algokart_chat.room import JoinResult
from algokart_chat.room_memory import MemoryRoom


class Inbox:
    def __init__(self) -> None:
        self.received: list[Any] = []

    def deliver(self, payload: Any) -> None:
        self.received.append(payload)


class RoomTest(unittest.TestCase):
    def setUp(self) -> None:
        self.departures: list[str] = []
        self.reasons: list[str | None] = []
        self.room: MemoryRoom[Inbox] = MemoryRoom(self.departed)

    def departed(self, name: str, reason: str | None) -> None:
        self.departures.append(name)
        self.reasons.append(reason)

    def join(self, name: str, member: Inbox | None = None) -> JoinResult:
        answers: list[JoinResult] = []
        self.room.join(member or Inbox(), name, answers.append)
        self.assertEqual(len(answers), 1, "the in-memory room answers at once")
        return answers[0]

    def test_names_are_unique_ignoring_case_and_width(self) -> None:
        self.assertEqual(self.join("Alice"), "ok")
        for clash in ("alice", "ALICE", "ａｌｉｃｅ"):
            self.assertEqual(self.join(clash), "taken", clash)
        self.assertEqual(self.room.names(), ["Alice"])

    def test_names_in_login_order_as_typed(self) -> None:
        members = {name: Inbox() for name in ("Naman", "Yudi", "zed", "Abe")}
        for name, member in members.items():
            self.join(name, member)
        self.room.leave(members["Yudi"], "YUDI")
        self.join("Yudi")
        self.assertEqual(self.room.names(), ["Naman", "zed", "Abe", "Yudi"])

    def test_name_is_free_again_after_leaving_and_the_departure_is_told_once(self) -> None:
        bob = Inbox()
        self.join("bob", bob)
        self.room.leave(bob, "bob")
        self.room.leave(bob, "bob")
        self.assertFalse(self.room.knows("bob"))
        self.assertEqual(self.departures, ["bob"])
        self.assertEqual(self.join("BOB"), "ok")

    def test_only_the_owner_of_a_name_can_give_it_up(self) -> None:
        self.join("bob")
        self.room.leave(Inbox(), "bob")
        self.assertTrue(self.room.knows("Bob"))
        self.assertEqual(self.departures, [])

    def test_knows_ignores_case(self) -> None:
        self.join("Bob")
        self.assertTrue(self.room.knows("bOB"))
        self.assertFalse(self.room.knows("carol"))

    def test_broadcast_reaches_everyone_but_the_sender_in_order(self) -> None:
        inboxes = [Inbox() for _ in range(4)]
        for number, inbox in enumerate(inboxes):
            self.join(f"user{number}", inbox)
        self.room.broadcast("one", inboxes[1])
        self.room.tell_local("two")
        self.room.direct("USER2", "three")
        self.room.direct("nobody", "lost")
        self.assertEqual(
            [inbox.received for inbox in inboxes], [["one", "two"], ["two"], ["one", "two", "three"], ["one", "two"]]
        )
        self.assertEqual(len(self.room), 4)

    def test_every_message_is_stamped_once_with_an_id_of_its_own_and_the_clock_at_acceptance(self) -> None:
        now = [1700000000.5]
        room: MemoryRoom[Inbox] = MemoryRoom(None, clock=lambda: now[0])
        alice, bob = Inbox(), Inbox()
        room.join(alice, "alice", lambda result: None)
        room.join(bob, "bob", lambda result: None)
        first, second, told = Said("alice", ["one"]), Said("alice", ["two"]), Told("alice", "psst")
        room.broadcast(first, alice)
        now[0] += 1
        room.broadcast(second, alice)
        room.direct("bob", told)
        room.broadcast("not a message", alice)  # (anything else is left as it is)
        stamps = [first.stamp, second.stamp, told.stamp]
        self.assertEqual(bob.received[:3], [first, second, told])
        self.assertEqual([stamp.accepted_at for stamp in stamps if stamp], [1700000000.5, 1700000001.5, 1700000001.5])
        ids = [stamp.id for stamp in stamps if stamp]
        self.assertEqual(len(set(ids)), 3)
        self.assertTrue(all(id_.replace("-", "").isalnum() for id_ in ids), ids)
        again: MemoryRoom[Inbox] = MemoryRoom(None)  # (another start: other ids)
        again.join(Inbox(), "carol", lambda result: None)
        later = Said("carol", ["one"])
        again.broadcast(later, Inbox())
        self.assertNotIn(later.stamp and later.stamp.id, ids)

    def test_a_sender_that_asks_gets_its_echo_and_its_direct_messages_echo_too(self) -> None:
        alice, bob = Inbox(), Inbox()
        self.join("alice", alice)
        self.join("bob", bob)
        said, told = Said("alice", ["hi"]), Told("alice", "psst")
        self.room.broadcast(said, alice, echo=True)
        self.room.broadcast(Said("alice", ["quiet"]), alice)
        self.room.direct("BOB", told, echo_to=alice)
        self.assertEqual(len(alice.received), 2)
        echo, told_echo = alice.received
        self.assertIsInstance(echo, Echoed)
        self.assertIsInstance(told_echo, Echoed)
        self.assertIs(echo.event, said)
        self.assertIsNone(echo.to)
        self.assertIs(told_echo.event, told)
        self.assertEqual(told_echo.to, "BOB")
        self.assertIs(bob.received[-1], told)


class TurnTest(unittest.TestCase):
    """With a scheduler (the loop's call_soon), a loop turn's broadcasts reach each member once."""

    def setUp(self) -> None:
        self.later: list[Callable[[], None]] = []
        self.room: MemoryRoom[Inbox] = MemoryRoom(None, self.later.append)
        self.inboxes = [Inbox() for _ in range(4)]
        for number, inbox in enumerate(self.inboxes):
            self.room.join(inbox, f"user{number}", lambda result: None)

    def end_turn(self) -> None:
        later, self.later = self.later, []
        for callback in later:
            callback()

    def test_broadcasts_of_one_turn_are_one_shared_payload_for_those_who_sent_none(self) -> None:
        one, two, three = Said("user0", ["one"]), Said("user1", ["two"]), Said("user0", ["three"])
        self.room.broadcast(one, self.inboxes[0])
        self.room.broadcast(two, self.inboxes[1])
        self.room.broadcast(three, self.inboxes[0])
        self.assertEqual([inbox.received for inbox in self.inboxes], [[], [], [], []])
        self.assertEqual(len(self.later), 1)  # one delivery scheduled for the turn, not three
        self.end_turn()
        together = self.inboxes[2].received[0]
        self.assertIsInstance(together, Together)
        self.assertEqual(together.parts, [one, two, three])
        self.assertIs(self.inboxes[3].received[0], together)  # the same object for both
        # Senders get the others' broadcasts as they are (references, not a copy of the rest).
        self.assertEqual(self.inboxes[0].received, [two])
        self.assertEqual(self.inboxes[1].received, [one, three])

    def test_a_sender_that_asks_gets_its_echo_in_its_place_among_the_others(self) -> None:
        one, two, three = Said("user0", ["one"]), Said("user1", ["two"]), Said("user0", ["three"])
        self.room.broadcast(one, self.inboxes[0], echo=True)
        self.room.broadcast(two, self.inboxes[1])
        self.room.broadcast(three, self.inboxes[0])
        self.end_turn()
        first, second = self.inboxes[0].received
        self.assertIsInstance(first, Echoed)
        self.assertIs(first.event, one)
        self.assertIs(second, two)
        self.assertEqual(self.inboxes[1].received, [one, three])  # (others never get an echo)
        self.assertEqual(self.inboxes[2].received[0].parts, [one, two, three])

    def test_what_shows_order_delivers_the_turn_so_far_first(self) -> None:
        newcomer = Inbox()
        for show in ("direct", "tell_local", "sync", "join"):
            with self.subTest(show=show):
                for inbox in (*self.inboxes, newcomer):
                    inbox.received.clear()
                said = Said("user0", [f"before {show}"])
                self.room.broadcast(said, self.inboxes[0])
                if show == "direct":
                    self.room.direct("user1", "private")
                elif show == "tell_local":
                    self.room.tell_local("news")
                elif show == "sync":
                    self.room.sync(self.inboxes[1], lambda: self.inboxes[1].deliver("pong"))
                else:
                    self.room.join(newcomer, "newcomer", lambda result: None)
                self.assertIs(self.inboxes[1].received[0], said)
                self.end_turn()
                self.assertNotIn(said, newcomer.received)  # (said before they joined)


class ArrivalsTurnTest(unittest.TestCase):
    """With a scheduler, a turn's arrivals reach each listener once, as one payload: a join storm
    costs a delivery per listener per turn, not one per join."""

    def setUp(self) -> None:
        self.later: list[Callable[[], None]] = []
        self.room: MemoryRoom[Inbox] = MemoryRoom(None, self.later.append)
        self.listener, self.line_user = Inbox(), Inbox()
        self.room.join(self.listener, "old", lambda result: None, hears_arrivals=True)
        self.room.join(self.line_user, "liner", lambda result: None)
        self.end_turn()
        self.listener.received.clear()

    def end_turn(self) -> None:
        while self.later:  # (the room holds on to this list's append)
            self.later.pop(0)()

    def arrive(self, name: str) -> Inbox:
        inbox = Inbox()
        self.room.join(inbox, name, lambda result: None, hidden=True)
        self.room.show(inbox, name, hears_arrivals=True)
        return inbox

    @staticmethod
    def arrivals(inbox: Inbox) -> list[str]:
        """The names of the arrivals ``inbox`` got, in order, whatever they came in."""
        names: list[str] = []
        for payload in inbox.received:
            for part in payload.parts if isinstance(payload, Together) else [payload]:
                if isinstance(part, Arrived):
                    names.append(part.name)
        return names

    def test_a_turns_arrivals_are_one_payload_and_each_joiner_gets_those_after_its_own(self) -> None:
        joiners = [self.arrive(f"j{number}") for number in range(4)]
        self.assertEqual(self.listener.received, [])  # (gathered till the turn is over)
        self.assertEqual(self.room.names(), ["old", "liner", "j0", "j1", "j2", "j3"])
        self.assertEqual(len(self.later), 1)
        self.end_turn()
        [together] = self.listener.received
        self.assertIsInstance(together, Together)
        self.assertEqual(self.arrivals(self.listener), ["j0", "j1", "j2", "j3"])
        for number, joiner in enumerate(joiners):  # (its names list the earlier ones)
            self.assertEqual(self.arrivals(joiner), [f"j{later}" for later in range(number + 1, 4)])
            self.assertLessEqual(len(joiner.received), 1)
        self.assertEqual(self.line_user.received, [])  # (no notice of arrivals for line users)

    def test_a_joiners_own_sync_leaves_them_gathered_anyone_elses_delivers_them(self) -> None:
        first = self.arrive("j0")
        self.room.sync(first, lambda: first.deliver("names"))
        self.assertEqual(self.listener.received, [])
        self.arrive("j1")
        self.room.sync(self.line_user, lambda: self.line_user.deliver("pong"))
        self.assertEqual(self.arrivals(self.listener), ["j0", "j1"])
        self.assertEqual(self.arrivals(first), ["j1"])
        self.end_turn()
        self.assertEqual(self.arrivals(self.listener), ["j0", "j1"])  # (nothing twice)
        self.assertEqual(self.arrivals(first), ["j1"])

    def test_what_shows_order_delivers_the_arrivals_first(self) -> None:
        for show in ("broadcast", "direct", "tell_local", "hide", "away", "rename"):
            with self.subTest(show=show):
                self.end_turn()
                self.listener.received.clear()
                joiner = self.arrive(f"new-{show}")
                if show == "broadcast":
                    self.room.broadcast(Said("liner", ["hello"]), self.line_user)
                elif show == "direct":
                    self.room.direct("old", "private")
                elif show == "tell_local":
                    self.room.tell_local("news")
                elif show == "hide":
                    self.room.hide(joiner, f"new-{show}")
                elif show == "away":
                    self.room.set_away(joiner, f"new-{show}", "gone")
                else:
                    self.room.join(joiner, f"renamed-{show}", lambda result: None, renaming=f"new-{show}")
                self.assertIsInstance(self.listener.received[0], Arrived)
                self.end_turn()
                self.assertEqual(self.arrivals(self.listener)[:1], [f"new-{show}"])
                self.assertEqual(len(self.listener.received), 2)  # the arrival, then what followed

    def test_one_who_leaves_during_the_turn_gets_nothing_and_its_arrival_still_reaches_the_others(self) -> None:
        gone = self.arrive("j0")
        self.arrive("j1")
        self.room.leave(gone, "j0")
        self.end_turn()
        self.assertEqual(gone.received, [])
        self.assertEqual(self.arrivals(self.listener), ["j0", "j1"])  # (its departure is told next)
        self.assertEqual(self.room.names(), ["old", "liner", "j1"])

    def test_names_is_a_copy(self) -> None:
        names = self.room.names()
        names.append("intruder")
        self.arrive("j0")
        self.assertEqual(self.room.names(), ["old", "liner", "j0"])


if __name__ == "__main__":
    unittest.main()
