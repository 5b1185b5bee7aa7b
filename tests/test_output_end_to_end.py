"""The output's plan end to end, over real sockets (server/output.py, and the send-buffer limits of
transport/flow_control.py): a reader that falls behind is dropped, soon and at little cost, and its
unread data discarded; a burst, a flood of direct messages or a flood from many addresses, each
within the limits, drops no reader and freezes nobody, on one server or across two nodes.

The fairness tests are rows of bench/fairness.py scaled down (docs/PERFORMANCE.md, *Fairness under
load, measured*), each docstring says which.  Memory is read from /proc, on Linux only.  The
output scheduler on its own, and in a server in this process: test_output.
"""

from __future__ import annotations

import socket
import time
import unittest

from support import (
    ON_LINUX,
    Client,
    Cluster,
    ServerProcess,
    ServerTestCase,
    memory_kib,
    numbered_lines,
    send_in_background,
    skip_without_cluster,
    socket_from,
)


def non_reader(case: ServerTestCase) -> Client:
    """A logged-in user with a 4 KiB receive buffer, for a test that never reads it."""
    client = case.connect()
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return client.login()


class SlowReaderTest(ServerTestCase):
    # No input budget (the test floods as fast as the fast reader reads), a hard limit of 256 KiB.
    server_args = ("--rate-limit", "0", "--rate-limit-bytes", "0", "--max-send-buffer", "262144")

    def test_a_reader_that_never_reads_is_dropped_and_the_fast_one_gets_everything(self) -> None:
        sender, fast = self.logged_in(), self.logged_in()
        slow = non_reader(self)
        pid = self.server.process.pid
        before = memory_kib(pid, "VmRSS") if ON_LINUX else 0
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
            grown = memory_kib(pid, "VmHWM") - before
            self.assertLess(grown, 32 * 1024, f"peak RSS grew by {grown} KiB")
        self.server.wait_for_log(
            rf"^Disconnecting 127\.0\.0\.1:\d+ \({slow.name}\): \d+ bytes waiting, over the hard limit of 262144 bytes$"
        )


class DroppedReaderTest(ServerTestCase):
    server_args = ("--rate-limit", "0", "--rate-limit-bytes", "0", "--max-send-buffer", "65536")

    def test_a_dropped_slow_reader_is_reset_and_its_unread_data_discarded(self) -> None:
        sender = self.logged_in()
        slow = non_reader(self)
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


class NonReaderTest(ServerTestCase):
    """A user who never reads is still dropped, soon, and costs little (bench/fairness.py's row
    11, the guard)."""

    server_args = ("--rate-limit", "0", "--rate-limit-bytes", "0", "--send-buffer-soft-seconds", "1")

    def test_a_non_reader_is_dropped_when_it_reads_nothing_a_reader_never(self) -> None:
        sender, reader = self.logged_in(), self.logged_in()
        stuck = non_reader(self)
        number, dropped = 0, False
        departure = f"INFO {stuck.name} disconnected"
        while not dropped:  # until the non-reader's socket is full and a second has passed
            sender.send(*(f"MSG {number + i} {'f' * 1000}" for i in range(50)))
            number += 50
            received = 0
            while received < 50:  # the reader gets every one (the departure may come among them)
                (line,) = reader.read_lines(1)
                if line == departure:
                    dropped = True
                    continue
                self.assertTrue(line.startswith(f"MSG {sender.name} "), line)
                received += 1
            dropped = departure in reader.sync() or dropped
        self.server.wait_for_log(
            rf"^Disconnecting 127\.0\.0\.1:\d+ \({stuck.name}\): \d+ bytes waiting, it read nothing"
        )
        self.assertIn("fell-behind", "\n".join(self.server.log))


@unittest.skipUnless(ON_LINUX, "reads the server's memory from /proc")
class NonReaderMemoryTest(ServerTestCase):
    # The hard limit at 2 MiB, not the default 8 MiB: the flood runs until every non-reader is that
    # far behind, with the sender paced while they are congested, so a quarter of the messages
    # takes a quarter of the time.  What each non-reader holds beyond the shared messages is the
    # same; the messages' share of the peak is smaller, which leaves the bound less room for
    # anything held per connection, not more.
    server_args = (
        *("--rate-limit", "0", "--rate-limit-bytes", "0", "--max-per-ip", "0", "--log-level", "debug"),
        *("--max-send-buffer", str(2 * 1024 * 1024)),
    )
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


class LongLineBurstTest(ServerTestCase):
    """One user sends 80 lines of 8,000 bytes at once, within --rate-burst 100 (bench/fairness.py's
    row 1)."""

    def test_no_reader_is_dropped_and_the_rest_is_paced_by_bytes(self) -> None:
        readers = [self.logged_in() for _ in range(8)]
        sender = self.logged_in()
        send_in_background(sender, numbered_lines(80, 8000))
        # 64 KiB at once: eight lines, and the ninth that crosses the byte burst.
        for reader in readers:
            for number in range(9):
                self.assertTrue(reader.read_line().startswith(f"MSG {sender.name} {number} "))
        for reader in readers:
            started = time.monotonic()
            more = reader.sync()  # still connected
            elapsed = time.monotonic() - started
            # The rest comes at 8 KiB/s, a line a second: never the whole burst at once.
            self.assertLessEqual(len(more), 2 + int(elapsed), more[:1])


