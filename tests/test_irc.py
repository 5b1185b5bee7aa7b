"""The IRC gateway end to end, over real sockets: a scripted IRC client (below) beside line users,
in one room, for every rule of docs/IRC.md.  Tests synchronise on replies: an IRC PING's PONG is
a sync point as the line protocol's is (so a sender syncs before a receiver checks: its PONG says
its lines are in the room), and every command's numerics end with a known one.
"""

from __future__ import annotations

import re
import socket
import ssl
import unittest

from support import TIMEOUT, Client, Cluster, ServerProcess, ServerTestCase, err, skip_without_cluster, unique_name

from test_tls import CERT, KEY

SERVER_NAME = "irc.test"
# (no join replay: these tests read exactly what follows a JOIN; test_irc_history_end_to_end has it)
IRC_ARGS = ("--irc-port", "0", "--irc-server-name", SERVER_NAME, "--irc-join-replay", "0")


class IrcClient:
    """A blocking IRC client for tests; every read is bounded by TIMEOUT."""

    def __init__(self, port: int, sock: socket.socket | None = None) -> None:
        self.sock = sock if sock is not None else socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock.settimeout(TIMEOUT)
        self._buffer = b""
        self.nick = ""
        self._pings = 0

    def send(self, *lines: str) -> None:
        self.sock.sendall("".join(line + "\r\n" for line in lines).encode("utf-8"))

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_raw_line(self) -> bytes:
        """The next line with its CRLF, as sent."""
        while b"\r\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed; unterminated rest: {self._buffer!r}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\r\n", 1)
        return line + b"\r\n"

    def read_line(self) -> str:
        return self.read_raw_line()[:-2].decode("utf-8")

    def read_until(self, pattern: str) -> list[str]:
        """Lines up to and including the first that matches ``pattern``."""
        lines = []
        while True:
            lines.append(self.read_line())
            if re.search(pattern, lines[-1]):
                return lines

    def sync(self) -> list[str]:
        """PING (a sync point); every line that came before its PONG."""
        self._pings += 1
        token = f"sync{self._pings}"
        self.send(f"PING {token}")
        return self.read_until(rf"^:{SERVER_NAME} PONG {SERVER_NAME} :{token}$")[:-1]

    def register(self, nick: str | None = None) -> list[str]:
        self.nick = nick or unique_name("irc")
        self.send(f"NICK {self.nick}", f"USER {self.nick} 0 * :Test User")
        return self.read_until(r" (422|376) ")

    def join(self, channel: str = "#chat") -> list[str]:
        self.send(f"JOIN {channel}")
        return self.read_until(r" 366 ")

    def read_until_closed(self) -> list[str]:
        data, self._buffer = self._buffer, b""
        try:
            while chunk := self.sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
        return [line.decode("utf-8") for line in data.split(b"\r\n")[:-1]]

    def close(self) -> None:
        self.sock.close()


def mask(nick: str) -> str:
    return f"{nick}!{nick}@{SERVER_NAME}"


def on_two_nodes(test: unittest.TestCase, cluster: Cluster) -> tuple[IrcClient, IrcClient, Client]:
    """An IRC client on the cluster's first node, one on its second and a line client there, each
    closed at the test's end."""
    a, b = cluster.nodes
    clients = IrcClient(a.ports["IRC"]), IrcClient(b.ports["IRC"]), b.client()
    for client in clients:
        test.addCleanup(client.close)
    return clients


def username(nick: str) -> str:
    """The username field of an IRC user the scripted client registered as ``nick``."""
    return f"~{nick[:9]}"


class IrcTestCase(ServerTestCase):
    server_args: tuple[str, ...] = IRC_ARGS

    def irc(self) -> IrcClient:
        assert isinstance(self.server, ServerProcess)
        client = IrcClient(self.server.ports["IRC"])
        self.addCleanup(client.close)
        return client

    def joined(self, nick: str | None = None) -> IrcClient:
        client = self.irc()
        client.register(nick)
        client.join()
        return client

    @staticmethod
    def settled(*clients: IrcClient) -> None:
        """Read what each got up to now (the JOIN of those who came in after it)."""
        for client in clients:
            client.sync()


