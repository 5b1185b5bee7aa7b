"""End-to-end tests of every command and rule of docs/PROTOCOL.md, over real sockets.

The limits on connections are in test_admission_end_to_end, those on input (long lines, floods,
telnet) in test_input_pump_end_to_end.
"""

from __future__ import annotations

import socket
import struct
import sys
import unittest

from support import Client, ServerProcess, ServerTestCase, err, unique_name


class ExampleSessionTest(unittest.TestCase):
    def test_the_readme_example_session(self) -> None:
        with ServerProcess() as server, server.client() as naman, server.client() as yudi:
            naman.send("LOGIN Naman")
            naman.expect("OK")
            yudi.send("LOGIN Yudi")
            yudi.expect("OK")
            naman.send("MSG hi everyone!", "MSG how are you?")
            yudi.expect("MSG Naman hi everyone!", "MSG Naman how are you?")
            yudi.send("MSG hello Naman!")
            naman.expect("MSG Yudi hello Naman!")
            naman.send("WHO")
            naman.expect("USER Naman", "USER Yudi")
            naman.send("QUIT")
            self.assertEqual(naman.read_until_closed(), ["Goodbye!"])
            yudi.expect("INFO Naman disconnected")
            self.assertEqual(yudi.sync(), [])
            server.wait_for_log(r"^Login: Naman from 127\.0\.0\.1:\d+$")
            server.wait_for_log(r"^Leave: Naman \(quit\)$")
            everywhere = "0.0.0.0/[::]" if socket.has_dualstack_ipv6() else "0.0.0.0"
            self.assertEqual(server.log[0], f"Listening on {everywhere} port {server.port} (line protocol)")
            self.assertEqual(server.log[1], f"Chat server started on port {server.port}")
            self.assertEqual(server.log[2], "Waiting for connections... (Press Ctrl+C to stop)")


class LoginTest(ServerTestCase):
    def test_ok(self) -> None:
        client = self.connect()
        client.send(f"LOGIN {unique_name()}")
        client.expect("OK")

    def test_username_taken_ignoring_case_and_width(self) -> None:
        name = unique_name("Taken")
        self.logged_in(name)
        other = self.connect()
        for clash in (name, name.upper(), name.lower(), name.translate({ord(c): ord(c) + 0xFEE0 for c in name})):
            other.send(f"LOGIN {clash}")
            other.expect(err("username-taken"))

    def test_invalid_username(self) -> None:
        client = self.connect()
        for line in ("LOGIN", "LOGIN  ", "LOGIN " + "a" * 33, "LOGIN a b", "LOGIN bob!", "LOGIN a/b"):
            client.send(line)
            client.expect(err("invalid-username"))
        client.send("LOGIN " + "a" * 31 + "Z")
        client.expect("OK")

    def test_already_logged_in(self) -> None:
        client = self.logged_in()
        client.send(f"LOGIN {unique_name()}", f"LOGIN {client.name}", "LOGIN !!!")
        client.expect(err("already-logged-in"), err("already-logged-in"), err("already-logged-in"))

    def test_name_shown_as_typed(self) -> None:
        name = unique_name("MiXeD.Case-")
        sender, watcher = self.logged_in(name), self.logged_in()
        sender.send("MSG hi")
        watcher.expect(f"MSG {name} hi")

    def test_unicode_name(self) -> None:
        name = "José" + unique_name("_")
        sender, watcher = self.logged_in(name), self.logged_in()
        sender.send("MSG olá")
        watcher.expect(f"MSG {name} olá")

    def test_name_free_again_after_quit_eof_and_reset(self) -> None:
        for how in ("quit", "eof", "reset"):
            with self.subTest(how=how):
                name = unique_name()
                first = self.logged_in(name)
                if how == "quit":
                    first.send("QUIT")
                    self.assertEqual(first.read_until_closed(), ["Goodbye!"])
                elif how == "eof":
                    first.sock.shutdown(socket.SHUT_WR)
                    self.assertEqual(first.read_until_closed(), [])
                else:
                    reset(first)
                    # The reset is noticed by the server; WHO from a watcher shows when it is.
                    watcher = self.logged_in()
                    while name in [line[5:] for line in who(watcher)]:
                        pass
                self.logged_in(name)


