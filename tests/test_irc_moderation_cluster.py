"""IRC moderation in a cluster, end to end: an IRC operator on one node kicks and bans (``+b``)
users on another node, which drops them; the ban list is the cluster's on every node.

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
    def irc(self, node: int, nick: str | None = None, operator: bool = False) -> IrcClient:
        sock = socket.create_connection(("127.0.0.1", self.cluster.nodes[node].ports["IRC"]), TIMEOUT)
        client = IrcClient(0, sock=sock)
        self.addCleanup(client.close)
        if operator:
            client.send("CAP REQ :sasl", "AUTHENTICATE PLAIN", f"AUTHENTICATE {plain('olga', password_of('olga'))}")
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
