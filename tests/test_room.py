"""Unit tests of the in-memory room: membership, names, login order, who receives what."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from handlers.broadcast import JoinResult, Room


class Inbox:
    def __init__(self) -> None:
        self.received: list[str] = []

    def deliver(self, payload: str) -> None:
        self.received.append(payload)


class RoomTest(unittest.TestCase):
    def setUp(self) -> None:
        self.departures: list[str] = []
        self.room: Room[Inbox] = Room(self.departures.append)

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


if __name__ == "__main__":
    unittest.main()
