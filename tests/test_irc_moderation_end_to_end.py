"""IRC moderation, end to end: the real server with --accounts, --bans and IRC over real sockets.
IRC operators (SASL to an op account, or OPER) are ``@`` in NAMES and WHO, and kick, kill, ban
(``+b``, by nick and by address) and mute (``+q``) line and IRC users; the lists answer 367/368
and 728/729; a line operator's ban drops an IRC user; everyone else gets 481/482.

Each test that bans an address uses a source address of its own (``new_source``).  Tests
synchronise on replies (PING/PONG), never on sleeps.
"""

from __future__ import annotations

import socket

from support import TIMEOUT, ServerProcess, unique_name

from test_accounts_login import new_source, password_of
from test_irc import IRC_ARGS, SERVER_NAME, IrcClient, mask
from test_irc_accounts import plain
from test_moderation_end_to_end import ModerationTestCase


class IrcModerationTestCase(ModerationTestCase):
    @classmethod
    def start(cls, *args: str) -> ServerProcess:
        return super().start(*IRC_ARGS, *args)

    def irc(self, nick: str | None = None, source: str = "127.0.0.1") -> IrcClient:
        """An IRC client registered as ``nick`` (a new name if None) and in the channel."""
        port = self.server.ports["IRC"]
        client = IrcClient(0, socket.create_connection(("127.0.0.1", port), TIMEOUT, source_address=(source, 0)))
        self.addCleanup(client.close)
        client.register(nick or unique_name("irc"))
        client.join()
        return client

    def irc_operator(self, name: str = "olga") -> IrcClient:
        """An IRC client logged in to the op account ``name`` with SASL, in the channel."""
        sock = socket.create_connection(("127.0.0.1", self.server.ports["IRC"]), timeout=TIMEOUT)
        client = IrcClient(0, sock=sock)
        self.addCleanup(client.close)
        client.nick = name
        client.send("CAP REQ :sasl", f"NICK {name}", "USER x 0 * :Real", "AUTHENTICATE PLAIN")
        client.send(f"AUTHENTICATE {plain(name, password_of(name))}", "CAP END")
        self.assertIn(f":{SERVER_NAME} 903 {name} :SASL authentication successful", client.read_until(r" 422 "))
        client.join()
        return client

    @staticmethod
    def numerics(client: IrcClient, *lines: str) -> list[str]:
        """Send ``lines``; what came back up to PONG, but what others did meanwhile."""
        client.send(*lines)
        return [line for line in client.sync() if not line.split(" ")[1] in ("JOIN", "QUIT", "PRIVMSG")]


class OperatorsTest(IrcModerationTestCase):
    def test_oper_makes_an_operator_shown_with_at_in_names_and_who(self) -> None:
        user = self.irc()
        me = user.nick
        self.assertEqual(
            self.numerics(user, "OPER olga wrong-password", "OPER bob :" + password_of("bob")),
            [f":{SERVER_NAME} 464 {me} :Password incorrect", f":{SERVER_NAME} 491 {me} :No O-lines for your host"],
        )
        self.assertEqual(
            self.numerics(user, f"OPER olga :{password_of('olga')}", f"MODE {me}"),
            [
                f":{SERVER_NAME} 381 {me} :You are now an IRC operator",
                f":{mask(me)} MODE {me} :+o",
                f":{SERVER_NAME} 221 {me} :+o",
            ],
        )
        line_op = self.operator("oscar")
        other = self.irc()
        names = " ".join(self.numerics(other, "NAMES #chat")).replace(" :", " ")
        self.assertIn(f"@{me}", names.split())
        self.assertIn("@oscar", names.split())
        self.assertIn(f" {other.nick} ", f" {names} ")
        who = self.numerics(other, "WHO #chat")
        self.assertIn(
            f":{SERVER_NAME} 352 {other.nick} #chat ~{me} {SERVER_NAME} {SERVER_NAME} {me} H*@ :0 Test User", who
        )
        self.assertIn(
            f":{SERVER_NAME} 352 {other.nick} #chat ~{other.nick} {SERVER_NAME} {SERVER_NAME} "
            f"{other.nick} H :0 Test User",
            who,
        )
        self.assertEqual(  # (an IRC operator is * in WHO; @ is its prefix in the channel, so only there)
            self.numerics(other, f"WHO {me}")[0],
            f":{SERVER_NAME} 352 {other.nick} * ~{me} {SERVER_NAME} {SERVER_NAME} {me} H* :0 Test User",
        )
        line_op.send("BANS")
        line_op.sync()

    def test_non_operators_get_482_and_481(self) -> None:
        user = self.irc()
        target = self.irc()
        me = user.nick
        self.assertEqual(
            self.numerics(
                user, f"KICK #chat {target.nick} :go", f"KILL {target.nick} :go", "MODE #chat +b x", "MODE #chat +q x"
            ),
            [
                f":{SERVER_NAME} 482 {me} #chat :You're not channel operator",
                f":{SERVER_NAME} 481 {me} :Permission Denied- You're not an IRC operator",
                f":{SERVER_NAME} 482 {me} #chat :You're not channel operator",
                f":{SERVER_NAME} 482 {me} #chat :You're not channel operator",
            ],
        )
        self.assertEqual(
            self.numerics(user, "MODE #chat b"), [f":{SERVER_NAME} 368 {me} #chat :End of channel ban list"]
        )
        target.sync()

    def test_operators_cannot_be_kicked_or_banned(self) -> None:
        op = self.irc_operator("olga")
        self.operator("oscar")
        self.assertEqual(
            self.numerics(op, "KICK #chat oscar", "MODE #chat +b OSCAR", "KICK #chat ghost1"),
            [
                f":{SERVER_NAME} 482 olga #chat :oscar is an operator: operators cannot be kicked",
                f":{SERVER_NAME} 482 olga #chat :OSCAR is an operator: operators cannot be banned or muted",
                f":{SERVER_NAME} 401 olga ghost1 :No such nick/channel",
            ],
        )


