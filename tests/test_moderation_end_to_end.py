"""Moderation on the line protocol, end to end: the real server with --accounts and --bans over
real sockets.  Operators (accounts with the op role) kick, ban (by name, address and IPv6 /64 as
a CIDR), mute (an account's name offline too) and list; everyone else gets ERR not-operator; bans
outlive a restart; timed entries end; every action is one audit log line.

Each test that bans an address uses source addresses of its own (127.0.x.y, all loopback on
Linux).  Tests synchronise on replies, never on sleeps (a timed entry that must end is waited for
by asking again until it has).
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from support import TIMEOUT, Client, ServerProcess, err

from algokart_chat import protocol
from algokart_chat.accounts import Account, Accounts
from algokart_chat.accounts_file import load_accounts, save_accounts
from test_accounts_login import AccountServerTestCase, accounts_file, new_folder, new_source, password_of
from test_irc import IRC_ARGS, SERVER_NAME, IrcClient

OPERATORS = ("olga", "oscar")
MEMBERS = ("bob",)


def operators_and_members(folder: Path) -> None:
    """The accounts file of test_accounts_login, with the op role for OPERATORS."""
    path = accounts_file(folder, *OPERATORS, *MEMBERS)
    accounts = load_accounts(path)
    save_accounts(
        path,
        Accounts(Account(a.name, a.password, frozenset({"op"}) if a.name in OPERATORS else a.roles) for a in accounts),
    )


class ModerationTestCase(AccountServerTestCase):
    folder: Path

    @classmethod
    def start(cls, *args: str) -> ServerProcess:
        return ServerProcess(
            "--accounts", str(cls.folder / "accounts"), "--bans", str(cls.folder / "bans"), "--ipv6-prefix", "64", *args
        )

    @classmethod
    def setUpClass(cls) -> None:
        cls.folder = new_folder(cls)
        operators_and_members(cls.folder)
        cls.server = cls.start()
        cls.addClassCleanup(lambda: cls.server.stop())

    def user(self, name: str, source: str = "127.0.0.1") -> Client:
        client = self.connect(source)
        password = f" {password_of(name)}" if name in OPERATORS + MEMBERS else ""
        client.send(f"LOGIN {name}{password}")
        client.expect("OK")
        client.name = name
        return client

    def operator(self, name: str = "olga") -> Client:
        return self.user(name)

    def answers(self, client: Client, *lines: str) -> list[str]:
        """Send ``lines``; check the replies, up to PONG, without what others said or did meanwhile."""
        client.send(*lines)
        return [line for line in client.sync() if not line.startswith(("INFO ", "MSG ", "DM "))]


class ModerationTest(ModerationTestCase):
    def test_a_user_who_is_not_an_operator_gets_not_operator(self) -> None:
        guest = self.user("nobody1")
        member = self.user("bob")
        for client in (guest, member):
            client.send("KICK olga", "BAN 10.0.0.1", "UNBAN x", "BANS", "MUTE olga", "UNMUTE olga")
            client.expect(*[err("not-operator")] * 6)
        stranger = self.connect()
        stranger.send("BANS")
        stranger.expect(err("not-logged-in"))

    def test_kick_tells_the_user_who_and_why_and_the_others_see_a_departure(self) -> None:
        op = self.operator()
        troll = self.user("troll1")
        watcher = self.user("watch1")
        op.send("KICK troll1 shouting in caps")
        op.expect("OK")
        self.assertEqual(troll.read_until_closed(), ["INFO kicked by olga: shouting in caps"])
        self.assertIn("INFO troll1 disconnected", watcher.sync())
        again = self.user("troll1")  # (a kick is no ban)
        again.send("MSG back")
        self.server.wait_for_log(r"^Moderation: olga kick troll1 \(shouting in caps\)$")

    def test_kick_of_nobody_and_of_an_operator(self) -> None:
        op = self.operator()
        other = self.operator("oscar")
        op.send("KICK ghost1", "KICK oscar", "BAN OSCAR", "MUTE oscar", "KICK", "BAN !!")
        op.expect(
            err("no-such-user"),
            *[err("operator-protected")] * 3,
            err("no-such-user"),
            protocol.error("bad-target").decode().rstrip("\n"),
        )
        self.assertEqual(other.sync(), [])

    def test_ban_by_name_disconnects_and_refuses_at_login_until_unbanned(self) -> None:
        op = self.operator()
        troll = self.user("troll2")
        op.send("BAN troll2 2h spam links")
        op.expect("OK")
        lines = troll.read_until_closed()
        self.assertEqual(len(lines), 1)
        self.assertRegex(lines[0], r"^INFO banned until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ by olga: spam links$")
        again = self.connect()
        again.send("LOGIN TROLL2")  # (any spelling of the name)
        self.assertRegex(again.read_line(), r"^ERR banned until \S+Z by olga: spam links$")
        op.send("BANS")
        listed = op.sync()
        self.assertIn("OK", listed)
        self.assertTrue(any(line.startswith("BAN troll2 olga ") and line.endswith(" spam links") for line in listed))
        op.send("UNBAN troll2", "UNBAN troll2")
        op.expect("OK", err("no-such-ban"))
        again.send("LOGIN troll2")
        again.expect("OK")

    def test_ban_by_address_refuses_at_accept(self) -> None:
        source = new_source()
        op = self.operator()
        troll = self.user("troll3", source)
        guest = self.connect(source)  # (not logged in: dropped too)
        guest.send("PING")
        guest.expect("PONG")
        op.send(f"BAN {source} flooding")
        op.expect("OK")
        self.assertEqual(troll.read_until_closed(), ["INFO banned until never by olga: flooding"])
        self.assertEqual(guest.read_until_closed(), ["INFO banned until never by olga: flooding"])
        refused = self.connect(source)
        self.assertEqual(refused.read_until_closed(), ["ERR banned until never by olga: flooding"])
        self.user("troll3")  # (from another address: the ban was of the address)
        self.assertEqual(self.answers(op, f"UNBAN {source}"), ["OK"])
        self.user("troll4", source)

    def test_ban_of_a_cidr(self) -> None:
        first, second = new_source(), new_source()
        op = self.operator()
        network = first.rsplit(".", 2)[0] + ".0.0/16"  # (both sources are in it)
        op.send(f"BAN {network} 1d")
        op.expect("OK")
        for source in (first, second):
            self.assertEqual(self.connect(source).read_until_closed()[0][:10], "ERR banned")
        op.send(f"UNBAN {network}")
        op.expect("OK")

    def test_an_ipv6_address_is_banned_by_its_64(self) -> None:
        try:
            sock = socket.create_connection(("::1", self.server.port), timeout=TIMEOUT)
        except OSError:
            self.skipTest("no IPv6 loopback here")
        client = Client(0, sock=sock)
        self.addCleanup(client.close)
        client.send("LOGIN six1")
        client.expect("OK")
        op = self.operator()
        self.assertEqual(self.answers(op, "BAN ::5 wrong network"), ["OK"])  # (::/64, which holds ::1)
        self.assertEqual(client.read_until_closed(), ["INFO banned until never by olga: wrong network"])
        refused = Client(0, sock=socket.create_connection(("::1", self.server.port), timeout=TIMEOUT))
        self.addCleanup(refused.close)
        self.assertEqual(refused.read_until_closed(), ["ERR banned until never by olga: wrong network"])
        op.send("BANS")
        self.assertIn("BAN ::/64 olga", "\n".join(op.sync()))
        self.assertEqual(self.answers(op, "UNBAN ::1"), ["OK"])  # (the same /64)

    def test_mute_stops_msg_and_dm_but_not_reading(self) -> None:
        op = self.operator()
        troll = self.user("troll5")
        watcher = self.user("watch5")
        op.send("MUTE troll5 10m calm down")
        op.expect("OK")
        troll.send("MSG hello", "DM watch5 psst", "WHO")
        self.assertRegex(troll.read_line(), r"^ERR muted until \S+Z by olga: calm down$")
        self.assertRegex(troll.read_line(), r"^ERR muted ")
        watcher.send("MSG still here")
        self.assertIn("MSG watch5 still here", troll.sync())
        self.assertEqual([line for line in watcher.sync() if "troll5" in line], [])
        self.assertEqual(self.answers(op, "UNMUTE troll5", "UNMUTE troll5"), ["OK", err("no-such-ban")])
        troll.send("MSG hello again")
        self.assertIn("MSG troll5 hello again", watcher.sync())

    def test_an_account_may_be_muted_offline_and_is_muted_at_its_login(self) -> None:
        op = self.operator()
        self.assertEqual(self.answers(op, "MUTE BOB 1h quiet", "MUTE ghost8 1h"), ["OK", err("no-such-user")])
        bob = self.user("bob")
        bob.send("MSG hi", "DM olga hi")
        self.assertRegex(bob.read_line(), r"^ERR muted until \S+Z by olga: quiet$")
        self.assertRegex(bob.read_line(), r"^ERR muted until ")
        self.assertEqual(self.answers(op, "UNMUTE bob"), ["OK"])
        bob.send("MSG hi")
        self.assertIn("MSG bob hi", op.sync())

    def test_a_timed_mute_ends(self) -> None:
        op = self.operator()
        troll, watcher = self.user("troll6"), self.user("watcher6")
        op.send("MUTE troll6 3s")
        op.expect("OK")
        troll.send("MSG still muted?")
        (refusal,) = troll.sync()
        self.assertTrue(refusal.startswith("ERR muted until "), refusal)
        deadline = time.monotonic() + TIMEOUT
        while True:  # (asks again, a reply at a time, until the mute is over: no fixed sleep)
            troll.send("MSG ok now?")
            if troll.sync() == []:
                break
            self.assertLess(time.monotonic(), deadline)
        self.assertIn("MSG troll6 ok now?", watcher.sync())

    def test_the_audit_line_in_json(self) -> None:
        with ServerProcess(
            "--accounts", str(self.folder / "accounts"), "--log-format", "json"
        ) as server:  # (no --bans: bans last until it stops)
            op = Client(server.port)
            op.send(f"LOGIN olga {password_of('olga')}", "BAN 2001:db8::7 30m scanning")
            op.expect("OK", "OK")
            line = server.wait_for_log(r'"event": "moderation"')
            event = json.loads(line)
            self.assertEqual(
                {k: event[k] for k in ("operator", "action", "target", "reason", "duration")},
                {
                    "operator": "olga",
                    "action": "ban",
                    "target": "2001:db8::/64",
                    "reason": "scanning",
                    "duration": 1800,
                },
            )
            self.assertIn("until", event)
            self.assertIn("node", event)
            op.close()


class RestartTest(ModerationTestCase):
    def test_bans_and_mutes_survive_a_restart(self) -> None:
        op = self.operator()
        bob = self.user("bob")
        op.send("BAN keeper1 7d", "BAN 192.0.2.0/24 bots", "MUTE bob 12h quiet", "MUTE nobody9")
        op.expect("OK", "OK", "OK", err("no-such-user"))
        op.close()
        bob.close()
        self.assertEqual(self.server.stop(), 0)
        type(self).server = self.start()
        op = self.operator()
        op.send("BANS")
        listed = [line.split() for line in op.sync()]
        self.assertEqual(
            [words[:3] for words in listed],
            [["BAN", "keeper1", "olga"], ["BAN", "192.0.2.0/24", "olga"], ["MUTE", "bob", "olga"], ["OK"]],
        )
        self.assertEqual(listed[1][4:], ["never", "bots"])
        refused = self.connect()
        refused.send("LOGIN keeper1")
        self.assertRegex(refused.read_line(), r"^ERR banned until \S+Z by olga$")
        bob = self.user("bob")
        bob.send("MSG hi")
        self.assertRegex(bob.read_line(), r"^ERR muted until \S+Z by olga: quiet$")


class IrcModerationTest(ModerationTestCase):
    """IRC users meet the same bans and mutes (set by a line operator: IRC operators wait for IRC
    accounts)."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.folder = new_folder(cls)
        operators_and_members(cls.folder)
        cls.server = cls.start(*IRC_ARGS)
        cls.addClassCleanup(lambda: cls.server.stop())

    def irc(self, source: str = "127.0.0.1") -> IrcClient:
        sock = socket.socket()
        sock.settimeout(TIMEOUT)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", self.server.ports["IRC"]))
        client = IrcClient(0, sock=sock)
        self.addCleanup(client.close)
        return client

    def test_a_muted_irc_user_gets_404_and_nobody_hears_it(self) -> None:
        op = self.operator()
        irc = self.irc()
        irc.register("ircmute1")
        irc.join()
        self.assertEqual(self.answers(op, "MUTE ircmute1 1h hush"), ["OK"])
        irc.send("PRIVMSG #chat :hello", "NOTICE #chat :hello")
        lines = irc.sync()
        self.assertEqual(len(lines), 1)
        self.assertRegex(
            lines[0], r" 404 ircmute1 #chat :Cannot send to channel \(you are muted until \S+Z by olga: hush\)$"
        )
        self.assertEqual([line for line in op.sync() if "ircmute1" in line], [])
        self.assertEqual(self.answers(op, "UNMUTE ircmute1"), ["OK"])
        irc.send("PRIVMSG #chat :free")
        irc.sync()
        self.assertIn("MSG ircmute1 free", op.sync())

    def test_kick_and_ban_close_an_irc_user_with_the_words_and_a_banned_nick_gets_465(self) -> None:
        op = self.operator()
        kicked = self.irc()
        kicked.register("irckick1")
        kicked.join()
        self.assertEqual(self.answers(op, "KICK irckick1 enough"), ["OK"])
        self.assertEqual(kicked.read_until_closed()[-1], f"ERROR :Closing Link: {SERVER_NAME} (kicked by olga: enough)")
        banned = self.irc()
        banned.register("ircban1")
        self.assertEqual(self.answers(op, "BAN ircban1"), ["OK"])
        self.assertEqual(
            banned.read_until_closed()[-1], f"ERROR :Closing Link: {SERVER_NAME} (banned until never by olga)"
        )
        again = self.irc()
        again.send("NICK IRCBAN1")
        self.assertEqual(
            again.read_line(), f":{SERVER_NAME} 465 * :You are banned from this server (until never by olga)"
        )

    def test_a_banned_address_is_refused_on_the_irc_port(self) -> None:
        source = new_source()
        op = self.operator()
        self.assertEqual(self.answers(op, f"BAN {source}"), ["OK"])
        self.assertEqual(self.irc(source).read_until_closed(), [f"ERROR :Closing Link: {SERVER_NAME} (banned)"])