class RegistrationTest(IrcTestCase):
    def test_startup_line_names_the_irc_listener(self) -> None:
        assert isinstance(self.server, ServerProcess)
        self.assertRegex(self.server.started_line, r"^Chat server started on port \d+, IRC on port \d+$")

    def test_cap_negotiation_holds_registration_until_cap_end(self) -> None:
        client = self.irc()
        nick = unique_name("cap")
        client.send("CAP LS 302", f"NICK {nick}", f"USER {nick} 0 * :Real")
        self.assertEqual(client.read_line().split(" ")[:4], [f":{SERVER_NAME}", "CAP", "*", "LS"])
        client.send("CAP REQ :multi-prefix sasl", "CAP LIST")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} CAP {nick} NAK :multi-prefix sasl")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} CAP {nick} LIST :cap-notify")
        client.send("CAP END")
        burst = client.read_until(r" 422 ")
        self.assertEqual([line.split(" ")[1] for line in burst], ["001", "002", "003", "004", "005", "422"])
        self.assertTrue(burst[0].startswith(f":{SERVER_NAME} 001 {nick} :Welcome"))
        tokens = burst[4].split(" :", 1)[0].split(" ")[3:]
        self.assertLessEqual(len(tokens), 13)
        for token in ("CHANTYPES=#", "CASEMAPPING=ascii", "NICKLEN=32", "PREFIX=(o)@", "CHANMODES=bq,,,", "UTF8ONLY"):
            self.assertIn(token, tokens)

    def test_before_registration_other_commands_get_451_and_ping_works(self) -> None:
        client = self.irc()
        client.send("JOIN #chat", "PRIVMSG #chat :hi", "PING")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 451 * :You have not registered")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 451 * :You have not registered")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 461 * PING :Not enough parameters")
        self.assertEqual(client.sync(), [])

    def test_nick_and_user_errors(self) -> None:
        client = self.irc()
        client.send("NICK", "NICK bad!nick", "NICK " + "x" * 33, "NICK Аlice", "USER onlytwo 0", "USER u 0 * :")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 431 * :No nickname given")
        for nick in ("bad!nick", "x" * 33, "Аlice"):
            self.assertRegex(client.read_line(), rf"^:{SERVER_NAME} 432 \* {re.escape(nick)} :Erroneous nickname")
        for _missing_or_empty in range(2):
            self.assertEqual(client.read_line(), f":{SERVER_NAME} 461 * USER :Not enough parameters")
        client.register()
        client.send("USER again 0 * :x")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 462 {client.nick} :You may not reregister")

    def test_nicks_follow_the_line_protocol_name_rules(self) -> None:
        for nick in ("dot.user", "Zoë", "Алиса", "9lives"):
            with self.subTest(nick=nick):
                client = self.irc()
                suffix = unique_name("")
                burst = client.register(nick + suffix if nick.isascii() else nick)
                self.assertIn(" 001 ", burst[0])
                client.send("QUIT")
                client.read_until_closed()


class NamesAcrossProtocolsTest(IrcTestCase):
    def test_one_name_space_for_both_protocols(self) -> None:
        ircer = self.irc()
        ircer.register()
        line = self.connect()
        line.send(f"LOGIN {ircer.nick.upper()}")  # held from NICK on, compared as line names are
        line.expect(err("username-taken"))
        user = self.logged_in()
        ircer.send(f"NICK {user.name.lower()}")
        self.assertEqual(
            ircer.read_line(), f":{SERVER_NAME} 433 {ircer.nick} {user.name.lower()} :Nickname is already in use"
        )
        guest = self.irc()
        guest.send(f"NICK {ircer.nick}")
        self.assertEqual(guest.read_line(), f":{SERVER_NAME} 433 * {ircer.nick} :Nickname is already in use")

    def test_a_nick_not_registered_yet_yields_to_whoever_logs_in_or_registers_with_it(self) -> None:
        for taker in ("line", "irc", "irc after CAP"):
            with self.subTest(taker=taker):
                squatter, nick = self.irc(), unique_name("squat")
                squatter.send(f"NICK {nick}")  # and never USER, for now
                self.assertEqual(squatter.sync(), [])
                if taker == "line":
                    self.connect().login(nick.upper())  # compared as line names are
                else:
                    rival = self.irc()
                    if taker == "irc after CAP":
                        rival.send("CAP LS 302")
                        rival.read_line()
                        rival.send(f"NICK {nick}", f"USER {nick} 0 * :x", "CAP END")
                        self.assertIn(f" 001 {nick} ", rival.read_until(" 422 ")[0])
                    else:
                        self.assertIn(f" 001 {nick} ", rival.register(nick)[0])
                squatter.send(f"USER {nick} 0 * :x")
                self.assertEqual(squatter.read_line(), f":{SERVER_NAME} 433 * {nick} :Nickname is already in use")
                squatter.send(f"NICK {nick}")  # taken now: at once
                self.assertEqual(squatter.read_line(), f":{SERVER_NAME} 433 * {nick} :Nickname is already in use")
                other = unique_name("other")
                squatter.send(f"NICK {other}")  # USER came: registration completes with a free nick
                self.assertIn(f" 001 {other} ", squatter.read_until(" 422 ")[0])

    def test_no_look_alike_of_a_line_user_gets_her_nick(self) -> None:
        alice = self.logged_in(unique_name("alice"))
        digits = alice.name[len("alice") :]
        impostor = self.irc()
        hostile = {
            f"{alice.name}\u1160": "invisible characters",
            "аӏісе" + digits: "looks like a nickname in ASCII letters",
            "ᎪᏞᎥᏟᎬ" + digits: "looks like a nickname in ASCII letters",
            f"a١ice{digits}": "letters or digits of scripts that are not written together",
            f"aǀice{digits}": "looks like a nickname in ASCII letters",
            "\u3164": "invisible characters",
        }
        for nick, reason in hostile.items():
            impostor.send(f"NICK {nick}")
            self.assertEqual(impostor.read_line(), f":{SERVER_NAME} 432 * {nick} :Erroneous nickname: {reason}")
        impostor.send(f"NICK aIice{digits}")
        self.assertEqual(impostor.read_line(), f":{SERVER_NAME} 433 * aIice{digits} :Nickname is already in use")

    def test_a_nick_change_is_nick_for_irc_users_and_a_departure_for_line_users(self) -> None:
        changer, watcher = self.joined(), self.joined()
        line = self.logged_in()
        self.settled(changer, watcher)
        new = unique_name("renamed")
        changer.send(f"NICK {new}")
        self.assertEqual(changer.read_line(), f":{mask(changer.nick)} NICK :{new}")
        self.assertEqual(watcher.sync(), [f":{mask(changer.nick)} NICK :{new}"])
        self.assertEqual(line.sync(), [f"INFO {changer.nick} disconnected"])
        line.send("WHO")
        self.assertIn(f"USER {new}", line.sync())


