"""Flow control's arithmetic, pure: the two input budgets together, and the verdicts on a client
behind (hard, soft, stalled, congested)."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.token_bucket import InputBudget, Rates
from algokart_chat.transport import flow_control
from algokart_chat.transport.flow_control import FlowLimits

NOW = 1000.0


class BudgetsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.own = InputBudget(Rates(10, 5, 1000, 800), NOW)
        self.address = InputBudget(Rates(20, 3, 1000, 2000), NOW)

    def test_no_budget_is_no_limit(self) -> None:
        self.assertEqual(flow_control.allowance((None, None), NOW), (None, None))
        self.assertFalse(flow_control.in_debt((None, None), NOW))
        self.assertEqual(flow_control.delay((None, None)), 0.0)
        flow_control.charge((None, None), 5, 500, NOW)  # nothing to charge: no error

    def test_the_lower_of_the_two_is_allowed(self) -> None:
        self.assertEqual(flow_control.allowance((self.own, self.address), NOW), (3, 800))
        self.assertEqual(flow_control.allowance((self.own, None), NOW), (5, 800))
        self.assertEqual(flow_control.allowance((None, self.address), NOW), (3, 2000))

    def test_a_charge_is_paid_by_both(self) -> None:
        flow_control.charge((self.own, self.address), 2, 100, NOW)
        self.assertEqual(flow_control.allowance((self.own, None), NOW), (3, 700))
        self.assertEqual(flow_control.allowance((None, self.address), NOW), (1, 1900))

    def test_in_debt_while_either_owes_until_the_later_repays(self) -> None:
        flow_control.charge((self.own, self.address), 4, 0, NOW)  # the address's budget owes 1 line
        self.assertTrue(flow_control.in_debt((self.own, self.address), NOW))
        self.assertEqual(flow_control.allowance((self.own, self.address), NOW), (0, 0))
        self.assertAlmostEqual(flow_control.delay((self.own, self.address)), 0.1)  # 2 lines at 20/s
        self.assertFalse(flow_control.in_debt((self.own, self.address), NOW + 0.06))
        self.assertEqual(flow_control.allowance((self.own, self.address), NOW + 0.11), (1, 800))


class SendLimitsTest(unittest.TestCase):
    limits = FlowLimits(None, hard_limit=1000, soft_limit=400, soft_seconds=30.0)

    def test_congested_from_a_quarter_of_the_soft_limit(self) -> None:
        self.assertEqual(self.limits.congestion_limit, 100)

    def test_overdue(self) -> None:
        overdue = self.limits.overdue
        self.assertIsNone(overdue(NOW, None, None))  # not behind
        self.assertEqual(overdue(NOW, NOW - 29.9, None), "ok")
        self.assertEqual(overdue(NOW, NOW - 30.0, None), "soft")
        self.assertEqual(overdue(NOW, None, NOW - 29.9), "ok")
        self.assertEqual(overdue(NOW, None, NOW - 30.0), "stalled")
        self.assertEqual(overdue(NOW, NOW - 30.0, NOW - 30.0), "soft")  # soft first

    def test_how_long_and_what_for(self) -> None:
        self.assertEqual(flow_control.seconds_over("hard", NOW, NOW - 5, NOW - 7), 0.0)
        self.assertEqual(flow_control.seconds_over("soft", NOW, NOW - 30.04, None), 30.0)
        self.assertEqual(flow_control.seconds_over("stalled", NOW, None, NOW - 31.26), 31.3)
        self.assertEqual(flow_control.seconds_over("stalled", NOW, None, None), 0.0)
        self.assertEqual(self.limits.broken("hard", 0.0), "over the hard limit of 1000 bytes")
        self.assertEqual(self.limits.broken("soft", 30.0), "over the soft limit of 400 bytes for 30 s")
        self.assertEqual(self.limits.broken("stalled", 31.3), "it read nothing for 31.3 s")


if __name__ == "__main__":
    unittest.main()
