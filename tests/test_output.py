"""The output scheduler: flush turns and slices, replies first, pushback and the senders that wait,
the clients behind; on a clock the test moves with fake connections, then in a server in this
process.  Over real sockets: test_output_end_to_end."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.server.output import FLUSH_SLICE, TURN_FAN_OUT, OutputScheduler
from in_process import InProcessServer, lines_of
from manual_clock import ManualClock


class Fake:
    """A connection that notes in ``events`` when it is flushed and resumed."""

    def __init__(self, name: str, events: list[str]) -> None:
        self.name, self.events = name, events
        self.verdict: str | None = "ok"
        self.dropped: list[str] = []

    def flush(self) -> None:
        self.events.append(f"flush {self.name}")

    def resume(self) -> None:
        self.events.append(f"resume {self.name}")

    def overdue(self, now: float) -> str | None:
        return self.verdict

    def drop(self, limit: str) -> None:
        self.dropped.append(limit)


class SchedulerTest(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()
        self.events: list[str] = []
        self.output: OutputScheduler[Fake] = OutputScheduler(self.clock, lambda: self.events.append("pass done"))

    def fakes(self, count: int, prefix: str = "c") -> list[Fake]:
        return [Fake(f"{prefix}{number}", self.events) for number in range(count)]

    def test_one_callback_per_turn_and_a_slice_per_callback(self) -> None:
        connections = self.fakes(FLUSH_SLICE + 10)
        for connection in connections:
            self.output.flush_soon(connection)
        self.assertEqual(self.clock.turn(), 1)  # one callback for them all: the first slice
        self.assertEqual(len(self.events), FLUSH_SLICE)
        self.assertTrue(self.output.writing)
        self.assertEqual(self.clock.turn(), 1)  # (the loop read in between)
        self.assertEqual(self.events[-1], "pass done")
        self.assertEqual(self.events[:-1], [f"flush c{number}" for number in range(FLUSH_SLICE + 10)])
        self.assertFalse(self.output.writing)
        self.assertEqual(self.clock.turn(), 0)

    def test_a_reply_is_written_ahead_of_the_pass(self) -> None:
        for connection in self.fakes(FLUSH_SLICE + 10):
            self.output.flush_soon(connection)
        self.clock.turn()
        self.output.flush_first(Fake("asker", self.events))
        self.events.clear()
        self.clock.settle()
        self.assertEqual(self.events[:2], ["flush asker", f"flush c{FLUSH_SLICE}"])

    def test_senders_wait_while_a_client_waits_on_the_server_then_go_on_in_turn(self) -> None:
        first, second = self.fakes(2, "sender")
        self.output.note_congested(True)
        self.assertFalse(self.output.fan_out_allowed())
        self.output.when_fan_out_allowed(first.resume)
        self.output.when_fan_out_allowed(second.resume)
        self.clock.settle()
        self.assertEqual(self.events, [])
        self.output.note_congested(False)
        self.clock.settle()
        self.assertEqual(self.events, ["pass done", "resume sender0", "resume sender1"])

    def test_senders_wait_for_the_write_pass(self) -> None:
        for connection in self.fakes(FLUSH_SLICE + 1):
            self.output.flush_soon(connection)
        self.clock.turn()
        self.assertFalse(self.output.fan_out_allowed())
        sender = Fake("sender", self.events)
        self.output.when_fan_out_allowed(sender.resume)
        self.clock.settle()
        self.assertEqual(self.events[FLUSH_SLICE + 1 : FLUSH_SLICE + 3], ["pass done", "resume sender"])

    def test_a_turns_fan_out_is_limited_and_the_rest_wait_their_turn(self) -> None:
        first, second = self.fakes(2, "sender")

        def resume_first() -> None:
            first.resume()
            self.output.note_fan_out(TURN_FAN_OUT)  # it fans out a turn's worth

        self.output.note_fan_out(TURN_FAN_OUT)
        self.assertFalse(self.output.fan_out_allowed())
        self.output.when_fan_out_allowed(resume_first)
        self.output.when_fan_out_allowed(second.resume)
        self.clock.turn()  # the turn ends: the count starts again
        self.assertEqual(self.events, ["pass done", "resume sender0"])
        self.assertFalse(self.output.fan_out_allowed())
        self.clock.turn()
        self.assertEqual(self.events[-1], "resume sender1")
        self.assertTrue(self.output.fan_out_allowed())

    def test_clients_behind_are_judged_until_they_are_not(self) -> None:
        keeping_up, behind, stalled = self.fakes(3)
        for connection in (keeping_up, behind, stalled):
            self.output.watch(connection)
        stalled.verdict = "stalled"
        self.assertTrue(self.output.judge_behind(0.0))
        self.assertEqual((keeping_up.dropped, behind.dropped, stalled.dropped), ([], [], ["stalled"]))
        keeping_up.verdict = None
        self.output.forget(stalled)
        self.assertTrue(self.output.judge_behind(1.0))
        behind.verdict = None
        self.assertFalse(self.output.judge_behind(2.0))

    def test_a_connection_gone_is_not_resumed(self) -> None:
        gone, staying = self.fakes(2)
        self.output.note_congested(True)
        self.output.when_fan_out_allowed(gone.resume)
        self.output.when_fan_out_allowed(staying.resume)
        self.output.forget(gone)
        self.output.note_congested(False)
        self.clock.settle()
        self.assertEqual(self.events, ["pass done", "resume c1"])


class PushbackTest(unittest.TestCase):
    """While the server is behind on a client that keeps up, MSG waits; PING and guests do not."""

    def test_a_sender_waits_while_a_reader_waits_on_the_server_and_goes_on_after(self) -> None:
        flags = ("--rate-limit", "0", "--rate-limit-bytes", "0", "--send-buffer-soft", "16384")
        chat = InProcessServer(*flags)
        self.addCleanup(chat.close)
        reader, sender = chat.connect("LOGIN reader"), chat.connect("LOGIN sender")
        chat.settle()
        # 400 KB in one read: the reader's socket takes all it is given, 64 KiB a loop turn.
        chat.send(sender, *[f"MSG {number} {'x' * 8000}" for number in range(50)])
        chat.settle(1)
        chat.send(sender, "MSG after", "PING")
        self.assertFalse(sender.reading)  # its MSG waits: the server is behind on the reader
        guest = chat.connect("PING")
        chat.settle(1)
        self.assertEqual(lines_of(guest), ["PONG"])  # served at once meanwhile
        self.assertFalse(sender.reading)
        chat.settle(12)
        self.assertTrue(sender.reading)
        received = lines_of(reader)
        self.assertEqual(len(received), 1 + 50 + 1)
        self.assertEqual(received[-1], "MSG sender after")  # in order, none lost
        self.assertEqual(lines_of(sender), ["OK", "PONG"])


if __name__ == "__main__":
    unittest.main()
