"""The room as an IRC channel (``sessions.irc_channel``): room events as IRC lines, encoded once
per event, direct messages for their one recipient, and the NAMES reply."""

from __future__ import annotations

import unittest
from typing import TypeVar

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat import irc
from algokart_chat.events import Arrived, AwayChanged, Departed, MessageId, Parted, Renamed, Said, Stamp, Together, Told
from algokart_chat.sessions.irc_channel import Identity, IrcChannel
from irc_fakes import FakeHost

TIME = frozenset({"server-time"})
TAGS = frozenset({"message-tags"})
BOTH = TIME | TAGS
STAMP = Stamp(MessageId("abc-7"), 1319042451.62)


def channel_of(host: FakeHost | None = None) -> IrcChannel:
    return IrcChannel(host or FakeHost(), "irc.test", "#chat", clock=lambda: 1700000000.0)


Event = TypeVar("Event", Said, Told)


def stamped(event: Event) -> Event:
    event.stamp = STAMP
    return event


def lines(data: bytes) -> list[str]:
    return data.decode().split("\r\n")[:-1]


class NamesTest(unittest.TestCase):
    def test_the_channel_compares_as_casemapping_ascii_says(self) -> None:
        channel = channel_of()
        self.assertTrue(channel.is_ours("#chat"))
        self.assertTrue(channel.is_ours("#CHAT"))
        self.assertFalse(channel.is_ours("#chat2"))
        self.assertFalse(channel.is_ours("chat"))

    def test_masks_and_numerics_name_the_server(self) -> None:
        channel = channel_of()
        self.assertEqual(channel.mask("alice"), "alice!alice@irc.test")
        self.assertEqual(
            channel.numeric("403", "alice", "#x", "No such channel"), b":irc.test 403 alice #x :No such channel\r\n"
        )


