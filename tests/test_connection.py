"""The protocol-neutral connection in this process, over fake transports: the lifecycle, the output
written and judged against the send-buffer limits, and the backlogs clients share (the input
pump's own tests are in test_input_pump, the output queue's in test_output_queue).

Most tests drive it with a fake host and a fake session (no protocol at all), on a loop whose
clock the test moves, so that token holds end when the test says, never after a sleep; the last
ones run it with the chat session, as the server does.
"""

from __future__ import annotations

import unittest
from collections.abc import Callable

from support import FakeTransport, ManualClockLoop, RecordingSession

from algokart_chat.token_bucket import InputBudget, Rates
from algokart_chat.transport.connection import READ_SIZE, Connection, FlowLimits, SessionType
from algokart_chat.transport.output_queue import WRITE_CHUNK, WRITE_QUANTUM
from in_process import InProcessServer, connection, lines_of


class Counts:
    def __init__(self) -> None:
        self.lines_in = self.lines_out = self.throttled = 0

    def count_out(self, payload: bytes) -> None:
        self.lines_out += payload.count(b"\n")


class FakeHost:
    """A ConnectionHost that records what it is told and flushes when the test says."""

    def __init__(
        self,
        loop: ManualClockLoop,
        rate_limit: float = 0,
        burst: int = 100,
        send_buffer: int = 4096,
        rate_bytes: float = 0,
        byte_burst: int = 1 << 20,
    ) -> None:
        self.loop = loop
        limited = rate_limit or rate_bytes
        rates = Rates(rate_limit, burst, rate_bytes, byte_burst) if limited else None
        self.limits = FlowLimits(rates, send_buffer, send_buffer, 30.0)
        self.stats = Counts()
        self.read_buffer = memoryview(bytearray(READ_SIZE))
        self.refuse: str | None = None
        self.admitted: list[Connection] = []
        self.forgotten: list[Connection] = []
        self.registered: list[Connection] = []
        self.unflushed: list[Connection] = []
        self.watched: list[Connection] = []
        self.congested = 0
        self.dropped: list[str] = []
        self.shared_budget: InputBudget | None = None
        self.refusals: list[tuple[str, str]] = []

    def admit(self, connection: Connection) -> str | None:
        if self.refuse is None:
            self.admitted.append(connection)
        return self.refuse

    def address_budget(self, connection: Connection) -> InputBudget | None:
        return self.shared_budget

    def note_refusal(self, reason: str, peer: str) -> None:
        self.refusals.append((reason, peer))

    def forget(self, connection: Connection) -> bool:
        self.forgotten.append(connection)
        return connection in self.admitted

    def note_activity(self, connection: Connection) -> None:
        pass

    def note_registered(self, connection: Connection) -> None:
        self.registered.append(connection)

    def flush_soon(self, connection: Connection) -> None:
        self.unflushed.append(connection)

    def flush_first(self, connection: Connection) -> None:
        self.unflushed.insert(0, connection)

    def flush(self) -> None:
        unflushed, self.unflushed = self.unflushed, []
        for pending in unflushed:
            pending.flush()

    def watch(self, connection: Connection) -> None:
        if connection not in self.watched:
            self.watched.append(connection)

    def note_congested(self, congested: bool) -> None:
        self.congested += 1 if congested else -1

    def note_dropped(self, limit: str) -> None:
        self.dropped.append(limit)

    def release_memory_soon(self) -> None:
        pass


class FakeSession(RecordingSession):
    """A Session that records every call (``RecordingSession``) and every leave."""

    def __init__(self, connection: Connection) -> None:
        super().__init__()
        self.connection = connection
        self.leaving: list[tuple[str, Callable[[], None] | None]] = []

    def leave(self, reason: str, then: Callable[[], None] | None) -> None:
        self.leaving.append((reason, then))

    def farewell(self, reason: str) -> bytes | None:
        return None if reason == "closed" else b"bye: " + reason.encode() + b"\n"

    def idle(self) -> str | None:
        return "idle"

    def refusal(self, code: str) -> bytes:
        return b"refused: " + code.encode() + b"\n"


class ConnectionTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.loop = ManualClockLoop()
        self.addCleanup(self.loop.close)

    def open(
        self, host: FakeHost | None = None, max_line_bytes: int = 100, telnet: bool = True
    ) -> tuple[Connection, FakeSession, FakeTransport, FakeHost]:
        host = host or FakeHost(self.loop)
        sessions: list[FakeSession] = []

        def new_session(connection: Connection) -> FakeSession:
            sessions.append(FakeSession(connection))
            return sessions[-1]

        connection = Connection(host, SessionType("fake", max_line_bytes, telnet, True, new_session))
        transport = FakeTransport(self.loop, connection, ("127.0.0.1", 5000))
        connection.connection_made(transport)
        return connection, sessions[0], transport, host


class LifecycleTest(ConnectionTestCase):
    def test_close_waits_for_the_session_then_says_farewell_after_what_is_queued(self) -> None:
        connection, session, transport, host = self.open()
        connection.send(b"queued\n")
        connection.close("idle")
        self.assertTrue(connection.closing)
        connection.data_received(b"ignored\n")
        self.assertEqual(session.calls, [])
        connection.send(b"still sent\n")  # leaving: the session may still send
        ((reason, then),) = session.leaving
        self.assertEqual(reason, "idle")
        self.assertFalse(transport.closing)
        assert then is not None
        then()
        self.assertEqual(bytes(transport.written), b"queued\nstill sent\nbye: idle\n")
        self.assertTrue(transport.closing)
        self.loop.run_ready()  # asyncio: connection_lost
        self.assertEqual(host.forgotten, [connection])
        self.assertEqual([reason for reason, _ in session.leaving], ["idle", "idle"])
        connection.send(b"too late\n")
        self.assertEqual(host.unflushed, [connection])  # (the send before close), nothing more

    def test_end_of_file_while_held_keeps_the_transport_open_for_the_answer(self) -> None:
        connection, session, _, _ = self.open()
        session.on_line = lambda line: setattr(session, "ready", False)
        connection.data_received(b"ask\nlast")
        self.assertTrue(connection.eof_received())
        session.ready = True
        session.on_line = lambda line: None
        connection.resume()
        self.assertEqual(session.calls[-2:], ["last", "<read done>"])
        self.assertEqual([reason for reason, _ in session.leaving], ["closed"])

    def test_a_refused_connection_gets_the_sessions_refusal_and_is_closed(self) -> None:
        host = FakeHost(self.loop)
        host.refuse = "server-full"
        connection, session, transport, _ = self.open(host)
        self.assertEqual(bytes(transport.written), b"refused: server-full\n")
        self.assertTrue(transport.closing and connection.closing)
        self.loop.run_ready()
        self.assertEqual(session.leaving, [])  # never admitted: nothing to leave

    def test_an_http_request_ends_the_connection_and_nothing_after_it_runs(self) -> None:
        connection, session, transport, host = self.open()
        request = b"POST / HTTP/1.1\r\nHost: chat:4000\r\nContent-Type: text/plain\r\n\r\nLOGIN webvictim\r\nMSG hi\r\n"
        connection.data_received(request)
        connection.data_received(b"DM bob hi\r\n")
        self.assertEqual(session.calls, ["<read done>"])  # not one of its lines reached the session
        self.assertEqual(host.refusals, [("http-request", "127.0.0.1:5000")])
        ((reason, then),) = session.leaving
        self.assertEqual(reason, "http-request")  # (the session's farewell for it: real ones have none)
        assert then is not None
        then()
        self.assertTrue(transport.closing)

    def test_a_host_header_before_login_ends_the_connection_too(self) -> None:
        connection, session, _, host = self.open()
        connection.data_received(b"PING\nhost: 10.0.0.1\nLOGIN webvictim\n")
        self.assertEqual(session.calls, ["PING", "<read done>"])
        self.assertEqual([reason for reason, _ in session.leaving], ["http-request"])
        self.assertEqual(len(host.refusals), 1)

    def test_after_login_http_lines_are_the_sessions(self) -> None:
        connection, session, _, host = self.open()
        session.name = "alice"
        connection.data_received(b"GET / HTTP/1.1\nHost: x\n")
        self.assertEqual(session.calls, ["GET / HTTP/1.1", "Host: x", "<read done>"])
        self.assertEqual((session.leaving, host.refusals), ([], []))

    def test_registered_tells_the_host(self) -> None:
        connection, _, _, host = self.open()
        connection.mark_registered()
        self.assertEqual(host.registered, [connection])


