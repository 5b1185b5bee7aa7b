"""IRC history end to end, over real sockets (docs/IRC.md, *History*): ``CHATHISTORY`` (LATEST,
BEFORE, AFTER, BETWEEN, AROUND, TARGETS) in ``chathistory`` batches with ``time`` and ``msgid``,
labeled, without batch, its ``FAIL`` replies, a server without history, the replay after a
``JOIN`` (on, off, and skipped for clients that negotiate ``draft/chathistory``), the direct
messages between two accounts for a nick target and in ``TARGETS``, a client not in the channel
reading none of it, and two nodes of a cluster, where a message sent on one is read on the other
with the same ``msgid`` and one that came live while joining is not replayed too.  Tests
synchronise on replies (PING/PONG), never on time.
"""

from __future__ import annotations

import re
import unittest

from support import Cluster, skip_without_cluster, unique_name

from test_irc import IRC_ARGS, SERVER_NAME, IrcClient, IrcTestCase, mask, on_two_nodes
from test_irc_accounts import IrcAccountsTestCase
from test_irc_caps_end_to_end import SERVER_TIME, tags_of, untagged, with_caps

FULL = "batch server-time message-tags draft/chathistory"


def said(sender: str, text: str, command: str = "PRIVMSG") -> str:
    return f":{mask(sender)} {command} #chat :{text}"


def ask(client: IrcClient, command: str) -> list[str]:
    """``command``'s answer: every line up to the PONG of a sync after it."""
    client.send(command)
    return client.sync()


def batch_of(test: unittest.TestCase, lines: list[str], kind: str) -> list[str]:
    """The lines of the one batch ``lines`` are (its start and end checked), each untagged of
    ``batch`` and checked to carry it."""
    match = re.fullmatch(rf":{SERVER_NAME} BATCH \+(\S+) {kind}", lines[0])
    test.assertIsNotNone(match, lines[0])
    assert match is not None
    reference = match.group(1)
    test.assertEqual(lines[-1], f":{SERVER_NAME} BATCH -{reference}")
    inner = []
    for line in lines[1:-1]:
        tags = tags_of(line)
        test.assertEqual(tags.pop("batch"), reference)
        rest = ";".join(f"{key}={value}" for key, value in tags.items())
        inner.append(f"@{rest} {untagged(line)}" if rest else untagged(line))
    return inner


