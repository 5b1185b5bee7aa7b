"""Unit tests of the password checks: scrypt in the pool, the bound, the throttle, unknown names."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import unittest
from unittest import mock

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.accounts import DEFAULT_PARAMS, Account, Accounts, PasswordHash, ScryptParams, hash_password
from algokart_chat.login_throttle import LoginThrottle
from algokart_chat.password_checks import (
    NICENESS,
    CheckResult,
    Logins,
    LoginStep,
    Outcome,
    PasswordChecks,
    login_step,
)

FAST = ScryptParams(n=16, r=1, p=1)
VERIFY = "algokart_chat.password_checks.verify_password"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class PasswordChecksTest(unittest.IsolatedAsyncioTestCase):
    def setUp(self) -> None:
        self.alice = Account("alice", hash_password("right", FAST), frozenset({"op"}))
        self.accounts = Accounts([self.alice])
        self.clock = Clock()

    def checks(self, workers: int = 2, waiting: int = 4) -> PasswordChecks:
        checks = PasswordChecks(lambda: self.accounts, workers=workers, waiting=waiting, clock=self.clock)
        self.addCleanup(checks.close)
        return checks

    async def test_the_right_password_any_spelling_of_the_name(self) -> None:
        checks = self.checks()
        self.assertEqual(await checks.check("alice", "right", "10.0.0.1"), CheckResult(Outcome.OK, self.alice))
        result = await checks.check("ALICE", "right", "10.0.0.1")
        self.assertTrue(result.ok)
        self.assertEqual(result.account, self.alice)
        self.assertEqual(await checks.check("alice", "wrong", "10.0.0.1"), CheckResult(Outcome.WRONG))

    async def test_scrypt_runs_in_the_pool_not_the_event_loop(self) -> None:
        threads = []

        def verify(password: str, stored: PasswordHash) -> bool:
            threads.append(threading.current_thread())
            return False

        with mock.patch(VERIFY, verify):
            await self.checks().check("alice", "x", "10.0.0.1")
        self.assertEqual(len(threads), 1)
        self.assertIsNot(threads[0], threading.current_thread())
        self.assertTrue(threads[0].name.startswith("password-check"))

    @unittest.skipUnless(sys.platform.startswith("linux"), "a thread's own niceness is Linux's")
    async def test_the_pool_runs_below_the_event_loop_s_priority(self) -> None:
        niceness: list[int] = []

        def verify(password: str, stored: PasswordHash) -> bool:
            niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            return False

        with mock.patch(VERIFY, verify):
            await self.checks().check("alice", "x", "10.0.0.1")
        ours = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        self.assertEqual(niceness, [min(19, ours + NICENESS)])

    async def test_a_name_without_an_account_costs_a_check_of_the_default_cost(self) -> None:
        checked: list[PasswordHash] = []

        def verify(password: str, stored: PasswordHash) -> bool:
            checked.append(stored)
            return True  # even a "match" against the dummy is no login

        with mock.patch(VERIFY, verify):
            result = await self.checks().check("nobody", "anything", "10.0.0.1")
        self.assertEqual(result, CheckResult(Outcome.WRONG))
        self.assertEqual(len(checked), 1)
        self.assertEqual((checked[0].params, len(checked[0].salt), len(checked[0].digest)), (DEFAULT_PARAMS, 16, 32))

    async def test_too_many_failures_are_refused_before_scrypt(self) -> None:
        checks = self.checks()
        outcomes = [(await checks.check("alice", "wrong", "10.0.0.1")).outcome for _ in range(5)]
        self.assertEqual(outcomes, [Outcome.WRONG] * 5)
        with mock.patch(VERIFY) as verify:
            self.assertEqual((await checks.check("alice", "right", "10.0.0.1")).outcome, Outcome.TOO_MANY_ATTEMPTS)
            self.assertEqual((await checks.check("nobody", "x", "10.0.0.1")).outcome, Outcome.TOO_MANY_ATTEMPTS)
            self.assertEqual((await checks.check("alice", "right", "10.0.0.2")).outcome, Outcome.TOO_MANY_ATTEMPTS)
        verify.assert_not_called()
        self.clock.now = 12.0
        self.assertTrue((await checks.check("alice", "right", "10.0.0.2")).ok)

    async def test_beyond_the_pool_and_its_queue_the_answer_is_busy(self) -> None:
        release = threading.Event()

        def verify(password: str, stored: PasswordHash) -> bool:
            release.wait(10)
            return password == "right"

        checks = self.checks(workers=1, waiting=1)
        with mock.patch(VERIFY, verify):
            running = asyncio.ensure_future(checks.check("alice", "right", "10.0.0.1"))
            queued = asyncio.ensure_future(checks.check("alice", "right", "10.0.0.2"))
            await asyncio.sleep(0)
            busy = await checks.check("alice", "right", "10.0.0.3")  # answered while the others wait
            self.assertEqual(busy, CheckResult(Outcome.BUSY))
            release.set()
            self.assertTrue((await running).ok)
            self.assertTrue((await queued).ok)
            self.assertTrue((await checks.check("alice", "right", "10.0.0.3")).ok)

    async def test_a_check_given_up_while_it_waits_frees_its_place_and_its_try(self) -> None:
        release = threading.Event()

        def verify(password: str, stored: PasswordHash) -> bool:
            release.wait(10)
            return False

        throttle = LoginThrottle()
        checks = PasswordChecks(lambda: self.accounts, workers=1, waiting=1, throttle=throttle, clock=self.clock)
        self.addCleanup(checks.close)
        with mock.patch(VERIFY, verify):
            running = asyncio.ensure_future(checks.check("alice", "x", "10.0.0.1"))
            queued = asyncio.ensure_future(checks.check("bob", "x", "10.0.0.2"))
            await asyncio.sleep(0)
            queued.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await queued
            self.assertEqual(throttle.sizes()[:2], (1, 1))  # only the running check holds a try
            release.set()
            self.assertEqual((await running).outcome, Outcome.WRONG)
            self.assertEqual((await checks.check("carol", "x", "10.0.0.3")).outcome, Outcome.WRONG)  # not busy

    async def test_a_reload_applies_to_the_next_check(self) -> None:
        checks = self.checks()
        self.accounts = Accounts([Account("bob", hash_password("pw", FAST))])
        self.assertEqual((await checks.check("alice", "right", "10.0.0.1")).outcome, Outcome.WRONG)
        self.assertTrue((await checks.check("bob", "pw", "10.0.0.1")).ok)

    async def test_a_check_that_breaks_is_busy_and_logs_no_password(self) -> None:
        def verify(password: str, stored: PasswordHash) -> bool:
            raise ValueError(f"memory limit exceeded for {password}")

        with mock.patch(VERIFY, verify), self.assertLogs("algokart_chat.password_checks") as logged:
            result = await self.checks().check("alice", "hunter2", "10.0.0.1")
        self.assertEqual(result, CheckResult(Outcome.BUSY))
        self.assertEqual(len(logged.output), 1)
        self.assertNotIn("hunter2", logged.output[0])

    async def test_an_overlong_password_is_wrong_without_scrypt(self) -> None:
        with mock.patch(VERIFY) as verify:
            result = await self.checks().check("alice", "x" * 1025, "10.0.0.1")
        self.assertEqual(result, CheckResult(Outcome.WRONG))
        verify.assert_not_called()


class LoginStepTest(unittest.TestCase):
    def test_the_rule_for_every_name_and_password(self) -> None:
        alice = Account("alice", hash_password("right", FAST))
        for account, password, required, step in (
            (alice, "right", False, LoginStep.CHECK),
            (alice, "wrong", True, LoginStep.CHECK),
            (alice, None, False, LoginStep.PASSWORD_REQUIRED),
            (alice, None, True, LoginStep.PASSWORD_REQUIRED),
            (None, None, False, LoginStep.GUEST),
            (None, "pw", False, LoginStep.NO_SUCH_ACCOUNT),
            (None, None, True, LoginStep.ACCOUNT_REQUIRED),
            (None, "pw", True, LoginStep.ACCOUNT_REQUIRED),
        ):
            with self.subTest(account=account, password=password, required=required):
                self.assertIs(login_step(account, password, required), step)


class LoginsTest(unittest.IsolatedAsyncioTestCase):
    def setUp(self) -> None:
        self.alice = Account("alice", hash_password("right", FAST))
        self.checks = PasswordChecks(lambda: Accounts([self.alice]))
        self.addCleanup(self.checks.close)

    def logins(self, require_account: bool = False) -> Logins:
        loop = asyncio.get_running_loop()
        return Logins(self.checks, loop, lambda host: f"group of {host}", require_account=require_account)

    async def test_the_step_looks_the_name_up_in_any_spelling(self) -> None:
        logins = self.logins()
        self.assertIs(logins.step("ALICE", "x"), LoginStep.CHECK)
        self.assertIs(logins.step("bob", None), LoginStep.GUEST)
        self.assertIs(self.logins(require_account=True).step("bob", None), LoginStep.ACCOUNT_REQUIRED)
        self.assertEqual(self.checks.account("aIice"), self.alice)

    async def test_a_check_calls_back_with_its_result_counted_on_the_address_group(self) -> None:
        results: list[CheckResult] = []
        with mock.patch.object(self.checks, "check", wraps=self.checks.check) as check:
            await self.logins().check("alice", "right", "10.0.0.1", results.append)
        self.assertEqual(results, [CheckResult(Outcome.OK, self.alice)])
        check.assert_called_once_with("alice", "right", "group of 10.0.0.1")

    async def test_a_cancelled_check_never_calls_back(self) -> None:
        release = threading.Event()
        results: list[CheckResult] = []

        def verify(password: str, stored: PasswordHash) -> bool:
            release.wait(10)
            return True

        with mock.patch(VERIFY, verify):
            task = self.logins().check("alice", "right", "10.0.0.1", results.append)
            await asyncio.sleep(0)
            task.cancel()
            release.set()
            with self.assertRaises(asyncio.CancelledError):
                await task
        self.assertEqual(results, [])


if __name__ == "__main__":
    unittest.main()
