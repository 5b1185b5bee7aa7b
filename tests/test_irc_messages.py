"""The IRC gateway's messages (``sessions.irc_messages``): PRIVMSG and NOTICE on a fake speaker
(the checks, what is charged, messages to the channel gathered into one ``Said``, the order of
channel and direct messages), then in this process on fake transports (what a line to several
targets costs in tokens)."""

from __future__ import annotations

import unittest
from collections.abc import Callable
from typing import Any

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.events import Said, Told
from algokart_chat.sessions.irc_channel import IrcChannel
from algokart_chat.sessions.irc_messages import MAX_TARGETS, IrcMessages, distinct_targets
from in_process import InProcessServer, lines_of
from irc_fakes import FakeHost, Listener, registered


class FakeSpeaker:
    """``irc_messages.Speaker``, in the room as ``me`` (in the channel unless told otherwise)."""

    def __init__(self, host: FakeHost, joined: bool = True) -> None:
        self.channel = IrcChannel(host, "irc.test", "#chat")
        self.name: str | None = "me"
        self.joined = joined
        host.room.join(self, "me", lambda result: None, hidden=not joined)
        self.replies: list[str] = []
        self.charged = 0
        self.waiting: list[Callable[[], None]] = []  # what waits for the room's sync point

    def deliver(self, payload: Any) -> None:
        raise AssertionError("a speaker hears none of its own messages")

    def reply(self, code: str, *params: str) -> None:
        self.replies.append(" ".join((code, *params)))

    def charge(self, lines: int) -> None:
        self.charged += lines

    def wait_for_room(self, then: Callable[[], None]) -> None:
        self.waiting.append(then)


class Room:
    """A room with ``bob`` and ``carol`` in it, and a speaker."""

    def __init__(self, joined: bool = True) -> None:
        self.host = FakeHost()
        self.bob, self.carol = self.host.log_in("bob", "carol")
        self.speaker = FakeSpeaker(self.host, joined)
        self.messages = IrcMessages(self.speaker)

    def send(self, command: str, *params: str) -> None:
        self.messages.send(command, list(params))


def said(listener: Listener) -> list[tuple[Any, ...]]:
    return [
        (event.sender, list(event.texts), event.raws, event.command)
        for event in listener.delivered
        if isinstance(event, Said)
    ]


class TargetsTest(unittest.TestCase):
    def test_each_target_once_as_channels_and_names_compare(self) -> None:
        self.assertEqual(distinct_targets("bob,BOB,ｂｏｂ,#Chat,#chat,carol"), ["bob", "#Chat", "carol"])
        self.assertEqual(distinct_targets("#É,#é"), ["#É", "#é"])  # (CASEMAPPING=ascii)

    def test_more_targets_than_targmax_send_nothing_and_cost_nothing_more(self) -> None:
        room = Room()
        targets = "bob,carol,#chat,dave,erin,frank"
        room.send("PRIVMSG", targets, "hi")
        room.messages.publish()
        self.assertEqual(room.speaker.replies, [f"407 erin Too many targets (at most {MAX_TARGETS}); nothing was sent"])
        self.assertEqual((room.bob.delivered, room.speaker.charged), ([], 0))

    def test_each_target_after_the_first_costs_a_line(self) -> None:
        room = Room()
        room.send("PRIVMSG", "bob,carol,#chat", "hi")
        self.assertEqual(room.speaker.charged, 2)


class ChecksTest(unittest.TestCase):
    def test_what_privmsg_is_told_and_notice_is_not(self) -> None:
        cases = {
            (): "411 No recipient given (PRIVMSG)",
            ("",): "411 No recipient given (PRIVMSG)",
            ("bob",): "412 No text to send",
            ("#other", "hi"): "403 #other No such channel",
        }
        for params, answer in cases.items():
            for command, replies in (("PRIVMSG", [answer]), ("NOTICE", [])):
                room = Room()
                room.send(command, *params)
                self.assertEqual(room.speaker.replies, [reply.replace("PRIVMSG", command) for reply in replies], params)
                self.assertEqual(room.bob.delivered, [])

    def test_the_channel_only_once_joined(self) -> None:
        room = Room(joined=False)
        room.send("PRIVMSG", "#chat", "hi")
        room.send("NOTICE", "#chat", "hi")
        room.messages.publish()
        self.assertEqual(room.speaker.replies, ["404 #chat Cannot send to channel"])
        self.assertEqual(room.bob.delivered, [])