class ChathistoryTest(IrcTestCase):
    def sent(self, count: int) -> tuple[IrcClient, str, list[str], list[str]]:
        """A full client and a line user who said ``count`` messages: their msgids and times (two
        may share a millisecond)."""
        client = with_caps(self.irc(), FULL)
        line = self.logged_in()
        client.sync()
        texts = [unique_name("text ") for _ in range(count)]
        for text in texts:  # (one read each: each its own stamp)
            line.send(f"MSG {text}")
            line.sync()
        heard = client.sync()
        self.assertEqual([untagged(item) for item in heard], [said(line.name, text) for text in texts])
        return client, line.name, [tags_of(item)["msgid"] for item in heard], [tags_of(item)["time"] for item in heard]

    def messages(self, client: IrcClient, command: str) -> list[str]:
        """The msgids of ``command``'s answer, a ``chathistory #chat`` batch."""
        return [tags_of(item)["msgid"] for item in batch_of(self, ask(client, command), "chathistory #chat")]

    def test_latest_is_a_batch_of_the_messages_as_they_were_sent_with_time_and_msgid(self) -> None:
        client, sender, ids, times = self.sent(3)
        lines = batch_of(self, ask(client, "CHATHISTORY LATEST #chat * 2"), "chathistory #chat")
        self.assertEqual(
            [tags_of(item) for item in lines],
            [{"time": t, "msgid": i} for t, i in zip(times[1:], ids[1:], strict=True)],
        )
        self.assertEqual(untagged(lines[0]).split(" :")[0], said(sender, "").split(" :")[0])
        self.assertRegex(times[0], SERVER_TIME)
        self.assertEqual(self.messages(client, f"CHATHISTORY LATEST #chat msgid={ids[0]} 10"), ids[1:])
        later = [msgid for msgid, at in zip(ids, times, strict=True) if at > times[1]]
        self.assertEqual(self.messages(client, f"CHATHISTORY LATEST #CHAT timestamp={times[1]} 10"), later)

    def test_before_after_between_and_around_by_msgid_and_by_timestamp(self) -> None:
        client, _sender, ids, times = self.sent(5)
        self.assertEqual(self.messages(client, f"CHATHISTORY BEFORE #chat msgid={ids[3]} 2"), ids[1:3])
        self.assertEqual(self.messages(client, f"CHATHISTORY AFTER #chat msgid={ids[1]} 2"), ids[2:4])
        self.assertEqual(self.messages(client, f"CHATHISTORY BETWEEN #chat msgid={ids[0]} msgid={ids[4]} 10"), ids[1:4])
        self.assertEqual(self.messages(client, f"CHATHISTORY BETWEEN #chat msgid={ids[4]} msgid={ids[0]} 2"), ids[2:4])
        self.assertEqual(self.messages(client, f"CHATHISTORY AROUND #chat msgid={ids[2]} 3"), ids[1:4])
        self.assertEqual(self.messages(client, f"chathistory after #chat msgid={ids[4]} 5"), [])
        by_time = list(zip(ids, times, strict=True))  # (what time selects, should two share a millisecond)
        earlier = [msgid for msgid, at in by_time if at < times[3]][-2:]
        self.assertEqual(self.messages(client, f"CHATHISTORY BEFORE #chat timestamp={times[3]} 2"), earlier)
        later = [msgid for msgid, at in by_time if at > times[3]]
        self.assertEqual(self.messages(client, f"CHATHISTORY AFTER #chat timestamp={times[3]} 9"), later)
        inside = [msgid for msgid, at in by_time if times[0] < at < times[4]]
        between = f"CHATHISTORY BETWEEN #chat timestamp={times[0]} timestamp={times[4]} 9"
        self.assertEqual(self.messages(client, between), inside)
        self.assertIn(ids[2], self.messages(client, f"CHATHISTORY AROUND #chat timestamp={times[2]} 3"))

    def test_a_labeled_request_has_the_label_on_the_batch_and_without_batch_the_lines_come_alone(self) -> None:
        client, sender, ids, _times = self.sent(2)
        client.send("CAP REQ :labeled-response")
        client.read_until(" ACK ")
        answer = ask(client, "@label=h1 CHATHISTORY LATEST #chat * 2")
        self.assertEqual(tags_of(answer[0]), {"label": "h1"})
        self.assertEqual(
            [
                tags_of(item)["msgid"]
                for item in batch_of(self, [untagged(answer[0]), *answer[1:]], "chathistory #chat")
            ],
            ids,
        )
        plain = with_caps(self.irc(), "draft/chathistory")
        self.assertEqual(len(ask(plain, "CHATHISTORY LATEST #chat * 2")), 2)
        self.assertTrue(
            all(
                item.startswith(f":{mask(sender)} PRIVMSG #chat :")
                for item in ask(plain, "CHATHISTORY LATEST #chat * 2")
            )
        )

    def test_targets_lists_the_channel_and_a_nick_gets_an_empty_batch_without_an_account(self) -> None:
        client, _sender, _ids, times = self.sent(1)
        answer = ask(
            client, "CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2999-01-01T00:00:00.000Z 5"
        )
        self.assertEqual(
            batch_of(self, answer, "draft/chathistory-targets"),
            [f":{SERVER_NAME} CHATHISTORY TARGETS #chat :{times[0]}"],
        )
        self.assertEqual(
            batch_of(
                self,
                ask(client, f"CHATHISTORY TARGETS timestamp={times[0]} timestamp=2000-01-01T00:00:00.000Z 5"),
                "draft/chathistory-targets",
            ),
            [],
        )
        self.assertEqual(batch_of(self, ask(client, "CHATHISTORY LATEST someone * 5"), "chathistory someone"), [])

    def test_a_client_not_in_the_channel_reads_none_of_it_never_joined_or_parted(self) -> None:
        _client, _sender, ids, _times = self.sent(2)
        window = "timestamp=2000-01-01T00:00:00.000Z timestamp=2999-01-01T00:00:00.000Z"
        outside = self.irc()
        outside.send("CAP LS 302", "CAP REQ :batch server-time message-tags draft/chathistory", "CAP END")
        outside.register()
        for _ in range(2):  # (never joined, then parted)
            self.assertEqual(batch_of(self, ask(outside, "CHATHISTORY LATEST #chat * 10"), "chathistory #chat"), [])
            self.assertEqual(
                batch_of(self, ask(outside, f"CHATHISTORY AFTER #chat msgid={ids[0]} 10"), "chathistory #chat"), []
            )
            targets = batch_of(self, ask(outside, f"CHATHISTORY TARGETS {window} 10"), "draft/chathistory-targets")
            self.assertEqual(targets, [])
            outside.join()
            self.assertEqual(self.messages(outside, "CHATHISTORY LATEST #chat * 10")[-2:], ids)
            outside.send("PART #chat")
            outside.read_until(" PART ")

    def test_bad_requests_get_the_specs_fail_replies_and_the_connection_goes_on(self) -> None:
        client = with_caps(self.irc(), FULL)
        fail = f":{SERVER_NAME} FAIL CHATHISTORY"
        for command, reply in (
            ("CHATHISTORY FOO #chat * 5", f"{fail} INVALID_PARAMS FOO :Unknown command"),
            ("CHATHISTORY LATEST #chat *", f"{fail} INVALID_PARAMS LATEST :Insufficient parameters"),
            ("CHATHISTORY AFTER #chat * 5 6", f"{fail} INVALID_PARAMS AFTER :Too many parameters"),
            ("CHATHISTORY AFTER #chat * 5", f"{fail} INVALID_PARAMS AFTER * :Invalid message reference"),
            (
                "CHATHISTORY BEFORE #chat timestamp=yesterday 5",
                f"{fail} INVALID_PARAMS BEFORE timestamp=yesterday :Invalid timestamp",
            ),
            ("CHATHISTORY BEFORE #chat msgid=x many", f"{fail} INVALID_PARAMS BEFORE many :Invalid limit"),
            ("CHATHISTORY TARGETS msgid=a msgid=b 5", f"{fail} INVALID_PARAMS TARGETS msgid=a :Invalid timestamp"),
            ("CHATHISTORY LATEST #other * 5", f"{fail} INVALID_TARGET LATEST #other :Messages could not be retrieved"),
            ("CHATHISTORY", f":{SERVER_NAME} 461 {client.nick} CHATHISTORY :Not enough parameters"),
        ):
            self.assertEqual(ask(client, command), [reply], command)

    def test_the_welcome_advertises_the_limit_and_the_reference_types(self) -> None:
        client = self.irc()
        isupport = " ".join(line for line in client.register() if " 005 " in line)
        self.assertIn(" CHATHISTORY=100 ", isupport)
        self.assertIn(" MSGREFTYPES=timestamp,msgid ", isupport)

    def test_joining_with_replay_off_shows_nothing_of_the_past(self) -> None:
        self.sent(2)
        client = self.irc()
        client.register()
        client.join()
        self.assertEqual(client.sync(), [])


