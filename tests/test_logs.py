"""Logs and commands an operator uses: log formats, peers, stats, refusals, start-up errors (the one
line a failed listen gives is built in main.py: test_main)."""

from __future__ import annotations

import ast
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import unittest

from support import (
    ENV_SETTINGS,
    LOG_LINE,
    ROOT,
    SERVER,
    SRC,
    TIMEOUT,
    Client,
    ServerProcess,
    ServerTestCase,
    err,
    run_server,
    unique_name,
)

from algokart_chat.logs import JsonFormatter, LogPipeline, TextFormatter, counted, fields, format_peer


def record(message: str, level: int = logging.INFO, extra: dict[str, object] | None = None) -> logging.LogRecord:
    made = logging.makeLogRecord({"msg": message, "levelno": level, "levelname": logging.getLevelName(level)})
    made.created = 1795515302.25  # 2026-11-24T10:15:02.250Z
    for key, value in (extra or {}).items():
        setattr(made, key, value)
    return made


class FormatTest(unittest.TestCase):
    def test_peers_are_host_colon_port(self) -> None:
        self.assertEqual(format_peer(("127.0.0.1", 5000)), "127.0.0.1:5000")
        self.assertEqual(format_peer(("::1", 5000)), "[::1]:5000")
        self.assertEqual(format_peer(None), "-")

    def test_text_lines_have_utc_time_and_level(self) -> None:
        self.assertEqual(TextFormatter().format(record("hello")), "2026-11-24T10:15:02Z INFO  hello")
        self.assertEqual(
            TextFormatter().format(record("careful", logging.WARNING)), "2026-11-24T10:15:02Z WARNING careful"
        )

    def test_json_lines_carry_event_and_fields(self) -> None:
        line = JsonFormatter().format(record("Login: zoë", extra=fields("login", user="zoë", peer="[::1]:4")))
        self.assertEqual(
            json.loads(line),
            {
                "time": "2026-11-24T10:15:02.250Z",
                "level": "INFO",
                "event": "login",
                "message": "Login: zoë",
                "user": "zoë",
                "peer": "[::1]:4",
            },
        )
        foreign = record("from another library")
        foreign.name = "asyncio"
        self.assertEqual(json.loads(JsonFormatter().format(foreign))["event"], "asyncio")  # its logger's name


class LogPipelineTest(unittest.TestCase):
    def setUp(self) -> None:
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level

        def restore() -> None:
            root.handlers[:] = handlers
            root.setLevel(level)

        self.addCleanup(restore)

    def test_everything_logged_is_written_before_stop_returns(self) -> None:
        read_end, write_end = os.pipe()
        with open(write_end, "w") as output, open(read_end, "rb") as reader:
            pipeline = LogPipeline(logging.INFO, False, output)
            for number in range(100):
                logging.getLogger("chat.test").info("line %d", number)
            self.assertTrue(pipeline.stop(deadline=5.0))
            output.close()
            lines = reader.read().decode().splitlines()
        self.assertEqual([LOG_LINE.sub(r"\g<message>", line) for line in lines], [f"line {n}" for n in range(100)])
        self.assertTrue(all(LOG_LINE.fullmatch(line) for line in lines))

    def test_a_stuck_output_never_blocks_the_caller(self) -> None:
        read_end, write_end = os.pipe()  # nobody reads: the pipe fills after ~64 KiB
        with open(write_end, "w") as output, open(read_end, "rb"):
            pipeline = LogPipeline(logging.INFO, False, output)
            for number in range(50_000):  # megabytes: far more than the pipe and the queue hold
                logging.getLogger("chat.test").info("line %d %s", number, "x" * 100)
            self.assertFalse(pipeline.stop(deadline=0.2))


