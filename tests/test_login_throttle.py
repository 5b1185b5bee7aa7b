"""Unit tests of the login throttle (pure: the test passes the time)."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.login_throttle import Attempt, LoginThrottle, ThrottleLimits


def attempt(throttle: LoginThrottle, address: str, account: str, now: float, right: bool) -> bool:
    """One password, right or wrong; whether the throttle let it be checked at all."""
    started = throttle.begin(address, account, now)
    if started is not None:
        (throttle.succeeded if right else throttle.failed)(started, now)
    return started is not None


def fail(throttle: LoginThrottle, address: str, account: str, now: float) -> bool:
    return attempt(throttle, address, account, now, right=False)


def succeed(throttle: LoginThrottle, address: str, account: str, now: float) -> bool:
    return attempt(throttle, address, account, now, right=True)


class LoginThrottleTest(unittest.TestCase):
    def test_five_failures_then_one_every_twelve_seconds(self) -> None:
        throttle = LoginThrottle()
        self.assertEqual([fail(throttle, "10.0.0.1", "alice", 0.0) for _ in range(6)], [True] * 5 + [False])
        self.assertFalse(fail(throttle, "10.0.0.1", "alice", 11.9))
        self.assertTrue(fail(throttle, "10.0.0.1", "alice", 12.0))
        self.assertFalse(fail(throttle, "10.0.0.1", "alice", 12.0))
        self.assertEqual(sum(fail(throttle, "10.0.0.1", "alice", 12.0 + t) for t in range(6, 606, 6)), 50)

    def test_one_address_is_slow_whatever_the_accounts(self) -> None:
        throttle = LoginThrottle()
        tried = [fail(throttle, "10.0.0.1", f"user{n}", 0.0) for n in range(20)]
        self.assertEqual(tried, [True] * 5 + [False] * 15)
        self.assertTrue(fail(throttle, "10.0.0.2", "user9", 0.0))  # another address is not slowed

    def test_one_account_is_slow_from_all_addresses_together(self) -> None:
        throttle = LoginThrottle()
        tried = [fail(throttle, f"10.0.0.{n}", "alice", 0.0) for n in range(20)]
        self.assertEqual(tried, [True] * 5 + [False] * 15)
        self.assertTrue(fail(throttle, "10.0.0.19", "bob", 0.0))  # nor is another account

    def test_checks_under_way_count_before_they_finish(self) -> None:
        throttle = LoginThrottle()
        started = [throttle.begin("10.0.0.1", "alice", 0.0) for _ in range(8)]
        self.assertEqual(sum(attempt is not None for attempt in started), 5)

    def test_a_success_or_a_check_that_never_ran_gives_its_try_back(self) -> None:
        throttle = LoginThrottle()
        for _ in range(4):
            fail(throttle, "10.0.0.1", "alice", 0.0)
        attempt = throttle.begin("10.0.0.1", "alice", 0.0)
        assert attempt is not None
        throttle.cancelled(attempt, 0.0)  # the pool was busy
        self.assertTrue(succeed(throttle, "10.0.0.1", "alice", 0.0))
        self.assertTrue(fail(throttle, "10.0.0.1", "alice", 0.0))  # the fifth failure: earlier ones still count
        self.assertFalse(fail(throttle, "10.0.0.1", "alice", 0.0))

    def test_the_owner_is_not_locked_out_by_guesses_from_elsewhere(self) -> None:
        throttle = LoginThrottle()
        self.assertTrue(succeed(throttle, "192.0.2.7", "alice", 0.0))  # her usual address
        for n in range(20):
            fail(throttle, f"10.0.0.{n}", "alice", 1.0)
        self.assertFalse(fail(throttle, "10.0.0.99", "alice", 1.0))  # a new address: the account is throttled
        self.assertTrue(succeed(throttle, "192.0.2.7", "alice", 1.0))  # hers is known
        later = 2.0 + ThrottleLimits().known_for  # ... for a while: once forgotten, throttled as any other
        for n in range(5):
            fail(throttle, f"10.0.1.{n}", "alice", later)
        self.assertFalse(succeed(throttle, "192.0.2.7", "alice", later))

    def test_a_known_address_is_still_limited_as_an_address(self) -> None:
        throttle = LoginThrottle()
        succeed(throttle, "192.0.2.7", "alice", 0.0)
        self.assertEqual([fail(throttle, "192.0.2.7", "alice", 0.0) for _ in range(6)], [True] * 5 + [False])

    def test_an_account_remembers_only_its_last_addresses(self) -> None:
        throttle = LoginThrottle(ThrottleLimits(known_addresses=2))
        for n in range(3):
            succeed(throttle, f"192.0.2.{n}", "alice", float(n))
        for _ in range(5):
            fail(throttle, "10.0.0.1", "alice", 3.0)
        self.assertEqual([succeed(throttle, f"192.0.2.{n}", "alice", 3.0) for n in range(3)], [False, True, True])

    def test_forgiven_counters_are_dropped(self) -> None:
        throttle = LoginThrottle()
        fail(throttle, "10.0.0.1", "alice", 0.0)
        self.assertEqual(throttle.sizes(), (1, 1, 0))
        succeed(throttle, "10.0.0.1", "alice", 12.0)  # the failure is forgiven: its try came back
        self.assertEqual(throttle.sizes(), (0, 0, 1))

    def test_memory_is_bounded(self) -> None:
        throttle = LoginThrottle(ThrottleLimits(max_entries=100))
        for n in range(1000):
            fail(throttle, f"10.0.{n // 256}.{n % 256}", f"user{n}", float(n) / 1000)
        addresses, accounts, _ = throttle.sizes()
        self.assertLessEqual(max(addresses, accounts), 100)

    def test_flooding_the_table_does_not_reset_a_counter_that_failed_more(self) -> None:
        throttle = LoginThrottle(ThrottleLimits(max_entries=100))
        for _ in range(5):
            fail(throttle, "10.0.0.1", "alice", 0.0)  # the victim's account, throttled
        # Fresh names from fresh addresses, one failure each: ten times the table.
        for n in range(1000):
            fail(throttle, f"172.16.{n // 256}.{n % 256}", f"spray{n}", 0.0)
        self.assertFalse(fail(throttle, "10.0.0.2", "alice", 0.0))
        # The attacker's own address is not forgotten either.
        self.assertFalse(fail(throttle, "10.0.0.1", "someone", 0.0))

    def test_an_attempt_knows_what_it_took(self) -> None:
        throttle = LoginThrottle()
        self.assertEqual(throttle.begin("a", "alice", 0.0), Attempt("a", "alice", counted_on_account=True))


if __name__ == "__main__":
    unittest.main()