class JoinReplayTest(IrcTestCase):
    server_args = (*IRC_ARGS, "--irc-join-replay", "2")

    def test_the_last_lines_come_after_the_names_with_their_time_and_never_to_chathistory_clients(self) -> None:
        line = self.logged_in()
        line.send("MSG one", "MSG two", "MSG three")
        line.sync()
        plain = self.irc()
        plain.register()
        plain.join()
        replay = plain.sync()
        self.assertEqual(replay[0], f":{SERVER_NAME} NOTICE #chat :Replaying the last 2 messages (times in UTC)")
        self.assertEqual(
            [re.sub(r":\[\d\d:\d\d:\d\d\] ", ":[T] ", item) for item in replay[1:]],
            [said(line.name, "[T] two"), said(line.name, "[T] three")],
        )
        timed = with_caps(self.irc(), "batch server-time")
        lines = batch_of(self, timed.sync(), "chathistory #chat")
        self.assertEqual([untagged(item) for item in lines], [said(line.name, "two"), said(line.name, "three")])
        self.assertRegex(tags_of(lines[0])["time"], SERVER_TIME)
        asking = with_caps(self.irc(), "batch server-time draft/chathistory")
        self.assertEqual(asking.sync(), [])


class WithoutHistoryTest(IrcTestCase):
    server_args = (*IRC_ARGS, "--history-lines", "0", "--irc-join-replay", "5")

    def test_no_capability_no_isupport_and_chathistory_is_a_message_error(self) -> None:
        client = self.irc()
        client.send("CAP LS 302")
        self.assertNotIn("draft/chathistory", client.read_line())
        client.send("CAP END")
        self.assertNotIn("CHATHISTORY=", " ".join(client.register()))
        line = self.logged_in()
        line.send("MSG not kept")
        line.sync()
        client.join()
        client.sync()
        self.assertEqual(
            ask(client, "CHATHISTORY LATEST #chat * 5"),
            [f":{SERVER_NAME} FAIL CHATHISTORY MESSAGE_ERROR LATEST #chat :History is off on this server"],
        )