def reset(client: Client) -> None:
    """Close with a TCP RST instead of a FIN."""
    linger = struct.pack("HH" if sys.platform == "win32" else "ii", 1, 0)  # on, 0 s: close with RST
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    client.sock.close()


def who(client: Client) -> list[str]:
    client.send("WHO")
    return client.sync()


class MixedScriptNameTest(ServerTestCase):
    def test_a_look_alike_name_is_refused(self) -> None:
        alice = self.logged_in(f"Alice{unique_name('x')}")
        lookalike = self.connect()
        lookalike.send("LOGIN \u0410" + alice.name[1:])  # Cyrillic А
        lookalike.expect(err("invalid-username"))
        lookalike.login("Алиса")
        alice.send("WHO")
        self.assertIn("USER Алиса", alice.sync())

    def test_no_look_alike_of_a_user_online_gets_in_or_gets_her_messages(self) -> None:
        alice = self.logged_in(unique_name("alice"))
        digits = alice.name[len("alice") :]
        impostor, sender = self.connect(), self.logged_in()
        # An invisible filler; Cyrillic and Cherokee look-alikes; an Arabic-Indic 1; a dental click.
        for name in (
            f"{alice.name}\u1160",
            "аӏісе" + digits,
            "ᎪᏞᎥᏟᎬ" + digits,
            f"a١ice{digits}",
            f"aǀice{digits}",
            "\u3164",
        ):
            impostor.send(f"LOGIN {name}")
            impostor.expect(err("invalid-username"))
        for name in (f"aIice{digits}", f"a1ice{digits}", alice.name.upper()):  # ASCII look-alikes
            impostor.send(f"LOGIN {name}")
            impostor.expect(err("username-taken"))
        sender.send(f"DM {alice.name}\u1160 it is me")
        sender.expect(err("no-such-user"))
        self.assertEqual(alice.sync(), [])


class MessageTest(ServerTestCase):
    def test_every_other_logged_in_user_gets_it_sender_and_guests_get_nothing(self) -> None:
        alice, bob, carol = self.logged_in(), self.logged_in(), self.logged_in()
        guest = self.connect()
        alice.send("MSG hello   there  friends")
        alice.send("PING")
        alice.expect("PONG")
        for other in (bob, carol):
            other.expect(f"MSG {alice.name} hello   there  friends")
        self.assertEqual(guest.sync(), [])

    def test_empty_message(self) -> None:
        alice = self.logged_in()
        for line in ("MSG", "MSG    ", "MSG \x01\x02", "MSG \t"):
            alice.send(line)
            alice.expect(err("empty-message"))

    def test_control_characters_removed_and_tabs_become_spaces(self) -> None:
        alice, bob = self.logged_in(), self.logged_in()
        alice.send_bytes(b"MSG red\x1b[31m\tbold\x07 \xc2\x9b2J done\x7f\r\n")
        bob.expect(f"MSG {alice.name} red[31m bold 2J done")

    def test_order_is_the_same_for_every_recipient(self) -> None:
        senders = [self.logged_in() for _ in range(3)]
        readers = [self.logged_in() for _ in range(2)]
        for round_number in range(20):
            for number, sender in enumerate(senders):
                sender.send(f"MSG {number}-{round_number}")
        for sender in senders:
            sender.sync()
        seen = [[line for line in reader.sync() if line.startswith("MSG ")] for reader in readers]
        self.assertEqual(len(seen[0]), 60)
        self.assertEqual(seen[0], seen[1])
        for number, sender in enumerate(senders):
            from_sender = [line.split(" ", 2)[2] for line in seen[0] if line.split(" ")[1] == sender.name]
            self.assertEqual(from_sender, [f"{number}-{r}" for r in range(20)])

    def test_pipelined_commands_in_one_write(self) -> None:
        alice, bob = self.connect(), self.logged_in()
        name = unique_name()
        alice.send_bytes(f"LOGIN {name}\nMSG one\nMSG two\nWHO\nPING\n".encode())
        self.assertEqual(alice.read_line(), "OK")
        lines = alice.sync()
        self.assertIn(f"USER {name}", lines)
        bob.expect(f"MSG {name} one", f"MSG {name} two")

    def test_command_split_across_many_writes(self) -> None:
        alice, bob = self.logged_in(), self.logged_in()
        for piece in (b"M", b"SG sp", b"lit ", "mess\xc3".encode("latin-1"), b"\xa9", b"age\r", b"\n"):
            alice.send_bytes(piece)
        bob.expect(f"MSG {alice.name} split messéage")