class OutputTest(ConnectionTestCase):
    def test_what_one_iteration_queues_is_one_write(self) -> None:
        connection, _, transport, host = self.open()
        for line in (b"a\n", b"b\n", b"c\n"):
            connection.send(line)
        self.assertEqual(transport.writes, 0)
        host.flush()
        self.assertEqual((transport.writes, bytes(transport.written)), (1, b"a\nb\nc\n"))
        self.assertEqual(host.stats.lines_out, 3)

    def test_a_client_too_far_behind_is_reset_and_its_session_leaves(self) -> None:
        connection, session, transport, host = self.open(FakeHost(self.loop, send_buffer=1024))
        connection.pause_writing()
        shared = b"x" * 600 + b"\n"
        connection.send(shared)
        host.flush()
        self.assertFalse(transport.closing)
        connection.send(shared)
        host.flush()
        self.assertTrue(transport.closing)
        self.assertEqual(session.leaving, [("fell-behind", None)])
        self.assertEqual(host.dropped, ["hard"])


class LimitsTest(ConnectionTestCase):
    """Two limits, as Redis's client-output-buffer-limit: hard at once; soft, or no progress, for a while."""

    def behind(
        self, soft: int = 64 * 1024, hard: int = 1 << 20
    ) -> tuple[Connection, FakeSession, FakeTransport, FakeHost]:
        host = FakeHost(self.loop)
        host.limits = FlowLimits(None, hard, soft, 30.0)
        connection, session, transport, _ = self.open(host)
        transport.room = 4096  # the kernel takes 4 KiB, then the client stops reading
        return connection, session, transport, host

    def test_a_large_payload_is_written_in_slices_of_one_shared_object(self) -> None:
        connection, _, transport, host = self.behind()
        payload = b"x" * 100_000 + b"\n"
        connection.send(payload)
        host.flush()
        self.assertEqual(len(transport.written) + len(transport.waiting), WRITE_CHUNK)  # one chunk handed over
        self.assertEqual(connection.behind, len(payload) + 64 - 4096)  # the rest waits as a reference
        backlog = connection._backlog
        assert backlog is not None
        self.assertIs(next(iter(backlog)), payload)
        while transport.waiting or connection._backlog:
            transport.drain(WRITE_CHUNK)
        self.assertEqual(bytes(transport.written), payload)

    def test_over_the_soft_limit_for_its_seconds_while_reading_is_soft(self) -> None:
        connection, session, transport, host = self.behind(soft=32 * 1024)
        for _ in range(8):
            connection.send(b"y" * 8000 + b"\n")
        host.flush()
        self.assertEqual(host.watched, [connection])
        self.assertEqual(connection.overdue(self.loop.now), "ok")
        for _ in range(30):  # it reads a little every second, never enough to get under the limit
            self.loop.now += 1.0
            transport.drain(4096)
            connection.send(b"y" * 4000 + b"\n")
            host.flush()
        self.assertEqual(connection.overdue(self.loop.now), "soft")
        connection.drop("soft")
        self.assertEqual((host.dropped, session.leaving), (["soft"], [("fell-behind", None)]))

    def test_reading_nothing_for_the_seconds_is_stalled_even_under_the_soft_limit(self) -> None:
        connection, _, transport, host = self.behind()
        connection.send(b"z" * 10_000 + b"\n")
        host.flush()
        self.assertLess(connection.behind, 64 * 1024)
        self.loop.now += 29.9
        self.assertEqual(connection.overdue(self.loop.now), "ok")
        self.loop.now += 0.2
        self.assertEqual(connection.overdue(self.loop.now), "stalled")
        transport.drain(1 << 20)  # it read, after all
        self.assertIsNone(connection.overdue(self.loop.now))

    def test_a_client_whose_socket_keeps_up_but_whose_queue_is_long_waits_on_the_server(self) -> None:
        host = FakeHost(self.loop)
        host.limits = FlowLimits(None, 1 << 20, 16 * 1024, 30.0)  # congested from 4 KiB behind
        connection, _, transport, _ = self.open(host)
        connection.send(b"w" * (WRITE_QUANTUM + 8 * 1024))  # more than one loop turn writes
        host.flush()
        self.assertEqual(host.congested, 1)  # the socket took everything: the server is the slow one
        self.assertEqual(host.unflushed, [connection])  # and it writes the rest next turn
        host.flush()
        self.assertEqual(host.congested, 0)
        transport.room = 0
        connection.send(b"v" * (WRITE_QUANTUM + 8 * 1024))
        host.flush()
        self.assertEqual(host.congested, 0)  # a socket that is full: the client is the slow one