class DirectHistoryTest(IrcAccountsTestCase):
    """Accounts (SASL PLAIN) and direct messages: one server for the class, each test its own names."""

    def full(self, name: str) -> IrcClient:
        return self.logged_in(name, caps=f"sasl {FULL}")

    def tell(self, sender: IrcClient, recipient: IrcClient, text: str) -> str:
        """``sender`` says ``text`` to ``recipient``: the line the recipient got (tags and all)."""
        sender.send(f"PRIVMSG {recipient.nick} :{text}")
        sender.sync()
        got = recipient.sync()
        self.assertEqual([untagged(line) for line in got], [f":{mask(sender.nick)} PRIVMSG {recipient.nick} :{text}"])
        return got[0]

    def test_each_of_two_accounts_reads_their_conversation_and_a_third_sees_nothing(self) -> None:
        alice, bob, carol = self.full("alice"), self.full("bob"), self.full("carol")
        for client in (alice, bob, carol):
            client.sync()  # (the others' joins)
        live = [self.tell(alice, bob, "just between us"), self.tell(bob, alice, "agreed")]
        for asker, other in ((alice, "bob"), (bob, "alice"), (alice, "BOB")):
            answer = batch_of(self, ask(asker, f"CHATHISTORY LATEST {other} * 10"), f"chathistory {other.lower()}")
            self.assertEqual([untagged(line) for line in answer], [untagged(line) for line in live])
            self.assertEqual([tags_of(line)["msgid"] for line in answer], [tags_of(line)["msgid"] for line in live])
            self.assertEqual([tags_of(line)["time"] for line in answer], [tags_of(line)["time"] for line in live])
        first = tags_of(live[0])["msgid"]
        self.assertEqual(
            len(batch_of(self, ask(bob, f"CHATHISTORY AFTER alice msgid={first} 10"), "chathistory alice")), 1
        )
        for other in ("alice", "bob"):
            self.assertEqual(batch_of(self, ask(carol, f"CHATHISTORY LATEST {other} * 10"), f"chathistory {other}"), [])
        in_channel = batch_of(self, ask(alice, "CHATHISTORY LATEST #chat * 100"), "chathistory #chat")
        self.assertFalse([line for line in in_channel if "between us" in line or "agreed" in line], in_channel)

    def test_targets_lists_the_partner_and_an_offline_partner_is_read_by_the_name_last_seen(self) -> None:
        dave, erin = self.full("dave"), self.full("erin")
        dave.sync()
        dm = self.tell(dave, erin, "hello erin")
        dave.send("PRIVMSG #chat :hello all")
        dave.sync()
        said_time = tags_of(erin.sync()[-1])["time"]  # (no echo: its time as erin got it)
        window = "timestamp=2000-01-01T00:00:00.000Z timestamp=2999-01-01T00:00:00.000Z"
        self.assertEqual(
            batch_of(self, ask(dave, f"CHATHISTORY TARGETS {window} 10"), "draft/chathistory-targets"),
            [
                f":{SERVER_NAME} CHATHISTORY TARGETS erin :{tags_of(dm)['time']}",
                f":{SERVER_NAME} CHATHISTORY TARGETS #chat :{said_time}",
            ],
        )
        erin.send("QUIT :bye")
        erin.read_until_closed()
        dave.read_until(" QUIT ")
        answer = batch_of(self, ask(dave, "CHATHISTORY LATEST erin * 10"), "chathistory erin")
        self.assertEqual([untagged(line) for line in answer], [untagged(dm)])

    def test_a_user_without_an_account_gets_an_empty_batch(self) -> None:
        fay, gus = self.full("fay"), self.full("gus")
        fay.sync()
        self.tell(fay, gus, "for gus only")
        guest = with_caps(self.irc(), FULL)
        guest.sync()
        self.assertEqual(batch_of(self, ask(guest, "CHATHISTORY LATEST fay * 10"), "chathistory fay"), [])
        window = "timestamp=2000-01-01T00:00:00.000Z timestamp=2999-01-01T00:00:00.000Z"
        listed = batch_of(self, ask(guest, f"CHATHISTORY TARGETS {window} 10"), "draft/chathistory-targets")
        self.assertFalse([line for line in listed if " fay " in line or " gus " in line], listed)


