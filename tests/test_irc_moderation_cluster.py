"""IRC moderation in a cluster, end to end: an IRC operator on one node kicks and bans (``+b``)
users on another node, which drops them; the ban list is the cluster's on every node; a mute of
an account's name on one node silences a user logged in to it under another nick on another.

Skipped where redis-server or redis-py is missing (CI sets ALGOKART_REQUIRE_CLUSTER_TESTS).
Synchronised on replies (PING/PONG), never on sleeps.
"""

from __future__ import annotations

import socket

from support import TIMEOUT, unique_name

from test_accounts_login import password_of
from test_irc import SERVER_NAME, IrcClient, mask
from test_irc_accounts import plain
from test_moderation_cluster import ModerationClusterTestCase


class IrcModerationClusterTest(ModerationClusterTestCase):
    def irc(self, node: int, nick: str | None = None, operator: bool = False, account: str | None = None) -> IrcClient:
        sock = socket.create_connection(("127.0.0.1", self.cluster.nodes[node].ports["IRC"]), TIMEOUT)
        client = IrcClient(0, sock=sock)
        self.addCleanup(client.close)
        account = "olga" if operator else account
        if account is not None:
            client.send("CAP REQ :sasl", "AUTHENTICATE PLAIN", f"AUTHENTICATE {plain(account, password_of(account))}")
            client.send("CAP END")
        client.register(nick)
        client.join()
        return client

    def test_an_irc_operator_kicks_and_bans_users_on_another_node(self) -> None:
        op = self.irc(0, "olga", operator=True)
        line_user = self.user(1, unique_name("cl"))
        irc_user = self.irc(1)
        op.sync()
        op.send(f"KICK #chat {line_user.name} :off you go")
        self.assertEqual(line_user.read_until_closed()[-1:], ["INFO kicked by olga: off you go"])
        op.send(f"MODE #chat +b {irc_user.nick}")
        self.assertIn(f":{mask('olga')} MODE #chat +b :{irc_user.nick}!*@*", op.sync())
        self.assertEqual(
            irc_user.read_until_closed()[-1], f"ERROR :Closing Link: {SERVER_NAME} (banned until never by olga)"
        )
        other = self.irc(1)
        other.send("MODE #chat b")
        listed = other.read_until(" 368 ")
        self.assertIn(f" 367 {other.nick} #chat {irc_user.nick}!*@* olga :", listed[0])

    def test_a_mute_of_an_account_on_one_node_holds_under_another_nick_on_the_other(self) -> None:
        op = self.user(0, "olga")
        bob = self.irc(1, unique_name("cbob"), account="bob")
        op.sync()  # (node 0 has read bob's login)
        self.acted(op, "MUTE bob 10m hush")
        bob.sync()  # (node 1 has read the mute)
        bob.send("PRIVMSG #chat :hi")
        lines = [line for line in bob.sync() if " 404 " in line]
        self.assertRegex(lines[0], rf"^:{SERVER_NAME} 404 {bob.nick} #chat :.*muted until \S+Z by olga: hush\)$")
        self.acted(op, "UNMUTE bob")
        bob.sync()
        bob.send("PRIVMSG #chat :free")
        bob.sync()
        self.assertIn(f"MSG {bob.nick} free", op.sync())