class ChannelTest(IrcTestCase):
    def test_join_echo_and_names_of_both_protocols(self) -> None:
        line = self.logged_in()
        client = self.irc()
        client.register()
        reply = client.join()
        self.assertEqual(reply[0], f":{mask(client.nick)} JOIN :#chat")
        names = " ".join(line.split(" :", 1)[1] for line in reply if " 353 " in line)
        self.assertIn(line.name, names.split())
        self.assertIn(client.nick, names.split())
        self.assertRegex(reply[1], rf"^:{SERVER_NAME} 353 {client.nick} = #chat :")
        self.assertEqual(reply[-1], f":{SERVER_NAME} 366 {client.nick} #chat :End of /NAMES list")
        client.send("JOIN #other")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 403 {client.nick} #other :No such channel")

    def test_arrivals_and_departures_both_ways(self) -> None:
        client = self.joined()
        line = self.logged_in()
        self.assertEqual(client.sync(), [f":{mask(line.name)} JOIN :#chat"])
        line.send("QUIT")
        line.read_until_closed()
        self.assertEqual(client.sync(), [f":{mask(line.name)} QUIT :Quit"])
        other, watcher = self.logged_in(), self.joined()
        self.settled(client, watcher)
        client.send("QUIT :see \x02you\x02\u202e")  # (cleaned as message text is)
        self.assertEqual(client.read_until_closed(), [f"ERROR :Closing Link: {SERVER_NAME} (Quit: see you)"])
        self.assertEqual(other.sync(), [f"INFO {client.nick} disconnected"])
        self.assertEqual(watcher.sync(), [f":{mask(client.nick)} QUIT :Quit: see you"])

    def test_how_a_connection_ended_is_the_reason_when_it_did_not_quit(self) -> None:
        watcher, quiet, dropped = self.joined(), self.joined(), self.joined()
        self.settled(watcher, quiet, dropped)
        quiet.send("QUIT")
        quiet.read_until_closed()
        dropped.sync()  # (what is left unread makes a close a reset)
        dropped.close()  # (its connection ends without a word)
        self.assertEqual(
            watcher.read_until(f"{dropped.nick}!"),
            [f":{mask(quiet.nick)} QUIT :Quit", f":{mask(dropped.nick)} QUIT :Connection closed"],
        )

    def test_a_long_quit_reason_is_cut_to_fit(self) -> None:
        client, watcher = self.joined(), self.joined()
        self.settled(watcher)
        client.send("QUIT :" + "é" * 240)
        client.read_until_closed()
        (line,) = watcher.sync()
        self.assertEqual(line, f":{mask(client.nick)} QUIT :Quit: " + "é" * 97)  # (200 bytes in all)

    def test_part_is_a_departure_for_line_users_and_join_again_is_allowed(self) -> None:
        client, watcher = self.joined(), self.joined()
        line = self.logged_in()
        self.settled(client, watcher)
        client.send("PART #chat :bye for now")
        self.assertEqual(client.read_line(), f":{mask(client.nick)} PART #chat :bye for now")
        self.assertEqual(watcher.sync(), [f":{mask(client.nick)} PART #chat :bye for now"])
        self.assertEqual(line.sync(), [f"INFO {client.nick} disconnected"])
        line.send(f"DM {client.nick} are you there", "WHO")
        self.assertNotIn(f"USER {client.nick}", line.sync())  # out of the room, though a DM reaches it
        self.assertEqual(client.sync(), [f":{mask(line.name)} PRIVMSG {client.nick} :are you there"])
        client.send("PART #chat")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 442 {client.nick} #chat :You're not on that channel")
        client.join()
        self.assertEqual(watcher.sync(), [f":{mask(client.nick)} JOIN :#chat"])
        line.send("WHO")
        self.assertIn(f"USER {client.nick}", line.sync())
        client.send("PART #chat :\x0304red\x03 \x01ACTION\x01", "JOIN #chat", "PART #chat :\x02")
        client.sync()
        self.assertEqual(
            watcher.sync(),
            [
                f":{mask(client.nick)} PART #chat :red ACTION",  # (cleaned as message text is)
                f":{mask(client.nick)} JOIN :#chat",
                f":{mask(client.nick)} PART :#chat",  # (nothing left: no reason)
            ],
        )


