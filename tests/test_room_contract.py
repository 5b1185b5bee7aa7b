"""One suite for every room behind the ``ChatRoom`` seam: the in-memory ``Room`` and the cluster's
``RedisRoom`` (two of them on one real redis-server, as two nodes), driven directly, in process.

Each test names what every room guarantees (room.py); the cluster variant runs the
same test with its members spread over the two rooms.  Answers are awaited through the rooms'
callbacks and ``sync``, never through sleeps.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import unittest
from collections.abc import Callable
from typing import Any

from support import TIMEOUT, AnyRedis, skip_without_cluster, start_redis, unique_name

from algokart_chat import protocol
from algokart_chat.events import Arrived, AwayChanged, Departed, Echoed, Parted, RoomEvent, Said, Together, Told
from algokart_chat.moderation import Change, Entry
from algokart_chat.room import ChatRoom, JoinResult
from algokart_chat.room_memory import MemoryRoom


class Inbox:
    """Records what it is delivered: room events as the line protocol would send them (and their
    kinds, in ``kinds``, and the events themselves, in ``events``)."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.received: list[Any] = []
        self.kinds: list[str] = []
        self.events: list[Any] = []  # what it was delivered, Together taken apart

    def deliver(self, payload: Any) -> None:
        self.kinds.append(type(payload).__name__)
        self.events.extend(payload.parts if isinstance(payload, Together) else [payload])
        if isinstance(payload, RoomEvent):
            payload = payload.encoded(protocol.wire)
            if not payload:  # (an arrival: nothing for a line user)
                return
        self.received.append(payload)


class Listener:
    """Stands in for ChatServer: what a room tells the server."""

    def __init__(self) -> None:
        self.departures: list[str] = []
        self.reasons: list[str | None] = []
        self.resets: list[str] = []
        self.changes: list[Change] = []  # operators' actions, as the room hands them back

    def departed(self, name: str, reason: str | None = None) -> None:
        self.departures.append(name)
        self.reasons.append(reason)

    def announce_departures(self) -> None:
        pass

    def room_ready(self) -> None:
        pass

    def room_reset(self, reason: str) -> None:
        self.resets.append(reason)

    def fan_out_allowed(self) -> bool:
        return True

    def when_fan_out_allowed(self, resume: Callable[[], None]) -> None:
        resume()

    def note_fan_out(self, size: int) -> None:
        pass

    def moderated(self, change: Change) -> None:
        self.changes.append(change)

    def moderation_loaded(self, entries: list[Entry], fresh: bool) -> None:
        pass


