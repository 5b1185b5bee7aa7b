"""The input pump with fakes around it: lines framed only as far as the budgets pay, held while the
session cannot take more, in order, nothing dropped; and, with the whole server, that a hostile
read costs no more work than its tokens pay for.

The fake connection is its own session, and records every call in one list, so a test reads as
the sequence of what happened; the loop's clock moves only when the test moves it.  Over real
sockets: test_input_pump_end_to_end.
"""

from __future__ import annotations

import unittest

from support import ManualClockLoop, RecordingSession

from algokart_chat.framing import LineReader
from algokart_chat.token_bucket import InputBudget, Rates
from algokart_chat.transport.input_pump import InputPump
from in_process import InProcessServer, connection


class Counts:
    def __init__(self) -> None:
        self.lines_in = self.throttled = 0


class Host:
    def __init__(self, loop: ManualClockLoop) -> None:
        self.loop = loop
        self.stats = Counts()


class RecordingConnection(RecordingSession):
    """A PumpedConnection that is its own InputSession: ``calls`` is everything either was told."""

    def __init__(self) -> None:
        super().__init__()
        self.session = self
        self.closing = False
        self.reading = True
        self.lines_at: list[float] = []

    # the connection's half
    def note_line(self, now: float) -> None:
        self.lines_at.append(now)

    def send(self, data: bytes) -> None:
        self.calls.append(f"<send {data!r}>")

    def close(self, reason: str = "closed") -> None:
        self.calls.append(f"<close {reason}>")
        self.closing = True

    def end_refused(self, reason: str) -> None:
        self.calls.append(f"<refused {reason}>")
        self.closing = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True


class InputPumpTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.loop = ManualClockLoop()
        self.addCleanup(self.loop.close)
        self.host = Host(self.loop)

    def pump(
        self,
        rates: Rates | None = None,
        shared: InputBudget | None = None,
        max_line_bytes: int = 100,
        telnet: bool = True,
    ) -> tuple[InputPump, RecordingConnection]:
        owner = RecordingConnection()
        pump = InputPump(owner, self.host, LineReader(max_line_bytes, telnet, True))
        pump.start(InputBudget(rates, self.loop.time()) if rates is not None else None, shared)
        return pump, owner

    def later(self, seconds: float) -> None:
        self.loop.now += seconds
        self.loop.run_ready()


class LinesTest(InputPumpTestCase):
    def test_lines_reach_the_session_in_order_blank_ones_do_not(self) -> None:
        pump, owner = self.pump()
        pump.feed(b"one\n\n  two \r\nthr")
        pump.feed(b"ee\n")
        self.assertEqual(owner.calls, ["one", "two", "<read done>", "three", "<read done>"])
        self.assertEqual(self.host.stats.lines_in, 4)  # the blank line counts as a line in
        self.assertEqual(owner.lines_at, [1000.0] * 4)  # every complete line is activity

    def test_a_long_line_and_telnet_refusals(self) -> None:
        pump, owner = self.pump(max_line_bytes=10)
        pump.feed(b"x" * 20 + b"\nok\xff\xfd\x06\n")
        self.assertEqual(owner.calls, ["<too long>", "<send b'\\xff\\xfc\\x06'>", "ok", "<read done>"])

    def test_without_telnet_0xff_is_text(self) -> None:
        pump, owner = self.pump(telnet=False)
        pump.feed(b"a\xff\xfd\x06\n")
        self.assertEqual(owner.calls, ["a\ufffd\ufffd\x06", "<read done>"])

    def test_an_http_request_before_login_ends_it_and_nothing_after_runs(self) -> None:
        pump, owner = self.pump()
        pump.feed(b"PING\nPOST / HTTP/1.1\r\nLOGIN webvictim\r\nMSG hi\r\n")
        self.assertEqual(owner.calls, ["PING", "<refused http-request>", "<read done>"])

    def test_after_login_http_lines_are_the_sessions(self) -> None:
        pump, owner = self.pump()
        owner.name = "alice"
        pump.feed(b"GET / HTTP/1.1\nHost: x\n")
        self.assertEqual(owner.calls, ["GET / HTTP/1.1", "Host: x", "<read done>"])

    def test_end_of_file_closes_once_everything_is_handled(self) -> None:
        pump, owner = self.pump()
        pump.feed(b"one\nlast")
        pump.finish()
        self.assertEqual(owner.calls, ["one", "<read done>", "last", "<read done>", "<close closed>"])


