"""The listeners' plan for file descriptors end to end, over real sockets (server/listeners.py):
connections that come and go leak none; with a low limit on them, --max-clients is lowered to what
they cover, and running out pauses accepting (one log line as it starts, one as it ends) while
SIGTERM still exits at once.

Descriptors are counted in /proc and limited with setrlimit: on Linux only.  The listeners on
their own, and their log lines of running out: test_listeners.
"""

from __future__ import annotations

import signal
import socket
import time
import unittest

from support import ON_LINUX, Client, ServerProcess, ServerTestCase, err, open_descriptors, unique_name


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


if __name__ == "__main__":
    unittest.main()
