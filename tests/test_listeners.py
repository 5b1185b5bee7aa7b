"""The listening sockets: what the startup lines call them, a port that cannot be had, and the log
lines of running out of file descriptors.  Over real sockets: test_listeners_end_to_end."""

from __future__ import annotations

import asyncio
import errno
import socket
import unittest
from typing import Any

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.server.listeners import (
    Bound,
    Listener,
    ListenError,
    Listening,
    bound_address,
    open_listening_sockets,
)
from in_process import InProcessServer

LOGGER = "algokart_chat.server.listeners"


class BoundAddressTest(unittest.TestCase):
    """What the "Listening on" startup lines call each socket."""

    def test_names(self) -> None:
        cases = [("127.0.0.1", "127.0.0.1")]
        if socket.has_ipv6:
            cases.append(("::1", "[::1]"))
        for host, shown in cases:
            with self.subTest(host=host):
                try:
                    sockets = open_listening_sockets(host, 0, 1)
                except OSError:
                    self.skipTest(f"no {host} here")
                for sock in sockets:
                    with sock:
                        self.assertEqual(str(bound_address(sock)), f"{shown} port {sock.getsockname()[1]}")

    def test_all_interfaces(self) -> None:
        for sock in open_listening_sockets(None, 0, 1):
            with sock:
                everywhere = "0.0.0.0/[::]" if socket.has_dualstack_ipv6() else "0.0.0.0"
                self.assertEqual(bound_address(sock).host, everywhere)


class ListenTest(unittest.TestCase):
    """A listener's connections are served by the host it was given; a port in use is a ListenError."""

    def setUp(self) -> None:
        self.chat = InProcessServer()
        self.addCleanup(self.chat.close)
        self.listening = Listening("127.0.0.1", 10)
        self.addCleanup(self.listening.close)

    def listener(self, port: int) -> Listener:
        return Listener(port, "--port / PORT", None, self.chat.sessions.session_type)

    def test_a_connection_accepted_is_served(self) -> None:
        async def ping() -> tuple[list[Bound], bytes]:
            bound = await self.listening.listen(self.listener(0), self.chat.server)
            reader, writer = await asyncio.open_connection("127.0.0.1", bound[0].port)
            writer.write(b"PING\n")
            answer = await reader.readline()
            writer.close()
            await writer.wait_closed()
            return bound, answer

        bound, answer = self.chat.loop.run_until_complete(ping())
        self.assertEqual([address.host for address in bound], ["127.0.0.1"])
        self.assertEqual(answer, b"PONG\n")

    def test_a_port_in_use_names_its_setting(self) -> None:
        with socket.create_server(("127.0.0.1", 0)) as taken:
            port = taken.getsockname()[1]
            with self.assertRaises(ListenError) as raised:
                self.chat.loop.run_until_complete(self.listening.listen(self.listener(port), self.chat.server))
        self.assertEqual((raised.exception.setting, raised.exception.port), ("--port / PORT", port))
        self.assertEqual(raised.exception.problem.errno, errno.EADDRINUSE)
        self.assertTrue(str(raised.exception).startswith(f"--port / PORT {port}: "))


class OutOfDescriptorsTest(unittest.TestCase):
    """One error line per episode of running out of descriptors, however often asyncio retries."""

    def setUp(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.addCleanup(self.loop.close)
        self.listening = Listening(None, 10)

    @staticmethod
    def accept_failed(code: int = errno.EMFILE) -> dict[str, Any]:
        return {"message": "socket.accept() out of system resource", "exception": OSError(code, "Too many open files")}

    def test_an_episode_is_one_line_and_its_end_another(self) -> None:
        with self.assertLogs(LOGGER, "DEBUG") as logs:
            for _ in range(3):
                self.listening.on_loop_error(self.loop, self.accept_failed())
            self.listening.note_admitted()
            self.listening.note_admitted()  # (no episode: nothing to say)
            self.listening.on_loop_error(self.loop, self.accept_failed(errno.ENFILE))
        out = "Out of file descriptors: new connections wait until some close (Too many open files)"
        self.assertEqual(
            [(record.levelname, record.getMessage()) for record in logs.records],
            [("ERROR", out), ("WARNING", "Accepting connections again"), ("ERROR", out)],
        )
        self.assertEqual(
            [record.__dict__["event"] for record in logs.records][:2], ["out-of-descriptors", "descriptors-back"]
        )

    def test_after_closing_a_failed_retry_is_a_debug_line(self) -> None:
        self.listening.close()
        with self.assertLogs(LOGGER, "DEBUG") as logs:
            self.listening.on_loop_error(self.loop, self.accept_failed())
            self.listening.on_loop_error(self.loop, {"message": "closed", "exception": ValueError("fd -1")})
        self.assertEqual([record.levelname for record in logs.records], ["DEBUG", "DEBUG"])
        self.assertTrue(logs.records[0].getMessage().startswith("Ignored while shutting down: socket.accept()"))

    def test_other_errors_go_to_asyncio(self) -> None:
        with self.assertLogs("asyncio", "ERROR") as logs:
            self.listening.on_loop_error(self.loop, {"message": "something else", "exception": RuntimeError("x")})
        self.assertIn("something else", logs.output[0])


if __name__ == "__main__":
    unittest.main()
