"""The IRC gateway's messages (``sessions.irc_messages``): PRIVMSG and NOTICE on a fake speaker
(the checks, what is charged, messages to the channel gathered into one ``Said``, the order of
channel and direct messages), then in this process on fake transports (what a line to several
targets costs in tokens, the 301 a message to someone away gets)."""

from __future__ import annotations

import random
import unittest
from collections.abc import Callable
from typing import Any

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat import irc
from algokart_chat.events import Echoed, Said, Told
from algokart_chat.moderation import Target
from algokart_chat.moderators import Moderators
from algokart_chat.names import username_key
from algokart_chat.sessions.irc_messages import MAX_TARGETS, IrcMessages, distinct_targets
from algokart_chat.text import clean_text, one_line
from in_process import CountingRoom, InProcessServer, lines_of
from irc_fakes import FakeHost, Listener, registered


class FakeSpeaker:
    """``irc_messages.Speaker``, in the room as ``me`` (in the channel unless told otherwise)."""

    def __init__(self, host: FakeHost, joined: bool = True, echo: bool = False) -> None:
        self.channel = host.channel
        self.name: str | None = "me"
        self.account: str | None = None
        self.joined = joined
        self.echo = echo
        self.echoes: list[Any] = []  # what the room gave back
        host.room.join(self, "me", lambda result: None, hidden=not joined)
        self.replies: list[str] = []
        self.charged = 0
        self.waiting: list[Callable[[], None]] = []  # what waits for the room's sync point

    def deliver(self, payload: Any) -> None:
        self.echoes.append(payload)  # (its own messages come back as Echoed only: the tests check)

    def reply(self, code: str, *params: str) -> None:
        self.replies.append(" ".join((code, *params)))

    def send(self, reply: bytes) -> None:
        self.replies.append(reply.decode().removesuffix("\r\n"))

    def charge(self, lines: int) -> None:
        self.charged += lines

    def wait_for_room(self, then: Callable[[], None]) -> None:
        self.waiting.append(then)

    def take_echo(self) -> bool:
        return self.echo


class Room:
    """A room with ``bob`` and ``carol`` in it, and a speaker."""

    def __init__(self, joined: bool = True, echo: bool = False) -> None:
        self.host = FakeHost()
        self.bob, self.carol = self.host.log_in("bob", "carol")
        self.speaker = FakeSpeaker(self.host, joined, echo)
        self.messages = IrcMessages(self.speaker)

    def send(self, command: str, *params: str, tags: str = "") -> None:
        self.messages.send(command, list(params), tags)


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

    def test_a_mute_of_the_speaker_s_account_silences_it_under_any_nick(self) -> None:
        moderators = Moderators(None, 64)
        room = Room()
        room.messages = IrcMessages(room.speaker, moderators)
        room.speaker.account = "Meg"
        moderators.set("mute", Target(username_key("meg"), "meg"), "olga", None, "hush")
        room.send("PRIVMSG", "#chat", "hi")
        room.send("PRIVMSG", "bob", "hi")
        room.send("NOTICE", "#chat", "hi")
        room.send("TAGMSG", "bob", tags="+typing=active")
        room.messages.publish()
        muted = "Cannot send to channel (you are muted until never by olga: hush)"
        self.assertEqual(room.speaker.replies, [f"404 #chat {muted}", f"404 bob {muted}"])
        self.assertEqual((room.bob.delivered, room.carol.delivered), ([], []))
        room.speaker.account = None  # (a guest named "me": the mute is another name's)
        room.send("PRIVMSG", "bob", "hi")
        self.assertEqual(len(room.bob.delivered), 1)


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


