"""Unit tests of what the room carries (events.py): an event is encoded once per protocol and its
bytes shared by every recipient of that protocol; the ids of a batch's texts (``text_id``); what
each event says of its parts.  Each protocol's encoding of them: test_protocol and test_irc_channel."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.events import Departed, Echoed, MessageId, RoomEvent, Said, Stamp, Together, Told, text_id


class Counting:
    """An encoder that counts its calls."""

    def __init__(self, tag: bytes) -> None:
        self.tag, self.calls = tag, 0

    def __call__(self, event: RoomEvent) -> bytes:
        self.calls += 1
        return self.tag + b" " + type(event).__name__.encode() + b"\n"


class EncodedTest(unittest.TestCase):
    def test_each_protocol_encodes_an_event_once_and_shares_the_bytes(self) -> None:
        event = Said("ann", ["hi"])
        line, irc = Counting(b"line"), Counting(b"irc")
        first = event.encoded(line)
        for _ in range(1000):  # (a broadcast to a thousand line users)
            self.assertIs(event.encoded(line), first)
        self.assertEqual((first, line.calls), (b"line Said\n", 1))
        self.assertEqual(event.encoded(irc), b"irc Said\n")
        self.assertIs(event.encoded(line), first)
        self.assertEqual((line.calls, irc.calls), (1, 1))

    def test_an_event_nobody_encoded_holds_no_bytes(self) -> None:
        event = Departed(["ann"])
        self.assertIsNone(event._wire)
        self.assertIsNone(event.stamp)

    def test_each_event_has_its_own_bytes(self) -> None:
        line = Counting(b"line")
        one, other = Said("ann", ["hi"]), Said("ann", ["hi"])
        self.assertIsNot(one.encoded(line), other.encoded(line))
        self.assertEqual(line.calls, 2)

    def test_the_parts_of_together_keep_their_own_encodings(self) -> None:
        line = Counting(b"line")
        said, told = Said("ann", ["hi"]), Told("bob", "psst")
        together = Together([said, told])

        def joined(event: RoomEvent) -> bytes:
            assert isinstance(event, Together)
            return b"".join(part.encoded(line) for part in event.parts)

        self.assertEqual(together.encoded(joined), b"line Said\nline Told\n")
        self.assertEqual(Together([told, said]).encoded(joined), b"line Told\nline Said\n")
        self.assertEqual(line.calls, 2)  # (another combination of the parts costs a join)


class TextIdTest(unittest.TestCase):
    def test_the_first_text_has_the_stamp_s_id_the_others_a_suffix(self) -> None:
        self.assertEqual(text_id(MessageId("1700000000000-0-3"), 0), "1700000000000-0-3")
        self.assertEqual(text_id(MessageId("ab-7"), 1), "ab-7.1")
        self.assertEqual(text_id(MessageId("ab-7"), 12), "ab-7.12")


class EventsTest(unittest.TestCase):
    def test_a_departure_s_reasons_are_in_the_order_of_its_names(self) -> None:
        self.assertEqual([Departed(["a", "b"]).reason(i) for i in (0, 1)], [None, None])
        departed = Departed(["a", "b"], [None, "gone"])
        self.assertEqual([departed.reason(i) for i in (0, 1)], [None, "gone"])

    def test_the_room_stamps_what_is_said_and_a_direct_message_s_recipient_account(self) -> None:
        told = Told("ann", "psst", account="A")
        self.assertEqual((told.stamp, told.to_account), (None, None))
        told.stamp = Stamp(MessageId("x-1"), 12.5)
        echoed = Echoed(told, to="bob")
        self.assertIs(echoed.event, told)
        self.assertEqual((echoed.to, echoed.event.stamp), ("bob", Stamp(MessageId("x-1"), 12.5)))

    def test_events_are_slotted(self) -> None:
        events: list[RoomEvent] = [Said("a", ["x"]), Told("a", "x"), Departed(["a"]), Together([])]
        for event in events:
            with self.subTest(event=type(event).__name__), self.assertRaises(AttributeError):
                event.extra = 1  # type: ignore[attr-defined]


if __name__ == "__main__":
    unittest.main()
