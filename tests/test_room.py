"""Unit tests of the room: membership, names, login order, who receives what."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from handlers.broadcast import Room


class Inbox:
    def __init__(self) -> None:
        self.received: list[str] = []

    def deliver(self, payload: str) -> None:
        self.received.append(payload)


class RoomTest(unittest.TestCase):
    def setUp(self) -> None:
        self.room: Room[Inbox] = Room()

    def test_names_are_unique_ignoring_case_and_width(self) -> None:
        self.assertTrue(self.room.join(Inbox(), "Alice"))
        for clash in ("alice", "ALICE", "ａｌｉｃｅ"):
            self.assertFalse(self.room.join(Inbox(), clash), clash)
        self.assertEqual(self.room.names(), ["Alice"])

    def test_names_in_login_order_as_typed(self) -> None:
        for name in ("Naman", "Yudi", "zed", "Abe"):
            self.room.join(Inbox(), name)
        self.room.leave("YUDI")
        self.room.join(Inbox(), "Yudi")
        self.assertEqual(self.room.names(), ["Naman", "zed", "Abe", "Yudi"])

    def test_name_is_free_again_after_leaving(self) -> None:
        self.room.join(Inbox(), "bob")
        self.room.leave("bob")
        self.assertIsNone(self.room.find("bob"))
        self.assertTrue(self.room.join(Inbox(), "BOB"))

    def test_find_ignores_case(self) -> None:
        bob = Inbox()
        self.room.join(bob, "Bob")
        self.assertIs(self.room.find("bOB"), bob)
        self.assertIsNone(self.room.find("carol"))

    def test_broadcast_reaches_everyone_but_the_excluded_in_order(self) -> None:
        inboxes = [Inbox() for _ in range(4)]
        for number, inbox in enumerate(inboxes):
            self.room.join(inbox, f"user{number}")
        self.room.broadcast("one", exclude=inboxes[1])
        self.room.broadcast("two")
        self.assertEqual(
            [inbox.received for inbox in inboxes], [["one", "two"], ["two"], ["one", "two"], ["one", "two"]]
        )
        self.assertEqual(len(self.room), 4)


if __name__ == "__main__":
    unittest.main()
