"""The IRC gateway's queries (``sessions.irc_queries``): each reply on a fake asker, what waits
for the room's sync point, what a long reply costs, and WHO's mask matching; then WHO in this
process, on fake transports (the memory its masks leave behind, masks compared as names are)."""

from __future__ import annotations

import tracemalloc
import unittest
from collections.abc import Callable
from unittest import mock

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat import irc
from algokart_chat.names import username_key
from algokart_chat.sessions import irc_queries
from algokart_chat.sessions.irc_channel import Identity
from algokart_chat.sessions.irc_queries import matching_names
from in_process import InProcessServer, lines_of
from irc_fakes import FakeHost, registered

HOSTILE = "\ufdfa" * 160  # 480 bytes; NFKC makes each of them 18 characters


class FakeAsker:
    """``irc_queries.Asker``: what it is sent, as lines, and how often it waited for the room."""

    def __init__(self, host: FakeHost, me: str = "asker", caps: frozenset[str] = frozenset()) -> None:
        self.channel = host.channel
        self.me = me
        self.caps = caps
        self.lines: list[str] = []
        self.long_replies = 0
        self.waits = 0

    def reply(self, code: str, *params: str) -> None:
        self.send(self.channel.numeric(code, self.me, *params))

    def send(self, reply: bytes) -> None:
        self.lines += reply.decode().split("\r\n")[:-1]

    def send_long(self, reply: bytes) -> None:
        self.long_replies += 1
        self.send(reply)

    def wait_for_room(self, then: Callable[[], None]) -> None:
        self.waits += 1
        then()

    def has(self, capability: str) -> bool:
        return capability in self.caps


def asked(
    query: Callable[[FakeAsker, list[str]], None], *params: str, host: FakeHost | None = None, me: str = "asker"
) -> FakeAsker:
    asker = FakeAsker(host or FakeHost(), me)
    query(asker, list(params))
    return asker


def room_of(*names: str) -> FakeHost:
    host = FakeHost()
    host.log_in(*names)
    return host


class NamesTest(unittest.TestCase):
    def test_the_channel_lists_everyone_after_the_sync_point(self) -> None:
        asker = asked(irc_queries.names, "#CHAT", host=room_of("alice", "bob"))
        self.assertEqual(
            asker.lines, [":irc.test 353 asker = #chat :alice bob", ":irc.test 366 asker #chat :End of /NAMES list"]
        )
        self.assertEqual((asker.waits, asker.long_replies), (1, 1))

    def test_no_channel_is_this_one_and_another_has_no_names(self) -> None:
        self.assertEqual(asked(irc_queries.names, host=room_of("alice")).lines[0], ":irc.test 353 asker = #chat :alice")
        self.assertEqual(
            asked(irc_queries.names, "#other,#chat").lines, [":irc.test 366 asker #other :End of /NAMES list"]
        )


def introduced(host: FakeHost, nick: str, username: str, realname: str) -> None:
    """``nick`` is an IRC user of this server (in the eyes of ``host``'s channel) with that identity."""
    host.channel.introduce(nick, Identity(username, realname))


class WhoTest(unittest.TestCase):
    def test_everyone_with_the_channel_for_the_channel_and_with_star_for_no_mask(self) -> None:
        for params in ((), ("#chat",), ("",)):
            asker = asked(irc_queries.who, *params, host=room_of("alice", "bob"))
            mask = params[0] if params and params[0] else "*"
            where = "#chat" if params == ("#chat",) else "*"
            self.assertEqual(
                asker.lines,
                [
                    f":irc.test 352 asker {where} alice irc.test irc.test alice H :0 alice",
                    f":irc.test 352 asker {where} bob irc.test irc.test bob H :0 bob",
                    f":irc.test 315 asker {mask} :End of WHO list",
                ],
            )
            self.assertEqual((asker.waits, asker.long_replies), (1, 1))

    def test_a_mask_or_a_nick_lists_the_names_it_matches_with_star_for_the_channel(self) -> None:
        asker = asked(irc_queries.who, "B*", host=room_of("alice", "bob"))
        self.assertEqual(asker.lines[0], ":irc.test 352 asker * bob irc.test irc.test bob H :0 bob")
        self.assertEqual(
            asked(irc_queries.who, "ALICE", host=room_of("alice", "bob")).lines[0].split(" ")[3:8],
            ["*", "alice", "irc.test", "irc.test", "alice"],
        )

    def test_an_irc_user_shows_its_username_and_real_name_and_g_when_away(self) -> None:
        host = room_of("alice", "bob")
        introduced(host, "bob", "~robert", "Robert B. Obb")
        host.room.set_away(host.members[1], "bob", "lunch")
        asker = asked(irc_queries.who, "#chat", host=host)
        self.assertEqual(
            asker.lines[:2],
            [
                ":irc.test 352 asker #chat alice irc.test irc.test alice H :0 alice",
                ":irc.test 352 asker #chat ~robert irc.test irc.test bob G :0 Robert B. Obb",
            ],
        )

    def test_a_long_real_name_is_cut_to_fit_the_line(self) -> None:
        nick = "\U00010400" * 32  # 128 bytes
        host = room_of(nick)
        introduced(host, nick, "~user", "\u00e9" * 200)
        line = asked(irc_queries.who, "*", host=host, me=nick).lines[0].encode() + b"\r\n"
        self.assertLessEqual(len(line), 512)
        self.assertTrue(line.endswith("\u00e9\r\n".encode()))


