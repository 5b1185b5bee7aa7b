"""The clock the server's parts see (server/clock.py), a narrow view of the event loop: asyncio's
loop has it, and so has the tests' ``ManualClock`` (tests/manual_clock.py), which behaves as the
loop does in what the parts rely on.  Each part driven by a ManualClock: test_deadlines,
test_output, test_stats, test_memory."""

from __future__ import annotations

import asyncio
import inspect
import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.server.clock import Clock, Timer
from manual_clock import ManualClock

METHODS = ("time", "call_soon", "call_at", "call_later")


def positional(function: object) -> list[str]:
    return [
        parameter.name
        for parameter in inspect.signature(function).parameters.values()  # type: ignore[arg-type]
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD) and parameter.name != "self"
    ]


class ViewTest(unittest.TestCase):
    def test_the_view_is_the_loop_s_four_methods_and_a_handle_s_cancel(self) -> None:
        self.assertEqual([name for name in METHODS if hasattr(Clock, name)], list(METHODS))
        self.assertTrue(hasattr(Timer, "cancel"))

    def test_the_event_loop_and_the_manual_clock_take_the_same_arguments(self) -> None:
        for name in METHODS:
            wanted = positional(getattr(Clock, name))
            for owner in (asyncio.AbstractEventLoop, ManualClock):
                with self.subTest(owner=owner.__name__, method=name):
                    self.assertEqual(positional(getattr(owner, name))[: len(wanted)], wanted)


class SameOrderTest(unittest.TestCase):
    """What the parts rely on, the same on a real loop and on the manual clock: callbacks soon run
    in order before timers, timers in time order, and a timer called off never runs."""

    def schedule(self, clock: Clock, ran: list[str]) -> None:
        now = clock.time()
        clock.call_at(now + 0.02, lambda: ran.append("at"))
        clock.call_later(0.01, lambda: ran.append("later"))
        clock.call_later(0.015, lambda: ran.append("off")).cancel()
        clock.call_soon(lambda: ran.append("soon 1"))
        clock.call_soon(lambda: ran.append("soon 2"))

    def test_manual_clock(self) -> None:
        clock, ran = ManualClock(), list[str]()
        self.schedule(clock, ran)
        clock.advance(0.05)
        self.assertEqual(ran, ["soon 1", "soon 2", "later", "at"])

    def test_event_loop(self) -> None:
        ran: list[str] = []

        async def main() -> None:
            loop = asyncio.get_running_loop()
            done = loop.create_future()
            self.schedule(loop, ran)
            loop.call_later(0.03, done.set_result, None)
            await done

        asyncio.run(main())
        self.assertEqual(ran, ["soon 1", "soon 2", "later", "at"])


if __name__ == "__main__":
    unittest.main()
