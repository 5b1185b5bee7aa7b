"""End-to-end tests of the protections: long lines, floods, slow readers, connection limits, telnet.

Memory and descriptor checks read /proc, so they run on Linux and are skipped elsewhere.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
import unittest
from pathlib import Path

from support import Client, ServerProcess, ServerTestCase, err, unique_name

ON_LINUX = Path("/proc/self/status").exists()
MIB = 1024 * 1024


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class LineLengthTest(ServerTestCase):
    @unittest.skipUnless(ON_LINUX, "reads the server's memory from /proc")
    def test_a_64_mb_line_costs_no_memory_and_stalls_nobody(self) -> None:
        pid = self.server.process.pid
        alice, bob, flooder = self.logged_in(), self.logged_in(), self.connect()
        before = status_kib(pid, "VmRSS")
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
        grown = status_kib(pid, "VmHWM") - before
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


class SlowReaderTest(ServerTestCase):
    # No input budget (the test floods as fast as the fast reader reads), a hard limit of 256 KiB.
    server_args = ("--rate-limit", "0", "--rate-limit-bytes", "0", "--max-send-buffer", "262144")

    def test_a_reader_that_never_reads_is_dropped_and_the_fast_one_gets_everything(self) -> None:
        sender, fast = self.logged_in(), self.logged_in()
        slow = self.connect()
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.login()
        pid = self.server.process.pid
        before = status_kib(pid, "VmRSS") if ON_LINUX else 0
        line_count, filler = 100_000, "f" * 1000  # about 100 MB of broadcasts
        # The sender never gets more than `window` lines (~100 KB) ahead of what the fast reader has
        # actually received, so the fast one can never fall --max-send-buffer (256 KiB) behind,
        # however the machine schedules the three of us.  Only the slow one can.
        batch, window = 50, 100
        expected = 0
        dropped = False
        prefix = f"MSG {sender.name} "

        def receive_up_to(count: int) -> None:
            nonlocal expected, dropped
            while expected < count:
                line = fast.read_line()
                if line == f"INFO {slow.name} disconnected":
                    dropped = True
                    continue
                self.assertTrue(line.startswith(prefix), line[:80])
                number, _ = line[len(prefix) :].split(" ", 1)
                self.assertEqual(int(number), expected)
                expected += 1

        for start in range(0, line_count, batch):
            receive_up_to(start + batch - window)
            sender.send(*(f"MSG {number} {filler}" for number in range(start, start + batch)))
        receive_up_to(line_count)
        self.assertTrue(dropped or f"INFO {slow.name} disconnected" in fast.sync())
        if ON_LINUX:
            grown = status_kib(pid, "VmHWM") - before
            self.assertLess(grown, 32 * 1024, f"peak RSS grew by {grown} KiB")
        self.server.wait_for_log(
            rf"^Disconnecting 127\.0\.0\.1:\d+ \({slow.name}\): \d+ bytes waiting, over the hard limit of 262144 bytes$"
        )


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


class ConnectionLimitTest(ServerTestCase):
    server_args = ("--max-per-ip", "2", "--max-clients", "4", "--log-level", "debug")

    def test_per_ip_limit(self) -> None:
        first, second = self.connect(), self.connect()
        first.sync()
        second.sync()
        third = self.connect()
        self.assertEqual(third.read_until_closed(), [err("too-many-connections")])
        if sys.platform.startswith("linux"):  # all of 127/8 is loopback there
            other = socket.socket()
            other.bind(("127.0.0.2", 0))
            other.connect(("127.0.0.1", self.server.port))
            with Client(self.server.port, sock=other) as from_elsewhere:
                self.assertEqual(from_elsewhere.sync(), [])
        second.send("QUIT")
        second.read_until_closed()
        self.server.wait_for_log(r"Connection closed")
        self.assertEqual(self.connect().sync(), [])


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


class DescriptorTest(ServerTestCase):
    @unittest.skipUnless(ON_LINUX, "counts the server's descriptors in /proc")
    def test_300_connect_disconnect_cycles_leak_nothing(self) -> None:
        pid = self.server.process.pid
        watcher = self.logged_in()
        baseline = open_descriptors(pid)
        for cycle in range(300):
            with self.server.client() as client:
                # Each way of leaving ends with the server closing its side, so once the client
                # has read to the end, the server's descriptor is closed too.
                if cycle % 3 == 0:
                    client.send(f"LOGIN {unique_name()}", "MSG bye", "QUIT")
                elif cycle % 3 == 1:
                    client.send(f"LOGIN {unique_name()}", "PING")
                    client.sock.shutdown(socket.SHUT_WR)
                else:
                    client.send("PING", "EXIT")
                client.read_until_closed()
        self.assertEqual(open_descriptors(pid), baseline)
        self.assertEqual(len([line for line in watcher.sync() if line.endswith(" disconnected")]), 200)


@unittest.skipUnless(ON_LINUX, "sets the server's descriptor limit with resource.setrlimit")
class OutOfDescriptorsTest(unittest.TestCase):
    def test_max_clients_is_lowered_to_what_descriptors_cover(self) -> None:
        server = ServerProcess("--max-per-ip", "0", "--max-clients", "10000", open_files=256)
        clients: list[Client] = []
        try:
            self.assertIn("--max-clients lowered from 10000 to 160", server.log[0])
            for _ in range(300):
                clients.append(server.client())
                clients[-1].send("PING")
            replies = [client.read_line() for client in clients]
            self.assertEqual(replies.count("PONG"), 160)
            self.assertEqual(replies.count(err("server-full")), 300 - 160)
            self.assert_sigterm_exits_at_once_and_cleanly(server)
        finally:
            close_all(clients, server)
        self.assertFalse([line for line in server.log if "Out of file descriptors" in line])

    def test_running_out_pauses_accepting_once_and_sigterm_still_exits_at_once(self) -> None:
        # 100 descriptors held elsewhere in the process: it runs out before --max-clients (160).
        settings = ("--max-per-ip", "0", "--rate-limit", "0", "--rate-limit-bytes", "0", "--max-send-buffer", "8000000")
        server = ServerProcess(*settings, open_files=256, held_files=100)
        clients: list[Client] = []
        try:
            for _ in range(200):
                client = server.client()
                client.send("PING")
                clients.append(client)
            server.wait_for_log("Out of file descriptors")
            for client in clients[:100]:
                client.close()
            for client in clients[100:]:
                client.expect("PONG")
            # One user that never reads makes shutdown wait its full grace (1 s), so that the
            # accept retries scheduled when descriptors run out below fire on the closed listener.
            clients[100].login()  # and never reads again
            sender = clients[101].login()
            sender.send(*[f"MSG {'x' * 1000}"] * 2000)
            sender.sync()
            for _ in range(80):  # out of descriptors again
                client = server.client()
                client.send("PING")
                clients.append(client)
            server.wait_until(lambda log: episode_lines(log)[-1:] == ["back"])  # (it took them all)
            episodes_so_far = episode_lines(server.log).count("out")
            server.wait_until(lambda log: episode_lines(log).count("out") > episodes_so_far)
            self.assert_sigterm_exits_at_once_and_cleanly(server)
        finally:
            close_all(clients, server)
        self.assertIn("Aborting 1 connection", "\n".join(server.log))
        # One line when an episode starts and one when it ends, never one per retry.
        episodes = episode_lines(server.log)
        self.assertEqual(episodes, (["out", "back"] * len(episodes))[: len(episodes)])

    def assert_sigterm_exits_at_once_and_cleanly(self, server: ServerProcess) -> None:
        """SIGTERM: exit status 0 within 2 s, and no traceback in anything the server wrote."""
        started = time.monotonic()
        self.assertEqual(server.stop(signal.SIGTERM), 0)
        self.assertLess(time.monotonic() - started, 2.0)
        self.assertNotIn("Traceback", "\n".join(server.raw_log) + server.errors)


def episode_lines(log: list[str]) -> list[str]:
    """ "out" for each line saying descriptors ran out, "back" for each saying they are back."""
    kinds = {"Out of file descriptors": "out", "Accepting connections again": "back"}
    return [kind for line in log for start, kind in kinds.items() if line.startswith(start)]


def close_all(clients: list[Client], server: ServerProcess) -> None:
    for client in clients:
        client.close()
    server.stop()


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


if __name__ == "__main__":
    unittest.main()
