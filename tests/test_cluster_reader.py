"""Unit tests of the stream reader (``cluster.reader``): entries applied in order from the last id
read, malformed ones skipped, reads tried again after a failure, replies for an old place dropped,
and the pushback that keeps another node's flood out of this node's queues.  Fake clients: no
Redis."""

from __future__ import annotations

import asyncio
import unittest
from typing import Any

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.cluster.entries import Join, batch_fields, broadcast_record
from algokart_chat.events import Said
from cluster_fakes import REDIS_PY, Parts, require_redis_py, settle
from test_cluster_replica import Member

if REDIS_PY:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import ResponseError

    from algokart_chat.cluster.reader import READ_COUNT

Fields = dict[bytes, bytes]


def setUpModule() -> None:
    require_redis_py()


def said(sequence: int, sender: str, text: str) -> Fields:
    """A batch entry of node ``other-1`` in which ``sender`` says ``text``."""
    fields = batch_fields("other-1", sequence, broadcast_record(Said(sender, [text])))
    return {
        key.encode(): str(value).encode() if not isinstance(value, bytes) else value for key, value in fields.items()
    }


def leave(name: str, token: str) -> Fields:
    return {b"t": b"l", b"n": name.encode(), b"c": token.encode()}


def read(*entries: tuple[bytes, Fields]) -> list[Any]:
    """XREAD's reply with these entries of the stream."""
    return [[b"{c}:events", list(entries)]]


class ReaderTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self) -> None:
        self.parts = Parts()
        self.node = await self.parts.join([b"1-0 other-1 t1 carol"])
        self.member = Member()
        token = self.parts.replica.expect_join(self.member, lambda result: None)
        self.parts.replica.apply(Join("ann", self.node, token))
        self.reader = self.parts.reader()

    async def read_all(self, *replies: Any) -> None:
        """Run the reader over these XREAD replies (or exceptions), then stop it."""

        def stop() -> None:
            self.parts.lease.stopping = True

        self.parts.stream.will("XREAD", *replies, lambda: stop())
        await asyncio.wait_for(self.reader.run(), 5)

    async def test_entries_are_applied_in_order_from_the_last_id_read(self) -> None:
        await self.read_all(
            read((b"2000-0", said(1, "carol", "hi")), (b"2000-1", said(2, "carol", "ho"))),
            read((b"2001-0", said(3, "carol", "bye"))),
        )
        self.assertEqual(self.member.got, [b"MSG carol hi\n", b"MSG carol ho\n", b"MSG carol bye\n"])
        positions = [streams for name, streams, *_ in self.parts.stream.sent if name == "XREAD"]
        self.assertEqual(
            positions[:3], [{"{c}:events": b"1000-0"}, {"{c}:events": b"2000-1"}, {"{c}:events": b"2001-0"}]
        )
        self.assertEqual(self.parts.stream.sent[0][2:], (READ_COUNT, 250))
        self.assertGreater(self.parts.server.fanned_out, 0)

    async def test_a_malformed_entry_is_logged_and_skipped(self) -> None:
        with self.assertLogs("algokart_chat.cluster.reader", "WARNING") as logs:
            await self.read_all(read((b"2000-0", {b"t": b"?"}), (b"2000-1", said(1, "carol", "hi"))))
        self.assertIn("Skipped entry 2000-0 of the event stream: unknown entry type b'?'", logs.output[0])
        self.assertEqual(self.member.got, [b"MSG carol hi\n"])

    async def test_a_failed_read_is_tried_again_from_the_same_id(self) -> None:
        with self.assertLogs("algokart_chat.cluster", "WARNING") as logs:
            await self.read_all(RedisConnectionError("reset"), read((b"2000-0", said(1, "carol", "hi"))))
        self.assertIn("Lost the link to Redis (reset)", logs.output[0])
        self.assertIn("Redis link back", logs.output[1])
        positions = [streams for name, streams, *_ in self.parts.stream.sent if name == "XREAD"]
        self.assertEqual(positions[:2], [{"{c}:events": b"1000-0"}] * 2)
        self.assertEqual(self.member.got, [b"MSG carol hi\n"])

    async def test_a_read_redis_refuses_is_logged_once_per_episode(self) -> None:
        refused = ResponseError("WRONGTYPE")
        with self.assertLogs("algokart_chat.cluster.reader", "ERROR") as logs:
            await self.read_all(refused, refused, [], refused)
        self.assertEqual(len(logs.output), 2)
        self.assertIn("Cannot read the event stream: WRONGTYPE", logs.output[0])

    async def test_the_leave_of_a_member_still_here_means_the_cluster_retired_this_node(self) -> None:
        token = self.parts.replica.token_of(self.member, "ann")
        assert token is not None
        self.parts.stream.will("XREAD", read((b"2000-0", leave("ann", token)), (b"2000-1", said(1, "carol", "lost"))))
        with self.assertLogs("algokart_chat.cluster.lease", "ERROR") as logs:
            reading = self.parts.loop.create_task(self.reader.run())
            await settle()
        self.assertFalse(reading.done())  # waiting for the node to join again
        reading.cancel()
        self.assertIn("Left the cluster: the cluster retired this node (was it paused or cut off?)", logs.output[0])
        self.assertEqual(self.parts.holder.heard[-1], "left cluster-reset")
        self.assertEqual(self.member.got, [])  # the rest of the reply was for the old place

    async def test_a_reply_for_an_old_place_is_dropped(self) -> None:
        def left_meanwhile() -> list[Any]:
            with self.assertLogs("algokart_chat.cluster.lease", "ERROR"):
                self.parts.lease.leave_cluster("cluster-reset", "a test")
            self.parts.lease.stopping = True
            return read((b"2000-0", said(1, "carol", "hi")))

        self.parts.stream.will("XREAD", left_meanwhile)
        await asyncio.wait_for(self.reader.run(), 5)
        self.assertEqual(self.member.got, [])
        self.assertEqual(self.parts.window.last_id, b"1000-0")

    async def test_entries_wait_in_the_reply_while_the_clients_cannot_take_more(self) -> None:
        self.parts.server.allowed = False
        self.parts.stream.will("XREAD", read((b"2000-0", said(1, "carol", "hi")), (b"2000-1", said(2, "carol", "ho"))))
        reading = self.parts.loop.create_task(self.reader.run())
        await settle()
        self.assertEqual(self.member.got, [])
        self.assertEqual(len(self.parts.server.waiting), 1)
        self.parts.stream.will("XREAD", lambda: setattr(self.parts.lease, "stopping", True))
        self.parts.server.allow_fan_out()
        await asyncio.wait_for(reading, 5)
        self.assertEqual(self.member.got, [b"MSG carol hi\n", b"MSG carol ho\n"])


if __name__ == "__main__":
    unittest.main()