class DirectMessageTest(ServerTestCase):
    def test_only_the_recipient_gets_it(self) -> None:
        alice, bob, carol = self.logged_in(), self.logged_in(), self.logged_in()
        alice.send(f"DM {bob.name.upper()}   psst,  secret ")
        self.assertEqual(alice.sync(), [])
        bob.expect(f"DM {alice.name} psst,  secret")
        self.assertEqual(carol.sync(), [])

    def test_no_such_user(self) -> None:
        alice = self.logged_in()
        for line in ("DM", "DM nobody-here hi", "DM nobody-here"):
            alice.send(line)
            alice.expect(err("no-such-user"))

    def test_empty_message(self) -> None:
        alice, bob = self.logged_in(), self.logged_in()
        for line in (f"DM {bob.name}", f"DM {bob.name}   ", f"DM {bob.name} \x1b"):
            alice.send(line)
            alice.expect(err("empty-message"))
        self.assertEqual(bob.sync(), [])


class UnsafeTextTest(ServerTestCase):
    """What could reorder a reader's line, or start a new one, never reaches other users."""

    def relays(self, text: str, shown: str) -> None:
        alice, bob = self.logged_in(), self.logged_in()
        alice.send(f"MSG {text}", f"DM {bob.name} {text}")
        bob.expect(f"MSG {alice.name} {shown}", f"DM {alice.name} {shown}")

    def test_bidi_overrides_never_reach_other_users(self) -> None:
        self.relays("access \u202egranted\u202c \u2066ok\u2069 \u200fhi\u200e", "access granted ok hi")

    def test_line_and_paragraph_separators_never_reach_other_users(self) -> None:
        self.relays("line1\u2028MSG mallory forged\u2029line3", "line1 MSG mallory forged line3")
        self.relays("a\x0bb\x0cc\x85d\x1ce", "abcde")


class WhoTest(unittest.TestCase):
    def test_lists_everyone_in_login_order(self) -> None:
        with ServerProcess() as server:
            clients = [server.client().login(name) for name in ("zed", "Abe", "mia")]
            guest = server.client()
            self.assertEqual(who(clients[1]), ["USER zed", "USER Abe", "USER mia"])
            clients[0].send("QUIT")
            clients[0].read_until_closed()
            clients[1].expect("INFO zed disconnected")
            guest.login("ZED")
            self.assertEqual(who(clients[2]), ["INFO zed disconnected", "USER Abe", "USER mia", "USER ZED"])
            for client in (*clients, guest):
                client.close()


class GeneralCommandTest(ServerTestCase):
    def test_ping_before_and_after_login(self) -> None:
        client = self.connect()
        client.send("PING", "ping", "  Ping  ")
        client.expect("PONG", "PONG", "PONG")
        client.login()
        client.send("PING")
        client.expect("PONG")

    def test_quit_and_exit_before_and_after_login(self) -> None:
        for word in ("QUIT", "EXIT", "quit", "Exit"):
            for log_in in (False, True):
                with self.subTest(word=word, log_in=log_in):
                    client = self.connect()
                    if log_in:
                        client.login()
                    client.send(word, "PING")
                    self.assertEqual(client.read_until_closed(), ["Goodbye!"])

    def test_help_before_and_after_login(self) -> None:
        client = self.connect()
        client.send("HELP")
        before = client.sync()
        self.assertGreater(len(before), 5)
        self.assertTrue(all(line.startswith("INFO ") for line in before))
        client.login()
        client.send("help")
        self.assertEqual(client.sync(), before)

    def test_not_logged_in(self) -> None:
        client = self.connect()
        for line in ("MSG hi", "WHO", "DM bob hi", "FROB", "msg hi"):
            client.send(line)
            client.expect(err("not-logged-in"))

    def test_unknown_command_after_login(self) -> None:
        client = self.logged_in()
        for line in ("FROB", "NICK x", "MSGhello", "\x1b[A", "LOGİN x"):
            client.send(line)
            client.expect(err("unknown-command"))

    def test_blank_lines_are_ignored(self) -> None:
        client = self.connect()
        client.send("", "   ", "\t", "\r")
        self.assertEqual(client.sync(), [])

    def test_commands_are_case_insensitive(self) -> None:
        alice, bob = self.connect(), self.logged_in()
        alice.name = unique_name()
        alice.send(f"lOgIn {alice.name}")
        alice.expect("OK")
        alice.send(f"dm {bob.name} x", "mSg y", "who")
        bob.expect(f"DM {alice.name} x", f"MSG {alice.name} y")
        self.assertIn(f"USER {alice.name}", alice.sync())

    def test_undecodable_bytes_are_replaced(self) -> None:
        alice, bob = self.logged_in(), self.logged_in()
        alice.send_bytes(b"MSG caf\xe9 \xfe\xc0!\n")  # (0xFF is telnet's IAC: test_input_pump_end_to_end)
        bob.expect(f"MSG {alice.name} caf\ufffd \ufffd\ufffd!")