class ManyUsersOfOneAddressTest(ServerTestCase):
    """Users of one address each send 100 lines of ~650 bytes at once (bench/fairness.py's row 2)."""

    def test_every_reader_gets_every_line(self) -> None:
        readers = [self.logged_in() for _ in range(5)]
        senders = [self.logged_in() for _ in range(10)]
        for sender in senders:  # 65 KB each, within the byte burst: 650 KB to every reader
            send_in_background(sender, numbered_lines(100, 650))
        for reader in readers:
            got = reader.read_lines(1000)
            self.assertEqual(len([line for line in got if line.startswith("MSG ")]), 1000)
            self.assertEqual(reader.sync(), [])


@unittest.skipUnless(ON_LINUX, "uses 127.0.0.x and reads /proc")
class ManyAddressesFloodTest(unittest.TestCase):
    """Users of several addresses each send 100 lines of 1,000 bytes at once into a room
    (bench/fairness.py's row 3)."""

    def test_no_reader_is_dropped_memory_stays_small_and_a_guest_is_served(self) -> None:
        server = ServerProcess()
        self.addCleanup(server.stop)
        readers = [server.client().login() for _ in range(20)]
        senders = []
        for number in range(24):  # 6 from each of 4 addresses
            sock = socket_from(f"127.0.0.{2 + number % 4}", server.port)
            assert sock is not None  # (all of 127/8 is local on Linux)
            senders.append(Client(server.port, sock=sock).login())
        for client in (*readers, *senders):
            self.addCleanup(client.close)
        before = memory_kib(server.process.pid)
        for sender in senders:
            send_in_background(sender, numbered_lines(100, 1000))
        with server.client() as guest:
            self.assertEqual(guest.sync(), [])  # a guest is answered while the flood goes on
        expected = 24 * 64  # each sender's byte burst: 64 lines of 1,001 bytes fit in 64 KiB
        for reader in readers:
            got = [line for line in reader.read_lines(expected) if line.startswith("MSG ")]
            self.assertEqual(len(got), expected)
            reader.sync()
        grown = memory_kib(server.process.pid, "VmHWM") - before
        self.assertLess(grown, 24 * 1024, f"peak RSS grew by {grown} KiB for 1.5 MB of messages")


class DirectFloodTest(ServerTestCase):
    """Accounts each DM 100 lines of 1,000 bytes to one user at once (bench/fairness.py's row 5)."""

    def test_the_recipient_is_not_dropped_the_senders_are_slowed(self) -> None:
        recipient = self.logged_in()
        senders = [self.logged_in() for _ in range(10)]
        for sender in senders:
            send_in_background(sender, numbered_lines(100, 1000, command=f"DM {recipient.name}"))
        got = recipient.read_lines(10 * 64)  # each sender's byte burst at once
        self.assertEqual(len([line for line in got if line.startswith("DM ")]), 640)
        recipient.sync()


class ClusterFairnessTest(unittest.TestCase):
    """A node's flood drops no reader of another node, and the stream stays small (bench/fairness.py's
    rows 9 and 10)."""

    def setUp(self) -> None:
        skip_without_cluster()

    def test_a_burst_on_one_node_drops_no_reader_on_the_other(self) -> None:
        with Cluster(2) as cluster:
            a, b = cluster.nodes
            readers = [b.client().login() for _ in range(5)]
            senders = [a.client().login() for _ in range(10)]
            for client in (*readers, *senders):
                self.addCleanup(client.close)
            for sender in senders:  # 64 lines each within the byte burst: 640 KB to every reader
                send_in_background(sender, numbered_lines(100, 1000))
            for reader in readers:
                got = reader.read_lines(640)
                self.assertEqual(len([line for line in got if line.startswith("MSG ")]), 640)
                reader.sync()

    def test_the_stream_is_bounded_in_bytes(self) -> None:
        with Cluster(1, "--rate-limit", "0", "--rate-limit-bytes", "0", "--cluster-stream-bytes", "1048576") as cluster:
            sender, reader = cluster.client().login(), cluster.client().login()
            for client in (sender, reader):
                self.addCleanup(client.close)
            for batch in range(40):  # 4 MB in all, in batches the reader confirms
                sender.send(*(f"MSG {batch}.{i} {'s' * 1000}" for i in range(100)))
                reader.read_lines(100)
            sender.sync()
            key = f"{{{cluster.name}}}:events"
            used = int(cluster.redis.command("MEMORY", "USAGE", key, "SAMPLES", "0"))
            self.assertLess(used, 3 << 20, f"the stream holds {used} bytes")
            self.assertGreater(used, 512 << 10)  # (and it does hold the newest messages)


if __name__ == "__main__":
    unittest.main()
