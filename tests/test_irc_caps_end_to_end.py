"""The IRCv3 capabilities of the IRC gateway end to end, over real sockets (docs/IRC.md,
*Capabilities*): CAP negotiation, server-time and message-tags (every relayed message's ``time`` and
``msgid``, client-only tags, ``TAGMSG``), echo-message, labeled-response with batch,
userhost-in-names, multi-prefix and away-notify; beside line users, whose lines do not change, and on two nodes
of a cluster, where a message has the same ``msgid`` and ``time`` everywhere.  Tests synchronise on
replies (PING/PONG), never on time.
"""

from __future__ import annotations

import calendar
import re
import time
import unittest

from support import Cluster, ServerProcess, skip_without_cluster, unique_name

from algokart_chat import irc
from test_irc import IRC_ARGS, SERVER_NAME, IrcClient, IrcTestCase, mask

EVERY_CAP = (
    "away-notify batch cap-notify draft/chathistory echo-message labeled-response message-tags multi-prefix "
    "server-time userhost-in-names"
)
SERVER_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def tags_of(line: str) -> dict[str, str]:
    """The tags of a line the server sent (none: {})."""
    return irc.parse_tags(line[1:].partition(" ")[0]) if line.startswith("@") else {}


def untagged(line: str) -> str:
    return line.partition(" ")[2] if line.startswith("@") else line


def seconds(server_time: str) -> float:
    """A ``time`` tag's value as seconds since the epoch."""
    return calendar.timegm(time.strptime(server_time[:19], "%Y-%m-%dT%H:%M:%S")) + int(server_time[20:23]) / 1000


def with_caps(client: IrcClient, caps: str, nick: str | None = None) -> IrcClient:
    """``client`` registered after ``CAP LS 302`` and ``CAP REQ :<caps>``, in the channel."""
    client.nick = nick or unique_name("cap")
    client.send("CAP LS 302", f"NICK {client.nick}", f"USER u{client.nick} 0 * :Real Name")
    client.read_until(r" CAP \* LS :")
    if caps:
        client.send(f"CAP REQ :{caps}")
        assert client.read_line() == f":{SERVER_NAME} CAP {client.nick} ACK :{caps}"
    client.send("CAP END")
    client.read_until(r" 422 ")
    client.join()
    return client


class NegotiationTest(IrcTestCase):
    def test_ls_302_offers_every_capability_and_req_end_list_follow_the_spec(self) -> None:
        client = self.irc()
        nick = unique_name("neg")
        client.send("CAP LS 302", f"NICK {nick}", f"USER {nick} 0 * :Real")
        ls = client.read_line()
        self.assertEqual(ls, f":{SERVER_NAME} CAP * LS :{EVERY_CAP}")
        client.send("CAP REQ :server-time bogus", "CAP LIST")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} CAP {nick} NAK :server-time bogus")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} CAP {nick} LIST :cap-notify")  # (302: implicit)
        client.send("CAP REQ :server-time echo-message", "CAP END")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} CAP {nick} ACK :server-time echo-message")
        self.assertEqual(client.read_until(r" 422 ")[0].split(" ")[1], "001")
        client.send("CAP REQ :-server-time multi-prefix", "CAP LIST", "CAP END", "CAP FOO")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} CAP {nick} ACK :-server-time multi-prefix")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} CAP {nick} LIST :cap-notify echo-message multi-prefix")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 410 {nick} FOO :Invalid CAP command")
        client.send("CAP REQ :-cap-notify")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} CAP {nick} NAK :-cap-notify")

    def test_a_301_client_gets_names_alone_and_req_without_ls_holds_registration_too(self) -> None:
        client = self.irc()
        nick = unique_name("old")
        client.send("CAP REQ :multi-prefix", f"NICK {nick}", f"USER {nick} 0 * :Real", "CAP LS", "CAP LIST")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} CAP * ACK :multi-prefix")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} CAP {nick} LS :{EVERY_CAP}")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} CAP {nick} LIST :multi-prefix")
        self.assertEqual(client.sync(), [])  # (no 001 before CAP END)
        client.send("CAP END")
        self.assertIn(" 001 ", client.read_line())


