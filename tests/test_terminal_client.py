"""The terminal client, src/test_client.py: scripted through pipes, interactive in a real pty."""

from __future__ import annotations

import contextlib
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from collections.abc import Callable
from pathlib import Path

from support import ENV_SETTINGS, ROOT, SRC, TIMEOUT, ServerProcess, ServerTestCase, err, unique_name, unused_port

from algokart_chat.version import __version__

CLIENT = SRC / "test_client.py"


def client_environment(**extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in ENV_SETTINGS and k != "NO_COLOR"}
    environment.update(extra)
    return environment


def run_client(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, str(CLIENT), *args],
        input=stdin,
        capture_output=True,
        timeout=TIMEOUT,
        env=env or client_environment(),
        cwd=str(ROOT),
        check=False,
    )


class ScriptedClientTest(ServerTestCase):
    def test_every_reply_arrives_then_quit_and_exit_0(self) -> None:
        watcher = self.logged_in()
        name = unique_name("bot")
        result = run_client(
            "--port",
            str(self.server.port),
            stdin=f"LOGIN {name}\nMSG hi\nWHO\nDM {watcher.name} olá ✓\nPING\n".encode(),
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.decode().splitlines()
        self.assertEqual(lines[0], "OK")
        self.assertIn(f"USER {name}", lines)
        self.assertEqual(lines[-2:], ["PONG", "Goodbye!"])
        self.assertEqual(result.stderr, b"")
        watcher.expect(f"MSG {name} hi", f"DM {name} olá ✓", f"INFO {name} disconnected")

    def test_server_lines_are_printed_exactly_as_received(self) -> None:
        sender = self.logged_in()
        name = unique_name()
        process = subprocess.Popen(
            [sys.executable, str(CLIENT), "--port", str(self.server.port), "--user", name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=client_environment(),
        )
        assert process.stdin is not None and process.stdout is not None
        self.assertEqual(process.stdout.readline(), b"OK\n")
        sender.send(f"DM {name} tab\there [1m ünïcödé")
        self.assertEqual(process.stdout.readline(), f"DM {sender.name} tab here [1m ünïcödé\n".encode())
        process.stdin.close()
        self.assertEqual(process.stdout.read(), b"Goodbye!\n")
        self.assertEqual(process.wait(TIMEOUT), 0)
        process.stdout.close()

    def test_quit_in_the_script_ends_it_with_status_0(self) -> None:
        result = run_client("--port", str(self.server.port), stdin=b"PING\nQUIT\nPING\n")
        self.assertEqual(result.returncode, 0)
        self.assertEqual(result.stdout, b"PONG\nGoodbye!\n")

    def test_host_and_port_from_the_environment(self) -> None:
        result = run_client(stdin=b"PING\n", env=client_environment(HOST="127.0.0.1", PORT=str(self.server.port)))
        self.assertEqual(result.stdout, b"PONG\nGoodbye!\n")


# What a malicious server (or a man in the middle of a plaintext connection) might send: clear the
# screen, write the clipboard (OSC 52), a disguised link (OSC 8), reversed text, a C1 CSI, a carriage
# return to paint a fake line over the real one, a line separator, DEL, invalid UTF-8, and, harmless,
# a tab and text outside Latin-1 (U+06DB is DB 9B in UTF-8: a CSI byte to a Latin-1 terminal).
HOSTILE_LINE = (
    b"MSG mallory \x1b[2J\x1b]52;c;cHduZWQ=\x07 \x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\"
    b" \xe2\x80\xaedesrever\xe2\x80\xac \xc2\x9b31m\rMSG alice fake\xe2\x80\xa8\x7f\xff\tol\xc3\xa1 \xe2\x9c\x93 \xdb\x9b[2J\n"
)
# The same line as a terminal shows it: every control character and the invalid byte a U+FFFD.
HOSTILE_LINE_SHOWN = (
    "MSG mallory \ufffd[2J\ufffd]52;c;cHduZWQ=\ufffd \ufffd]8;;https://evil.example/\ufffd\\link\ufffd]8;;\ufffd\\"
    " \ufffddesrever\ufffd \ufffd31m\ufffdMSG alice fake\ufffd\ufffd\ufffd\tol\u00e1 \u2713 \u06db[2J"
)


class HostileServer:
    """A server for one connection that sends ``greeting`` (anything at all) first, then answers
    ``PING`` and ``QUIT`` as the chat server does: a malicious server, or a man in the middle."""

    def __init__(self, greeting: bytes) -> None:
        self.greeting = greeting
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            connection, _ = self.listener.accept()
            with connection, connection.makefile("rb") as lines:
                connection.sendall(self.greeting)
                for line in lines:
                    if line.strip().upper() == b"PING":
                        connection.sendall(b"PONG\n")
                    elif line.strip().upper() == b"QUIT":
                        connection.sendall(b"Goodbye!\n")
                        return

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes an accept() still waiting
        self.listener.close()
        self.thread.join(TIMEOUT)


class HostileServerTest(unittest.TestCase):
    """What a server sends reaches a pipe byte for byte, and a terminal only as text."""

    def hostile_server(self) -> HostileServer:
        server = HostileServer(HOSTILE_LINE)
        self.addCleanup(server.close)
        return server

    def test_a_pipe_gets_every_byte_as_sent(self) -> None:
        result = run_client("--port", str(self.hostile_server().port))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, HOSTILE_LINE + b"Goodbye!\n")

    @unittest.skipIf(sys.platform == "win32", "needs a POSIX pseudo-terminal")
    def test_a_terminal_gets_control_characters_as_u_fffd(self) -> None:
        shown = f"{HOSTILE_LINE_SHOWN}\nGoodbye!\n"
        # A Latin-1 terminal gets Latin-1, with "?" for what it lacks, never the UTF-8 bytes.
        for encoding in ("utf-8", "latin-1"):
            with self.subTest(encoding=encoding):
                output = self.scripted_on_a_terminal(PYTHONIOENCODING=encoding)
                self.assertEqual(output, shown.replace("\n", "\r\n").encode(encoding, "replace"))
                self.assertNotRegex(output.decode(encoding), "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

    def scripted_on_a_terminal(self, **environment: str) -> bytes:
        """What the client, scripted (empty input), writes to a pseudo-terminal as its stdout."""
        import pty

        controller, terminal = pty.openpty()
        try:
            process = subprocess.Popen(
                [sys.executable, str(CLIENT), "--port", str(self.hostile_server().port)],
                stdin=subprocess.DEVNULL,
                stdout=terminal,
                env=client_environment(**environment),
            )
            os.close(terminal)
            output = b""
            while select.select([controller], [], [], TIMEOUT)[0]:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the client exited: its end of the terminal is closed
                    break
                if not chunk:
                    break
                output += chunk
            self.assertEqual(process.wait(TIMEOUT), 0)
            return output
        finally:
            os.close(controller)


class ClientErrorTest(unittest.TestCase):
    def test_refused_connection_is_one_line_and_status_1(self) -> None:
        port = unused_port()  # nobody listening
        result = run_client("--port", str(port))
        self.assertEqual(result.returncode, 1)
        errors = result.stderr.decode()
        self.assertEqual(len(errors.splitlines()), 1, errors)
        self.assertIn(f"127.0.0.1:{port}", errors)
        self.assertIn("refused", errors.lower())

    def test_unknown_host(self) -> None:
        result = run_client("--host", "no-such-host.invalid", "--port", "4000")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(len(result.stderr.decode().splitlines()), 1)
        self.assertIn("no-such-host.invalid:4000", result.stderr.decode())

    def test_ipv6_in_brackets_is_accepted_and_printed_so(self) -> None:
        port = unused_port()  # nobody listening
        for host in ("[::1]", "::1"):
            with self.subTest(host=host):
                result = run_client("--host", host, "--port", str(port))
                self.assertEqual(result.returncode, 1)
                errors = result.stderr.decode()
                self.assertEqual(len(errors.splitlines()), 1, errors)
                self.assertIn(f"cannot connect to [::1]:{port}: ", errors)
                self.assertNotIn("Name or service not known", errors)

    def test_version(self) -> None:
        result = run_client("--version")
        self.assertEqual(result.returncode, 0)
        self.assertEqual(result.stdout.decode(), f"algokart-chat terminal client {__version__}\n")

    def test_bad_flags_exit_2(self) -> None:
        for args in (["--port", "many"], ["--bogus"], ["--port", "70000"]):
            with self.subTest(args=args):
                result = run_client(*args)
                self.assertEqual(result.returncode, 2)
                self.assertIn(b"error", result.stderr)
                self.assertNotIn(b"Traceback", result.stderr)


@unittest.skipUnless(socket.has_ipv6, "no IPv6 here")
class Ipv6ClientTest(unittest.TestCase):
    def test_a_bracketed_ipv6_host_reaches_the_server(self) -> None:
        try:
            probe = socket.socket(socket.AF_INET6)
            probe.bind(("::1", 0))
            probe.close()
        except OSError:
            self.skipTest("no IPv6 loopback here")
        with ServerProcess("--host", "::1") as server:
            result = run_client("--host", "[::1]", "--port", str(server.port), stdin=b"PING\n")
        self.assertEqual(result.stdout, b"PONG\nGoodbye!\n")


class ServerGoesAwayTest(unittest.TestCase):
    def test_server_shutdown_while_connected(self) -> None:
        from support import ServerProcess

        server = ServerProcess()
        try:
            process = subprocess.Popen(
                [sys.executable, str(CLIENT), "--port", str(server.port), "--user", unique_name()],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=client_environment(),
            )
            assert process.stdout is not None and process.stderr is not None
            self.assertEqual(process.stdout.readline(), b"OK\n")
            server.stop()
            self.assertEqual(process.stdout.read(), b"INFO server-shutdown\n")
            self.assertEqual(process.wait(TIMEOUT), 1)
            self.assertEqual(process.stderr.read(), b"test_client.py: the server closed the connection\n")
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        finally:
            server.stop()


class Screen:
    """Just enough of a terminal to know what a person would see: text, CR, LF, BS, erase, moves."""

    ESCAPE = re.compile(r"\x1b\[([?0-9;]*)([A-Za-z@])|\x1b[()][A-Za-z0-9]|\x1b[=>]")

    def __init__(self, output: str) -> None:
        self.rows: list[list[str]] = [[]]
        row = column = 0
        position = 0
        while position < len(output):
            char = output[position]
            found = self.ESCAPE.match(output, position) if char == "\x1b" else None
            if found:
                position = found.end()
                argument, command = found.group(1) or "", found.group(2)
                count = int(argument) if argument.isdigit() else 1
                if command == "K":
                    del self.rows[row][column:]
                elif command == "C":
                    column += count
                elif command == "D":
                    column = max(0, column - count)
                continue
            position += 1
            if char == "\r":
                column = 0
            elif char == "\n":
                row += 1
                if row == len(self.rows):
                    self.rows.append([])
            elif char == "\b":
                column = max(0, column - 1)
            elif char.isprintable():
                line = self.rows[row]
                line.extend(" " * (column - len(line) + 1))
                line[column] = char
                column += 1

    @property
    def lines(self) -> list[str]:
        return ["".join(row).rstrip() for row in self.rows]


class PtyClientTestCase(ServerTestCase):
    """Runs the client in a real pseudo-terminal and reads the screen (no tests of its own)."""

    def start(self, *args: str, colour: bool = False, port: int | None = None) -> tuple[int, int]:
        import pty

        self.home = tempfile.mkdtemp()
        extra = {"HOME": self.home, "TERM": "xterm"}
        if not colour:
            extra["NO_COLOR"] = "1"
        environment = client_environment(**extra)
        pid, fd = pty.fork()
        if pid == 0:  # the child: the client, with the pty as its terminal
            port = port or self.server.port
            os.execve(sys.executable, [sys.executable, str(CLIENT), "--port", str(port), *args], environment)
        self.output = ""
        self.addCleanup(self.reap, pid, fd)
        return pid, fd

    def start_logged_in(self, colour: bool = False) -> tuple[int, int, str]:
        """Start the client with ``--user``; return once its OK is shown and readline reads keys."""
        name = unique_name("typist")
        pid, fd = self.start("--user", name, colour=colour)
        self.wait_for_screen(fd, lambda lines: "OK" in lines)
        self.wait_for_prompt(fd)
        return pid, fd, name

    def reap(self, pid: int, fd: int) -> None:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)

    def wait_for_screen(self, fd: int, ready: Callable[[list[str]], bool]) -> list[str]:
        deadline = time.monotonic() + TIMEOUT
        while not ready(Screen(self.output).lines):
            if time.monotonic() > deadline:
                raise AssertionError(f"screen never got there: {Screen(self.output).lines!r}")
            if select.select([fd], [], [], 0.5)[0]:
                try:
                    self.output += os.read(fd, 65536).decode("utf-8", "replace")
                except OSError:  # the client exited and the pty closed
                    break
        return Screen(self.output).lines

    def wait_for_prompt(self, fd: int) -> list[str]:
        """Wait for the prompt, with readline reading keys (the terminal out of canonical mode).

        A Ctrl+D typed before that would be taken by the terminal driver, not by readline.
        """
        import termios

        return self.wait_for_screen(
            fd, lambda lines: lines[-1] == ">" and not termios.tcgetattr(fd)[3] & termios.ICANON
        )

    def exit_status(self, pid: int, fd: int) -> int:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 0.5)[0]:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    chunk = b""
                self.output += chunk.decode("utf-8", "replace")
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
        raise AssertionError(f"the client did not exit: {Screen(self.output).lines[-5:]!r}")