class BacklogTest(unittest.TestCase):
    def test_a_paused_transport_gets_shared_payloads_later_in_order(self) -> None:
        chat = InProcessServer("--rate-limit", "0", "--max-send-buffer", "4096")
        self.addCleanup(chat.close)
        first, second, sender = chat.connect("LOGIN first"), chat.connect("LOGIN second"), chat.connect("LOGIN s")
        chat.settle()
        for transport in (first, second):
            transport.protocol.pause_writing()  # what asyncio calls when the transport is full
        chat.send(sender, "MSG one")
        chat.settle()
        chat.send(sender, "MSG two")
        chat.settle()
        self.assertEqual(lines_of(first), ["OK"])
        # Both backlogs refer to the very same bytes: a client far behind costs references, not copies.
        first_backlog, second_backlog = (connection(transport)._backlog for transport in (first, second))
        assert first_backlog is not None and second_backlog is not None
        self.assertEqual([a is b for a, b in zip(first_backlog, second_backlog, strict=True)], [True, True])
        first.protocol.resume_writing()
        self.assertEqual(lines_of(first), ["OK", "MSG s one", "MSG s two"])
        self.assertEqual(lines_of(second), ["OK"])

    def test_a_client_too_far_behind_is_dropped_and_the_rest_keep_their_backlog(self) -> None:
        chat = InProcessServer("--rate-limit", "0", "--max-send-buffer", "4096")
        self.addCleanup(chat.close)
        slow, late, sender = chat.connect("LOGIN slow"), chat.connect("LOGIN late"), chat.connect("LOGIN s")
        chat.settle()
        slow.protocol.pause_writing()
        late.protocol.pause_writing()
        for number in range(30):  # 30 x ~110 bytes plus bookkeeping: more than 4096 behind
            chat.send(sender, f"MSG {number} {'x' * 100}")
            chat.settle()
            if number == 10:
                late.protocol.resume_writing()
        self.assertTrue(slow.closing)
        self.assertFalse(late.closing)
        received = lines_of(late)
        self.assertEqual(received.count("INFO slow disconnected"), 1)
        received.remove("INFO slow disconnected")
        self.assertEqual(received, ["OK"] + [f"MSG s {number} {'x' * 100}" for number in range(30)])


if __name__ == "__main__":
    unittest.main()
