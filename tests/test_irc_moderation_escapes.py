"""Ways around a ban or a mute over IRC, end to end, each closed: a muted user's ``NICK`` (435),
an account banned by name logging in (SASL or PASS) under another nick (465), an online user
logged in to an account banned meanwhile under another nick (disconnected), an account muted by
name logging in under another nick (muted: 404), an online user logged in to an account muted
meanwhile under another nick (muted, on the line protocol's LOGIN to it too), an operator under
another nick than its account's (operator-protected), and a ban set between ``NICK`` and the end
of registration (465 when it ends).  A guest's mute is of its nick only: under another it speaks.

The real server with --accounts, --bans and IRC, over real sockets; synchronised on replies
(PING/PONG), never on sleeps.
"""

from __future__ import annotations

import socket

from support import TIMEOUT, Client, err, unique_name

from algokart_chat.accounts import Account, Accounts
from algokart_chat.accounts_file import load_accounts, save_accounts
from test_accounts_login import accounts_file, new_folder, password_of
from test_irc import SERVER_NAME, IrcClient
from test_irc_accounts import plain
from test_irc_moderation_end_to_end import IrcModerationTestCase


class IrcEscapesTest(IrcModerationTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.folder = new_folder(cls)
        path = accounts_file(cls.folder, "olga", "oscar", "carol", "dave", "erin", "frank")
        ops = ("olga", "oscar")
        save_accounts(
            path,
            Accounts(
                Account(a.name, a.password, frozenset({"op"}) if a.name in ops else a.roles)
                for a in load_accounts(path)
            ),
        )
        cls.server = cls.start()
        cls.addClassCleanup(lambda: cls.server.stop())

    def connect_irc(self) -> IrcClient:
        sock = socket.create_connection(("127.0.0.1", self.server.ports["IRC"]), timeout=TIMEOUT)
        client = IrcClient(0, sock=sock)
        self.addCleanup(client.close)
        return client

    def sasl(self, account: str, nick: str) -> IrcClient:
        """A client logging in to ``account`` with SASL under ``nick``, up to CAP END (not read)."""
        client = self.connect_irc()
        client.nick = nick
        client.send("CAP REQ :sasl", f"NICK {nick}", "USER x 0 * :Real", "AUTHENTICATE PLAIN")
        client.send(f"AUTHENTICATE {plain(account, password_of(account))}", "CAP END")
        return client

    def test_a_muted_user_cannot_change_nick_to_speak_again(self) -> None:
        op = self.operator("olga")
        troll = self.irc()
        self.assertEqual(self.answers(op, f"MUTE {troll.nick} 1h spam"), ["OK"])
        other = unique_name("free")
        lines = self.numerics(troll, f"NICK {other}", "PRIVMSG #chat :still here")
        self.assertRegex(
            lines[0], rf"^:{SERVER_NAME} 435 {troll.nick} {other} #chat :Cannot change nickname while muted"
        )
        self.assertEqual(lines[1].split(" ")[1], "404")  # (still its muted name: the message is refused)
        self.assertFalse([line for line in op.sync() if line.startswith("MSG ")])
        self.assertEqual(self.answers(op, f"UNMUTE {troll.nick}"), ["OK"])
        troll.send(f"NICK {other}")
        self.assertIn(f" NICK :{other}", "\n".join(troll.sync()))  # (unmuted: free to rename)

    def test_an_account_banned_by_name_cannot_log_in_under_another_nick(self) -> None:
        op = self.operator("olga")
        self.assertEqual(self.answers(op, "BAN carol 1h spam"), ["OK"])
        client = self.sasl("carol", unique_name("carolx"))
        lines = client.read_until_closed()
        self.assertIn(f":{SERVER_NAME} 903 {client.nick} :SASL authentication successful", lines)
        self.assertTrue(any(" 465 " in line and "banned" in line for line in lines), lines)
        self.assertFalse([line for line in lines if " 001 " in line])
        with_pass = self.connect_irc()
        nick = unique_name("carolp")
        with_pass.send(f"PASS :carol:{password_of('carol')}", f"NICK {nick}", "USER x 0 * :Real")
        lines = with_pass.read_until_closed()
        self.assertTrue(any(" 465 " in line for line in lines), lines)
        self.assertFalse([line for line in lines if " 001 " in line])
        line_user = self.connect()
        line_user.send(f"LOGIN carol {password_of('carol')}")
        self.assertTrue(line_user.read_line().startswith("ERR banned until "))  # (the line protocol's LOGIN too)

    def test_a_ban_of_an_account_disconnects_whoever_is_logged_in_to_it_under_another_nick(self) -> None:
        op = self.operator("olga")
        client = self.sasl("dave", unique_name("davex"))
        client.read_until(r" 422 ")
        client.join()
        self.assertEqual(self.answers(op, "BAN dave 1h spam"), ["OK"])
        self.assertRegex(client.read_until_closed()[-1], r"^ERROR :Closing Link: .*\(banned until \S+ by olga: spam\)$")

    def test_an_account_muted_by_name_is_muted_under_another_nick(self) -> None:
        op = self.operator("olga")
        erin = self.sasl("erin", "erin")
        erin.read_until(r" 422 ")
        erin.join()
        self.assertEqual(self.answers(op, "MUTE erin 1h spam"), ["OK"])
        self.assertEqual(self.numerics(erin, "PRIVMSG #chat :hi")[0].split(" ")[1], "404")
        erin.send("QUIT")
        erin.read_until_closed()
        again = self.sasl("erin", unique_name("erinx"))
        again.read_until(r" 422 ")
        again.join()
        with_pass = self.connect_irc()
        with_pass.nick = unique_name("erinp")
        with_pass.send(f"PASS :erin:{password_of('erin')}", f"NICK {with_pass.nick}", "USER x 0 * :Real")
        with_pass.read_until(r" 422 ")
        mute = f"until {self.until(op, 'erin')} by olga: spam"
        for client in (again, with_pass):
            self.assertEqual(
                self.numerics(client, "PRIVMSG #chat :hi", "NOTICE #chat :hi", "PRIVMSG olga :hi", "NICK erinz"),
                [
                    f":{SERVER_NAME} 404 {client.nick} #chat :Cannot send to channel (you are muted {mute})",
                    f":{SERVER_NAME} 404 {client.nick} olga :Cannot send to channel (you are muted {mute})",
                    f":{SERVER_NAME} 435 {client.nick} erinz #chat :Cannot change nickname while muted ({mute})",
                ],
            )
        self.assertFalse([line for line in op.sync() if line.startswith(("MSG ", "DM "))])
        self.assertEqual(self.answers(op, "UNMUTE ERIN"), ["OK"])  # (any spelling of the name)
        again.send("PRIVMSG #chat :free")
        self.assertIn(f"MSG {again.nick} free", op.sync())

    def test_a_mute_of_an_account_silences_whoever_is_logged_in_to_it_under_another_nick(self) -> None:
        op = self.operator("olga")
        frank = self.sasl("frank", unique_name("frankx"))
        frank.read_until(r" 422 ")
        frank.join()
        self.assertEqual(self.answers(op, "MUTE frank 1h hush", "MUTE ghost77"), ["OK", err("no-such-user")])
        lines = self.numerics(frank, "PRIVMSG #chat :hi")
        self.assertRegex(lines[0], rf"^:{SERVER_NAME} 404 {frank.nick} #chat :.*muted until \S+ by olga: hush\)$")
        line_user = self.connect()
        line_user.send(f"LOGIN frank {password_of('frank')}", "MSG hi")
        line_user.expect("OK")
        self.assertRegex(line_user.read_line(), r"^ERR muted until \S+ by olga: hush$")
        self.assertEqual(self.answers(op, "UNMUTE frank"), ["OK"])
        frank.send("PRIVMSG #chat :free")
        self.assertIn(f"MSG {frank.nick} free", op.sync())

    def test_a_muted_guest_speaks_under_another_nick(self) -> None:
        op = self.operator("olga")
        guest = self.irc()
        self.assertEqual(self.answers(op, f"MUTE {guest.nick}"), ["OK"])
        guest.send("QUIT")
        guest.read_until_closed()
        other = self.irc()  # (the same address: only a ban of the address keeps it out)
        other.send("PRIVMSG #chat :back")
        self.assertIn(f"MSG {other.nick} back", op.sync())

    def until(self, op: Client, name: str) -> str:
        """The end of ``name``'s mute, as ``BANS`` lists it."""
        op.send("BANS")
        (listed,) = [line for line in op.sync() if line.startswith(f"MUTE {name} ")]
        return listed.split(" ")[4]

    def test_an_operator_under_another_nick_is_protected(self) -> None:
        op = self.operator("olga")
        oscar = self.sasl("oscar", unique_name("oscarx"))
        oscar.read_until(r" 422 ")
        oscar.join()
        for command in (f"KICK {oscar.nick}", f"MUTE {oscar.nick}", f"BAN {oscar.nick}"):
            self.assertEqual(self.answers(op, command), [err("operator-protected")], command)
        self.assertTrue(oscar.sync() is not None)  # (still connected)

    def test_a_ban_set_between_nick_and_the_end_of_registration_refuses_it(self) -> None:
        op = self.operator("olga")
        client = self.connect_irc()
        nick = unique_name("late")
        client.send(f"NICK {nick}")
        client.sync()  # (NICK checked, no ban yet)
        self.assertEqual(self.answers(op, f"BAN {nick} 1h spam"), ["OK"])
        client.send(f"USER {nick} 0 * :Real")
        lines = client.read_until_closed()
        self.assertTrue(any(" 465 " in line and "banned" in line for line in lines), lines)
        self.assertFalse([line for line in lines if " 001 " in line])