class EventsTest(unittest.TestCase):
    def test_presence_events(self) -> None:
        wire = channel_of().wire
        self.assertEqual(lines(wire(Arrived("bob"))), [":bob!bob@irc.test JOIN :#chat"])
        self.assertEqual(lines(wire(Parted("bob"))), [":bob!bob@irc.test PART :#chat"])
        self.assertEqual(lines(wire(Renamed("bob", "rob"))), [":bob!bob@irc.test NICK :rob"])
        self.assertEqual(
            lines(wire(Departed(["bob", "carol"]))),
            [":bob!bob@irc.test QUIT :Quit", ":carol!carol@irc.test QUIT :Quit"],
        )

    def test_reasons_end_a_quit_or_a_part_cut_to_fit_the_line(self) -> None:
        wire = channel_of().wire
        self.assertEqual(
            lines(wire(Departed(["bob", "carol"], ["Quit: gone home", None]))),
            [":bob!bob@irc.test QUIT :Quit: gone home", ":carol!carol@irc.test QUIT :Quit"],
        )
        self.assertEqual(lines(wire(Parted("bob", "brb :)"))), [":bob!bob@irc.test PART #chat :brb :)"])
        nick = "\U00010400" * 32  # 128 bytes, and so the mask 321
        for event in (Departed([nick], ["é" * 200]), Parted(nick, "é" * 200)):
            line = wire(event)
            self.assertLessEqual(len(line), irc.LINE_BYTES)
            self.assertTrue(line.endswith("é\r\n".encode()))

    def test_away_lines_only_for_away_notify_forms_and_none_on_the_wire_of_everyone(self) -> None:
        channel = channel_of()
        away = channel.encoder(frozenset({"away-notify"}))
        self.assertEqual(lines(away(AwayChanged("bob", "lunch"))), [":bob!bob@irc.test AWAY :lunch"])
        self.assertEqual(lines(away(AwayChanged("bob", None))), [":bob!bob@irc.test AWAY"])
        self.assertEqual(
            lines(away(Arrived("bob", away="lunch"))),
            [":bob!bob@irc.test JOIN :#chat", ":bob!bob@irc.test AWAY :lunch"],
        )
        self.assertEqual(lines(away(Arrived("bob"))), [":bob!bob@irc.test JOIN :#chat"])
        for other in (channel.wire, channel.encoder(frozenset({"server-time"}))):
            self.assertEqual(other(AwayChanged("bob", "lunch")), b"")
            self.assertEqual(lines(other(Arrived("bob", away="lunch")))[-1].split(" ")[-2:], ["JOIN", ":#chat"])
        self.assertIs(channel.encoder(frozenset({"away-notify"})), away)  # (one encoder per form)

    def test_away_lines_are_tagged_as_the_forms_other_lines(self) -> None:
        timed = channel_of().encoder(frozenset({"away-notify", "server-time"}))
        self.assertRegex(
            timed(AwayChanged("bob", "lunch")).decode(),
            r"^@time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z :bob!bob@irc.test AWAY :lunch\r\n$",
        )
        joined = lines(timed(Arrived("bob", away="lunch")))
        self.assertEqual(
            [line.split(" ", 1)[1] for line in joined],
            [":bob!bob@irc.test JOIN :#chat", ":bob!bob@irc.test AWAY :lunch"],
        )
        self.assertTrue(all(line.startswith("@time=") for line in joined))

    def test_a_line_users_text_takes_as_many_lines_as_it_needs_and_none_for_nothing(self) -> None:
        wire = channel_of().wire
        said = lines(wire(Said("bob", ["hi", None, "word " * 300])))
        self.assertEqual(said[0], ":bob!bob@irc.test PRIVMSG #chat :hi")
        self.assertGreater(len(said), 3)
        self.assertTrue(all(len(line.encode()) + 2 <= irc.LINE_BYTES for line in said))
        self.assertEqual("".join(line.split(" :", 1)[1] for line in said[1:]), "word " * 300)

    def test_an_irc_users_text_goes_as_sent_in_its_command_cut_to_one_line(self) -> None:
        wire = channel_of().wire
        said = lines(wire(Said("bob", [None, "x"], ["\x01VERSION\x01", "a\rb\x00" + "é" * 400], "NOTICE")))
        self.assertEqual(said[0], ":bob!bob@irc.test NOTICE #chat :\x01VERSION\x01")
        self.assertEqual(len(said), 2)
        self.assertTrue(said[1].startswith(":bob!bob@irc.test NOTICE #chat :ab"))
        self.assertLessEqual(len(said[1].encode()) + 2, irc.LINE_BYTES)

    def test_each_event_is_encoded_once_and_together_is_its_parts(self) -> None:
        channel = channel_of()
        first, second = Arrived("bob"), Said("bob", ["hi"])
        together = Together([first, second])
        data = together.encoded(channel.wire)
        self.assertEqual(data, first.encoded(channel.wire) + second.encoded(channel.wire))
        self.assertIs(together.encoded(channel.wire), data)
        self.assertIs(channel.wire, channel.wire)

    def test_a_direct_message_is_not_encoded_for_the_channel(self) -> None:
        self.assertEqual(channel_of().wire(Told("bob", "hi")), b"")