def observed(room: Room) -> tuple[Any, ...]:
    """Everything a test can see of what a room's speaker did, its read's messages published."""
    room.messages.publish()

    def fields(event: Any) -> Any:
        event = event.event if isinstance(event, Echoed) else event
        return (type(event).__name__, *(getattr(event, key) for key in type(event).__slots__))

    heard = [[fields(event) for event in member.delivered] for member in (room.bob, room.carol)]
    echoes = [fields(event) for event in room.speaker.echoes]
    speaker = room.speaker
    return heard, echoes, speaker.replies, speaker.charged, len(speaker.waiting), room.host.fan_out


class PrivmsgTest(unittest.TestCase):
    """``privmsg``, the commonest PRIVMSG's shorter way, does what ``send`` does for it."""

    def test_printable_text_is_its_own_raw_and_its_text_once_trimmed(self) -> None:
        printable = "".join(char for char in map(chr, range(0x110000)) if char.isprintable())
        self.assertEqual(one_line(printable), printable)
        self.assertEqual(irc.plain_text(printable), printable)
        self.assertEqual(clean_text("x" + printable + "x"), "x" + printable + "x")  # (nothing removed)
        self.assertEqual(clean_text(irc.plain_text("  " + printable + " ") or ""), printable.strip(" "))

    def test_agrees_with_send_on_random_and_hostile_messages(self) -> None:
        chooser = random.Random(11)
        targets = ("#chat", "#chat", "#CHAT", "#other", "bob", "nobody", "#chat,bob", "#chat,#chat", "a,b,c,d,e")
        texts = ["hi", " hi  there ", "", " ", "\x02bold\x02", "\x01ACTION waves\x01", "\x01VERSION\x01", "a\x0bb"]
        texts += ["\u200eltr", "\u2028", "\t", "caf\u00e9", "\U0001f600", "\x85", "\u200d"]
        before = (None, ("PRIVMSG", "#chat", "x", ""), ("NOTICE", "#chat", "x", ""), ("PRIVMSG", "#chat", "x", "+a=b"))
        for case in range(2_000):
            muted, joined, echo = chooser.random() < 0.2, chooser.random() < 0.8, chooser.random() < 0.3
            lines = [(chooser.choice(targets), chooser.choice(texts)) for _ in range(chooser.randrange(1, 4))]
            first = chooser.choice(before)
            outcomes = []
            for quick in (False, True):
                room = Room(joined, echo)
                moderators = Moderators(None, 64)
                room.messages = IrcMessages(room.speaker, moderators)
                if muted:
                    moderators.set("mute", Target(username_key("me"), "me"), "olga", None, "hush")
                if first is not None:
                    room.send(first[0], first[1], first[2], tags=first[3])
                for target, text in lines:
                    if quick:
                        room.messages.privmsg(target, text)
                    else:
                        room.send("PRIVMSG", target, text)
                outcomes.append(observed(room))
            self.assertEqual(outcomes[0], outcomes[1], (case, muted, joined, echo, first, lines))


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


class TagsTest(unittest.TestCase):
    def test_client_only_tags_travel_with_the_message_and_batch_only_with_the_same_tags(self) -> None:
        room = Room()
        room.send("PRIVMSG", "#chat", "one", tags="+draft/reply=x;label=1;msgid=forged;time=forged")
        room.send("PRIVMSG", "#chat", "two", tags="+draft/reply=x")
        room.send("PRIVMSG", "#chat", "three")
        room.send("PRIVMSG", "bob", "psst", tags=r"+a=b\sc")
        events = room.bob.delivered
        self.assertEqual(
            [(event.texts, event.tags) for event in events if isinstance(event, Said)],
            [(["one", "two"], "+draft/reply=x"), (["three"], None)],
        )
        told = events[-1]
        assert isinstance(told, Told)
        self.assertEqual((told.raw, told.tags), ("psst", r"+a=b\sc"))

    def test_tagmsg_goes_alone_with_no_text_and_errors_as_privmsg_does(self) -> None:
        room = Room()
        room.send("PRIVMSG", "#chat", "before")
        room.send("TAGMSG", "#chat", tags="+typing=active")
        room.send("TAGMSG", "#chat", tags="+typing=active")
        room.send("TAGMSG", "bob", tags="+typing=done")
        room.send("TAGMSG", "nobody")
        room.send("TAGMSG")
        said_events = [event for event in room.carol.delivered if isinstance(event, Said)]
        self.assertEqual(
            [(event.command, list(event.texts), event.raws, event.tags) for event in said_events],
            [
                ("PRIVMSG", ["before"], ["before"], None),
                ("TAGMSG", [], [], "+typing=active"),
                ("TAGMSG", [], [], "+typing=active"),
            ],
        )
        told = room.bob.delivered[-1]
        assert isinstance(told, Told)
        self.assertEqual((told.command, told.text, told.raw, told.tags), ("TAGMSG", None, "", "+typing=done"))
        room.speaker.waiting.pop()()
        self.assertEqual(room.speaker.replies, ["411 No recipient given (TAGMSG)", "401 nobody No such nick/channel"])


