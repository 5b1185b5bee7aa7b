"""The live connections in deadline order: the idle and login time-outs, on a clock the test moves,
with fake connections."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.server.deadlines import LiveConnections, expire_due
from manual_clock import ManualClock


class Quiet:
    """A fake connection: it ends when told to, or (``patient``) takes another idle period."""

    def __init__(self, live: LiveConnections[Quiet], clock: ManualClock, patient: bool = False) -> None:
        self.live, self.clock, self.patient = live, clock, patient
        self.connected_at = self.last_line_at = clock.time()
        self.closing = False
        self.ended: list[str] = []
        self.idled = 0

    def line(self) -> None:
        self.last_line_at = self.clock.time()
        self.live.note_activity(self)

    def close(self, reason: str) -> None:
        self.closing = True
        self.ended.append(reason)

    def idle(self) -> None:
        self.idled += 1
        if self.patient:
            self.line()
        else:
            self.close("idle")


class DeadlinesTest(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = ManualClock(now=0.0)

    def live(self, idle_timeout: float = 0, login_timeout: float = 0) -> LiveConnections[Quiet]:
        return LiveConnections(self.clock, idle_timeout, login_timeout)

    def connect(self, live: LiveConnections[Quiet], at: float, patient: bool = False) -> Quiet:
        self.clock.advance(at - self.clock.now)
        connection = Quiet(live, self.clock, patient)
        live.add(connection)
        return connection

    def test_the_quietest_expires_first_under_one_timer(self) -> None:
        live = self.live(idle_timeout=60)
        a, b, c = (self.connect(live, at) for at in (0, 10, 20))
        self.assertEqual(self.clock.pending, [60])  # one timer, whatever the count
        self.clock.advance(10)  # (at 30)
        a.line()
        self.assertEqual(list(live), [b, c, a])
        self.clock.advance(45)  # (at 75)
        self.assertEqual((a.ended, b.ended, c.ended), ([], ["idle"], []))
        self.assertEqual(self.clock.pending, [80])
        self.clock.advance(20)  # (at 95)
        self.assertEqual((a.ended, c.ended), (["idle"], ["idle"]))

    def test_a_session_may_give_another_period(self) -> None:
        live = self.live(idle_timeout=60)
        patient = self.connect(live, 0, patient=True)
        self.clock.advance(61)
        self.assertEqual((patient.idled, patient.ended), (1, []))
        self.assertEqual(self.clock.pending, [120])

    def test_expired_and_still_closing_are_looked_at_again_a_period_later(self) -> None:
        live = self.live(idle_timeout=60)
        slow = self.connect(live, 0)
        self.clock.advance(60)
        self.assertEqual(slow.ended, ["idle"])
        self.assertEqual(self.clock.pending, [120])  # still live (closing): another look then
        self.clock.advance(60)
        self.assertEqual((slow.idled, slow.ended), (1, ["idle"]))  # (not asked twice)
        self.assertTrue(live.remove(slow))
        self.clock.advance(60)
        self.assertEqual(self.clock.pending, [])

    def test_guests_expire_in_connection_order_whatever_they_send(self) -> None:
        live = self.live(login_timeout=30)
        guest, member, talker = (self.connect(live, at) for at in (0, 10, 20))
        live.note_registered(member)
        self.clock.advance(5)  # (at 25)
        talker.line()  # a guest's lines do not move its deadline
        self.clock.advance(5)  # (at 30)
        self.assertEqual(guest.ended, ["login-timeout"])
        self.assertEqual(self.clock.pending, [50])
        self.clock.advance(20)  # (at 50)
        self.assertEqual((member.ended, talker.ended), ([], ["login-timeout"]))
        self.assertEqual(self.clock.pending, [])

    def test_membership_and_stop(self) -> None:
        live = self.live(idle_timeout=60, login_timeout=30)
        first = self.connect(live, 0)
        stranger = Quiet(live, self.clock)
        self.assertIn(first, live)
        self.assertNotIn(stranger, live)
        self.assertFalse(live.remove(stranger))
        self.assertEqual(len(live), 1)
        live.stop()
        self.assertEqual(self.clock.pending, [])
        self.clock.advance(100)
        self.assertEqual(first.ended, [])

    def test_no_timeouts_no_timers(self) -> None:
        live = self.live()
        self.connect(live, 0)
        self.assertEqual(self.clock.pending, [])


class ExpireDueTest(unittest.TestCase):
    def test_only_the_expired_are_looked_at(self) -> None:
        deadlines = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 5.0}
        asked: list[str] = []
        expired: list[str] = []

        def deadline_of(name: str) -> float:
            asked.append(name)
            return deadlines[name]

        in_order = dict.fromkeys(deadlines)
        self.assertEqual(expire_due(in_order, deadline_of, expired.append, now=2.0), 3.0)
        self.assertEqual((expired, asked), (["a", "b"], ["a", "b", "c"]))
        self.assertIsNone(expire_due(in_order, deadline_of, expired.append, now=9.0))


if __name__ == "__main__":
    unittest.main()