class FormsTest(unittest.TestCase):
    """What clients that enabled server-time and message-tags get: one encoding per form, shared."""

    def test_one_encoder_per_form_and_the_plain_one_is_wire(self) -> None:
        channel = channel_of()
        self.assertIs(channel.encoder(frozenset()), channel.wire)
        self.assertIs(channel.encoder(frozenset({"server-time"})), channel.encoder(TIME))
        self.assertIsNot(channel.encoder(TIME), channel.encoder(BOTH))

    def test_each_form_tags_every_line_server_tags_first_and_each_line_has_its_own_id(self) -> None:
        channel = channel_of()
        said = stamped(Said("bob", ["hi", "word " * 150], ["hi", "x"], "PRIVMSG", "+typing=active"))
        plain = said.encoded(channel.wire)
        self.assertEqual(lines(plain), [":bob!bob@irc.test PRIVMSG #chat :hi", ":bob!bob@irc.test PRIVMSG #chat :x"])
        time_tag = "@time=2011-10-19T16:40:51.620Z "
        self.assertEqual(lines(said.encoded(channel.encoder(TIME))), [time_tag + line for line in lines(plain)])
        self.assertEqual(
            lines(said.encoded(channel.encoder(BOTH))),
            [
                "@time=2011-10-19T16:40:51.620Z;msgid=abc-7;+typing=active :bob!bob@irc.test PRIVMSG #chat :hi",
                "@time=2011-10-19T16:40:51.620Z;msgid=abc-7.1;+typing=active :bob!bob@irc.test PRIVMSG #chat :x",
            ],
        )
        self.assertEqual(lines(said.encoded(channel.encoder(TAGS)))[0].split(" ")[0], "@msgid=abc-7;+typing=active")
        self.assertIs(said.encoded(channel.encoder(BOTH)), said.encoded(channel.encoder(BOTH)))  # (once per form)

    def test_a_line_users_long_text_goes_on_with_its_id_and_c_per_line_within_512_bytes_without_its_tags(self) -> None:
        channel = channel_of()
        said = stamped(Said("bob", ["word " * 300]))
        tagged = lines(said.encoded(channel.encoder(BOTH)))
        self.assertEqual(len(tagged), len(lines(said.encoded(channel.wire))))
        self.assertEqual(
            [line.split(";")[1].split(" ")[0] for line in tagged[:3]],
            ["msgid=abc-7", "msgid=abc-7.c1", "msgid=abc-7.c2"],
        )
        self.assertTrue(all(len(line.partition(" ")[2].encode()) + 2 <= irc.LINE_BYTES for line in tagged))

    def test_a_reads_several_texts_are_tagged_as_each_text_alone_would_be(self) -> None:
        channel = channel_of()
        texts: list[str | None] = ["hi", "word " * 150, None, "", "é" * 300]
        every = BOTH | {"account-tag"}
        said = stamped(Said("bob", texts, tags="+typing=active", account="acct"))
        expected = b"".join(
            channel.tagged(
                every,
                channel.wire(Said("bob", [text])),
                Stamp(MessageId(STAMP.id + (f".{k}" if k else "")), STAMP.accepted_at),
                "+typing=active",
                "acct",
            )
            for k, text in enumerate(texts)
        )
        self.assertEqual(said.encoded(channel.encoder(every)), expected)
        self.assertIn(b";msgid=abc-7.1.c1;", expected)  # (the long text's second line)
        self.assertIn(b"@time=2011-10-19T16:40:51.620Z;account=acct;msgid=abc-7.3;+typing=active ", expected)

    def test_tagmsg_only_for_message_tags_and_nothing_for_plain_or_line_readers(self) -> None:
        channel = channel_of()
        tagmsg = stamped(Said("bob", [], [], "TAGMSG", "+draft/react=\\o/"))
        self.assertEqual(tagmsg.encoded(channel.wire), b"")
        self.assertEqual(tagmsg.encoded(channel.encoder(TIME)), b"")
        self.assertEqual(
            lines(tagmsg.encoded(channel.encoder(TAGS))),
            ["@msgid=abc-7;+draft/react=\\o/ :bob!bob@irc.test TAGMSG #chat"],
        )

    def test_other_events_get_the_time_they_were_first_encoded(self) -> None:
        channel = channel_of()
        together = Together([Arrived("bob"), Departed(["carol", "dan"])])
        self.assertEqual(
            lines(together.encoded(channel.encoder(BOTH))),
            [
                "@time=2023-11-14T22:13:20.000Z :bob!bob@irc.test JOIN :#chat",
                "@time=2023-11-14T22:13:20.000Z :carol!carol@irc.test QUIT :Quit",
                "@time=2023-11-14T22:13:20.000Z :dan!dan@irc.test QUIT :Quit",
            ],
        )
        self.assertEqual(together.encoded(channel.encoder(TAGS)), together.encoded(channel.wire))  # (no msgid)

    def test_a_direct_message_in_each_form(self) -> None:
        channel = channel_of()
        told = stamped(Told("bob", "hi", "hi", "PRIVMSG", "+draft/reply=abc-1"))
        self.assertEqual(lines(channel.told_lines(told, "alice")), [":bob!bob@irc.test PRIVMSG alice :hi"])
        self.assertEqual(
            lines(channel.told_lines(told, "alice", BOTH)),
            ["@time=2011-10-19T16:40:51.620Z;msgid=abc-7;+draft/reply=abc-1 :bob!bob@irc.test PRIVMSG alice :hi"],
        )
        react = stamped(Told("bob", None, "", "TAGMSG", "+draft/react=x"))
        self.assertEqual(channel.told_lines(react, "alice", TIME), b"")
        self.assertEqual(
            lines(channel.told_lines(react, "alice", TAGS)),
            ["@msgid=abc-7;+draft/react=x :bob!bob@irc.test TAGMSG alice"],
        )