class ChannelTest(unittest.TestCase):
    def test_consecutive_messages_travel_together_until_published(self) -> None:
        room = Room()
        room.send("PRIVMSG", "#chat", "one")
        room.send("PRIVMSG", "#CHAT", "\x02two\x02")
        self.assertEqual(room.bob.delivered, [])
        room.messages.publish()
        expected = [("me", ["one", "two"], ["one", "\x02two\x02"], "PRIVMSG")]
        self.assertEqual((said(room.bob), said(room.carol)), (expected, expected))
        self.assertEqual(room.host.fan_out, [(3 + 5 + 2 * (2 * 2 + 30)) * 2])
        room.messages.publish()  # (nothing more)
        self.assertEqual(len(room.bob.delivered), 1)

    def test_another_command_starts_another_batch(self) -> None:
        room = Room()
        room.send("PRIVMSG", "#chat", "one")
        room.send("NOTICE", "#chat", "\x01VERSION\x01")
        room.messages.publish()
        self.assertEqual(
            said(room.bob),
            [("me", ["one"], ["one"], "PRIVMSG"), ("me", [None], ["\x01VERSION\x01"], "NOTICE")],
        )


class DirectTest(unittest.TestCase):
    def test_a_direct_message_comes_after_what_was_said_before_it(self) -> None:
        room = Room()
        room.send("PRIVMSG", "#chat", "everyone")
        room.send("PRIVMSG", "BOB", "\x01ACTION waves\x01")
        self.assertEqual(len(room.bob.delivered), 2)
        told = room.bob.delivered[1]
        assert isinstance(told, Told)
        self.assertEqual(
            (told.sender, told.text, told.raw, told.command), ("me", "* waves", "\x01ACTION waves\x01", "PRIVMSG")
        )
        self.assertEqual(said(room.carol), [("me", ["everyone"], ["everyone"], "PRIVMSG")])
        self.assertEqual(room.host.fan_out[-1], len("\x01ACTION waves\x01") + 2 * 2 + 30)

    def test_an_unknown_nick_is_asked_again_at_the_sync_point(self) -> None:
        room = Room()
        room.send("PRIVMSG", "dave", "hi")
        room.send("NOTICE", "erin", "hi")
        self.assertEqual((room.speaker.replies, len(room.speaker.waiting)), ([], 2))
        dave = room.host.log_in("dave")[0]  # (came in elsewhere meanwhile)
        for then in room.speaker.waiting:
            then()
        self.assertEqual(room.speaker.replies, [])  # (NOTICE: no 401 for erin)
        self.assertEqual([event.text for event in dave.delivered], ["hi"])
        room.send("PRIVMSG", "erin", "hi")
        room.speaker.waiting.pop()()
        self.assertEqual(room.speaker.replies, ["401 erin No such nick/channel"])


class TargetsInProcessTest(unittest.TestCase):
    def test_each_distinct_target_costs_a_line_of_the_budget(self) -> None:
        chat = InProcessServer("--rate-burst", "8")
        self.addCleanup(chat.close)
        readers = [registered(chat, f"r{number}") for number in range(4)]
        sender = registered(chat, "sender")
        for reader in readers:
            reader.written.clear()
        # 4 lines fit a budget of 8 lines; the first, to 4 targets, costs 4, then 4 more: the
        # budget is spent, and the rest waits for tokens.
        chat.send(sender, *(f"PRIVMSG r0,r1,r2,r3 :{number}" for number in range(3)))
        chat.settle()
        for reader in readers:
            self.assertEqual(len(lines_of(reader)), 1)
        self.assertFalse(sender.reading)  # (in debt: the other two lines wait for tokens)

    def test_a_repeated_target_counts_once(self) -> None:
        chat = InProcessServer("--rate-burst", "8")
        self.addCleanup(chat.close)
        reader = registered(chat, "reader")
        sender = registered(chat, "sender")
        reader.written.clear()
        chat.send(sender, "PRIVMSG " + ",".join(["reader", "READER", "ｒｅａｄｅｒ"] * 12) + " :x", "PRIVMSG reader :y")
        chat.settle()
        head = ":sender!sender@irc.test PRIVMSG reader"
        self.assertEqual(lines_of(reader), [f"{head} :x", f"{head} :y"])


if __name__ == "__main__":
    unittest.main()
