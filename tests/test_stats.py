"""The stats line and the refusal summaries, on a clock the test moves; what ``Stats`` counts."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.server.stats import COUNTED_PAYLOADS, REFUSAL_SUMMARY_SECONDS, Stats, StatsLog, stats_fields
from manual_clock import ManualClock

LOGGER = "algokart_chat.server.stats"


class StatsTest(unittest.TestCase):
    def test_a_payload_shared_by_many_is_counted_by_its_lines(self) -> None:
        stats = Stats()
        payloads = [f"MSG a {number}\nMSG a more\n".encode() for number in range(COUNTED_PAYLOADS + 1)]
        for payload in payloads:
            for _ in range(3):
                stats.count_out(payload)
        stats.count_out(payloads[0])  # (forgotten by now: counted again from its bytes)
        self.assertEqual(stats.lines_out, 2 * 3 * len(payloads) + 2)

    def test_fields(self) -> None:
        stats = Stats()
        stats.lines_in, stats.lines_out, stats.throttled, stats.refused = 30, 301, 2, 1
        stats.dropped.update(["hard", "soft", "soft"])
        self.assertEqual(
            stats_fields(stats, 10.0, connections=4, users=3),
            {
                "connections": 4,
                "users": 3,
                "lines_in_per_s": 3.0,
                "lines_out_per_s": 30.1,
                "slow_readers_dropped": 3,
                "dropped_hard": 1,
                "dropped_soft": 2,
                "dropped_stalled": 0,
                "throttled": 2,
                "refused": 1,
            },
        )


class StatsLogTest(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()

    def stats_log(self, interval: float) -> StatsLog:
        return StatsLog(self.clock, interval, lambda: (2, 1))

    def test_the_stats_line_sums_up_each_period(self) -> None:
        stats_log = self.stats_log(10)
        stats_log.start()
        first = stats_log.stats
        first.lines_in, first.lines_out = 5, 12
        first.dropped["stalled"] += 1
        with self.assertLogs(LOGGER, "INFO") as logs:
            self.clock.advance(10)
        line = (
            "Stats: 2 connections, 1 user, 0.5 lines/s in, 1.2 lines/s out, 1 slow reader dropped "
            "(0 hard, 0 soft, 1 stalled), 0 times a sender was throttled, 0 refused"
        )
        self.assertEqual([record.getMessage() for record in logs.records], [line])
        self.assertEqual(logs.records[0].__dict__["event"], "stats")
        self.assertIsNot(stats_log.stats, first)  # a new period
        self.assertEqual(self.clock.pending, [self.clock.now + 10])

    def test_no_stats_line_with_an_interval_of_0(self) -> None:
        self.stats_log(0).start()
        self.assertEqual(self.clock.pending, [])

    def test_a_refusal_is_logged_once_per_reason_then_counted(self) -> None:
        stats_log = self.stats_log(0)
        with self.assertLogs(LOGGER, "DEBUG") as logs:
            for port in range(3):
                stats_log.note_refusal("server-full", f"192.0.2.1:{port}")
            stats_log.note_refusal("too-many-connections", "192.0.2.2:1")
            self.clock.advance(REFUSAL_SUMMARY_SECONDS)
            stats_log.note_refusal("server-full", "192.0.2.1:9")  # still refusing: counted
            self.clock.advance(REFUSAL_SUMMARY_SECONDS)
            self.clock.advance(REFUSAL_SUMMARY_SECONDS)  # (a quiet period: the timer stops)
        self.assertEqual(
            [(record.levelname, record.getMessage()) for record in logs.records],
            [
                ("WARNING", "Refused connection from 192.0.2.1:0: server-full"),
                ("DEBUG", "Refused connection from 192.0.2.1:1: server-full"),
                ("DEBUG", "Refused connection from 192.0.2.1:2: server-full"),
                ("WARNING", "Refused connection from 192.0.2.2:1: too-many-connections"),
                ("WARNING", "Refused 2 more connections in the last 60 s: server-full"),
                ("DEBUG", "Refused connection from 192.0.2.1:9: server-full"),
                ("WARNING", "Refused 1 more connection in the last 60 s: server-full"),
            ],
        )
        self.assertEqual(stats_log.stats.refused, 5)
        self.assertEqual(self.clock.pending, [])

    def test_summaries_come_with_the_stats_interval_when_there_is_one(self) -> None:
        stats_log = self.stats_log(5)
        with self.assertLogs(LOGGER, "WARNING") as logs:
            stats_log.note_refusal("server-full", "192.0.2.1:0")
            stats_log.note_refusal("server-full", "192.0.2.1:1")
            self.clock.advance(5)
        self.assertEqual(logs.records[-1].getMessage(), "Refused 1 more connection in the last 5 s: server-full")

    def test_stop(self) -> None:
        stats_log = self.stats_log(10)
        stats_log.start()
        with self.assertLogs(LOGGER, "WARNING"):
            stats_log.note_refusal("server-full", "192.0.2.1:0")
        stats_log.stop()
        self.assertEqual(self.clock.pending, [])


if __name__ == "__main__":
    unittest.main()