class DisconnectNoticeTest(ServerTestCase):
    # Long enough that the watcher, which only has to send a line within it, never times out
    # however busy the machine is.
    server_args = ("--idle-timeout", "3")

    def test_each_way_of_leaving_is_announced_exactly_once(self) -> None:
        watcher = self.logged_in()
        for how in ("quit", "exit", "eof", "reset", "idle"):
            with self.subTest(how=how):
                leaver = self.logged_in()
                if how in ("quit", "exit"):
                    leaver.send(how.upper())
                    self.assertEqual(leaver.read_until_closed(), ["Goodbye!"])
                elif how == "eof":
                    leaver.sock.shutdown(socket.SHUT_WR)
                    leaver.read_until_closed()
                elif how == "reset":
                    reset(leaver)
                notices: list[str] = []
                while not notices:  # the watcher keeps itself active while it waits
                    notices = [line for line in watcher.sync() if "disconnected" in line]
                self.assertEqual(notices, [f"INFO {leaver.name} disconnected"])
                if how == "idle":
                    self.assertEqual(leaver.read_until_closed(), ["INFO idle-timeout"])
        self.assertEqual(watcher.sync(), [])

    def test_guests_leaving_are_not_announced(self) -> None:
        watcher = self.logged_in()
        guest = self.connect()
        guest.send("QUIT")
        guest.read_until_closed()
        self.assertEqual(watcher.sync(), [])


class IdleTimeoutTest(ServerTestCase):
    server_args = ("--idle-timeout", "0.5")

    def test_idle_connection_is_told_and_closed(self) -> None:
        guest = self.connect()
        self.assertEqual(guest.read_until_closed(), ["INFO idle-timeout"])

    def test_partial_lines_are_not_activity(self) -> None:
        client = self.logged_in()
        client.send_bytes(b"MSG never finished")
        self.assertEqual(client.read_until_closed(), ["INFO idle-timeout"])


class KeepAliveTest(ServerTestCase):
    # The talker must send a line within the timeout: 3 s is safe on a busy machine, 0.5 s is not.
    server_args = ("--idle-timeout", "3")

    def test_complete_lines_keep_a_connection_alive(self) -> None:
        talker = self.logged_in()
        idler = self.logged_in()
        while f"INFO {idler.name} disconnected" not in talker.sync():
            pass  # each PING is a complete line, so the talker is never idle
        self.assertEqual(idler.read_until_closed(), ["INFO idle-timeout"])
        self.assertEqual(talker.sync(), [])


class LoginTimeoutTest(ServerTestCase):
    # Long enough that the logged-in user below logs in well inside it, however busy the machine.
    server_args = ("--login-timeout", "2", "--log-level", "debug")

    def test_a_guest_is_closed_whatever_it_sends_a_user_is_not(self) -> None:
        guest, user = self.connect(), self.logged_in()
        port = guest.sock.getsockname()[1]
        guest.send("PING", "", "HELP")
        try:
            while (line := guest.read_line()) != "INFO login-timeout":
                # PING, HELP and blank lines keep a connection active, but do not log it in.
                self.assertTrue(line == "PONG" or line.startswith("INFO "), line)
                if line.startswith("INFO QUIT"):  # the last line of HELP
                    guest.send("PING", "", "HELP")
        except ConnectionResetError:
            pass  # our last lines crossed the server's close: its log says why it closed
        self.server.wait_for_log(rf"^Connection closed: 127\.0\.0\.1:{port} \(login-timeout\)$")
        self.assertEqual(user.sync(), [])


if __name__ == "__main__":
    unittest.main()