class MessageTest(IrcTestCase):
    def test_channel_messages_reach_line_users_as_msg_and_line_messages_reach_irc(self) -> None:
        client, other = self.joined(), self.joined()
        line = self.logged_in()
        self.settled(client, other)
        client.send("PRIVMSG #chat :hello \x02everyone\x02 \u202eoops", "NOTICE #chat :a notice")
        self.assertEqual(client.sync(), [])  # (its PONG: both are in the room) and no echo
        self.assertEqual(line.sync(), [f"MSG {client.nick} hello everyone oops", f"MSG {client.nick} a notice"])
        self.assertEqual(
            other.sync(),
            [
                f":{mask(client.nick)} PRIVMSG #chat :hello \x02everyone\x02 \u202eoops",  # kept between IRC users
                f":{mask(client.nick)} NOTICE #chat :a notice",
            ],
        )
        line.send("MSG hi irc")
        line.sync()
        self.assertEqual(client.sync(), [f":{mask(line.name)} PRIVMSG #chat :hi irc"])

    def test_line_breaks_other_than_the_crlf_reach_nobody(self) -> None:
        client, other = self.joined(), self.joined()
        line = self.logged_in()
        self.settled(client, other)
        forged = f":{mask(line.name)} PRIVMSG #chat :forged"
        client.send(f"PRIVMSG #chat :one\u2028{forged}\u2029two\x0bthree\x0cfour\x1cfive\x85six \x1ditalic\x1d")
        client.send(f"PRIVMSG {other.nick} :a\u2029b", f"PRIVMSG {line.name} :c\u2028d", "PRIVMSG #chat :\x0b\x0c")
        self.assertEqual(client.sync(), [f":{SERVER_NAME} 412 {client.nick} :No text to send"])
        sender = mask(client.nick)
        self.assertEqual(
            other.sync(),
            [
                f":{sender} PRIVMSG #chat :one {forged} twothreefourfivesix \x1ditalic\x1d",  # (formatting kept)
                f":{sender} PRIVMSG {other.nick} :a b",
            ],
        )
        self.assertEqual(
            line.sync(), [f"MSG {client.nick} one {forged} twothreefourfivesix italic", f"DM {client.nick} c d"]
        )

    def test_ctcp_action_is_a_star_line_other_ctcp_stays_in_irc(self) -> None:
        client, other = self.joined(), self.joined()
        line = self.logged_in()
        self.settled(client, other)
        client.send("PRIVMSG #chat :\x01ACTION waves\x01", "PRIVMSG #chat :\x01VERSION\x01")
        client.sync()
        self.assertEqual(line.sync(), [f"MSG {client.nick} * waves"])
        self.assertEqual(
            other.sync(),
            [
                f":{mask(client.nick)} PRIVMSG #chat :\x01ACTION waves\x01",
                f":{mask(client.nick)} PRIVMSG #chat :\x01VERSION\x01",
            ],
        )

    def test_direct_messages_both_ways(self) -> None:
        client, other = self.joined(), self.joined()
        line = self.logged_in()
        self.settled(client, other)
        client.send(f"PRIVMSG {line.name} :psst", f"PRIVMSG {other.nick} :\x02bold\x02 secret")
        client.sync()
        self.assertEqual(line.sync(), [f"DM {client.nick} psst"])
        self.assertEqual(other.sync(), [f":{mask(client.nick)} PRIVMSG {other.nick} :\x02bold\x02 secret"])
        line.send(f"DM {client.nick} back")
        line.sync()
        self.assertEqual(client.sync(), [f":{mask(line.name)} PRIVMSG {client.nick} :back"])

    def test_messages_of_one_read_keep_their_order_around_notices_and_direct_messages(self) -> None:
        """The channel messages of one read travel together; a NOTICE or a DM among them keeps its place."""
        client, other = self.joined(), self.joined()
        line = self.logged_in()
        self.settled(client, other)
        client.send(
            "PRIVMSG #chat :one",
            "PRIVMSG #chat :two",
            "NOTICE #chat :three",
            f"PRIVMSG {line.name} :four",
            f"PRIVMSG {other.nick} :five",
            "PRIVMSG #chat :six",
        )
        client.sync()
        self.assertEqual(
            line.sync(),
            [
                f"MSG {client.nick} one",
                f"MSG {client.nick} two",
                f"MSG {client.nick} three",
                f"DM {client.nick} four",
                f"MSG {client.nick} six",
            ],
        )
        sender = mask(client.nick)
        self.assertEqual(
            other.sync(),
            [
                f":{sender} PRIVMSG #chat :one",
                f":{sender} PRIVMSG #chat :two",
                f":{sender} NOTICE #chat :three",
                f":{sender} PRIVMSG {other.nick} :five",
                f":{sender} PRIVMSG #chat :six",
            ],
        )

    def test_direct_messages_reach_irc_users_who_have_not_joined(self) -> None:
        client, bot = self.irc(), self.irc()
        client.register()
        bot.register()  # a bot that never joins the channel still takes direct messages
        line = self.logged_in()
        client.send(f"PRIVMSG {bot.nick} :help")
        client.sync()
        self.assertEqual(bot.sync(), [f":{mask(client.nick)} PRIVMSG {bot.nick} :help"])
        line.send(f"DM {bot.nick} hello", "WHO")
        self.assertNotIn(f"USER {bot.nick}", line.sync())  # it holds the name, it is not in the room
        self.assertEqual(bot.sync(), [f":{mask(line.name)} PRIVMSG {bot.nick} :hello"])
        bot.send(f"WHOIS {bot.nick}")
        self.assertEqual(
            bot.sync(),
            [
                f":{SERVER_NAME} 311 {bot.nick} {bot.nick} {username(bot.nick)} {SERVER_NAME} * :Test User",
                f":{SERVER_NAME} 312 {bot.nick} {bot.nick} {SERVER_NAME} :algokart-chat",  # (no 319: no channel)
                f":{SERVER_NAME} 318 {bot.nick} {bot.nick} :End of /WHOIS list",
            ],
        )

    def test_errors_and_notice_never_answered_with_one(self) -> None:
        client = self.irc()
        client.register()
        nobody = unique_name("nobody")
        client.send(
            "PRIVMSG #chat :not joined", f"PRIVMSG {nobody} :x", "PRIVMSG #chat", "PRIVMSG", "PRIVMSG #nowhere :x"
        )
        self.assertEqual(
            client.sync(),
            [
                f":{SERVER_NAME} 404 {client.nick} #chat :Cannot send to channel",
                f":{SERVER_NAME} 401 {client.nick} {nobody} :No such nick/channel",
                f":{SERVER_NAME} 412 {client.nick} :No text to send",
                f":{SERVER_NAME} 411 {client.nick} :No recipient given (PRIVMSG)",
                f":{SERVER_NAME} 403 {client.nick} #nowhere :No such channel",
            ],
        )
        client.send("NOTICE #chat :x", f"NOTICE {nobody} :x", "NOTICE #chat", "NOTICE")
        self.assertEqual(client.sync(), [])
        client.send("FROBNICATE now")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 421 {client.nick} FROBNICATE :Unknown command")


