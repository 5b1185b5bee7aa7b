"""Hostile patterns that must cost the server little (issue 12), end to end over real sockets.

Each test scales one pattern down to a few seconds; bench/soak.py's "hostile" scenario measures the
full-size figures.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import sys
import unittest
from pathlib import Path

from support import Client, ServerProcess, ServerTestCase, err, unique_name

from test_tls import CERT, KEY, tls_client, tls_port


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


class DefaultPerAddressLimitTest(ServerTestCase):
    server_args = ()  # the defaults: 32 connections per address

    def test_one_address_cannot_take_every_slot(self) -> None:
        hog = [self.connect() for _ in range(32)]
        for client in hog:
            client.sync()
        with self.connect() as refused:
            self.assertEqual(refused.read_until_closed(), [err("too-many-connections")])
        other = socket.socket()
        try:
            other.bind(("127.0.0.2", 0))
        except OSError:
            other.close()
            self.skipTest("127.0.0.2 is not a local address here")
        other.connect(("127.0.0.1", self.server.port))
        with Client(self.server.port, sock=other) as elsewhere:
            elsewhere.login(unique_name())
            self.assertEqual(elsewhere.sync(), [])


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


class HttpRequestTest(unittest.TestCase):
    """A web page's POST to either port: closed at its request line, its body never run, logged once."""

    def test_a_post_is_closed_at_its_request_line_on_both_protocols(self) -> None:
        with ServerProcess("--irc-port", "0", "--stats-interval", "1") as server:
            bob = Client(server.port).login()
            self.addCleanup(bob.close)
            bodies = [
                (server.port, f"LOGIN webvictim\r\nMSG hello\r\nDM {bob.name} hi\r\n"),
                (server.ports["IRC"], f"NICK webvictim\r\nUSER w 0 * :w\r\nPRIVMSG {bob.name} :hi\r\n"),
            ]
            for port, body in bodies:
                headers = f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n\r\n"
                with Client(port) as page:
                    page.send_bytes((headers + body).encode())
                    # (reset, if it closed before the rest of the request was read: as good)
                    with contextlib.suppress(ConnectionResetError):
                        self.assertEqual(page.read_until_closed(), [])
            bob.send("WHO")
            self.assertEqual(bob.sync(), [f"USER {bob.name}"])  # no MSG, no DM, nobody else online
            server.wait_for_log(r"^Refused 1 more connection in the last 1 s: http-request$")
            self.assertEqual(len([line for line in server.log if line.startswith("Refused connection from")]), 1)


class DroppedReaderTest(ServerTestCase):
    server_args = ("--rate-limit", "0", "--rate-limit-bytes", "0", "--max-send-buffer", "65536")

    def test_a_dropped_slow_reader_is_reset_and_its_unread_data_discarded(self) -> None:
        sender = self.logged_in()
        slow = self.connect()
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.login()
        watcher = self.logged_in()
        filler = "f" * 1000
        number = 0
        # Flood until it is dropped, 20 KB a round: the sender's PONG says its round reached the
        # watcher's queue, and the watcher reads all of it before its own PONG, so it never has more
        # than a round waiting (well under the 64 KiB limit, however busy the machine).
        while True:
            sender.send(*(f"MSG {number + i} {filler}" for i in range(20)))
            number += 20
            sender.sync()
            if f"INFO {slow.name} disconnected" in watcher.sync():
                break
        # A graceful close would keep every unsent byte in the kernel and deliver it all, then EOF.
        with self.assertRaises(ConnectionResetError):
            while slow.sock.recv(65536):
                pass


def memory_kib(pid: int, field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of a process, in KiB (Linux only)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


@unittest.skipUnless(sys.platform.startswith("linux"), "reads the server's memory from /proc")
class NonReaderMemoryTest(ServerTestCase):
    server_args = ("--rate-limit", "0", "--rate-limit-bytes", "0", "--max-per-ip", "0", "--log-level", "debug")
    NON_READERS = 200

    def test_non_readers_cost_little_at_the_peak_and_memory_comes_back(self) -> None:
        sender, watcher = self.logged_in(), self.logged_in()
        non_readers = []
        for _ in range(self.NON_READERS):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", self.server.port))
            non_readers.append(Client(self.server.port, sock=sock).login())
        watcher.sync()
        pid = self.server.process.pid
        before = memory_kib(pid, "VmRSS")
        dropped, number, filler = 0, 0, "f" * 1000
        while dropped < self.NON_READERS:  # flood until every non-reader has fallen behind and gone
            sender.send(*(f"MSG {number + i} {filler}" for i in range(20)))
            number += 20
            dropped += sum(line.endswith(" disconnected") for line in watcher.sync())
        peak_per_non_reader = (memory_kib(pid, "VmHWM") - before) / self.NON_READERS
        self.assertLessEqual(peak_per_non_reader, 128)
        for client in non_readers:
            client.close()
        # Memory comes back: glibc keeps freed memory in the heap unless asked; the server asks it
        # (once for the whole wave, a second after the drops) and says so at DEBUG.
        self.server.wait_for_log(r"^Gave free memory back to the system$")
        self.assertLessEqual((memory_kib(pid, "VmRSS") - before) / self.NON_READERS, 16)


def from_second_address(port: int) -> socket.socket | None:
    """A connection from 127.0.0.2, or None where that is not a local address."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.2", 0))
    except OSError:
        sock.close()
        return None
    sock.connect(("127.0.0.1", port))
    return sock


class PendingTLSHandshakeTest(unittest.TestCase):
    def test_a_connection_that_never_starts_its_handshake_counts_from_accept(self) -> None:
        tls_args = ("--tls-port", "0", "--tls-cert", str(CERT), "--tls-key", str(KEY))
        with ServerProcess(*tls_args, "--max-per-ip", "2") as server:
            port = tls_port(server)
            silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
            try:
                with tls_client(port) as third:  # the handshake completes, then it hears why not
                    self.assertEqual(third.read_until_closed(), [err("too-many-connections")])
                other = from_second_address(port)
                if other is None:
                    self.skipTest("127.0.0.2 is not a local address here")
                context = ssl.create_default_context(cafile=str(CERT))
                with Client(port, sock=context.wrap_socket(other, server_hostname="localhost")) as elsewhere:
                    elsewhere.login()
                    self.assertEqual(elsewhere.sync(), [])
            finally:
                for sock in silent:
                    sock.close()


@unittest.skipUnless(sys.platform.startswith("linux"), "reads the server's memory from /proc")
class IdleTLSMemoryTest(unittest.TestCase):
    USERS = 200

    def test_an_idle_tls_user_costs_at_most_64_kib(self) -> None:
        tls_args = ("--tls-port", "0", "--tls-cert", str(CERT), "--tls-key", str(KEY))
        with ServerProcess(*tls_args, "--max-per-ip", "0") as server:
            port = tls_port(server)
            clients = [tls_client(port).login()]  # the first handshake loads what every later one shares
            try:
                clients[0].sync()
                before = memory_kib(server.process.pid, "VmRSS")
                clients += [tls_client(port).login() for _ in range(self.USERS)]
                clients[0].sync()
                per_user = (memory_kib(server.process.pid, "VmRSS") - before) / self.USERS
                self.assertLessEqual(per_user, 64)  # asyncio's own TLS: about 280 KiB on 3.11+
            finally:
                for client in clients:
                    client.close()


if __name__ == "__main__":
    unittest.main()
