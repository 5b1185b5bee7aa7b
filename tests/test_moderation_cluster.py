"""Moderation in a cluster, end to end: nodes of one cluster on a real redis-server, each with its
own --bans file.  A kick, ban or mute typed on one node takes effect on the others (line and IRC
users alike); a node that starts later refuses what is banned; a cluster's first node shares its
file's bans with the rest; each node's file is its copy of the cluster's lists.

Skipped where redis-server or redis-py is missing (CI sets ALGOKART_REQUIRE_CLUSTER_TESTS).  The
tests synchronise on replies: an operator's PONG comes after its action is in the stream, and a
user's PONG after its node has read everything before its PING.
"""

from __future__ import annotations

import json
import socket
import unittest
from pathlib import Path

from support import TIMEOUT, Client, Cluster, err, skip_without_cluster

from test_accounts_login import new_folder, new_source, password_of
from test_irc import IRC_ARGS, SERVER_NAME, IrcClient
from test_moderation_end_to_end import OPERATORS, operators_and_members


def replies(client: Client) -> list[str]:
    """The replies up to PONG, without the departures of other tests' users, which come any time."""
    return [line for line in client.sync() if not line.startswith("INFO ")]


class ModerationClusterTestCase(unittest.TestCase):
    folder: Path
    cluster: Cluster
    operator_saw: list[str]  # what the operator of the last ``removed`` read up to its PONG

    @classmethod
    def setUpClass(cls) -> None:
        skip_without_cluster()
        cls.folder = new_folder(cls)
        operators_and_members(cls.folder)
        cls.cluster = Cluster(0, "--accounts", str(cls.folder / "accounts"), *IRC_ARGS)
        cls.addClassCleanup(cls.cluster.stop)
        for node in range(2):
            cls.cluster.start_node("--bans", str(cls.folder / f"bans{node}"))

    def user(self, node: int, name: str) -> Client:
        client = self.cluster.nodes[node].client()
        self.addCleanup(self.quit, client)
        password = f" {password_of(name)}" if name in OPERATORS else ""
        client.send(f"LOGIN {name}{password}")
        client.expect("OK")
        client.name = name
        return client

    @staticmethod
    def quit(client: Client) -> None:
        """QUIT and wait for the close: the name is free on every node once the farewell came, so
        the next test may log in with it (the operator's above all)."""
        try:
            client.send("QUIT")
            client.read_until_closed()
        except OSError:
            pass  # (closed already: kicked, banned)
        client.close()

    def acted(self, operator: Client, *lines: str) -> None:
        """The operator's ``lines``, each answered OK, in the stream once this returns."""
        operator.send(*lines)
        self.assertEqual(replies(operator), ["OK"] * len(lines))

    def removed(self, name: str, line: str) -> tuple[Client, list[str]]:
        """An operator on node 0 sends ``line`` about ``name``, a user on node 1: the operator, and
        what the user read before it was closed."""
        op = self.user(0, "olga")
        target = self.user(1, name)
        op.sync()  # (node 0 has read the target's login)
        op.send(line)
        self.operator_saw = op.sync()  # (departures too, which may come before the PONG)
        self.assertEqual([seen for seen in self.operator_saw if not seen.startswith("INFO ")], ["OK"])
        return op, target.read_until_closed()[-1:]

    def refused(self, node: int, name: str) -> str:
        client = self.cluster.nodes[node].client()
        self.addCleanup(client.close)
        client.send(f"LOGIN {name}")
        return client.read_line()