class StuckStdoutTest(unittest.TestCase):
    def test_a_stdout_nobody_reads_stalls_nothing_and_sigterm_still_exits(self) -> None:
        environment = {k: v for k, v in os.environ.items() if k not in ENV_SETTINGS}
        command = [sys.executable, str(SERVER), "--port", "0", "--max-clients", "1", "--log-level", "debug"]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment)
        self.addCleanup(server.wait)
        self.addCleanup(server.kill)
        assert server.stdout is not None  # a PIPE
        self.addCleanup(server.stdout.close)
        started = None
        while started is None and (line := server.stdout.readline()):
            started = re.search(rb"started on port (\d+)", line)
        assert started is not None, "the server did not start"
        port = int(started.group(1))
        # From here on nobody reads the server's output: the pipe is full after about 64 KiB.
        with Client(port) as occupant:
            occupant.sync()
            for _ in range(1500):  # three debug lines each: about 200 KiB of log
                with Client(port) as refused:
                    self.assertEqual(refused.read_line(), err("server-full"))
            self.assertEqual(occupant.sync(), [])
            began = time.monotonic()
            server.send_signal(signal.SIGTERM)
            self.assertEqual(server.wait(TIMEOUT), 0)
        self.assertLess(time.monotonic() - began, 5.0)


class StartupFailureTest(unittest.TestCase):
    def test_port_in_use_is_one_line_and_status_1(self) -> None:
        with socket.create_server(("127.0.0.1", 0)) as taken:
            port = taken.getsockname()[1]
            result = run_server("--host", "127.0.0.1", "--port", str(port))
        self.assertEqual(result.returncode, 1)
        self.assertEqual(
            result.stderr,
            f"server.py: error: cannot listen on 127.0.0.1 port {port}: address already in use (another server?); "
            "change --port / PORT\n",
        )

    def test_a_missing_tls_file_is_one_line_and_status_1(self) -> None:
        missing = str(ROOT / "tests" / "tls" / "missing.crt")
        key = str(ROOT / "tests" / "tls" / "localhost.key")
        result = run_server("--port", "0", "--tls-port", "0", "--tls-cert", missing, "--tls-key", key)
        self.assertEqual(result.returncode, 1)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn(f"cannot read {missing}", result.stderr)
        self.assertIn("--tls-cert / TLS_CERT", result.stderr)


class TextLogTest(ServerTestCase):
    def test_every_line_has_time_and_level_and_users_are_named(self) -> None:
        with self.logged_in() as alice:
            alice.send("QUIT")
            alice.read_until_closed()
        self.server.wait_for_log(rf"^Login: {alice.name} from 127\.0\.0\.1:\d+$")
        self.server.wait_for_log(rf"^Leave: {alice.name} \(quit\)$")
        for line in self.server.raw_log:
            self.assertRegex(line, LOG_LINE)
        self.assertFalse([line for line in self.server.log if "New connection" in line])  # DEBUG only


class StatsLogTest(ServerTestCase):
    server_args = ("--stats-interval", "1", "--max-clients", "2")

    def test_stats_lines_count_and_refusals_are_summarised(self) -> None:
        first, second = self.logged_in(), self.logged_in()
        first.send("MSG hello")
        second.expect(f"MSG {first.name} hello")
        self.server.wait_for_log(
            r"^Stats: 2 connections, 2 users, [\d.]+ lines/s in, [\d.]+ lines/s out, 0 slow readers dropped "
            r"\(0 hard, 0 soft, 0 stalled\), 0 times a sender was throttled, \d+ refused$"
        )
        for _ in range(4):
            with self.connect() as refused:
                self.assertEqual(refused.read_until_closed(), [err("server-full")])
        # The first refusal gets a line of its own; the rest are counted into one line per interval.
        self.server.wait_until(lambda log: sum(map(refusals_in, log)) == 4)
        self.server.wait_until(lambda log: sum(map(refused_in_stats, log)) == 4)
        self.assertLess(len([line for line in self.server.log if line.startswith("Refused connection")]), 4)