@unittest.skipIf(sys.platform == "win32", "needs a POSIX pseudo-terminal")
class InteractiveClientTest(PtyClientTestCase):
    """The client in a real pseudo-terminal, as a person would use it."""

    def test_incoming_line_while_typing_leaves_both_intact(self) -> None:
        pid, fd, name = self.start_logged_in()
        other = self.logged_in()
        os.write(fd, b"MSG half a li")
        self.wait_for_screen(fd, lambda lines: lines[-1] == "> MSG half a li")
        other.send("MSG an interruption")
        lines = self.wait_for_screen(fd, lambda lines: f"MSG {other.name} an interruption" in lines)
        self.assertEqual(lines[-2:], [f"MSG {other.name} an interruption", "> MSG half a li"])
        os.write(fd, b"ne\r")
        other.expect(f"MSG {name} half a line")
        os.write(fd, b"QUIT\r")
        self.assertEqual(self.exit_status(pid, fd), 0)
        self.assertIn("Goodbye!", Screen(self.output).lines)
        self.assertIn("QUIT", (Path(self.home) / ".algokart_chat_history").read_text())

    def test_a_login_with_a_password_stays_out_of_the_history_file(self) -> None:
        pid, fd, _ = self.start_logged_in()
        os.write(fd, b"LOGIN someone Hist0ry-Secret\r")
        self.wait_for_screen(fd, lambda lines: any("already-logged-in" in line for line in lines))
        os.write(fd, b"LOGIN someone\r")
        self.wait_for_screen(fd, lambda lines: sum("already-logged-in" in line for line in lines) == 2)
        os.write(fd, b"QUIT\r")
        self.assertEqual(self.exit_status(pid, fd), 0)
        history = (Path(self.home) / ".algokart_chat_history").read_text()
        self.assertIn("LOGIN someone\n", history)
        self.assertNotIn("Hist0ry-Secret", history)

    def test_ctrl_d_sends_quit_and_exits_0(self) -> None:
        pid, fd, name = self.start_logged_in()
        watcher = self.logged_in()
        os.write(fd, b"\x04")
        self.assertEqual(self.exit_status(pid, fd), 0)
        watcher.expect(f"INFO {name} disconnected")
        self.assertNotIn("Traceback", self.output)

    def test_ctrl_c_sends_quit_and_exits_0(self) -> None:
        pid, fd, name = self.start_logged_in()
        watcher = self.logged_in()
        os.write(fd, b"half typed\x03")  # Ctrl+C while readline may still be busy with the keys
        self.assertEqual(self.exit_status(pid, fd), 0)
        watcher.expect(f"INFO {name} disconnected")
        self.assertNotIn("Traceback", self.output)

    def test_server_going_away_then_ctrl_c_is_one_line_and_status_1(self) -> None:
        from support import ServerProcess

        server = ServerProcess()
        try:
            pid, fd = self.start("--user", unique_name(), port=server.port)
            self.wait_for_screen(fd, lambda lines: "OK" in lines)
            self.wait_for_prompt(fd)
            os.write(fd, b"half")
            self.wait_for_screen(fd, lambda lines: lines[-1] == "> half")
        finally:
            server.stop()
        self.wait_for_screen(fd, lambda lines: any(line.startswith("-- connection lost") for line in lines))
        os.write(fd, b"\x03")  # Ctrl+C ends the reconnecting (see test_terminal_client_history)
        self.assertEqual(self.exit_status(pid, fd), 1)
        lines = Screen(self.output).lines
        self.assertIn("INFO server-shutdown", lines)
        self.assertIn("test_client.py: the server closed the connection", lines)
        self.assertNotIn("Traceback", self.output)

    def test_a_hostile_server_cannot_drive_the_terminal(self) -> None:
        hostile = HostileServer(HOSTILE_LINE)
        self.addCleanup(hostile.close)
        pid, fd = self.start(port=hostile.port)
        self.wait_for_prompt(fd)
        os.write(fd, b"PING\r")
        self.wait_for_screen(fd, lambda lines: "PONG" in lines)  # sent after the hostile line
        self.assertIn(HOSTILE_LINE_SHOWN, self.output)
        for command in ("\x1b[2J", "\x1b]", "\x9b", "\u202e", "\u2028", "\x7f"):
            self.assertNotIn(command, self.output)
        self.wait_for_prompt(fd)
        os.write(fd, b"QUIT\r")
        self.assertEqual(self.exit_status(pid, fd), 0)
        self.assertIn("Goodbye!", Screen(self.output).lines)

    def test_colours_tell_line_kinds_apart(self) -> None:
        pid, fd, name = self.start_logged_in(colour=True)
        other = self.logged_in()
        other.send(f"DM {name} secret")
        os.write(fd, b"FROB\r")
        self.wait_for_screen(fd, lambda lines: err("unknown-command") in lines and f"DM {other.name} secret" in lines)
        self.assertIn(f"\x1b[1;35mDM {other.name} secret\x1b[0m", self.output)
        self.assertIn(f"\x1b[31m{err('unknown-command')}\x1b[0m", self.output)
        self.wait_for_prompt(fd)
        os.write(fd, b"\x04")
        self.assertEqual(self.exit_status(pid, fd), 0)


if __name__ == "__main__":
    unittest.main()