class RoomContract(unittest.IsolatedAsyncioTestCase):
    """The in-memory room; ClusterRoomContract below runs every test again on two RedisRooms."""

    rooms: list[ChatRoom[Inbox]]
    listeners: list[Listener]

    async def asyncSetUp(self) -> None:
        self.listeners = [Listener()]
        self.rooms = [MemoryRoom(self.listeners[0].departed)]

    def room(self, number: int) -> ChatRoom[Inbox]:
        return self.rooms[number % len(self.rooms)]

    async def join(self, number: int, name: str, member: Inbox | None = None) -> JoinResult:
        answer: asyncio.Future[JoinResult] = asyncio.get_running_loop().create_future()
        self.room(number).join(member or Inbox(name), name, answer.set_result)
        return await asyncio.wait_for(answer, TIMEOUT)

    async def sync(self, number: int = 0) -> None:
        """Every room has applied what was sent to any of them before this call."""
        for index in range(len(self.rooms)):
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.room(number + index).sync(Inbox(), functools.partial(done.set_result, None))
            await asyncio.wait_for(done, TIMEOUT)

    async def test_names_are_unique_ignoring_case_and_width(self) -> None:
        self.assertEqual(await self.join(0, "Alice"), "ok")
        for number, clash in enumerate(("alice", "ALICE", "ａｌｉｃｅ")):
            self.assertEqual(await self.join(number + 1, clash), "taken", clash)
        await self.sync()
        for room in self.rooms:
            self.assertEqual(room.names(), ["Alice"])
            self.assertTrue(room.knows("aLiCe"))

    async def test_login_order_and_the_name_free_at_once(self) -> None:
        members = {name: Inbox(name) for name in ("Naman", "Yudi", "zed")}
        for number, (name, member) in enumerate(members.items()):
            self.assertEqual(await self.join(number, name, member), "ok")
        self.room(1).leave(members["Yudi"], "YUDI")
        await self.sync(1)  # (as a client's close waits for it: then the name is free everywhere)
        self.assertEqual(await self.join(0, "yudi"), "ok")
        await self.sync()
        for room in self.rooms:
            self.assertEqual(room.names(), ["Naman", "zed", "yudi"])
            self.assertEqual(len(room), 3)

    async def test_every_departure_is_told_once_by_each_room(self) -> None:
        bob = Inbox("bob")
        await self.join(1, "bob", bob)
        self.room(1).leave(bob, "bob")
        self.room(1).leave(bob, "bob")
        self.room(0).leave(Inbox(), "bob")  # not the owner: nothing happens
        await self.sync()
        for listener in self.listeners:
            self.assertEqual(listener.departures, ["bob"])

    async def test_broadcasts_directs_and_local_news_reach_the_right_members_in_order(self) -> None:
        inboxes = [Inbox(f"user{number}") for number in range(4)]
        for number, inbox in enumerate(inboxes):
            await self.join(number, inbox.name, inbox)
        # Each sender waits for its PONG, as a client does, before the next one sends: what rooms
        # write at the same moment has no order but the stream's.
        self.room(1).broadcast(Said("user1", ["one"]), inboxes[1])
        await self.sync(1)
        self.room(3).direct("USER2", Told("user3", "two"))
        await self.sync(3)
        self.room(0).broadcast(Said("user0", ["three"]), inboxes[0])
        self.room(0).direct("nobody", Told("user0", "lost"))
        await self.sync()
        for room in self.rooms:
            room.tell_local(b"INFO local\n")
        self.assertEqual(
            [inbox.received for inbox in inboxes],
            [
                [b"MSG user1 one\n", b"INFO local\n"],
                [b"MSG user0 three\n", b"INFO local\n"],
                [b"MSG user1 one\n", b"DM user3 two\n", b"MSG user0 three\n", b"INFO local\n"],
                [b"MSG user1 one\n", b"MSG user0 three\n", b"INFO local\n"],
            ],
        )

    async def test_a_message_has_one_stamp_for_everyone_and_a_sender_that_asks_gets_it_back(self) -> None:
        inboxes = [Inbox(f"user{number}") for number in range(3)]
        for number, inbox in enumerate(inboxes):
            await self.join(number, inbox.name, inbox)
        before = time.time()
        self.room(0).broadcast(
            Said("user0", [None], ["\x01PING 1\x01"], "PRIVMSG", "+typing=active"), inboxes[0], echo=True
        )
        self.room(0).direct("user1", Told("user0", None, "", "TAGMSG", "+draft/react=x"), echo_to=inboxes[0])
        self.room(0).broadcast(Said("user0", ["quiet"]), inboxes[0])
        await self.sync()
        after = time.time()
        said = [[event for event in inbox.events if isinstance(event, Said)] for inbox in inboxes[1:]]
        self.assertEqual([len(got) for got in said], [2, 2])
        for first, second in zip(*said, strict=True):  # the same stamp for every recipient, on any node
            self.assertIsNotNone(first.stamp)
            self.assertEqual(first.stamp, second.stamp)
        told = [event for event in inboxes[1].events if isinstance(event, Told)]
        self.assertEqual([(event.command, event.tags) for event in told], [("TAGMSG", "+draft/react=x")])
        echoes = inboxes[0].events
        self.assertEqual([type(echo) for echo in echoes], [Echoed, Echoed])  # (not the quiet one)
        self.assertEqual((echoes[0].event.raws, echoes[0].event.tags), (["\x01PING 1\x01"], "+typing=active"))
        self.assertEqual(echoes[0].event.stamp, said[0][0].stamp)
        self.assertEqual((echoes[1].to, echoes[1].event.stamp), ("user1", told[0].stamp))
        stamps = [said[0][0].stamp, told[0].stamp, said[0][1].stamp]
        self.assertEqual(len({stamp.id for stamp in stamps if stamp}), 3)
        for stamp in stamps:
            assert stamp is not None
            self.assertLessEqual(int(before * 1000) / 1000, stamp.accepted_at)
            self.assertLessEqual(stamp.accepted_at, after)

    async def test_an_answer_means_the_room_lists_everyone_before(self) -> None:
        for number in range(6):
            name = f"n{number}"
            self.assertEqual(await self.join(number, name), "ok")
            self.assertEqual(self.room(number).names(), [f"n{earlier}" for earlier in range(number + 1)])

    async def claim(self, number: int, name: str, member: Inbox, **options: Any) -> JoinResult:
        answer: asyncio.Future[JoinResult] = asyncio.get_running_loop().create_future()
        self.room(number).join(member, name, answer.set_result, **options)
        return await asyncio.wait_for(answer, TIMEOUT)

    async def test_a_login_with_an_account_shows_it_in_every_room(self) -> None:
        watcher, alice = Inbox("w"), Inbox("Alice")
        await self.claim(0, "w", watcher, hears_arrivals=True)
        self.assertEqual(await self.claim(1, "Alice", alice, account="alice"), "ok")
        self.room(1).broadcast(Said("Alice", ["hi"], account="alice"), alice)  # (as a session sends it)
        await self.join(1, "guest")
        await self.sync(1)
        for room in self.rooms:
            self.assertEqual([room.account_of(name) for name in ("ALICE", "guest", "nobody")], ["alice", None, None])
        self.assertEqual(
            [(type(event), event.account) for event in watcher.events if isinstance(event, (Arrived, Said))],
            [(Arrived, "alice"), (Said, "alice"), (Arrived, None)],
        )

    async def test_a_hidden_name_is_held_but_not_in_the_room_until_shown(self) -> None:
        nick, line, listener = Inbox("Nick"), Inbox("line"), Inbox("lis")
        await self.join(0, "line", line)
        await self.claim(1, "lis", listener, hears_arrivals=True)
        self.assertEqual(await self.claim(1, "Nick", nick, hidden=True), "ok")
        self.assertEqual(await self.join(0, "NICK"), "taken")  # the name is held all the same
        await self.sync()
        for room in self.rooms:
            self.assertEqual(room.names(), ["line", "lis"])
            self.assertFalse(room.knows("nick"))
        self.room(0).broadcast(Said("line", ["not for nick"]), line)
        await self.sync()
        self.room(1).show(nick, "Nick")
        await self.sync(1)
        for room in self.rooms:
            self.assertEqual(room.names(), ["line", "lis", "Nick"])
        self.room(1).hide(nick, "Nick")
        await self.sync(1)
        self.assertEqual(self.room(0).names(), ["line", "lis"])
        self.room(1).leave(nick, "Nick")
        await self.sync(1)
        for listener_ in self.listeners:
            self.assertEqual(listener_.departures, [])  # it was not in the room: it left no one
        self.assertEqual(nick.kinds, [])  # hidden, it got nothing; in the room, nothing was said
        self.assertEqual(line.received, [b"INFO Nick disconnected\n"])  # its PART, to a line user
        self.assertEqual(listener.received, [b"MSG line not for nick\n", b"INFO Nick disconnected\n"])
        self.assertEqual(listener.kinds, ["Said", "Arrived", "Parted"])  # it asked for arrivals
        self.assertNotIn("Arrived", line.kinds)  # the line user did not

    async def test_a_direct_message_reaches_a_hidden_holder(self) -> None:
        nick, line = Inbox("Nick"), Inbox("line")
        await self.join(0, "line", line)
        self.assertEqual(await self.claim(1, "Nick", nick, hidden=True), "ok")
        await self.sync()
        for room in self.rooms:
            self.assertEqual(room.held_name("NICK"), "Nick")  # held, as typed, though not in the room
            self.assertEqual(room.held_name("line"), "line")
            self.assertIsNone(room.held_name("nobody"))
        self.room(0).direct("nick", Told("line", "psst"))
        await self.sync()
        self.assertEqual(nick.received, [b"DM line psst\n"])

    async def test_a_rename_is_one_step_that_others_hear_as_such(self) -> None:
        old, watcher = Inbox("old"), Inbox("watcher")
        await self.join(0, "watcher", watcher)
        await self.join(1, "old", old)
        self.assertEqual(await self.claim(1, "New", old, renaming="old"), "ok")
        await self.sync()
        for room in self.rooms:
            self.assertEqual(room.names(), ["watcher", "New"])
            self.assertFalse(room.knows("old"))
        self.assertEqual(await self.join(0, "old"), "ok")  # the old name is free again
        self.assertEqual(watcher.received, [b"INFO old disconnected\n"])  # (Renamed, for a line user)
        for listener in self.listeners:
            self.assertEqual(listener.departures, [])  # not a departure

    async def test_departures_and_parts_carry_their_reasons(self) -> None:
        watcher, nick, bob = Inbox("watcher"), Inbox("Nick"), Inbox("bob")
        await self.claim(0, "watcher", watcher, hears_arrivals=True)
        await self.join(1, "bob", bob)
        await self.claim(1, "Nick", nick, hidden=True)
        self.room(1).show(nick, "Nick")
        await self.sync()
        self.room(1).hide(nick, "Nick", "brb")
        self.room(1).leave(bob, "bob", "Quit: gone home")
        self.room(1).leave(nick, "Nick")  # (out of the room: no departure)
        await self.sync()
        parted = [event for event in watcher.events if isinstance(event, Parted)]
        self.assertEqual([(event.name, event.reason) for event in parted], [("Nick", "brb")])
        for listener in self.listeners:
            self.assertEqual((listener.departures, listener.reasons), (["bob"], ["Quit: gone home"]))
        self.assertEqual(Departed(["a", "b"], [None, "why"]).reason(1), "why")
        self.assertIsNone(Departed(["a"]).reason(0))

    async def test_away_messages_are_known_everywhere_and_told_to_those_who_hear_arrivals(self) -> None:
        watcher, line, nick = Inbox("watcher"), Inbox("line"), Inbox("Nick")
        await self.claim(0, "watcher", watcher, hears_arrivals=True)
        await self.join(0, "line", line)
        await self.claim(1, "Nick", nick, hears_arrivals=True)
        await self.sync()
        self.room(1).set_away(nick, "Nick", "lunch")
        self.room(1).set_away(nick, "Nick", "lunch")  # (no change: no news)
        self.room(0).set_away(Inbox(), "Nick", "not its owner")
        await self.sync()
        for room in self.rooms:
            self.assertEqual((room.away("NICK"), room.away("line"), room.away("nobody")), ("lunch", None, None))
        changes = [(event.name, event.away) for event in watcher.events if isinstance(event, AwayChanged)]
        self.assertEqual(changes, [("Nick", "lunch")])
        self.assertNotIn("AwayChanged", line.kinds)  # a line user does not hear them
        self.assertEqual(nick.kinds, [])  # nor the one who changed
        self.assertEqual(await self.claim(1, "Nick2", nick, renaming="Nick"), "ok")
        await self.sync()
        for room in self.rooms:
            self.assertEqual((room.away("Nick2"), room.away("Nick")), ("lunch", None))  # it follows the name
            self.assertEqual(room.away_messages(), {"Nick2": "lunch"})
        self.room(1).hide(nick, "Nick2")
        self.room(1).set_away(nick, "Nick2", "dinner")  # out of the room: kept, told to no one
        self.room(1).show(nick, "Nick2", hears_arrivals=True)
        self.room(1).set_away(nick, "Nick2", None)
        await self.sync()
        news = [event for event in watcher.events if isinstance(event, AwayChanged | Arrived)]
        self.assertEqual(
            [(type(event).__name__, event.name, event.away) for event in news],
            [
                ("Arrived", "line", None),
                ("Arrived", "Nick", None),
                ("AwayChanged", "Nick", "lunch"),
                ("Arrived", "Nick2", "dinner"),
                ("AwayChanged", "Nick2", None),
            ],
        )
        self.room(1).set_away(nick, "Nick2", "gone")
        self.room(1).leave(nick, "Nick2")
        await self.sync()
        for room in self.rooms:
            self.assertIsNone(room.away("Nick2"))  # it goes with its holder
            self.assertEqual(room.away_messages(), {})