class LongLineTest(IrcTestCase):
    def test_a_message_that_is_not_utf8_is_refused_with_fail(self) -> None:
        client, other = self.joined(), self.joined()
        line = self.logged_in()
        self.settled(client, other)
        client.send_bytes(b"PRIVMSG #chat :caf\xe9\r\nNOTICE " + other.nick.encode() + b" :\xff\r\nNICK b\xe9d\r\n")
        self.assertEqual(
            client.sync(),
            [
                f":{SERVER_NAME} FAIL PRIVMSG INVALID_UTF8 :Message rejected: not UTF-8",
                f":{SERVER_NAME} FAIL NOTICE INVALID_UTF8 :Message rejected: not UTF-8",
                f":{SERVER_NAME} 432 {client.nick} b\ufffdd :Erroneous nickname: only letters, digits, _ - and . are allowed",
            ],
        )
        self.assertEqual(other.sync(), [])
        self.assertEqual(line.sync(), [])

    def test_a_long_line_message_is_split_for_irc_at_spaces_within_512_bytes(self) -> None:
        client = self.joined()
        line = self.logged_in()
        self.settled(client)
        text = " ".join(f"wörd{number}" for number in range(1200))[:7000].rstrip()  # 8 KB with the ö
        line.send(f"MSG {text}")
        line.sync()
        lines = client.sync()
        raw = [item.encode() + b"\r\n" for item in lines]
        self.assertGreater(len(raw), 10)
        self.assertTrue(all(len(item) <= 512 for item in raw))
        head = f":{mask(line.name)} PRIVMSG #chat :"
        self.assertEqual("".join(item[len(head) :] for item in lines), text)

    def test_irc_input_over_512_bytes_gets_417_and_the_connection_stays(self) -> None:
        client = self.joined()
        line = self.logged_in()
        self.settled(client)
        client.send_bytes(b"PRIVMSG #chat :" + b"y" * 600 + b"\r\n")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 417 {client.nick} :Input line was too long")
        self.assertEqual(line.sync(), [])
        limit = b"PRIVMSG #chat :" + b"z" * (510 - 15) + b"\r\n"  # exactly 512 with its CRLF
        client.send_bytes(limit)
        client.sync()
        self.assertEqual(line.sync(), [f"MSG {client.nick} {'z' * 495}"])

    def test_an_irc_message_too_long_once_relayed_is_cut_at_a_whole_character(self) -> None:
        sender, reader = self.joined(), self.joined()
        self.settled(sender, reader)
        text = "é" * 247  # 494 bytes: fits the sender's line, not with the relayed prefix
        sender.send(f"PRIVMSG #chat :{text}")
        sender.sync()
        got = reader.sync()
        self.assertEqual(len(got), 1)
        relayed = got[0].encode() + b"\r\n"
        self.assertLessEqual(len(relayed), 512)
        self.assertTrue(text.startswith(got[0].split(" :", 1)[1]))