class KickTest(IrcModerationTestCase):
    def test_an_irc_operator_kicks_a_line_user_and_an_irc_user(self) -> None:
        op = self.irc_operator("olga")
        watcher = self.irc()
        line_watcher = self.user(unique_name("lw"))
        line_troll = self.user(unique_name("lt"))
        irc_troll = self.irc()
        self.settled_all(op, watcher)
        op.send(f"KICK #chat {line_troll.name} :shouting")
        self.assertEqual(line_troll.read_until_closed(), ["INFO kicked by olga: shouting"])
        kick_line = f":{mask('olga')} KICK #chat {line_troll.name} :shouting"
        self.assertIn(kick_line, op.sync())
        self.assertIn(kick_line, watcher.sync())
        self.assertIn(f"INFO {line_troll.name} disconnected", line_watcher.sync())
        op.send(f"KILL {irc_troll.nick} :flooding")
        self.assertEqual(
            irc_troll.read_until_closed()[-1], f"ERROR :Closing Link: {SERVER_NAME} (kicked by olga: flooding)"
        )
        self.assertIn(f":{mask(irc_troll.nick)} QUIT :Killed (olga (flooding))", watcher.sync())
        self.assertIn(f"INFO {irc_troll.nick} disconnected", line_watcher.sync())
        self.server.wait_for_log(rf"^Moderation: olga kick {irc_troll.nick} \(flooding\)$")

    def settled_all(self, *clients: IrcClient) -> None:
        for client in clients:
            client.sync()


