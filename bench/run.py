"""Benchmark: every scenario against the real server and the null server, one table of ratios.

    python bench/run.py            # the full run (a few minutes)
    python bench/run.py --quick    # seconds; zero loss is all it checks (the test suite runs it)

Each scenario gets a fresh server process (so peak RSS belongs to that scenario alone) and a
separate load-generator process (so it has a core of its own).  The real server runs as
``python src/server.py --rate-limit 0 --max-clients 20000 --log-level WARNING``: flood control
would otherwise throttle the senders, which is its job but not what is measured here.
Exit status 1 if any message was lost or any client failed to log in, or (full run) a target was missed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from common import ROOT, Spawned, chat_server, null_server


@dataclass(frozen=True)
class Scenario:
    name: str
    loadgen: tuple[str, ...]
    quick: tuple[str, ...]


SCENARIOS = (
    Scenario(
        "flood",
        ("--clients", "200", "--senders", "10", "--messages", "2000"),
        ("--clients", "20", "--senders", "2", "--messages", "200"),
    ),
    Scenario(
        "busy room",
        ("--clients", "1000", "--senders", "10", "--rate", "50", "--seconds", "6"),
        ("--clients", "50", "--senders", "2", "--rate", "50", "--seconds", "0.5"),
    ),
    Scenario(
        "crowd",
        ("--clients", "10000", "--senders", "1", "--messages", "10", "--sample", "0"),
        ("--clients", "300", "--senders", "1", "--messages", "5", "--sample", "0"),
    ),
    Scenario(
        "login storm",
        ("--clients", "1000", "--senders", "0", "--connect-concurrency", "1000"),
        ("--clients", "200", "--senders", "0", "--connect-concurrency", "200"),
    ),
)
SERVERS: dict[str, Callable[[], Spawned]] = {
    "server": lambda: chat_server("--host", "127.0.0.1", "--rate-limit", "0", "--max-clients", "20000", quiet=True),
    "null": null_server,
}


def run_scenario(scenario: Scenario, start: Callable[[], Spawned], quick: bool) -> dict[str, Any]:
    server = start()
    try:
        arguments = scenario.quick if quick else scenario.loadgen
        result = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "loadgen.py"),
                "--port",
                str(server.port),
                "--server-pid",
                str(server.pid),
                "--json",
                *arguments,
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if not result.stdout.strip():
            raise RuntimeError(f"loadgen failed: {result.stderr.strip()[-500:]}")
        report: dict[str, Any] = json.loads(result.stdout)
    finally:
        server.stop()
    before, peak = report.get("server_rss_kib_before"), report.get("server_peak_rss_kib")
    if before and peak:
        report["rss_kib_per_client"] = (peak - before) / report["clients"]
    return report


def number(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value >= 100_000:
        return f"{value / 1e6:.2f} M"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


# (scenario, metric, report key, target as (comparison, bound) on server/null, or None)
ROWS = (
    ("flood", "deliveries/s", "deliveries_per_second", (">=", 0.85)),
    ("flood", "lost", "lost", None),
    ("busy room", "latency p50 ms", "latency_ms_p50", None),
    ("busy room", "latency p99 ms", "latency_ms_p99", ("<=", 2.0)),
    ("busy room", "latency max ms", "latency_ms_max", None),
    ("busy room", "deliveries/s", "deliveries_per_second", None),
    ("busy room", "lost", "lost", None),
    ("crowd", "peak RSS/client KiB", "rss_kib_per_client", ("<=", 1.3)),
    ("crowd", "login s", "login_seconds", None),
    ("crowd", "lost", "lost", None),
    ("login storm", "logged in", "logged_in", None),
    ("login storm", "login s", "login_seconds", None),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small scenarios, seconds; checks zero loss only")
    parser.add_argument("--only", help="comma-separated scenario names")
    arguments = parser.parse_args()
    chosen = [s for s in SCENARIOS if not arguments.only or s.name in arguments.only.split(",")]
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for scenario in chosen:
        for label, start in SERVERS.items():
            results[scenario.name, label] = run_scenario(scenario, start, arguments.quick)
            print(f"ran {scenario.name} against {label}", file=sys.stderr, flush=True)
    failures = []
    print(f"{'scenario':<12} {'metric':<20} {'server':>12} {'null':>12} {'ratio':>7}  target")
    for scenario_name, metric, key, target in ROWS:
        if (scenario_name, "server") not in results:
            continue
        ours, theirs = results[scenario_name, "server"].get(key), results[scenario_name, "null"].get(key)
        ratio = ours / theirs if isinstance(ours, (int, float)) and theirs else None
        verdict = ""
        if target is not None and not arguments.quick:
            comparison, bound = target
            met = ratio is not None and (ratio >= bound if comparison == ">=" else ratio <= bound)
            verdict = f"{comparison} {bound}  {'met' if met else 'MISSED'}"
            if not met:
                failures.append(f"{scenario_name} {metric}")
        print(
            f"{scenario_name:<12} {metric:<20} {number(ours):>12} {number(theirs):>12} "
            f"{number(ratio) if ratio is not None else '-':>7}  {verdict}"
        )
    for (scenario_name, label), report in results.items():
        if report["lost"] or report["logged_in"] < report["clients"]:
            failures.append(
                f"{scenario_name} against {label}: lost {report['lost']}, "
                f"logged in {report['logged_in']} of {report['clients']}"
            )
    if not arguments.quick and "crowd" in [s.name for s in chosen]:
        crowd_login = results["crowd", "server"]["login_seconds"]
        print(
            f"crowd: {results['crowd', 'server']['clients']:,} clients logged in to the server in {crowd_login:.2f} s (target <= 3)"
        )
        if crowd_login > 3:
            failures.append("crowd login time")
    for failure in failures:
        print("FAILED:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