class EchoTest(unittest.TestCase):
    def test_a_speaker_with_echo_message_gets_its_messages_back_from_the_room(self) -> None:
        room = Room(echo=True)
        room.send("PRIVMSG", "#chat", "one")
        room.send("PRIVMSG", "bob", "psst")
        echoes = room.speaker.echoes
        self.assertEqual([type(echo) for echo in echoes], [Echoed, Echoed])
        self.assertIs(echoes[0].event, room.bob.delivered[0])
        self.assertEqual((echoes[1].event, echoes[1].to), (room.bob.delivered[1], "bob"))

    def test_without_it_nothing_comes_back(self) -> None:
        room = Room()
        room.send("PRIVMSG", "#chat", "one")
        room.send("PRIVMSG", "bob", "psst")
        self.assertEqual(room.speaker.echoes, [])


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

    def test_each_tagmsg_costs_a_line_of_the_budget_and_reaches_message_tags_readers_only(self) -> None:
        chat = InProcessServer("--rate-burst", "8")
        self.addCleanup(chat.close)
        tagged = chat.connect_irc("CAP REQ message-tags", "NICK tagged", "USER t 0 * :t", "CAP END", "JOIN #chat")
        plain = registered(chat, "plain")
        line = chat.connect("LOGIN liner")
        sender = registered(chat, "sender")
        chat.settle()
        for reader in (tagged, plain, line):
            reader.written.clear()
        chat.send(sender, *("@+typing=active TAGMSG #chat" for _ in range(12)))
        chat.settle()
        got = lines_of(tagged)
        self.assertEqual(len(got), 8 - 3)  # (the budget less NICK, USER, JOIN: the rest wait for tokens)
        self.assertTrue(all(line.endswith(" :sender!sender@irc.test TAGMSG #chat") for line in got), got)
        self.assertTrue(all("+typing=active" in line for line in got), got)
        self.assertFalse(sender.reading)
        self.assertEqual((lines_of(plain), lines_of(line)), ([], []))

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


class AwayInProcessTest(unittest.TestCase):
    def setUp(self) -> None:
        self.chat = InProcessServer(room=CountingRoom)
        self.addCleanup(self.chat.close)

    def test_a_privmsg_to_someone_away_gets_301_every_time_a_notice_none(self) -> None:
        ann, bob = registered(self.chat, "ann", "AWAY :lunch"), registered(self.chat, "bob")
        self.chat.settle()
        bob.written.clear()
        self.chat.send(bob, "PRIVMSG ANN :hi", "PRIVMSG ann :hi again", "NOTICE ann :psst", "PRIVMSG #chat :all")
        self.chat.settle()
        self.assertEqual(lines_of(bob), [":irc.test 301 bob ann :lunch"] * 2)
        self.assertEqual(len([line for line in lines_of(ann) if " PRIVMSG ann " in line]), 2)


if __name__ == "__main__":
    unittest.main()