class MatchingNamesTest(unittest.TestCase):
    def test_masks_compare_as_names_do(self) -> None:
        names = keyed("Alice", "alicia", "bob", "\ufdfa")
        self.assertEqual(matching_names("ALI*", names), ["Alice", "alicia"])
        self.assertEqual(matching_names("ａｌｉｃｅ", names), ["Alice"])
        self.assertEqual(matching_names("?l?c??", names), ["alicia"])
        self.assertEqual(matching_names("\u0635*", names), ["\ufdfa"])
        self.assertEqual(matching_names("*", names), list(names.values()))

    def test_a_mask_longer_than_any_name_matches_nothing(self) -> None:
        self.assertEqual(matching_names("a" * 33, keyed("a" * 32)), [])
        self.assertEqual(matching_names("abc*", keyed("ab", "a")), [])
        self.assertEqual(matching_names(HOSTILE + "*", keyed("\ufdfa")), [])
        self.assertEqual(matching_names("*", {}), [])

    def test_who_with_a_mask_folds_the_mask_only_the_room_keeps_the_names_keys(self) -> None:
        host = room_of("alice", "bob", "carol")
        with mock.patch.object(irc_queries, "username_key", wraps=username_key) as folded:
            asker = asked(irc_queries.who, "B*", host=host)
        self.assertEqual([line.split(" ")[7] for line in asker.lines[:-1]], ["bob"])
        self.assertEqual(folded.call_args_list, [mock.call("B*")])


def keyed(*names: str) -> dict[str, str]:
    """``names`` as ``ChatRoom.keyed_names`` gives them."""
    return {username_key(name): name for name in names}


class WhoisTest(unittest.TestCase):
    def test_someone_in_the_room(self) -> None:
        asker = asked(irc_queries.whois, "ALICE", host=room_of("alice"))
        self.assertEqual(
            asker.lines,
            [
                ":irc.test 311 asker alice alice irc.test * :alice",
                ":irc.test 319 asker alice :#chat",
                ":irc.test 312 asker alice irc.test :algokart-chat",
                ":irc.test 318 asker ALICE :End of /WHOIS list",
            ],
        )
        self.assertEqual(asker.waits, 1)

    def test_an_irc_user_with_its_username_real_name_and_away_message(self) -> None:
        host = room_of("alice")
        introduced(host, "alice", "~al", "Alice Liddell")
        host.room.set_away(host.members[0], "alice", "down the rabbit hole")
        self.assertEqual(
            asked(irc_queries.whois, "alice", host=host).lines,
            [
                ":irc.test 311 asker alice ~al irc.test * :Alice Liddell",
                ":irc.test 319 asker alice :#chat",
                ":irc.test 312 asker alice irc.test :algokart-chat",
                ":irc.test 301 asker alice :down the rabbit hole",
                ":irc.test 318 asker alice :End of /WHOIS list",
            ],
        )

    def test_a_nick_held_outside_the_room_is_not_on_the_channel(self) -> None:
        host = FakeHost()
        host.room.join(object(), "ghost", lambda result: None, hidden=True)
        lines = asked(irc_queries.whois, "server.ignored", "ghost", host=host).lines
        self.assertEqual([line.split(" ")[1] for line in lines], ["311", "312", "318"])

    def test_no_one_and_nothing(self) -> None:
        self.assertEqual(
            asked(irc_queries.whois, "nobody").lines,
            [":irc.test 401 asker nobody :No such nick/channel", ":irc.test 318 asker nobody :End of /WHOIS list"],
        )
        asker = asked(irc_queries.whois)
        self.assertEqual((asker.lines, asker.waits), ([":irc.test 431 asker :No nickname given"], 0))