class ClusterHistoryTest(unittest.TestCase):
    def test_a_message_sent_on_node_a_is_read_on_node_b_with_the_same_msgid(self) -> None:
        skip_without_cluster()
        with Cluster(2, *IRC_ARGS) as cluster:
            on_a, on_b, _line = on_two_nodes(self, cluster)
            with_caps(on_a, "echo-message server-time message-tags")
            with_caps(on_b, FULL)
            on_a.send("PRIVMSG #chat :from a")
            echo = on_a.sync()[-1]
            on_b.sync()
            lines = batch_of(self, ask(on_b, "CHATHISTORY LATEST #chat * 1"), "chathistory #chat")
            self.assertEqual(tags_of(lines[0]), tags_of(echo))
            self.assertEqual(untagged(lines[0]), said(on_a.nick, "from a"))

    def test_a_message_that_came_live_while_joining_is_not_replayed_too(self) -> None:
        skip_without_cluster()
        with Cluster(2, *IRC_ARGS, "--irc-join-replay", "100") as cluster:
            on_a, _on_b, line_b = on_two_nodes(self, cluster)
            line_b.login()
            on_a.send("CAP LS 302", "CAP REQ :batch server-time message-tags", "CAP END")
            on_a.register()
            for round_ in range(4):  # (node B's messages stream while node A's JOIN waits for its sync)
                texts = [f"r{round_}-{k}" for k in range(25)]
                line_b.send(*(f"MSG {text}" for text in texts))
                on_a.send("JOIN #chat")
                line_b.sync()
                heard = [untagged(line).split(" :", 1)[-1] for line in on_a.sync() if " PRIVMSG #chat :" in line]
                self.assertEqual(sorted(text for text in heard if text in texts), sorted(texts), round_)
                on_a.send("PART #chat")
                on_a.read_until(" PART ")


if __name__ == "__main__":
    unittest.main()