class BanAndQuietTest(IrcModerationTestCase):
    def test_ban_by_nick_lists_and_lifts(self) -> None:
        op = self.irc_operator("olga")
        troll = self.irc()
        nick = troll.nick
        self.assertEqual(self.numerics(op, f"MODE #chat +b {nick}!*@*"), [f":{mask('olga')} MODE #chat +b :{nick}!*@*"])
        self.assertRegex(
            troll.read_until_closed()[-1], rf"^ERROR :Closing Link: {SERVER_NAME} \(banned until never by olga\)$"
        )
        again = self.connect()
        again.send(f"LOGIN {nick}")
        self.assertEqual(again.read_line(), "ERR banned until never by olga")
        listed = self.numerics(op, "MODE #chat +b")
        self.assertRegex(listed[-2], rf"^:{SERVER_NAME} 367 olga #chat {nick}!\*@\* olga :\d+$")
        self.assertEqual(listed[-1], f":{SERVER_NAME} 368 olga #chat :End of channel ban list")
        self.assertEqual(self.numerics(op, f"MODE #chat -b {nick}"), [f":{mask('olga')} MODE #chat -b :{nick}!*@*"])
        self.assertNotIn(nick, " ".join(self.numerics(op, "MODE #chat b")))
        self.assertEqual(
            self.numerics(op, "MODE #chat +b *!bob@*", "MODE #chat +b nick*!*@*"),
            [
                f":{SERVER_NAME} 696 olga #chat b *!bob@* :Masks: nick, nick!*@* or *!*@<address or CIDR>",
                f":{SERVER_NAME} 696 olga #chat b nick*!*@* :Masks: nick, nick!*@* or *!*@<address or CIDR>",
            ],
        )

    def test_ban_by_address_drops_and_refuses_both_protocols(self) -> None:
        op = self.irc_operator("olga")
        source = new_source()
        irc_troll = self.irc(source=source)
        line_troll = self.user(unique_name("la"), source)
        self.assertEqual(
            self.numerics(op, f"MODE #chat +b *!*@{source}"), [f":{mask('olga')} MODE #chat +b :*!*@{source}"]
        )
        self.assertIn("banned until never by olga", irc_troll.read_until_closed()[-1])
        self.assertEqual(line_troll.read_until_closed(), ["INFO banned until never by olga"])
        refused = self.connect(source)
        self.assertEqual(refused.read_line(), "ERR banned until never by olga")
        self.assertIn(f"*!*@{source} olga", " ".join(self.numerics(op, "MODE #chat b")))
        self.numerics(op, f"MODE #chat -b *!*@{source}")
        self.user(unique_name("lb"), source)

    def test_quiet_mutes_an_irc_user_and_a_line_user(self) -> None:
        op = self.irc_operator("olga")
        irc_user = self.irc()
        line_user = self.user(unique_name("lq"))
        self.assertEqual(
            self.numerics(op, f"MODE #chat +qq {irc_user.nick} {line_user.name}"),
            [
                f":{mask('olga')} MODE #chat +q :{irc_user.nick}!*@*",
                f":{mask('olga')} MODE #chat +q :{line_user.name}!*@*",
            ],
        )
        self.assertEqual(
            self.numerics(irc_user, "PRIVMSG #chat :hello?"),
            [f":{SERVER_NAME} 404 {irc_user.nick} #chat :Cannot send to channel (you are muted until never by olga)"],
        )
        line_user.send("MSG hello?")
        self.assertEqual(line_user.read_line(), "ERR muted until never by olga")
        listed = self.numerics(op, "MODE #chat q")
        self.assertRegex(listed[0], rf"^:{SERVER_NAME} 728 olga #chat q {irc_user.nick}!\*@\* olga :\d+$")
        self.assertEqual(listed[-1], f":{SERVER_NAME} 729 olga #chat q :End of Channel Quiet List")
        self.assertEqual(
            self.numerics(op, f"MODE #chat -q+b-b {irc_user.nick} ghost9 ghost9"),
            [
                f":{mask('olga')} MODE #chat -q :{irc_user.nick}!*@*",
                f":{mask('olga')} MODE #chat +b :ghost9!*@*",
                f":{mask('olga')} MODE #chat -b :ghost9!*@*",
            ],
        )
        irc_user.send("PRIVMSG #chat :back")
        self.assertIn(f":{mask(irc_user.nick)} PRIVMSG #chat :back", op.sync())


class LineOperatorTest(IrcModerationTestCase):
    def test_a_line_operator_bans_and_kicks_irc_users(self) -> None:
        op = self.operator("oscar")
        watcher = self.irc()
        banned = self.irc()
        kicked = self.irc()
        self.assertEqual(self.answers(op, f"BAN {banned.nick} 1h spam"), ["OK"])
        closing = banned.read_until_closed()[-1]
        self.assertRegex(closing, r"^ERROR :Closing Link: .* \(banned until \S+ by oscar: spam\)$")
        why_banned = closing[closing.rindex("(") + 1 : -1]
        self.assertEqual(self.answers(op, f"KICK {kicked.nick} enough"), ["OK"])
        self.assertEqual(
            kicked.read_until_closed()[-1], f"ERROR :Closing Link: {SERVER_NAME} (kicked by oscar: enough)"
        )
        seen = watcher.sync()
        self.assertIn(f":{mask(banned.nick)} QUIT :{why_banned}", seen)  # (the ban's words, as a reason)
        self.assertIn(f":{mask(kicked.nick)} QUIT :kicked by oscar: enough", seen)
        again = IrcClient(self.server.ports["IRC"])
        self.addCleanup(again.close)
        again.send(f"NICK {banned.nick}")
        self.assertIn(" 465 ", again.read_line())
