"""Account logins under attack: each figure beside its target, in one run.

    python bench/logins.py            # full size (under a minute)
    python bench/logins.py --quick    # scaled down (seconds)

Row 1: on an idle server, ``LOGIN <name> <password>`` answered within scrypt's cost + 10 ms at the
99th percentile (the cost: a check at the default parameters timed before each login, in the same
process, so that both meet whatever else loads the machine).  Row 2: 200 addresses (127.3.x.y) guess
passwords of 200 accounts as fast as the server answers (the throttle and the check pool decide how
many are checked), while another user pings: that user's PING p99 stays within 50 ms, and every
guess is answered.

The server runs with ``--accounts`` (a file of default-cost scrypt hashes) and its defaults; the
attackers, the pinging user and the timed logins each run in a process of their own (``Worker``),
never in this one or the server's.  Linux (loopback addresses beyond 127.0.0.1).  Exit status 1 if
any figure misses its target.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import shutil
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from common import Figure, Spawned, chat_server, raise_open_file_limit
from hostile import FIGURES_HEADING, Line, Worker, figure_line, in_threads_until_told, pinger

PASSWORD = "the right pass phrase"


def percentile_ms(times: list[float], share: float = 0.99) -> float:
    ordered = sorted(times)
    return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def sources(count: int) -> list[str]:
    return [f"127.3.{1 + n // 250}.{1 + n % 250}" for n in range(count)]


def timed_logins(pipe: Connection, port: int, count: int) -> None:
    """Worker: ``count`` logins with the right password, one connection each, one after another
    (after one more that starts the server's check threads), each after a check of the same cost
    here, so that both meet the same load on this machine; answers the times of the checks and
    those from each LOGIN to its OK."""
    from algokart_chat.accounts import hash_password, verify_password  # (src/ is on the path once common is)

    stored = hash_password(PASSWORD)
    costs, times = [], []
    for _ in range(count + 1):
        started = time.perf_counter()
        verify_password(PASSWORD, stored)
        costs.append(time.perf_counter() - started)
        user = Line(port)
        started = time.perf_counter()
        user.send(f"LOGIN victim0 {PASSWORD}")
        if (reply := user.read_line()) != "OK":
            raise ConnectionError(f"LOGIN victim0: {reply}")
        times.append(time.perf_counter() - started)
        user.send("QUIT")
        user.read_line()  # (Goodbye!: the name is free again)
        user.close()
    pipe.send((costs[1:], times[1:]))


def guessers(pipe: Connection, port: int, addresses: list[str], accounts: int) -> None:
    """Worker: one connection per address; from ``go`` to ``stop`` each sends a wrong
    ``LOGIN victimN guess`` (N going round the accounts) as soon as the last one is answered;
    answers how many were sent and answered, and the replies by error code."""
    lines = [Line(port, source) for source in addresses]
    pipe.send("ready")
    pipe.recv()
    stop = threading.Event()
    sent, answered = [0] * len(lines), [0] * len(lines)
    replies: list[collections.Counter[str]] = [collections.Counter() for _ in lines]

    def guess(number: int) -> None:
        line = lines[number]
        with contextlib.suppress(OSError, ConnectionError):
            while not stop.is_set():
                line.send(f"LOGIN victim{(number + sent[number]) % accounts} guess-{sent[number]}")
                sent[number] += 1
                replies[number][line.read_line().split(" ", 2)[1]] += 1
                answered[number] += 1

    in_threads_until_told(pipe, stop, guess, len(lines))
    pipe.send((sum(sent), sum(answered), dict(sum(replies, collections.Counter()))))


def run(attackers: int, seconds: float, logins: int) -> list[Figure]:
    from algokart_chat.accounts import Account, Accounts, hash_password
    from algokart_chat.accounts_file import save_accounts

    folder = Path(tempfile.mkdtemp(prefix="algokart-bench-logins-"))
    stored = hash_password(PASSWORD)  # (one hash for every account: the same cost to check)
    save_accounts(folder / "accounts", Accounts(Account(f"victim{n}", stored) for n in range(attackers)))
    server: Spawned | None = None
    workers: list[Worker] = []
    try:
        server = chat_server("--accounts", str(folder / "accounts"), "--max-new-per-ip", "0", quiet=True)
        timer = Worker(timed_logins, server.port, logins)
        workers.append(timer)
        costs, times = timer.ask()
        cost, login_p99 = percentile_ms(costs), percentile_ms(times)
        beyond = percentile_ms([spent - check for check, spent in zip(costs, times, strict=True)], 0.5)
        print(f"  a login beyond the check timed before it: median {beyond:.1f} ms")
        attack = Worker(guessers, server.port, sources(attackers), attackers)
        measured = Worker(pinger, server.port, seconds)
        workers += [attack, measured]
        attack.ask()  # (ready)
        measured.ask()
        attack.pipe.send("go")
        measured.pipe.send("go")
        ping_p99 = measured.ask()
        sent, answered, replies = attack.ask("stop")
        print(f"  guesses by reply: {', '.join(f'{code} {count}' for code, count in sorted(replies.items()))}")
        return [
            Figure(
                1,
                f"LOGIN with a password, idle server, p99 (scrypt p99: {cost:.1f} ms)",
                login_p99,
                round(cost + 10, 1),
                "ms",
            ),
            Figure(2, f"another user's PING p99 while {attackers} addresses guess", ping_p99, 50, "ms"),
            Figure(2, f"... guesses unanswered (of {sent} in {seconds:g} s)", sent - answered, 0, ""),
        ]
    finally:
        for worker in workers:
            worker.stop()
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 addresses for 3 s, 10 timed logins")
    size = (20, 3, 10) if parser.parse_args().quick else (200, 20, 200)
    if not sys.platform.startswith("linux"):
        print("logins.py binds loopback addresses beyond 127.0.0.1: Linux only", file=sys.stderr)
        return 2
    raise_open_file_limit()
    figures = run(*size)
    print(FIGURES_HEADING)
    for figure in figures:
        print(figure_line(figure))
    return 0 if all(figure.met for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
