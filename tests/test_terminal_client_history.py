"""The interactive terminal client and the room's history, in a real pty: the last messages on
login, and after its connection is cut, a reconnection that shows exactly what was missed, once.

The cut comes two ways.  A relay between client and server (a network drop: a Wi-Fi change, a
train tunnel) resets the client's connection and closes the server's, then lets the client back
only once the test has said what it misses; every step waits for a line, never for time.  And
the server itself stops and starts again on the same port: the memory history is gone, which the
client says.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import struct
import sys
import threading
import unittest

from support import TIMEOUT, ServerProcess, unique_name

import test_terminal_client as terminal


class Relay:
    """Forwards one client connection at a time to ``port``; ``cut`` resets the client's side
    (TCP RST) and closes the server's, and holds the next connection unanswered until ``resume``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address: int = self.listener.getsockname()[1]
        self.open = threading.Event()
        self.open.set()
        self.pairs: list[tuple[socket.socket, socket.socket, list[threading.Thread]]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.open.wait()
                client, _ = self.listener.accept()
                server = socket.create_connection(("127.0.0.1", self.port))
                pumps = [
                    threading.Thread(target=self._pump, args=ends, daemon=True)
                    for ends in ((client, server), (server, client))
                ]
                self.pairs.append((client, server, pumps))
                for pump in pumps:
                    pump.start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        self.open.clear()  # the next connection waits in the listen queue until resume()
        client, server, pumps = self.pairs[-1]
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.shutdown(socket.SHUT_RD)  # wakes its pump (a socket closed while read stays open)
        with contextlib.suppress(OSError):  # (its pump may have shut it already)
            server.shutdown(socket.SHUT_RDWR)
        for pump in pumps:
            pump.join(TIMEOUT)
        client.close()  # with no linger: a reset, as a dropped network ends up
        server.close()

    def resume(self) -> None:
        self.open.set()

    def close(self) -> None:
        self.listener.close()
        for client, server, _ in self.pairs:
            client.close()
            server.close()


MISSED = re.compile(r"^\[missed (\d\d:\d\d|\d{4}-\d\d-\d\d \d\d:\d\d)\] MSG (\S+) (.*)$")


@unittest.skipIf(sys.platform == "win32", "needs a POSIX pseudo-terminal")
class ReconnectingClientTest(terminal.PtyClientTestCase):
    def test_login_shows_the_last_messages_with_their_times(self) -> None:
        other = self.logged_in()
        other.send("MSG said before you came")
        other.sync()
        pid, fd = self.start("--user", unique_name("late"))
        lines = self.wait_for_screen(fd, lambda lines: any("said before you came" in line for line in lines))
        said = [line for line in lines if line.endswith(f"MSG {other.name} said before you came")]
        self.assertEqual(len(said), 1, lines)
        self.assertRegex(said[0], r"^\[history \d\d:\d\d\] MSG ")
        other.send("MSG and now live")
        lines = self.wait_for_screen(fd, lambda lines: f"MSG {other.name} and now live" in lines)
        self.assertFalse([line for line in lines if line.startswith("@") or line == "OK OK"], lines)
        os.write(fd, b"QUIT\r")
        self.assertEqual(self.exit_status(pid, fd), 0)

    def test_a_cut_connection_comes_back_with_exactly_the_missed_messages_once(self) -> None:
        relay = Relay(self.server.port)
        self.addCleanup(relay.close)
        name = unique_name("commuter")
        pid, fd = self.start("--user", name, port=relay.address)
        self.wait_for_prompt(fd)
        other, watcher = self.logged_in(), self.logged_in()
        other.send("MSG seen live")
        self.wait_for_screen(fd, lambda lines: f"MSG {other.name} seen live" in lines)

        watcher.expect(f"MSG {other.name} seen live")
        relay.cut()
        watcher.expect(f"INFO {name} disconnected")
        self.wait_for_screen(fd, lambda lines: any(line.startswith("-- connection lost") for line in lines))
        other.send(*(f"MSG while away {k}" for k in range(1, 6)))
        other.sync()
        relay.resume()
        self.wait_for_screen(fd, lambda lines: "-- back: 5 missed messages above" in lines)
        other.send("MSG back live")
        lines = self.wait_for_screen(fd, lambda lines: f"MSG {other.name} back live" in lines)

        missed = [found.groups()[1:] for line in lines if (found := MISSED.match(line))]
        self.assertEqual(missed, [(other.name, f"while away {k}") for k in range(1, 6)])
        said = [line for line in lines if other.name in line and "MSG" in line]
        self.assertEqual(said[0], f"MSG {other.name} seen live")
        self.assertEqual(said[-1], f"MSG {other.name} back live")
        self.assertEqual(len(said), 7, lines)  # each once: live, missed, live
        watcher.expect(*(f"MSG {other.name} while away {k}" for k in range(1, 6)))
        os.write(fd, b"MSG I am back\r")
        watcher.expect(f"MSG {other.name} back live", f"MSG {name} I am back")
        os.write(fd, b"QUIT\r")
        self.assertEqual(self.exit_status(pid, fd), 0)
        self.assertNotIn("Traceback", self.output)

    def test_a_restarted_server_is_rejoined_and_lost_messages_are_said_lost(self) -> None:
        server = ServerProcess()
        port = server.port
        try:
            name = unique_name("steady")
            pid, fd = self.start("--user", name, port=port)
            self.wait_for_prompt(fd)
            with server.client() as other:
                other.login()
                other.send("MSG before the restart")
                self.wait_for_screen(fd, lambda lines: f"MSG {other.name} before the restart" in lines)
        finally:
            server.stop()
        self.wait_for_screen(fd, lambda lines: any(line.startswith("-- connection lost") for line in lines))
        with ServerProcess("--port", str(port)) as restarted, restarted.client() as watcher:
            watcher.login()
            lines = self.wait_for_screen(fd, lambda lines: any(line.startswith("-- back: 0 missed") for line in lines))
            self.assertIn(
                "some messages sent while away may be lost", lines[-2] if lines[-1].startswith(">") else lines[-1]
            )
            self.assertIn("INFO server-shutdown", lines)
            os.write(fd, b"MSG still here\r")
            watcher.expect(f"MSG {name} still here")
            os.write(fd, b"QUIT\r")
            self.assertEqual(self.exit_status(pid, fd), 0)


if __name__ == "__main__":
    unittest.main()