class TagsTest(IrcTestCase):
    def test_every_relayed_message_carries_time_and_one_msgid_and_plain_clients_and_line_users_see_no_change(
        self,
    ) -> None:
        both, timed = with_caps(self.irc(), "server-time message-tags"), with_caps(self.irc(), "server-time")
        tagged, plain = with_caps(self.irc(), "message-tags"), self.joined()
        line = self.logged_in()
        self.settled(both, timed, tagged, plain)
        before = time.time()
        line.send("MSG hello all")
        line.sync()
        after = time.time()
        got = {
            name: client.sync()
            for name, client in (("both", both), ("timed", timed), ("tagged", tagged), ("plain", plain))
        }
        expected = f":{mask(line.name)} PRIVMSG #chat :hello all"
        self.assertEqual(
            {name: [untagged(item) for item in lines] for name, lines in got.items()}, {key: [expected] for key in got}
        )
        self.assertEqual(got["plain"], [expected])
        stamp = tags_of(got["both"][0])
        self.assertEqual(set(stamp), {"time", "msgid"})
        self.assertRegex(stamp["time"], SERVER_TIME)
        self.assertLessEqual(int(before * 1000) / 1000, seconds(stamp["time"]))
        self.assertLessEqual(seconds(stamp["time"]), after)
        self.assertEqual(tags_of(got["timed"][0]), {"time": stamp["time"]})
        self.assertEqual(tags_of(got["tagged"][0]), {"msgid": stamp["msgid"]})
        line.send("MSG again")
        line.sync()
        self.assertNotEqual(tags_of(both.sync()[0])["msgid"], stamp["msgid"])

    def test_a_batch_of_texts_has_the_ids_history_and_ids_on_give_them_however_long_a_text_is(self) -> None:
        tagged = with_caps(self.irc(), "message-tags")
        line, reader = self.logged_in(), self.logged_in()
        reader.send("IDS ON")
        reader.expect("OK")
        self.settled(tagged)
        long_text = "word " * 150  # (750 bytes: two IRC lines)
        line.send(f"MSG {long_text.strip()}", "MSG second")  # (one read: one message of two texts)
        line.sync()
        ids = [tags_of(item)["msgid"] for item in tagged.sync()]
        on_line = [item.split(" ", 1)[0][1:] for item in reader.sync()]
        self.assertEqual(len(ids), 3)
        self.assertEqual(on_line, [ids[0], f"{ids[0]}.1"])  # the texts' ids ...
        self.assertEqual(ids, [on_line[0], f"{on_line[0]}.c1", on_line[1]])  # ... on IRC too

    def test_client_only_tags_reach_message_tags_clients_only_and_line_users_get_the_text(self) -> None:
        sender, tagged = with_caps(self.irc(), "message-tags"), with_caps(self.irc(), "message-tags")
        timed, line = with_caps(self.irc(), "server-time"), self.logged_in()
        self.settled(sender, tagged, timed)
        sender.send(r"@+draft/reply=abc;+example.com/x=a\sb;label=7;msgid=forged;time=x PRIVMSG #chat :hi")
        sender.send(r"@+typing=active;unknown TAGMSG #chat")
        sender.send(f"@+draft/react=👍 TAGMSG {tagged.nick}")
        sender.sync()
        first, typing, react = tagged.sync()
        self.assertEqual(
            tags_of(first), {"msgid": tags_of(first)["msgid"], "+draft/reply": "abc", "+example.com/x": "a b"}
        )
        self.assertEqual(untagged(first), f":{mask(sender.nick)} PRIVMSG #chat :hi")
        self.assertEqual(
            (set(tags_of(typing)), untagged(typing)), ({"msgid", "+typing"}, f":{mask(sender.nick)} TAGMSG #chat")
        )
        self.assertEqual(tags_of(react)["+draft/react"], "👍")
        self.assertEqual(untagged(react), f":{mask(sender.nick)} TAGMSG {tagged.nick}")
        got = timed.sync()
        self.assertEqual([set(tags_of(item)) for item in got], [{"time"}])  # (no client tags, no TAGMSG)
        self.assertEqual(line.sync(), [f"MSG {sender.nick} hi"])

    def test_tags_take_4094_bytes_beside_the_512_of_the_line_and_more_is_417(self) -> None:
        sender, reader = with_caps(self.irc(), "message-tags"), with_caps(self.irc(), "message-tags")
        self.settled(sender, reader)
        largest = "@foo=bar;+baz=" + "a" * 4081
        self.assertEqual(len(largest), 4095)  # ("@" and 4094 bytes of tags)
        sender.send(f"{largest} PRIVMSG #chat :" + "b" * (510 - 15))
        sender.send(f"{largest}a TAGMSG #chat")
        self.assertEqual(sender.read_line(), f":{SERVER_NAME} 417 {sender.nick} :Input line was too long")
        sender.send(f"{largest} PRIVMSG #chat :" + "b" * (511 - 15))
        self.assertEqual(sender.read_line(), f":{SERVER_NAME} 417 {sender.nick} :Input line was too long")
        sender.send_bytes(b"@+x=" + b"y" * 5000 + b" TAGMSG #chat\r\n")  # (over what the reader keeps)
        self.assertEqual(sender.read_line(), f":{SERVER_NAME} 417 {sender.nick} :Input line was too long")
        sender.sync()
        (relayed,) = reader.sync()
        self.assertEqual(tags_of(relayed)["+baz"], "a" * 4081)
        text = untagged(relayed).split(" :", 1)[1]  # (cut to fit once the sender's mask is in front)
        self.assertEqual((set(text), len(text) >= 400), ({"b"}, True))
        self.assertLessEqual(len(untagged(relayed).encode()) + 2, irc.LINE_BYTES)