class HostileInputTest(IrcTestCase):
    def test_a_bare_cr_or_a_nul_reaches_no_one(self) -> None:
        """A CR inside a line ends nothing: dropped, as NUL is, before the line is read."""
        client, other = self.joined(), self.joined()
        line = self.logged_in()
        self.settled(client, other)
        spoof = f":{mask('alice')} PRIVMSG #chat :spoofed"
        client.send_bytes(
            f"PRIVMSG #chat :hello\r{spoof}\r\nPRIVMSG #chat :nul\x00{spoof}\r\n"
            f"PRIVMSG {other.nick} :dm\r{spoof}\r\nNOTICE #chat :\rnot\x00ice\r\r\n".encode()
        )
        client.send_bytes(b"WHO x\ry\x00*\r\nNICK bad\r!\r\nFRO\rB\x00 x\r\nPING to\rken\r\nJOIN #no\rwhere\r\n")
        me, sender = client.nick, mask(client.nick)
        self.assertEqual(
            client.sync(),
            [
                f":{SERVER_NAME} 315 {me} xy* :End of WHO list",
                f":{SERVER_NAME} 432 {me} bad! :Erroneous nickname: only letters, digits, _ - and . are allowed",
                f":{SERVER_NAME} 421 {me} FROB :Unknown command",
                f":{SERVER_NAME} PONG {SERVER_NAME} :token",
                f":{SERVER_NAME} 403 {me} #nowhere :No such channel",
            ],
        )
        self.assertEqual(
            other.sync(),
            [
                f":{sender} PRIVMSG #chat :hello{spoof}",
                f":{sender} PRIVMSG #chat :nul{spoof}",
                f":{sender} PRIVMSG {other.nick} :dm{spoof}",
                f":{sender} NOTICE #chat :notice",
            ],
        )
        self.assertEqual(line.sync(), [f"MSG {me} hello{spoof}", f"MSG {me} nul{spoof}", f"MSG {me} notice"])

    def test_one_message_reaches_four_targets_at_most_each_once(self) -> None:
        client, other = self.irc(), self.joined()
        burst = client.register()
        client.join()
        line = self.logged_in()
        self.settled(client, other)
        self.assertIn(
            "TARGMAX=PRIVMSG:4,NOTICE:4", [word for item in burst if " 005 " in item for word in item.split()]
        )
        me, sender = client.nick, mask(client.nick)
        repeated = ",".join([other.nick] * (440 // (len(other.nick) + 1)))
        client.send("PRIVMSG " + ",".join(["#chat"] * 80) + " :x", f"PRIVMSG {repeated} :y")
        client.send(f"PRIVMSG #chat,{other.nick},{line.name},#CHAT,{other.nick.upper()} :z")  # three targets
        client.send(f"PRIVMSG #chat,{other.nick},{line.name},a1,a2 :not sent", "NOTICE #chat,a1,a2,a3,a4 :nor this")
        self.assertEqual(client.sync(), [f":{SERVER_NAME} 407 {me} a2 :Too many targets (at most 4); nothing was sent"])
        self.assertEqual(
            other.sync(),
            [
                f":{sender} PRIVMSG #chat :x",
                f":{sender} PRIVMSG {other.nick} :y",
                f":{sender} PRIVMSG #chat :z",
                f":{sender} PRIVMSG {other.nick} :z",
            ],
        )
        self.assertEqual(line.sync(), [f"MSG {me} x", f"MSG {me} z", f"DM {me} z"])


class AwayTest(IrcTestCase):
    def test_away_for_irc_users_and_what_line_users_are_told(self) -> None:
        away, asker = self.joined(), self.joined()
        line = self.logged_in()
        self.settled(away, asker)
        away.send("AWAY :gone \x02fishing\x02")
        self.assertEqual(away.read_line(), f":{SERVER_NAME} 306 {away.nick} :You have been marked as being away")
        away.sync()
        me, them = asker.nick, away.nick
        asker.send(f"PRIVMSG {them} :hi", f"NOTICE {them} :psst", f"WHO {them}", f"WHOIS {them}", f"USERHOST {them}")
        self.assertEqual(
            asker.sync(),
            [
                f":{SERVER_NAME} 301 {me} {them} :gone fishing",
                f":{SERVER_NAME} 352 {me} * {username(them)} {SERVER_NAME} {SERVER_NAME} {them} G :0 Test User",
                f":{SERVER_NAME} 315 {me} {them} :End of WHO list",
                f":{SERVER_NAME} 311 {me} {them} {username(them)} {SERVER_NAME} * :Test User",
                f":{SERVER_NAME} 319 {me} {them} :#chat",
                f":{SERVER_NAME} 312 {me} {them} {SERVER_NAME} :algokart-chat",
                f":{SERVER_NAME} 301 {me} {them} :gone fishing",
                f":{SERVER_NAME} 318 {me} {them} :End of /WHOIS list",
                f":{SERVER_NAME} 302 {me} :{them}=-{username(them)}@{SERVER_NAME}",
            ],
        )
        line.send(f"DM {them} hello", f"DM {them} hello?", "WHO")
        reply = line.sync()
        self.assertEqual(reply[0], f"INFO {them} is away: gone fishing")  # once, after the first DM
        self.assertEqual([item for item in reply if item.startswith("INFO")], [reply[0]])
        self.assertEqual(len(away.sync()), 4)  # (every message reached it all the same)
        away.send("AWAY")
        self.assertEqual(away.read_line(), f":{SERVER_NAME} 305 {them} :You are no longer marked as being away")
        away.sync()
        asker.send(f"PRIVMSG {them} :back?", f"WHO {them}")
        self.assertEqual(asker.sync()[0].split(" ")[8], "H")
        self.assertEqual(asker.sync(), [])


class QueryTest(IrcTestCase):
    def test_who_whois_names_list_and_mode_probes(self) -> None:
        client = self.joined()
        line = self.logged_in()
        self.settled(client)
        me = client.nick
        client.send("WHO #chat")
        who = client.read_until(r" 315 ")
        self.assertIn(
            f":{SERVER_NAME} 352 {me} #chat {line.name} {SERVER_NAME} {SERVER_NAME} {line.name} H :0 {line.name}", who
        )
        self.assertEqual(who[-1], f":{SERVER_NAME} 315 {me} #chat :End of WHO list")
        self.assertIn(
            f":{SERVER_NAME} 352 {me} #chat {username(me)} {SERVER_NAME} {SERVER_NAME} {me} H :0 Test User", who
        )
        client.send(f"WHO {line.name[:3]}*")
        self.assertEqual(
            len([item for item in client.read_until(r" 315 ") if " 352 " in item]), 1 + (me.startswith(line.name[:3]))
        )
        client.send(f"WHO {me.upper()}")  # a nick: the channel field is *, as modern servers answer
        self.assertEqual(
            client.read_until(r" 315 "),
            [
                f":{SERVER_NAME} 352 {me} * {username(me)} {SERVER_NAME} {SERVER_NAME} {me} H :0 Test User",
                f":{SERVER_NAME} 315 {me} {me.upper()} :End of WHO list",
            ],
        )
        client.send(f"WHOIS {line.name}")
        whois = client.read_until(r" 318 ")
        self.assertEqual([item.split(" ")[1] for item in whois], ["311", "319", "312", "318"])
        self.assertEqual(whois[0], f":{SERVER_NAME} 311 {me} {line.name} {line.name} {SERVER_NAME} * :{line.name}")
        client.send(f"USERHOST {me} {line.name}")
        self.assertEqual(
            client.read_line(),
            f":{SERVER_NAME} 302 {me} :{me}=+{username(me)}@{SERVER_NAME} {line.name}=+{line.name}@{SERVER_NAME}",
        )
        client.send("WHOIS nobody-here")
        self.assertEqual(
            client.read_until(r" 318 "),
            [
                f":{SERVER_NAME} 401 {me} nobody-here :No such nick/channel",
                f":{SERVER_NAME} 318 {me} nobody-here :End of /WHOIS list",
            ],
        )
        client.send("NAMES #chat")
        names = client.read_until(r" 366 ")
        self.assertIn(line.name, names[0].split(" :", 1)[1].split())
        client.send("LIST")
        self.assertIn(f":{SERVER_NAME} 322 {me} #chat 2 :", client.read_until(r" 323 "))
        client.send(f"MODE {me}", "MODE #chat", "MODE #chat b", "TOPIC #chat")
        self.assertEqual(
            client.sync(),
            [
                f":{SERVER_NAME} 221 {me} :+",
                f":{SERVER_NAME} 324 {me} #chat :+",
                f":{SERVER_NAME} 368 {me} #chat :End of channel ban list",
                f":{SERVER_NAME} 331 {me} #chat :No topic is set",
            ],
        )


class KeepAliveTest(IrcTestCase):
    server_args = (*IRC_ARGS, "--idle-timeout", "1")

    def test_a_silent_client_is_pinged_and_kept_while_it_answers(self) -> None:
        client = self.joined()
        for _ in range(2):
            self.assertEqual(client.read_until(r"^PING "), [f"PING :{SERVER_NAME}"])
            client.send(f"PONG :{SERVER_NAME}")
        self.assertEqual(client.sync(), [])

    def test_a_client_that_never_answers_gets_a_ping_timeout(self) -> None:
        client, watcher = self.joined(), self.joined()
        while (line := watcher.read_line()) != f":{mask(client.nick)} QUIT :Ping timeout":  # it answers, and hears
            if line.startswith("PING "):
                watcher.send(f"PONG :{SERVER_NAME}")
        rest = client.read_until_closed()  # (what the silent one was sent waited in its socket)
        self.assertEqual(rest[-2:], [f"PING :{SERVER_NAME}", f"ERROR :Closing Link: {SERVER_NAME} (Ping timeout)"])


class TLSTest(unittest.TestCase):
    def test_irc_over_tls_shares_the_room(self) -> None:
        server = ServerProcess(*IRC_ARGS, "--irc-tls-port", "0", "--tls-cert", str(CERT), "--tls-key", str(KEY))
        self.addCleanup(server.stop)
        self.assertRegex(
            server.started_line, r"^Chat server started on port \d+, IRC on port \d+, IRC TLS on port \d+$"
        )
        context = ssl.create_default_context(cafile=str(CERT))
        raw = socket.create_connection(("127.0.0.1", server.ports["IRC TLS"]), timeout=TIMEOUT)
        client = IrcClient(0, sock=context.wrap_socket(raw, server_hostname="localhost"))
        self.addCleanup(client.close)
        client.register()
        client.join()
        with Client(server.port) as line:
            line.login()
            client.sync()
            line.send("MSG over tls?")
            line.sync()
            self.assertEqual(client.sync(), [f":{mask(line.name)} PRIVMSG #chat :over tls?"])


if __name__ == "__main__":
    unittest.main()


class ClusterIrcTest(unittest.TestCase):
    """IRC users on any node are in the one room, through the same room events."""

    def test_irc_and_line_users_on_two_nodes(self) -> None:
        skip_without_cluster()
        with Cluster(2, *IRC_ARGS) as cluster:
            a, b = cluster.nodes
            on_a, on_b = IrcClient(a.ports["IRC"]), IrcClient(b.ports["IRC"])
            line_b = b.client()
            for client in (on_a, on_b, line_b):
                self.addCleanup(client.close)
            on_a.register()
            held = Client(b.port)
            self.addCleanup(held.close)
            held.send(f"LOGIN {on_a.nick}")  # a nick is held cluster-wide from registration on, JOIN or not
            held.expect(err("username-taken"))
            squatter, wanted = IrcClient(b.ports["IRC"]), unique_name("squat")
            self.addCleanup(squatter.close)
            squatter.send(f"NICK {wanted}")  # not registered: it holds nothing, on any node
            squatter.sync()
            self.addCleanup(a.client().login(wanted).close)
            squatter.send(f"USER {wanted} 0 * :x")
            self.assertEqual(squatter.read_line(), f":{SERVER_NAME} 433 * {wanted} :Nickname is already in use")
            squatter.send(f"NICK {wanted}x")
            self.assertIn(f" 001 {wanted}x ", squatter.read_until(" 422 ")[0])
            on_a.join()
            on_b.register()
            on_b.join()
            line_b.login()
            for client in (on_a, on_b):
                client.sync()
            on_a.send("PRIVMSG #chat :\x02hi\x02 from a")
            on_a.sync()
            self.assertEqual(line_b.sync(), [f"MSG {on_a.nick} hi from a"])
            self.assertEqual(on_b.sync(), [f":{mask(on_a.nick)} PRIVMSG #chat :\x02hi\x02 from a"])
            line_b.send(f"DM {on_a.nick} psst")
            line_b.sync()
            self.assertEqual(on_a.sync(), [f":{mask(line_b.name)} PRIVMSG {on_a.nick} :psst"])
            new = unique_name("moved")
            on_a.send(f"NICK {new}")
            self.assertEqual(on_a.read_line(), f":{mask(on_a.nick)} NICK :{new}")
            self.assertEqual(on_b.sync(), [f":{mask(on_a.nick)} NICK :{new}"])
            self.assertEqual(line_b.sync(), [f"INFO {on_a.nick} disconnected"])
            on_a.nick = new
            on_a.send("PART #chat")
            on_a.read_line()
            on_a.sync()  # (the echo is at once; its PONG says the PART is in the room)
            self.assertEqual(on_b.sync(), [f":{mask(new)} PART :#chat"])
            self.assertEqual(line_b.sync(), [f"INFO {new} disconnected"])
            on_b.send("QUIT")
            on_b.read_until_closed()
            self.assertEqual(line_b.sync(), [f"INFO {on_b.nick} disconnected"])

    def test_reasons_and_away_messages_on_two_nodes(self) -> None:
        skip_without_cluster()
        with Cluster(2, *IRC_ARGS) as cluster:
            on_a, on_b, line_b = on_two_nodes(self, cluster)
            for irc_client in (on_a, on_b):
                irc_client.register()
                irc_client.join()
            line_b.login()
            on_a.sync()
            on_b.sync()
            them, me = on_a.nick, on_b.nick
            on_a.send("AWAY :lunch")
            on_a.sync()  # (in the stream now) ...
            on_b.sync()  # ... and read by node B, whose PONG comes after what the stream held before it
            on_b.send(f"PRIVMSG {them} :hi", f"WHO {them}", f"WHOIS {them}")
            self.assertEqual(
                on_b.sync(),
                [
                    f":{SERVER_NAME} 301 {me} {them} :lunch",
                    # (an IRC user of another node: its name for its username and real name)
                    f":{SERVER_NAME} 352 {me} * {them} {SERVER_NAME} {SERVER_NAME} {them} G :0 {them}",
                    f":{SERVER_NAME} 315 {me} {them} :End of WHO list",
                    f":{SERVER_NAME} 311 {me} {them} {them} {SERVER_NAME} * :{them}",
                    f":{SERVER_NAME} 319 {me} {them} :#chat",
                    f":{SERVER_NAME} 312 {me} {them} {SERVER_NAME} :algokart-chat",
                    f":{SERVER_NAME} 301 {me} {them} :lunch",
                    f":{SERVER_NAME} 318 {me} {them} :End of /WHOIS list",
                ],
            )
            line_b.send(f"DM {them} hi")
            self.assertEqual(line_b.sync(), [f"INFO {them} is away: lunch"])
            on_a.send("PART #chat :brb", "JOIN #chat")
            on_a.sync()
            on_a.send("QUIT :gone home")
            on_a.read_until_closed()
            self.assertEqual(
                on_b.sync(),
                [
                    f":{mask(them)} PART #chat :brb",
                    f":{mask(them)} JOIN :#chat",
                    f":{mask(them)} QUIT :Quit: gone home",
                ],
            )
            self.assertEqual(line_b.sync(), [f"INFO {them} disconnected", f"INFO {them} disconnected"])
