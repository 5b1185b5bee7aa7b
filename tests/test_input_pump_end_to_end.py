"""The input's plan end to end, over real sockets (transport/input_pump.py, with framing and the
token budgets): a line too long costs no memory and is answered once, a flood of lines or of
telnet sequences is paced and never dropped while everyone else is served, long lines are paced by
their bytes, telnet negotiation is refused once and stripped, and an HTTP request is closed at its
request line.

Memory is read from /proc, on Linux only.  The input pump with fakes around it: test_input_pump.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import unittest

from support import ON_LINUX, Client, ServerProcess, ServerTestCase, err, memory_kib, numbered_lines, send_in_background

MIB = 1024 * 1024


class LineLengthTest(ServerTestCase):
    @unittest.skipUnless(ON_LINUX, "reads the server's memory from /proc")
    def test_a_64_mb_line_costs_no_memory_and_stalls_nobody(self) -> None:
        pid = self.server.process.pid
        alice, bob, flooder = self.logged_in(), self.logged_in(), self.connect()
        before = memory_kib(pid, "VmRSS")
        chunk = b"x" * MIB

        def send_the_line() -> None:
            for _ in range(64):
                flooder.send_bytes(chunk)

        sender = threading.Thread(target=send_the_line)
        sender.start()
        self.assertEqual(flooder.read_line(), err("line-too-long"))
        chats = 0
        while sender.is_alive() or chats < 3:  # other users keep chatting meanwhile
            alice.send(f"MSG still here {chats}")
            bob.expect(f"MSG {alice.name} still here {chats}")
            chats += 1
        sender.join()
        flooder.send_bytes(b"tail of the long line\nPING\n")
        self.assertEqual(flooder.read_line(), "PONG")
        grown = memory_kib(pid, "VmHWM") - before
        self.assertLess(grown, 4 * 1024, f"peak RSS grew by {grown} KiB")

    def test_long_line_is_answered_once_and_the_connection_stays_usable(self) -> None:
        client = self.logged_in()
        client.send_bytes(b"MSG " + b"y" * 9000 + b"\n")
        client.send_bytes(b"z" * 5000)
        client.send_bytes(b"z" * 5000 + b"\r\n")
        client.expect(err("line-too-long"), err("line-too-long"))
        self.assertEqual(client.sync(), [])

    def test_a_line_at_the_limit_passes(self) -> None:
        alice, bob = self.logged_in(), self.logged_in()
        text = "t" * (8192 - len("MSG "))
        alice.send(f"MSG {text}")
        bob.expect(f"MSG {alice.name} {text}")


class FloodTest(ServerTestCase):
    server_args = ("--rate-limit", "50", "--rate-burst", "50")

    def test_a_flood_is_slowed_down_never_dropped_and_nobody_else_waits(self) -> None:
        flooder, reader, pinger = self.logged_in(), self.logged_in(), self.logged_in()
        flooder.sync()  # spends one token; the burst is then 49 + whatever refills
        started = time.monotonic()
        flooder.send(*(f"MSG flood {number}" for number in range(300)))
        pongs_during_the_flood = 0
        done = threading.Event()

        def ping_throughout() -> None:
            nonlocal pongs_during_the_flood
            while not done.is_set():
                pinger.sync()
                if not done.is_set():
                    pongs_during_the_flood += 1

        pinging = threading.Thread(target=ping_throughout)
        pinging.start()
        try:
            received = [reader.read_line() for _ in range(300)]
            elapsed = time.monotonic() - started
        finally:
            done.set()
            pinging.join()
        self.assertEqual(received, [f"MSG {flooder.name} flood {number}" for number in range(300)])
        self.assertGreaterEqual(elapsed, (300 - 51) / 50)  # the rate, after the burst
        # The pinger was answered again and again while the flood was still being paced out.
        self.assertGreater(pongs_during_the_flood, 10)

    def test_throttled_lines_are_still_answered_before_the_close_at_end_of_file(self) -> None:
        client = self.connect()
        client.send(*(["PING"] * 120))
        client.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(client.read_until_closed(), ["PONG"] * 120)


class PacedLongLinesTest(ServerTestCase):
    """A user chatting 8,000-byte lines at the line rate gets 8 KiB/s through, not 160 KB/s
    (bench/fairness.py's row 4)."""

    def test_the_byte_budget_paces_long_lines(self) -> None:
        watcher, sender = self.logged_in(), self.logged_in()
        send_in_background(sender, numbered_lines(20, 8000))
        for _ in range(9):
            watcher.read_line()
        started = time.monotonic()
        more = watcher.sync()
        self.assertLessEqual(len(more), 2 + int(time.monotonic() - started))


class TelnetTest(ServerTestCase):
    def test_negotiation_is_refused_and_stripped(self) -> None:
        client = self.connect()
        # IAC DO TIMING-MARK (telnet's Ctrl+C asks this), IAC WILL NAWS, IAC SB NAWS ... IAC SE
        client.send_bytes(b"\xff\xfd\x06\xff\xfb\x1f\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0PI")
        client.send_bytes(b"\xff\xf4NG\r\n")  # IAC IP (Ctrl+C) in the middle of a line
        data = b""
        while not data.endswith(b"PONG\n"):
            data += client.sock.recv(100)
        self.assertEqual(data, b"\xff\xfc\x06\xff\xfe\x1fPONG\n")

    def test_ctrl_c_in_telnet_breaks_nothing(self) -> None:
        alice, bob = self.logged_in(), self.logged_in()
        alice.send_bytes(b"MSG hel\xff\xf4lo\r\n\xff\xf4\xff\xfd\x06")
        bob.expect(f"MSG {alice.name} hello")
        self.assertEqual(alice.sock.recv(3), b"\xff\xfc\x06")
        self.assertEqual(alice.sync(), [])


class TelnetFloodTest(ServerTestCase):
    server_args = ("--rate-limit", "100", "--rate-burst", "10")

    def test_telnet_sequences_are_throttled_like_lines_and_refused_once(self) -> None:
        flooder, other = self.connect(), self.logged_in()
        started = time.monotonic()
        flooder.send_bytes(b"\xff\xfd\x06" * 100 + b"\xff\xf1" * 100 + b"PING\n")
        self.assertEqual(other.sync(), [])  # served at once meanwhile
        data = b""
        while not data.endswith(b"PONG\n"):
            data += flooder.sock.recv(100)
        self.assertGreaterEqual(time.monotonic() - started, (201 - 10) / 100)  # 200 sequences + PING
        self.assertEqual(data, b"\xff\xfc\x06PONG\n")  # one refusal for a hundred requests


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


if __name__ == "__main__":
    unittest.main()