class EchoTest(IrcTestCase):
    def test_the_sender_gets_its_messages_back_with_the_msgid_and_time_the_others_got(self) -> None:
        sender = with_caps(self.irc(), "echo-message server-time message-tags")
        reader = with_caps(self.irc(), "server-time message-tags")
        plain_echo, line = with_caps(self.irc(), "echo-message"), self.logged_in()
        self.settled(sender, reader, plain_echo)
        sender.send("PRIVMSG #chat :\x02hi\x02 all", f"NOTICE {reader.nick} :psst", "@+typing=active TAGMSG #chat")
        echoes = sender.sync()
        got = reader.sync()
        self.assertEqual([untagged(item) for item in echoes], [untagged(item) for item in got])
        self.assertEqual([tags_of(item) for item in echoes], [tags_of(item) for item in got])
        self.assertEqual(untagged(echoes[1]), f":{mask(sender.nick)} NOTICE {reader.nick} :psst")
        self.assertEqual(len({tags_of(item)["msgid"] for item in echoes}), 3)
        self.assertEqual(line.sync(), [f"MSG {sender.nick} hi all"])
        self.assertEqual([untagged(item) for item in plain_echo.sync()], [untagged(got[0])])
        plain_echo.send("PRIVMSG #chat :mine", f"PRIVMSG {plain_echo.nick} :to me")
        self.assertEqual(
            plain_echo.sync(),
            [
                f":{mask(plain_echo.nick)} PRIVMSG #chat :mine",
                f":{mask(plain_echo.nick)} PRIVMSG {plain_echo.nick} :to me",  # (received)
                f":{mask(plain_echo.nick)} PRIVMSG {plain_echo.nick} :to me",  # (echoed)
            ],
        )

    def test_without_echo_message_nothing_comes_back(self) -> None:
        sender = with_caps(self.irc(), "server-time message-tags")
        sender.send("PRIVMSG #chat :quiet", "@+typing=active TAGMSG #chat")
        self.assertEqual(sender.sync(), [])


