"""Giving memory back: once per wave of frees, on a clock the test moves, with a fake malloc_trim."""

from __future__ import annotations

import sys
import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.server.memory import MEMORY_RELEASE_DELAY, MemoryRelease, find_malloc_trim
from manual_clock import ManualClock


class MemoryReleaseTest(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()
        self.trims: list[float] = []
        self.release = MemoryRelease(self.clock, lambda: self.trims.append(self.clock.now))

    def test_once_for_a_wave(self) -> None:
        start = self.clock.now
        with self.assertLogs("algokart_chat.server.memory", "DEBUG") as logs:
            for _ in range(3):
                self.release.soon()
                self.clock.advance(0.25)
            self.clock.advance(MEMORY_RELEASE_DELAY)
            self.release.soon()  # the next wave
            self.clock.advance(MEMORY_RELEASE_DELAY)
        self.assertEqual(self.trims, [start + MEMORY_RELEASE_DELAY, start + 0.75 + 2 * MEMORY_RELEASE_DELAY])
        self.assertEqual([record.getMessage() for record in logs.records], ["Gave free memory back to the system"] * 2)

    def test_nothing_without_malloc_trim(self) -> None:
        MemoryRelease(self.clock, None).soon()
        self.assertEqual(self.clock.pending, [])

    def test_stop(self) -> None:
        self.release.soon()
        self.release.stop()
        self.clock.advance(2 * MEMORY_RELEASE_DELAY)
        self.assertEqual(self.trims, [])

    @unittest.skipUnless(sys.platform.startswith("linux"), "glibc's")
    def test_malloc_trim_runs_here(self) -> None:
        malloc_trim = find_malloc_trim()
        if malloc_trim is None:
            self.skipTest("no malloc_trim in this C library (musl?)")
        malloc_trim()


if __name__ == "__main__":
    unittest.main()