class ClusterRoomContract(RoomContract):
    """Every test above on two RedisRooms ("nodes") of one cluster, members taking turns."""

    redis: AnyRedis
    owns_redis: bool
    quiet: logging.Handler

    @classmethod
    def setUpClass(cls) -> None:
        skip_without_cluster()
        cls.redis, cls.owns_redis = start_redis()
        # The rooms log (a reset, a rejoin); without a handler Python would print it on stderr.
        cls.quiet = logging.NullHandler()
        logging.getLogger("algokart_chat.cluster").addHandler(cls.quiet)

    @classmethod
    def tearDownClass(cls) -> None:
        logging.getLogger("algokart_chat.cluster").removeHandler(cls.quiet)
        if cls.owns_redis:
            cls.redis.stop()

    async def asyncSetUp(self) -> None:
        from algokart_chat.cluster.room_redis import RedisRoom

        loop = asyncio.get_running_loop()
        cluster = unique_name("contract-")
        self.listeners = [Listener(), Listener()]
        rooms = [RedisRoom[Inbox](self.redis.url, cluster, 5.0, listener, loop) for listener in self.listeners]
        for room in rooms:
            await room.start()
            self.addAsyncCleanup(room.stop)
        self.rooms = list(rooms)

    async def test_a_room_whose_store_lost_its_data_resets_and_rejoins(self) -> None:
        await self.join(0, "ann")
        self.redis.command("FLUSHALL")
        with self.assertLogs("algokart_chat.cluster", "ERROR") as logs:
            self.assertEqual(await self.join(1, "bo"), "unavailable")  # its claim found the epoch gone
        self.assertIn("Left the cluster: Redis lost the cluster's data", logs.output[0])
        self.assertEqual(self.listeners[1].resets, ["cluster-reset"])
        self.assertEqual(self.rooms[1].names(), [])


if __name__ == "__main__":
    unittest.main()