class ModerationClusterTest(ModerationClusterTestCase):
    def test_a_ban_on_one_node_drops_the_user_on_the_other_and_refuses_its_logins(self) -> None:
        op, farewell = self.removed("ctroll1", "BAN ctroll1 spam")
        self.assertEqual(farewell, ["INFO banned until never by olga: spam"])
        self.assertEqual(self.refused(1, "CTROLL1"), "ERR banned until never by olga: spam")
        op.sync()  # (node 0 has read its ban back)
        self.assertEqual(self.refused(0, "ctroll1"), "ERR banned until never by olga: spam")
        self.cluster.nodes[0].wait_for_log(r"^Moderation: olga ban ctroll1 until never \(spam\)$")
        other = self.user(1, "oscar")  # every node lists it, and keeps it in its own file
        other.send("BANS")
        self.assertIn("ctroll1 olga", " ".join(other.sync()))
        for node in range(2):
            self.assertIn("ctroll1", (self.folder / f"bans{node}").read_text())
        self.acted(other, "UNBAN ctroll1")  # lifted on the other node: back on the first
        self.user(0, "watch1").sync()  # (node 0 has read the unban)
        self.user(0, "ctroll1")

    def test_an_address_ban_refuses_the_address_on_every_node(self) -> None:
        op = self.user(1, "olga")
        source = new_source()
        self.acted(op, f"BAN {source} 1h wrong address")
        self.user(0, "watch2").sync()  # (node 0 has read the ban)
        sock = socket.socket()
        sock.settimeout(TIMEOUT)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", self.cluster.nodes[0].port))
        client = Client(0, sock=sock)
        self.addCleanup(client.close)
        self.assertRegex(client.read_line(), r"^ERR banned until \S+Z by olga: wrong address$")
        self.acted(op, f"UNBAN {source}")

    def test_a_mute_on_one_node_mutes_the_user_on_the_other(self) -> None:
        op = self.user(0, "olga")
        troll = self.user(1, "ctroll2")
        op.sync()  # (node 0 has read the troll's login)
        self.acted(op, "MUTE ctroll2 10m calm down")
        troll.sync()
        troll.send("MSG hello", "DM olga hi")
        muted = replies(troll)
        self.assertEqual(len(muted), 2)
        self.assertRegex(muted[0], r"^ERR muted until \S+Z by olga: calm down$")
        self.assertRegex(muted[1], r"^ERR muted ")
        self.acted(op, "UNMUTE ctroll2")
        troll.sync()
        troll.send("MSG free again")
        self.assertEqual(replies(troll), [])
        self.assertIn("MSG ctroll2 free again", op.sync())

    def test_a_kick_on_one_node_of_a_user_on_the_other(self) -> None:
        op, farewell = self.removed("ctroll3", "KICK ctroll3 enough")
        self.assertEqual(farewell, ["INFO kicked by olga: enough"])
        seen = self.operator_saw
        while "INFO ctroll3 disconnected" not in seen:  # (among departures of earlier tests' users)
            seen = op.sync()
        op.send("KICK ctroll3")  # gone everywhere now
        self.assertEqual(replies(op), [err("no-such-user")])
        self.user(1, "ctroll3")  # (a kick is no ban)

    def test_irc_users_on_the_other_node_are_kicked_and_banned(self) -> None:
        op = self.user(0, "olga")
        clients = []
        for nick in ("circkick1", "circban1"):
            client = IrcClient(self.cluster.nodes[1].ports["IRC"])
            self.addCleanup(client.close)
            client.register(nick)
            client.join()
            clients.append(client)
        op.sync()  # (node 0 has read their logins)
        op.send("KICK circkick1 enough", "BAN circban1")
        self.assertEqual(replies(op), ["OK", "OK"])
        closing = f"ERROR :Closing Link: {SERVER_NAME}"
        self.assertEqual(clients[0].read_until_closed()[-1], f"{closing} (kicked by olga: enough)")
        self.assertEqual(clients[1].read_until_closed()[-1], f"{closing} (banned until never by olga)")

    def test_a_node_started_after_the_ban_refuses_the_name(self) -> None:
        op = self.user(0, "olga")
        self.acted(op, "BAN ctroll4 7d late comer")
        node = self.cluster.start_node("--bans", str(self.folder / "bans-late"))
        self.addCleanup(node.stop)
        client = node.client()
        self.addCleanup(client.close)
        client.send("LOGIN ctroll4")
        self.assertRegex(client.read_line(), r"^ERR banned until \S+Z by olga: late comer$")
        self.assertIn("ctroll4", (self.folder / "bans-late").read_text())


class FirstStartTest(unittest.TestCase):
    def test_the_first_node_shares_its_file_and_the_others_take_the_cluster_s(self) -> None:
        skip_without_cluster()
        folder = new_folder(self)
        entry = {"kind": "ban", "target": "oldtroll", "by": "olga", "at": 0, "reason": "old", "until": None}
        (folder / "bans0").write_text(json.dumps(entry) + "\n")
        stale = dict(entry, target="forgiven")  # (a ban the cluster does not hold: the file is a copy)
        (folder / "bans1").write_text(json.dumps(stale) + "\n")
        cluster = Cluster(0)
        self.addCleanup(cluster.stop)
        cluster.start_node("--bans", str(folder / "bans0"))
        cluster.start_node("--bans", str(folder / "bans1"))
        for node in cluster.nodes:  # (node 0's PONG: its bans are in the stream; node 1's: it read them)
            watcher = node.client()
            self.addCleanup(watcher.close)
            watcher.login()
            watcher.sync()
        for node in cluster.nodes:
            client = node.client()
            self.addCleanup(client.close)
            client.send("LOGIN oldtroll")
            self.assertEqual(client.read_line(), "ERR banned until never by olga: old")
        welcome = cluster.nodes[1].client()
        self.addCleanup(welcome.close)
        welcome.login("forgiven")
        self.assertNotIn("forgiven", (folder / "bans1").read_text())