class ToldTest(unittest.TestCase):
    def test_a_line_users_direct_message_is_split_to_fit(self) -> None:
        told = lines(channel_of().told_lines(Told("bob", "x" * 1000), "alice"))
        self.assertEqual(len(told), 3)
        self.assertTrue(told[0].startswith(":bob!bob@irc.test PRIVMSG alice :xxx"))

    def test_an_irc_users_direct_message_keeps_its_command_and_one_line(self) -> None:
        told = channel_of().told_lines(Told("bob", None, "\x01PING 1\x01\r" + "y" * 600, "NOTICE"), "alice")
        self.assertEqual(len(lines(told)), 1)
        self.assertTrue(told.startswith(b":bob!bob@irc.test NOTICE alice :\x01PING 1\x01yyy"))

    def test_nothing_for_a_message_that_means_nothing_to_irc(self) -> None:
        self.assertEqual(channel_of().told_lines(Told("bob", None), "alice"), b"")


class IdentityTest(unittest.TestCase):
    def test_irc_users_of_this_server_have_their_own_and_anyone_else_its_name(self) -> None:
        channel = channel_of()
        channel.introduce("bob", Identity("~robert", "Robert"))
        self.assertEqual(channel.identity("bob"), Identity("~robert", "Robert"))
        self.assertEqual(channel.identity("carol"), Identity("carol", "carol"))
        channel.introduce("bob", None)
        self.assertEqual(channel.identity("bob"), Identity("bob", "bob"))

    def test_301_is_cut_to_fit(self) -> None:
        nick = "\U00010400" * 32
        self.assertEqual(channel_of().away_reply("me", "bob", "lunch"), b":irc.test 301 me bob :lunch\r\n")
        self.assertLessEqual(len(channel_of().away_reply(nick, nick, "é" * 100)), irc.LINE_BYTES)


class NamesReplyTest(unittest.TestCase):
    def test_everyone_in_login_order_in_lines_that_fit_then_366(self) -> None:
        host = FakeHost()
        names = [f"user{number:03}" for number in range(100)]
        host.log_in(*names)
        reply = lines(channel_of(host).names_lines("alice"))
        self.assertEqual(reply[-1], ":irc.test 366 alice #chat :End of /NAMES list")
        self.assertGreater(len(reply), 2)
        for line in reply[:-1]:
            self.assertTrue(line.startswith(":irc.test 353 alice = #chat :"))
            self.assertLessEqual(len(line.encode()) + 2, irc.LINE_BYTES)
        self.assertEqual(" ".join(line.split(" :", 1)[1] for line in reply[:-1]).split(), names)

    def test_with_userhost_in_names_each_as_its_mask(self) -> None:
        host = FakeHost()
        host.log_in("bob", "Zoë")
        self.assertEqual(
            lines(channel_of(host).names_lines("alice", userhost=True))[0],
            ":irc.test 353 alice = #chat :bob!bob@irc.test Zoë!Zoë@irc.test",
        )

    def test_an_empty_room(self) -> None:
        self.assertEqual(
            lines(channel_of().names_lines("*")),
            [":irc.test 353 * = #chat :", ":irc.test 366 * #chat :End of /NAMES list"],
        )


if __name__ == "__main__":
    unittest.main()