class HoldsTest(InputPumpTestCase):
    def test_a_session_that_cannot_take_input_holds_it_in_order(self) -> None:
        pump, owner = self.pump()
        owner.on_line = lambda line: setattr(owner, "ready", False)  # it takes one line, then waits
        pump.feed(b"wait\nsecond\n\xff\xfd\x06third\n")
        self.assertEqual(owner.calls, ["wait", "<read done>"])
        self.assertFalse(owner.reading)
        pump.feed(b"fourth\n")  # a read already under way when reading paused
        self.assertEqual(owner.calls, ["wait", "<read done>"])
        pump.resume()  # the session said it was ready, but is not yet: it stays held
        self.assertEqual(owner.calls[2:], ["<read done>"])
        self.assertFalse(owner.reading)
        owner.ready = True
        owner.on_line = lambda line: None
        pump.resume()
        self.assertEqual(owner.calls[3:], ["second", "<send b'\\xff\\xfc\\x06'>", "third", "fourth", "<read done>"])
        self.assertTrue(owner.reading)
        self.assertEqual(self.host.stats.throttled, 0)  # a session's hold is not throttling

    def test_a_line_the_session_declines_is_offered_again_on_resume(self) -> None:
        pump, owner = self.pump()
        owner.not_now = "first"
        pump.feed(b"first\nsecond\n")
        self.assertEqual((owner.calls, owner.reading), (["first", "<read done>"], False))
        pump.resume()
        self.assertEqual(owner.calls[2:], ["first", "second", "<read done>"])
        self.assertTrue(owner.reading)
        self.assertEqual(self.host.stats.lines_in, 2)  # framed and counted once

    def test_out_of_tokens_reading_waits_for_the_next_token(self) -> None:
        pump, owner = self.pump(Rates(10, 2, 0, 0))
        pump.feed(b"a\nb\nc\nd\n")
        self.assertEqual(owner.calls, ["a", "b", "<read done>"])
        self.assertEqual((owner.reading, self.host.stats.throttled), (False, 1))
        self.later(0.05)  # half a token
        self.assertEqual(owner.calls, ["a", "b", "<read done>"])
        self.later(0.051)
        self.assertEqual(owner.calls[3:], ["c", "<read done>"])
        self.later(0.101)
        self.assertEqual(owner.calls[5:], ["d", "<read done>"])
        self.assertTrue(owner.reading)

    def test_an_address_budget_is_shared_by_its_connections(self) -> None:
        shared = InputBudget(Rates(10, 3, 0, 0), self.loop.time())
        first, first_owner = self.pump(Rates(10, 10, 0, 0), shared)
        second, second_owner = self.pump(Rates(10, 10, 0, 0), shared)
        first.feed(b"a\nb\n")
        second.feed(b"c\nd\n")
        self.assertEqual(first_owner.calls, ["a", "b", "<read done>"])
        self.assertEqual(second_owner.calls, ["c", "<read done>"])  # the address had one line left
        self.assertFalse(second_owner.reading)
        self.later(0.101)
        self.assertEqual(second_owner.calls[2:], ["d", "<read done>"])

    def test_a_costly_line_puts_the_next_ones_in_debt(self) -> None:
        pump, owner = self.pump(Rates(10, 10, 0, 0))
        owner.on_line = lambda line: pump.charge(9) if line == "costly" else None
        pump.feed(b"costly\nnext\n")
        self.assertEqual(owner.calls, ["costly", "<read done>"])  # 2 paid, 9 more charged: 1 owed
        self.assertFalse(owner.reading)
        self.later(0.201)  # repaid, and a token more
        self.assertEqual(owner.calls[2:], ["next", "<read done>"])

    def test_end_of_file_while_held_waits_for_the_session(self) -> None:
        pump, owner = self.pump()
        owner.not_now = "ask"  # declined now: offered again on resume
        pump.feed(b"ask\nlast")
        pump.finish()
        self.assertEqual(owner.calls, ["ask", "<read done>"])  # not closed: the answer is owed
        pump.resume()
        self.assertEqual(owner.calls[2:], ["ask", "last", "<read done>", "<close closed>"])

    def test_nothing_more_is_handled_once_the_connection_closes(self) -> None:
        pump, owner = self.pump(Rates(10, 1, 0, 0))
        pump.feed(b"a\nb\n")
        owner.closing = True
        self.later(1.0)
        self.assertEqual(owner.calls, ["a", "<read done>"])
        self.assertFalse(owner.reading)


class TelnetCostTest(unittest.TestCase):
    """One read never does more work than the connection's tokens pay for (default limits)."""

    def assert_paced(self, attack: bytes) -> None:
        chat = InProcessServer()
        self.addCleanup(chat.close)
        attacker = chat.connect()
        handler = connection(attacker)
        reads = 0
        while attacker.reading and reads < 8:  # 256 KiB reads, as asyncio's largest
            handler.data_received(attack if reads == 0 else attack.lstrip(b"\xff\xfa\x18"))
            reads += 1
        self.assertFalse(attacker.reading)  # throttled: TCP now pushes back on the attacker
        self.assertTrue(handler._input.reader.pending)  # the rest waits, unparsed, for tokens
        budget = handler._input._budget
        assert budget is not None
        self.assertLessEqual(budget.delay(), 1.0)  # it parsed what the burst paid for, no more

    def test_a_read_full_of_iac_nop(self) -> None:
        self.assert_paced(b"\xff\xf1" * 131072)

    def test_an_endless_subnegotiation(self) -> None:
        self.assert_paced(b"\xff\xfa\x18" + b"s" * 262141)  # 32 lines' worth per read


if __name__ == "__main__":
    unittest.main()