class LabeledResponseTest(IrcTestCase):
    CAPS = "batch labeled-response echo-message message-tags"

    def test_one_reply_is_labeled_none_is_an_ack_several_are_a_batch(self) -> None:
        client = with_caps(self.irc(), self.CAPS)
        client.send("@label=p1 PING adhoc", "@label=p2 PONG adhoc", "@label=p3 NOSUCHCOMMAND", "@label=p4 WHOIS nobody")
        self.assertEqual(client.read_line(), f"@label=p1 :{SERVER_NAME} PONG {SERVER_NAME} :adhoc")
        self.assertEqual(client.read_line(), f"@label=p2 :{SERVER_NAME} ACK")
        self.assertEqual(
            client.read_line(), f"@label=p3 :{SERVER_NAME} 421 {client.nick} NOSUCHCOMMAND :Unknown command"
        )
        start = client.read_line()
        self.assertRegex(start, rf"^@label=p4 :{SERVER_NAME} BATCH \+(\S+) labeled-response$")
        reference = start.split(" ")[3][1:]
        self.assertEqual(
            client.read_until(rf"BATCH -{reference}$"),
            [
                f"@batch={reference} :{SERVER_NAME} 401 {client.nick} nobody :No such nick/channel",
                f"@batch={reference} :{SERVER_NAME} 318 {client.nick} nobody :End of /WHOIS list",
                f":{SERVER_NAME} BATCH -{reference}",
            ],
        )
        self.assertEqual(client.sync(), [])

    def test_a_labeled_message_is_answered_by_its_echo_and_the_label_reaches_no_one_else(self) -> None:
        sender, reader = with_caps(self.irc(), self.CAPS), with_caps(self.irc(), self.CAPS)
        other = with_caps(self.irc(), self.CAPS)
        self.settled(sender, reader, other)
        sender.send("PRIVMSG #chat :unlabeled first", "@label=m1 PRIVMSG #chat :hi")
        unlabeled, echo = sender.read_line(), sender.read_line()
        self.assertEqual("label" in tags_of(unlabeled), False)
        self.assertEqual(tags_of(echo)["label"], "m1")
        self.assertEqual(untagged(echo), f":{mask(sender.nick)} PRIVMSG #chat :hi")
        got = reader.sync()
        self.assertEqual([tags_of(item).get("label") for item in got], [None, None])
        self.assertEqual(tags_of(got[1])["msgid"], tags_of(echo)["msgid"])
        sender.send(f"@label=m2 PRIVMSG {sender.nick} :self")
        first, second = sender.read_line(), sender.read_line()
        self.assertEqual([tags_of(item).get("label") for item in (first, second)].count("m2"), 1)
        sender.send(f"@label=m3;+draft/react=x TAGMSG {reader.nick},{other.nick}")
        start = sender.read_line()
        self.assertRegex(start, r"^@label=m3 .* BATCH \+\S+ labeled-response$")
        batched = sender.read_until(r" BATCH -")
        self.assertEqual(
            [untagged(item).split(" ")[1:3] for item in batched[:-1]], [["TAGMSG", reader.nick], ["TAGMSG", other.nick]]
        )
        self.assertEqual(sender.sync(), [])
        sender.send("@label=m4 PRIVMSG #nochannel :x")
        self.assertEqual(sender.read_line(), f"@label=m4 :{SERVER_NAME} 403 {sender.nick} #nochannel :No such channel")

    def test_a_labeled_join_is_one_batch(self) -> None:
        client = with_caps(self.irc(), self.CAPS)
        client.send("PART #chat")
        client.read_line()
        client.send("@label=j1 JOIN #chat")
        start = client.read_line()
        self.assertRegex(start, r"^@label=j1 .* BATCH \+\S+ labeled-response$")
        batched = client.read_until(r" BATCH -")
        self.assertEqual([untagged(item).split(" ")[1] for item in (batched[0], batched[-2])], ["JOIN", "366"])

    def test_without_labeled_response_a_label_is_ignored(self) -> None:
        client = with_caps(self.irc(), "batch")
        client.send("@label=x PING y")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} PONG {SERVER_NAME} :y")


