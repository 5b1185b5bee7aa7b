"""Unit tests of the token bucket (pure arithmetic: the caller passes the time)."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.token_bucket import UNLIMITED, InputBudget, Rates, TokenBucket


class TokenBucketTest(unittest.TestCase):
    def test_burst_then_rate(self) -> None:
        bucket = TokenBucket(rate=10, burst=3, now=0.0)
        self.assertEqual(bucket.available(0.0), 3)
        self.assertTrue(bucket.charge(3, 0.0))
        self.assertEqual(bucket.available(0.0), 0)
        self.assertAlmostEqual(bucket.delay(), 0.1)
        self.assertEqual(bucket.available(0.05), 0)
        self.assertEqual(bucket.available(0.1 + 1e-9), 1)

    def test_charge_goes_into_debt_and_repays_at_the_rate(self) -> None:
        bucket = TokenBucket(rate=10, burst=5, now=0.0)
        self.assertFalse(bucket.charge(25, now=0.0))  # 5 - 25 = 20 tokens owed
        self.assertAlmostEqual(bucket.delay(), 2.1)
        self.assertEqual(bucket.available(2.0), 0)
        self.assertEqual(bucket.available(2.1 + 1e-9), 1)

    def test_in_debt_until_the_rate_has_repaid_it(self) -> None:
        bucket = TokenBucket(rate=10, burst=5, now=0.0)
        bucket.charge(7, now=0.0)  # 2 owed
        self.assertTrue(bucket.in_debt(0.1))
        self.assertFalse(bucket.in_debt(0.2 + 1e-9))  # (asked later, it has refilled meanwhile)

    def test_never_more_than_the_burst(self) -> None:
        bucket = TokenBucket(rate=100, burst=2, now=0.0)
        self.assertEqual(bucket.available(1000.0), 2)


class RoundingTest(unittest.TestCase):
    def test_a_balance_a_hair_under_a_whole_number_is_that_number(self) -> None:
        # 0.1 a second for 0.005 s, then for 9.995 s: 1 token, 0.9999999999999999 in floats
        budget = InputBudget(Rates(0.1, 10, 0, 0), 0.0)
        budget.charge(10, 0, 0.0)
        budget.available(0.005)
        self.assertEqual(budget.available(10.0), (1, UNLIMITED))
        budget.charge(1, 0, 10.0)
        self.assertFalse(budget.in_debt(10.0))
        bucket = TokenBucket(0.1, 10, 0.0)
        bucket.charge(10, 0.0)
        bucket.available(0.005)
        self.assertEqual(bucket.available(10.0), 1)
        self.assertTrue(bucket.charge(1, 10.0))
