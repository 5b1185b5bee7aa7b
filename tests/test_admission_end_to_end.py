"""Admission end to end, over real sockets: the limits on connections in all (--max-clients) and
per address (--max-per-ip, its default, over IPv4 and IPv6), on new connections per address
(--max-new-per-ip), and TLS connections counted from accept, before their handshake.

Admission on its own, and in a server in this process: test_admission.
"""

from __future__ import annotations

import socket
import ssl
import unittest

from support import Client, ServerProcess, ServerTestCase, err, socket_from, unique_name

from test_tls import CERT, TLS_LISTENER, tls_client, tls_port


class TwoConnectionsTestCase(ServerTestCase):
    """A server whose limit lets two connections of this address in."""

    def two_in_the_third_refused(self, code: str) -> Client:
        """Two connections served, the third refused with ``code``; the second, to leave later."""
        first, second = self.connect(), self.connect()
        first.sync()
        second.sync()
        third = self.connect()
        self.assertEqual(third.read_until_closed(), [err(code)])
        return second

    def one_leaves_another_gets_in(self, leaver: Client) -> None:
        """Once ``leaver`` has gone (as the server's log says), a new connection is served."""
        leaver.send("QUIT")
        leaver.read_until_closed()
        self.server.wait_for_log(r"Connection closed")
        self.assertEqual(self.connect().sync(), [])


class MaxClientsTest(TwoConnectionsTestCase):
    server_args = ("--max-clients", "2", "--log-level", "debug")

    def test_next_connection_is_refused(self) -> None:
        second = self.two_in_the_third_refused("server-full")
        self.one_leaves_another_gets_in(second)


class ConnectionLimitTest(TwoConnectionsTestCase):
    server_args = ("--max-per-ip", "2", "--max-clients", "4", "--log-level", "debug")

    def test_per_ip_limit(self) -> None:
        second = self.two_in_the_third_refused("too-many-connections")
        other = socket_from("127.0.0.2", self.server.port)
        if other is not None:
            with Client(self.server.port, sock=other) as from_elsewhere:
                self.assertEqual(from_elsewhere.sync(), [])
        self.one_leaves_another_gets_in(second)


class DefaultPerAddressLimitTest(ServerTestCase):
    server_args = ()  # the defaults: 32 connections per address

    def test_one_address_cannot_take_every_slot(self) -> None:
        hog = [self.connect() for _ in range(32)]
        for client in hog:
            client.sync()
        with self.connect() as refused:
            self.assertEqual(refused.read_until_closed(), [err("too-many-connections")])
        other = socket_from("127.0.0.2", self.server.port)
        if other is None:
            self.skipTest("127.0.0.2 is not a local address here")
        with Client(self.server.port, sock=other) as elsewhere:
            elsewhere.login(unique_name())
            self.assertEqual(elsewhere.sync(), [])


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@unittest.skipUnless(has_ipv6_loopback(), "no IPv6 loopback here")
class IPv6ConnectionLimitTest(unittest.TestCase):
    """Over real IPv6 (::1, counted as ::/64); several addresses of one /64: test_admission."""

    def test_per_ip_limit_over_ipv6(self) -> None:
        with ServerProcess("--host", "::1", "--max-per-ip", "2") as server:
            clients = []
            for _ in range(3):
                clients.append(Client(server.port, host="::1"))
                self.addCleanup(clients[-1].close)
            self.assertEqual((clients[0].sync(), clients[1].sync()), ([], []))
            self.assertEqual(clients[2].read_until_closed(), [err("too-many-connections")])
            server.wait_for_log(r"Refused connection from \[::1\]:\d+: too-many-connections")


class NewConnectionsPerAddressTest(ServerTestCase):
    """An address may open --max-per-ip plus --max-new-per-ip connections quickly, no more
    (bench/fairness.py's rows 6 and 8, scaled down)."""

    server_args = ("--max-per-ip", "2", "--max-new-per-ip", "2")

    def test_a_reconnect_loop_is_refused_another_address_is_not(self) -> None:
        for _ in range(4):
            with self.server.client() as client:
                client.login()
                client.send("QUIT")
                self.assertEqual(client.read_until_closed(), ["Goodbye!"])
        with self.server.client() as refused:
            self.assertEqual(refused.read_until_closed(), [err("connecting-too-fast")])
        other = socket_from("127.0.0.9", self.server.port)
        if other is not None:
            with Client(self.server.port, sock=other) as elsewhere:
                self.assertEqual(elsewhere.sync(), [])
        self.server.wait_for_log(r"^Refused connection from 127\.0\.0\.1:\d+: connecting-too-fast$")


class TLSHandshakeFloodTest(unittest.TestCase):
    """The same limit holds TLS handshakes from one address (bench/fairness.py's row 8)."""

    def test_the_limit_counts_tls_connections_from_accept(self) -> None:
        server = ServerProcess(*TLS_LISTENER, "--max-per-ip", "1", "--max-new-per-ip", "1")
        self.addCleanup(server.stop)
        port = tls_port(server)
        for _ in range(2):
            with tls_client(port) as client:
                self.assertEqual(client.sync(), [])
        with tls_client(port) as refused:
            self.assertEqual(refused.read_until_closed(), [err("connecting-too-fast")])


class PendingTLSHandshakeTest(unittest.TestCase):
    def test_a_connection_that_never_starts_its_handshake_counts_from_accept(self) -> None:
        with ServerProcess(*TLS_LISTENER, "--max-per-ip", "2") as server:
            port = tls_port(server)
            silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
            try:
                with tls_client(port) as third:  # the handshake completes, then it hears why not
                    self.assertEqual(third.read_until_closed(), [err("too-many-connections")])
                other = socket_from("127.0.0.2", port)
                if other is None:
                    self.skipTest("127.0.0.2 is not a local address here")
                context = ssl.create_default_context(cafile=str(CERT))
                with Client(port, sock=context.wrap_socket(other, server_hostname="localhost")) as elsewhere:
                    elsewhere.login()
                    self.assertEqual(elsewhere.sync(), [])
            finally:
                for sock in silent:
                    sock.close()


if __name__ == "__main__":
    unittest.main()