class NamesTest(IrcTestCase):
    def test_userhost_in_names_lists_masks_and_multi_prefix_changes_nothing(self) -> None:
        line = self.logged_in()
        client = with_caps(self.irc(), "userhost-in-names multi-prefix")
        client.send("NAMES #chat")
        names = client.read_until(r" 366 ")[0].split(" :", 1)[1].split()
        self.assertIn(mask(line.name), names)
        self.assertIn(mask(client.nick), names)
        prefixed = with_caps(self.irc(), "multi-prefix")
        prefixed.send("NAMES #chat")
        self.assertIn(line.name, prefixed.read_until(r" 366 ")[0].split(" :", 1)[1].split())


class AwayNotifyTest(IrcTestCase):
    def test_away_changes_and_a_join_of_someone_away_reach_those_who_asked_tagged_as_their_form(self) -> None:
        notified = with_caps(self.irc(), "away-notify server-time")
        plain = with_caps(self.irc(), "")
        away = self.joined()
        line = self.logged_in()
        self.settled(notified, plain, away)
        away.send("AWAY :lunch", "PART #chat", "JOIN #chat", "AWAY")
        away.sync()
        got = notified.sync()
        self.assertTrue(all(SERVER_TIME.match(tags_of(item)["time"]) for item in got), got)
        me = mask(away.nick)
        self.assertEqual(
            [untagged(item) for item in got],
            [f":{me} AWAY :lunch", f":{me} PART :#chat", f":{me} JOIN :#chat", f":{me} AWAY :lunch", f":{me} AWAY"],
        )
        self.assertEqual(plain.sync(), [f":{me} PART :#chat", f":{me} JOIN :#chat"])
        self.assertEqual([item for item in line.sync() if "AWAY" in item], [])


class ClusterTagsTest(unittest.TestCase):
    def on_node(self, node: ServerProcess, caps: str) -> IrcClient:
        client = IrcClient(node.ports["IRC"])
        self.addCleanup(client.close)
        return with_caps(client, caps)

    def test_a_message_has_one_msgid_and_time_on_every_node_and_its_echo_too(self) -> None:
        skip_without_cluster()
        with Cluster(2, *IRC_ARGS) as cluster:
            first, second = cluster.nodes
            on_a = self.on_node(first, "echo-message server-time message-tags")
            on_b, also_a = (
                self.on_node(second, "server-time message-tags"),
                self.on_node(first, "server-time message-tags"),
            )
            line = second.client()
            self.addCleanup(line.close)
            line.login()
            for client in (on_a, on_b, also_a):
                client.sync()
            on_a.send("@+typing=done PRIVMSG #chat :from a", f"PRIVMSG {on_b.nick} :direct")
            echoes = on_a.sync()
            seen_b, seen_a = on_b.sync(), also_a.sync()
            self.assertEqual(tags_of(echoes[0]), tags_of(seen_b[0]))
            self.assertEqual(tags_of(echoes[0]), tags_of(seen_a[0]))
            self.assertEqual(tags_of(echoes[0])["+typing"], "done")
            self.assertEqual(tags_of(echoes[1]), tags_of(seen_b[1]))
            self.assertEqual(untagged(seen_b[1]), f":{mask(on_a.nick)} PRIVMSG {on_b.nick} :direct")
            self.assertEqual(line.sync(), [f"MSG {on_a.nick} from a"])
            line.send("MSG from the line")
            line.sync()
            heard = [client.sync()[0] for client in (on_a, on_b, also_a)]
            self.assertEqual(len({tags_of(item)["msgid"] for item in heard}), 1)
            self.assertEqual(len({tags_of(item)["time"] for item in heard}), 1)


if __name__ == "__main__":
    unittest.main()