class AtOnceTest(unittest.TestCase):
    """The queries that answer without waiting for the room."""

    def answers(
        self, query: Callable[[FakeAsker, list[str]], None], *params: str, host: FakeHost | None = None
    ) -> list[str]:
        asker = asked(query, *params, host=host)
        self.assertEqual((asker.waits, asker.long_replies), (0, 0))
        return asker.lines

    def test_list(self) -> None:
        counted = [
            ":irc.test 321 asker Channel :Users Name",
            ":irc.test 322 asker #chat 2 :",
            ":irc.test 323 asker :End of /LIST",
        ]
        self.assertEqual(self.answers(irc_queries.list_channels, host=room_of("alice", "bob")), counted)
        self.assertEqual(self.answers(irc_queries.list_channels, "#x,#Chat", host=room_of("alice", "bob")), counted)
        self.assertEqual(self.answers(irc_queries.list_channels, "#x"), [counted[0], counted[2]])

    def test_topic(self) -> None:
        self.assertEqual(self.answers(irc_queries.topic, "#chat"), [":irc.test 331 asker #chat :No topic is set"])
        self.assertEqual(
            self.answers(irc_queries.topic, "#chat", "new"), [":irc.test 482 asker #chat :You're not channel operator"]
        )
        self.assertEqual(self.answers(irc_queries.topic, "#x"), [":irc.test 403 asker #x :No such channel"])
        self.assertEqual(self.answers(irc_queries.topic), [":irc.test 461 asker TOPIC :Not enough parameters"])

    def test_mode(self) -> None:
        answers = {
            (): "461 asker MODE :Not enough parameters",
            ("ASKER",): "221 asker :+",
            ("bob", "+i"): "502 asker :Can't change mode for other users",
            ("#x",): "403 asker #x :No such channel",
            ("#chat",): "324 asker #chat :+",
            ("#chat", "b"): "368 asker #chat :End of channel ban list",
            ("#chat", "+e"): "349 asker #chat :End of channel exception list",
            ("#chat", "I"): "347 asker #chat :End of channel invite list",
            ("#chat", "+o", "bob"): "482 asker #chat :You're not channel operator",
        }
        for params, answer in answers.items():
            self.assertEqual(self.answers(irc_queries.mode, *params), [f":irc.test {answer}"], params)

    def test_ison_and_userhost_name_those_online(self) -> None:
        host = room_of("alice", "bob")
        self.assertEqual(
            self.answers(irc_queries.ison, "ALICE carol", "bob", host=host), [":irc.test 303 asker :ALICE bob"]
        )
        self.assertEqual(
            self.answers(irc_queries.userhost, "alice", "carol", "bob", host=host),
            [":irc.test 302 asker :alice=+alice@irc.test bob=+bob@irc.test"],
        )
        introduced(host, "bob", "~rob", "Rob")
        host.room.set_away(host.members[1], "bob", "away")
        self.assertEqual(
            self.answers(irc_queries.userhost, "BOB", host=host), [":irc.test 302 asker :bob=-~rob@irc.test"]
        )
        self.assertEqual(self.answers(irc_queries.userhost, *["alice"] * 6, host=host)[0].count("alice="), 5)


class WhoMaskTest(unittest.TestCase):
    def test_distinct_hostile_masks_leave_no_memory_behind(self) -> None:
        chat = InProcessServer("--rate-limit", "0", "--rate-limit-bytes", "0")
        self.addCleanup(chat.close)
        asker = registered(chat, "asker")
        registered(chat, "alice")

        def ask(first: int, count: int) -> None:
            for number in range(first, first + count):
                chat.send(asker, f"WHO {HOSTILE}{number}*")
                chat.settle(1)
                self.assertTrue(asker.written.endswith(b":End of WHO list\r\n"))
                asker.written.clear()

        ask(0, 10)  # (whatever the first ones allocate for good)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            ask(10, 300)
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        self.assertLess(grown, 64 * 1024)  # (fnmatch's cache kept about 58 KiB for each)

    def test_masks_compare_as_names_do_and_a_mask_longer_than_any_name_matches_nothing(self) -> None:
        chat = InProcessServer()
        self.addCleanup(chat.close)
        asker = registered(chat, "asker")
        for nick in ("Alice", "alicia", "bob", "\ufdfa"):
            registered(chat, nick)
        answers = {
            "ALI*": ["Alice", "alicia"],
            "ａｌｉｃｅ": ["Alice"],  # fullwidth, as LOGIN compares names
            "?l?c??": ["alicia"],
            "*\ufdfa*": ["\ufdfa"],
            "\u0635*": ["\ufdfa"],  # (its NFKC form starts with U+0635)
            "a" * 19 + "*": [],
            HOSTILE + "*": [],
        }
        for mask, expected in answers.items():
            asker.written.clear()
            chat.send(asker, f"WHO {mask}")
            chat.settle()
            found = [line.split(" ")[7] for line in lines_of(asker) if " 352 " in line]
            self.assertEqual(found, expected, mask)
            end = lines_of(asker)[-1]  # (a mask too long for a line is cut in the reply, at a character)
            self.assertTrue(end.startswith(f":irc.test 315 asker {mask[:20]}"), end)
            self.assertTrue(end.endswith(" :End of WHO list"), end)
            self.assertLessEqual(len(end.encode()) + 2, irc.LINE_BYTES)
            self.assertTrue(mask.startswith(end.split(" ")[3]))


if __name__ == "__main__":
    unittest.main()
