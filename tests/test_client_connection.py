"""The terminal client's connection (``client.connection``) over a socket pair: what is queued goes
out with its LF, every line comes back whole, QUIT is noticed, and the words for a connection that
could not be made."""

from __future__ import annotations

import socket
import ssl
import threading
import unittest

from support import TIMEOUT, unused_port

from algokart_chat.client.connection import LONGEST_PART, Connection, connect, connection_problem, host_and_port


class ConnectionTest(unittest.TestCase):
    def setUp(self) -> None:
        ours, self.server = socket.socketpair()
        self.server.settimeout(TIMEOUT)
        self.connection = Connection(ours)
        self.received: list[bytes] = []
        self.io_thread = threading.Thread(target=self.connection.run, args=(self.received.append,), daemon=True)
        self.io_thread.start()
        self.addCleanup(self.close)

    def close(self) -> None:
        """The server's end first: the I/O thread returns, then its socket can go."""
        self.server.close()
        self.io_thread.join(TIMEOUT)
        self.connection.close()

    def server_reads(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            data += self.server.recv(size - len(data))
        return data

    def test_what_is_sent_gets_its_lf(self) -> None:
        self.assertTrue(self.connection.send(b"LOGIN alice"))
        self.assertTrue(self.connection.send(b"MSG hi\n"))
        self.assertEqual(self.server_reads(19), b"LOGIN alice\nMSG hi\n")
        self.assertFalse(self.connection.quit_sent)

    def test_lines_come_back_whole_and_the_rest_at_the_close(self) -> None:
        self.server.sendall(b"OK\nMSG bob h")
        self.server.sendall(b"i\nno end")
        self.server.close()
        self.assertTrue(self.connection.closed.wait(TIMEOUT))
        self.io_thread.join(TIMEOUT)
        self.assertEqual(self.received, [b"OK\n", b"MSG bob hi\n", b"no end"])
        self.assertFalse(self.connection.send(b"MSG too late"))  # gone: nothing is queued

    def test_a_line_that_never_ends_comes_in_parts(self) -> None:
        endless = b"x" * (3 * LONGEST_PART)
        self.server.sendall(endless + b"\n")
        self.server.close()
        self.assertTrue(self.connection.closed.wait(TIMEOUT))
        self.io_thread.join(TIMEOUT)
        self.assertEqual(b"".join(self.received), endless + b"\n")
        self.assertTrue(all(len(part) <= 2 * LONGEST_PART for part in self.received))
        self.assertGreater(len(self.received), 1)

    def test_quit_or_exit_is_noticed(self) -> None:
        for word in (b"quit", b"EXIT bye"):
            with self.subTest(word=word):
                self.connection.quit_sent = False
                self.connection.send(word)
                self.assertTrue(self.connection.quit_sent)

    def test_quit_and_wait_says_quit_once_and_waits_for_the_close(self) -> None:
        def server_closes_after_quit() -> None:
            self.assertEqual(self.server_reads(5), b"QUIT\n")
            self.server.close()

        closer = threading.Thread(target=server_closes_after_quit)
        closer.start()
        self.connection.quit_and_wait()
        closer.join(TIMEOUT)
        self.assertTrue(self.connection.closed.is_set())


class ConnectTest(unittest.TestCase):
    def test_a_port_nobody_listens_on_is_refused(self) -> None:
        with self.assertRaises(ConnectionRefusedError) as refused:
            connect("127.0.0.1", unused_port())
        self.assertEqual(connection_problem(refused.exception), "Connection refused")

    def test_host_and_port(self) -> None:
        self.assertEqual(host_and_port("127.0.0.1", 4000), "127.0.0.1:4000")
        self.assertEqual(host_and_port("::1", 4000), "[::1]:4000")

    def test_problems_in_a_few_words(self) -> None:
        self.assertEqual(connection_problem(TimeoutError("timed out")), "timed out")
        self.assertEqual(connection_problem(OSError(-2, "Name or service not known")), "Name or service not known")
        self.assertEqual(connection_problem(OSError()), "OSError")
        handshake = ssl.SSLError(1, "[SSL] wrong version number")
        handshake.reason = "WRONG_VERSION_NUMBER"
        self.assertEqual(connection_problem(handshake), "TLS handshake failed (WRONG_VERSION_NUMBER)")
        untrusted = ssl.SSLCertVerificationError(1, "certificate verify failed")
        untrusted.verify_message = "self-signed certificate"
        self.assertEqual(
            connection_problem(untrusted),
            "TLS certificate not trusted (self-signed certificate); see --cafile, or --insecure for tests",
        )


if __name__ == "__main__":
    unittest.main()