def refusals_in(line: str) -> int:
    if line.startswith("Refused connection from 127.0.0.1:"):
        return 1
    summary = re.fullmatch(r"Refused (\d+) more connections? in the last 1 s: server-full", line)
    return int(summary.group(1)) if summary else 0


def refused_in_stats(line: str) -> int:
    stats = re.fullmatch(r"Stats: .* (\d+) refused", line)
    return int(stats.group(1)) if stats else 0


class JsonLogTest(ServerTestCase):
    server_args = ("--log-format", "json", "--log-level", "debug")

    def test_one_json_object_per_line_with_event_peer_and_user(self) -> None:
        name = unique_name()
        with self.connect() as client:
            client.login(name)
            port = client.sock.getsockname()[1]
            client.send("QUIT")
            client.read_until_closed()
        self.server.wait_for_log('"event": "disconnect"')
        events = [json.loads(line) for line in self.server.raw_log]
        self.assertTrue(all({"time", "level", "event", "message"} <= set(event) for event in events))
        self.assertIn(
            {"event": "login", "user": name, "peer": f"127.0.0.1:{port}"},
            [pick(e, "event", "user", "peer") for e in events],
        )
        self.assertIn(
            {"event": "leave", "user": name, "reason": "quit"}, [pick(e, "event", "user", "reason") for e in events]
        )
        self.assertEqual([event["event"] for event in events[:2]], ["listening", "started"])
        self.assertEqual(events[0]["protocol"], "line protocol")
        self.assertRegex(events[0]["addresses"][0], r" port \d+$")
        self.assertFalse([event for event in events if "selector" in event["message"].lower()])


class EveryLineNamedTest(unittest.TestCase):
    def test_a_whole_run_in_json_names_every_event(self) -> None:
        server = ServerProcess("--log-format", "json", "--log-level", "debug", "--stats-interval", "1")
        try:
            with server.client() as client:
                client.login()
                server.wait_for_log('"event": "stats"')
                server.stop(signal.SIGTERM)  # (with a user online: "Closing 1 connection (1 user)")
        finally:
            server.stop()
        events = [json.loads(line)["event"] for line in server.raw_log]
        self.assertNotIn("log", events)
        for event in (
            "listening",
            "started",
            "waiting",
            "connect",
            "login",
            "stats",
            "stopping",
            "shutdown",
            "stopped",
        ):
            self.assertIn(event, events)
        self.assertEqual(events[-1], "stopped")

    def test_every_log_call_in_the_server_names_its_event(self) -> None:
        """Read from the source: each ``log.<level>(...)`` in src/ passes ``extra=fields(event, ...)``."""
        unnamed = []
        for path in sorted(SRC.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "log"
                    and node.func.attr in ("debug", "info", "warning", "error", "exception", "critical")
                    and not any(keyword.arg == "extra" for keyword in node.keywords)
                ):
                    unnamed.append(f"{path.relative_to(SRC)}:{node.lineno}")
        self.assertEqual(unnamed, [])

    def test_counts_agree_with_their_nouns(self) -> None:
        self.assertEqual(counted(1, "connection"), "1 connection")
        self.assertEqual(counted(0, "user"), "0 users")
        self.assertEqual(counted(57, "more connection"), "57 more connections")


def pick(document: dict[str, object], *keys: str) -> dict[str, object]:
    return {key: document[key] for key in keys if key in document}


class DebugLogTest(unittest.TestCase):
    def test_debug_shows_connections_but_not_asyncio_chatter(self) -> None:
        server = ServerProcess("--log-level", "debug", env={"PYTHONASYNCIODEBUG": ""})
        try:
            with server.client() as client:
                client.sync()
                port = client.sock.getsockname()[1]
            server.wait_for_log(rf"^Connection closed: 127\.0\.0\.1:{port} \(closed\)$")
            self.assertIn(f"New connection from 127.0.0.1:{port}", server.log)
            self.assertFalse([line for line in server.log if "selector" in line.lower()], server.log)
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
