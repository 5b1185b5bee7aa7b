"""Benchmark: every scenario against the real server, the null server and a cluster, one table.

    python bench/run.py            # the full run (about 6 minutes on 2 cores)
    python bench/run.py --quick    # seconds; zero loss is all it checks (the test suite runs it)
    python bench/run.py --no-cluster   # without the cluster (it needs redis-server and redis-py)
    python bench/run.py --against ../old-checkout   # also that tree's server, in the same run
    python bench/run.py --only "flood,half IRC"   # some scenarios only

Each scenario gets a fresh server process (so peak RSS belongs to that scenario alone) and a
separate load-generator process (so it has a core of its own).  The real server runs as
``python src/server.py --rate-limit 0 --rate-limit-bytes 0 --max-send-buffer 1073741824
--send-buffer-soft 1073741824 --max-clients 20000 --log-level WARNING``: flood control would otherwise
throttle the senders and drop the load generator's receivers as slow readers, which is its job but
not what is measured here (bench/fairness.py measures that).  The
cluster is two such nodes and a redis-server, all on this machine, with the clients (and the
senders) taking turns between the nodes; it is compared with the standalone server of the run.
With ``--against DIR`` every scenario also runs against DIR's ``src/server.py`` (a checkout of an
earlier commit, say), and a second table gives each figure of this tree's server beside that one's:
the way to show that a change keeps the figures, since they vary by about 20 % from run to run but
much less between two servers measured side by side.
"half IRC" is the flood again with every second client (senders included) on the server's
IRC port (``--irc-port``), against the real server only, printed beside the all-line flood of the
same run: deliveries per second, bytes per delivery (an IRC line carries ``nick!nick@server
PRIVMSG #chat``, so about 1.3 times a line user's), and the server's CPU time (from /proc, read by
the load generator's process) per delivery and per byte delivered.  Each protocol encodes a
broadcast once and its recipients share the bytes, so what a recipient costs is the bytes it is
sent (the copies into its socket), and an IRC line is longer than a line user's: the fair figure
is the server's CPU per byte delivered, which is judged: at most 1.1 times the all-line flood's.
(Deliveries per second are the load generator's: one process reading every byte, it is bound by
the bytes it reads.)
"IRC caps" is the scenario the IRC issue's target names: "half IRC" with half the IRC clients
(senders included) asking for every capability the gateway offers (server-time, message-tags,
echo-message ...), the other half plain: each message carries ``time`` and ``msgid`` for the
first, and their senders get their own messages back (deliveries too).  Tagged readers share one
encoding of each event, as plain ones do, so its target is the same: at most 1.1 times the
all-line flood's server CPU per byte delivered.  A single run's ratio is noise (the flood's own
CPU figure swings: 0.77-1.12 from run to run for the same tree), so each IRC flood runs IRC_ROUNDS
times, each time right after an all-line flood of its own (the first round is the main table's
runs), and the ratio judged is the median of the rounds' ratios, printed with their range.
"flood no history", "busy room no history" and "crowd no history" are those scenarios again against
the real server with ``--history-lines 0``: a second table gives the figures with history on (the
defaults) beside off, with a target of 5 % on throughput, server CPU per delivery, the busy room's
p99 and the crowd's memory per client (history's own memory is bench/history_figures.py's, as is
the reconnection storm).  A single pair of runs is noise on a small shared machine (a flood's
ratio swings 0.89-1.03 from pair to pair), so the flood and the busy room run in HISTORY_PAIRS
pairs (one with --quick), back to back, on then off, then off then on, and so on; the ratio judged
is the median of the pairs' ratios, printed with their range.
"join storm" is N IRC users (10,000; 300 with --quick) registering and joining the channel at once,
as after a network blip (bench/join_storm.py, from four load-generator processes): the server's CPU
seconds from the first connection until every client has its names and every JOIN has reached
everyone already in, against the real server and the tree ``--against`` only, with a target of at
most half the --against tree's CPU (the JOINs of a loop turn reach each member as one payload).
A storm the --against tree does not finish (no progress for 120 s) is that tree's shortcoming: the
line says so, and since its CPU was counted only until it stalled, the ratio printed is an upper
bound, judged only if it meets the target anyway.
Exit status 1 if any message was lost or any client failed to log in, or (full run) a target was missed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from common import ROOT, ClusterNodes, chat_server, cluster_missing, null_server, unused_port


class Server(Protocol):
    ports: list[int]
    pid: int  # whose RSS is read
    pids: list[int]  # whose CPU time is added up

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Scenario:
    name: str
    loadgen: tuple[str, ...]
    quick: tuple[str, ...]
    irc: bool = False  # half the clients on IRC: the real server only (the others speak no IRC)
    irc_caps_every: int = 0  # and every Nth of them asks for every capability (0: none)
    history_off: bool = False  # the real server with --history-lines 0, beside the same scenario with history on
    pairs: int = 1  # (history_off) how many pairs of runs, history on and off, the verdict takes the median of


HISTORY_PAIRS = 5  # flood and busy room: a single pair of runs is noise on a shared machine (0.89-1.03)

SCENARIOS = (
    Scenario(
        "flood",
        ("--clients", "200", "--senders", "10", "--messages", "8000"),
        ("--clients", "20", "--senders", "2", "--messages", "200"),
    ),
    Scenario(
        "flood no history",
        ("--clients", "200", "--senders", "10", "--messages", "8000"),
        ("--clients", "20", "--senders", "2", "--messages", "200"),
        history_off=True,
        pairs=HISTORY_PAIRS,
    ),
    Scenario(
        "half IRC",
        ("--clients", "200", "--senders", "10", "--messages", "8000"),
        ("--clients", "20", "--senders", "2", "--messages", "200"),
        irc=True,
    ),
    Scenario(
        "IRC caps",
        ("--clients", "200", "--senders", "10", "--messages", "8000"),
        ("--clients", "20", "--senders", "2", "--messages", "200"),
        irc=True,
        irc_caps_every=2,
    ),
    Scenario(
        "busy room",
        ("--clients", "1000", "--senders", "10", "--rate", "50", "--seconds", "6"),
        ("--clients", "50", "--senders", "2", "--rate", "50", "--seconds", "0.5"),
    ),
    Scenario(
        "busy room no history",
        ("--clients", "1000", "--senders", "10", "--rate", "50", "--seconds", "6"),
        ("--clients", "50", "--senders", "2", "--rate", "50", "--seconds", "0.5"),
        history_off=True,
        pairs=HISTORY_PAIRS,
    ),
    Scenario(
        "crowd",
        ("--clients", "10000", "--senders", "1", "--messages", "10", "--sample", "0"),
        ("--clients", "300", "--senders", "1", "--messages", "5", "--sample", "0"),
    ),
    Scenario(
        "crowd no history",
        ("--clients", "10000", "--senders", "1", "--messages", "10", "--sample", "0"),
        ("--clients", "300", "--senders", "1", "--messages", "5", "--sample", "0"),
        history_off=True,
    ),
    Scenario(
        "login storm",
        ("--clients", "1000", "--senders", "0", "--connect-concurrency", "1000"),
        ("--clients", "200", "--senders", "0", "--connect-concurrency", "200"),
    ),
)
# Flood control off: throttling senders (--rate-limit, --rate-limit-bytes) and dropping readers
# that fall behind (--max-send-buffer, --send-buffer-soft: in the flood the load generator's one
# process reads slower than the server writes) are its job, but not what is measured here.
SERVER_FLAGS = (
    *("--host", "127.0.0.1", "--rate-limit", "0", "--rate-limit-bytes", "0"),
    *("--max-send-buffer", str(1 << 30), "--send-buffer-soft", str(1 << 30), "--max-clients", "20000"),
)
SERVERS: dict[str, Callable[[], Server]] = {
    "server": lambda: chat_server(*SERVER_FLAGS, quiet=True),
    "null": null_server,
    "cluster": lambda: ClusterNodes(2, *SERVER_FLAGS),
}
# (--timeout: a tree before the JOIN batching goes minutes between two bursts of progress)
JOIN_STORM = Scenario(
    "join storm", ("--clients", "10000", "--workers", "4", "--timeout", "120"), ("--clients", "300", "--workers", "2")
)
JOIN_STORM_TARGET = 0.5  # server CPU at most this times the --against tree's
IRC_COST_TARGET = 1.1  # "half IRC": server CPU per byte delivered at most this times the flood's
IRC_ROUNDS = 3  # each IRC flood beside an all-line flood run right before it: one run's ratio is noise
HISTORY_TOLERANCE = 0.05  # history on: each figure within 5 % of history off's


def run_scenario(
    scenario: Scenario, start: Callable[[], Server], quick: bool, tree: Path | None = None
) -> dict[str, Any]:
    arguments = scenario.quick if quick else scenario.loadgen
    if scenario.irc:
        irc_port = unused_port()
        server: Server = chat_server(*SERVER_FLAGS, "--irc-port", str(irc_port), quiet=True, tree=tree or ROOT)
        arguments = (*arguments, "--irc-port", str(irc_port), "--irc-every", "2")
        if scenario.irc_caps_every:
            arguments = (*arguments, "--irc-caps-every", str(scenario.irc_caps_every))
    elif scenario.history_off:
        server = chat_server(*SERVER_FLAGS, "--history-lines", "0", quiet=True, tree=tree or ROOT)
    else:
        server = start()
    try:
        result = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "loadgen.py"),
                "--port",
                ",".join(map(str, server.ports)),
                "--server-pid",
                str(server.pid),
                "--cpu-pids",
                ",".join(map(str, server.pids)),
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
    if before and peak:  # (the first process's memory, for its share of the clients)
        report["rss_kib_per_client"] = (peak - before) / (report["clients"] / len(server.ports))
    return report


def run_history_pairs(
    on: Scenario, off: Scenario, first_on: dict[str, Any] | None, quick: bool
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``on`` (history on) and ``off`` (the same with history off), ``off.pairs`` times (once with
    ``quick``): each pair's two runs back to back, in turns (on then off, off then on, ...) so that
    a drift of the machine's load favours neither; the first pair's on is ``first_on`` if given
    (the scenario's run of the main table).  The (on, off) reports."""
    pairs = []
    for number in range(1 if quick else off.pairs):
        runs: dict[Scenario, dict[str, Any]] = {}
        for scenario in (on, off) if number % 2 == 0 else (off, on):
            if scenario is on and number == 0 and first_on is not None:
                runs[on] = first_on
            else:
                runs[scenario] = run_scenario(scenario, SERVERS["server"], quick)
                print(f"ran {scenario.name} against server (pair {number + 1})", file=sys.stderr, flush=True)
        pairs.append((runs[on], runs[off]))
    return pairs


def run_join_storm(quick: bool, tree: Path) -> dict[str, Any]:
    """bench/join_storm.py against a fresh server of ``tree`` with an IRC port; its report."""
    irc_port = unused_port()
    server = chat_server(*SERVER_FLAGS, "--max-new-per-ip", "0", "--irc-port", str(irc_port), quiet=True, tree=tree)
    try:
        arguments = JOIN_STORM.quick if quick else JOIN_STORM.loadgen
        script = str(ROOT / "bench" / "join_storm.py")
        command = [sys.executable, script, "--irc-port", str(irc_port), "--server-pid", str(server.pid), "--json"]
        result = subprocess.run([*command, *arguments], capture_output=True, text=True, timeout=1800, check=False)
        if not result.stdout.strip():
            raise RuntimeError(f"join_storm failed: {result.stderr.strip()[-500:]}")
        report: dict[str, Any] = json.loads(result.stdout)
    finally:
        server.stop()
    return report


def compare_join_storm(ours: dict[str, Any], theirs: dict[str, Any] | None, quick: bool) -> list[str]:
    """Print the join storm's figures (beside the --against tree's); the failures, if any.

    A storm the --against tree does not finish (it stalls for the storm's --timeout) is that tree's
    shortcoming, not this one's: the line says so, and since its CPU time then counts only until it
    stalled, the ratio printed is an upper bound, judged only if it meets the target anyway."""
    failures = []
    if ours["incomplete"] or ours["over"] or ours["refused"]:
        failures.append(
            f"join storm against server: {ours['incomplete']} clients incomplete, {ours['over']} counted too many, "
            f"{ours['refused']} refused"
        )
    stalled = theirs is not None and bool(theirs["incomplete"] or theirs["over"] or theirs["refused"])
    line = (
        f"join storm: {ours['clients']:,} IRC users registered and joined in {ours['storm_seconds']:.2f} s, "
        f"server CPU {number(ours['server_cpu_seconds'])} s"
    )
    if theirs is not None:
        ratio = ours["server_cpu_seconds"] / theirs["server_cpu_seconds"] if theirs["server_cpu_seconds"] else None
        met = verdict("<=", ratio, JOIN_STORM_TARGET)
        line += f"; against: {theirs['storm_seconds']:.2f} s, server CPU {number(theirs['server_cpu_seconds'])} s"
        if stalled:
            line += (
                f" (incomplete: {theirs['incomplete']:,} of its {theirs['clients']:,} clients never done, "
                f"{theirs['over']:,} counted too many, {theirs['refused']:,} refused; its CPU counted until it stalled)"
            )
        judged = "" if quick else " met" if met else " not judged" if stalled else " MISSED"
        line += f", ratio {'<= ' if stalled else ''}{number(ratio)} (target <= {JOIN_STORM_TARGET}{judged})"
        if not met and not stalled and not quick:
            failures.append("join storm server CPU")
    print(line)
    return failures


def number(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value >= 100_000:
        return f"{value / 1e6:.2f} M"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


# (scenario, metric, report key, target on server/null as (comparison, bound) or None,
#  target on the cluster as (comparison, factor, plus): cluster <= factor x server + plus, or None)
Target = tuple[str, float]
ClusterTarget = tuple[str, float, float]
ROWS: tuple[tuple[str, str, str, Target | None, ClusterTarget | None], ...] = (
    ("flood", "deliveries/s", "deliveries_per_second", (">=", 0.85), (">=", 0.5, 0.0)),
    ("flood", "server CPU ns/deliv", "server_cpu_ns_per_delivery", None, None),
    ("flood", "bytes/delivery", "bytes_per_delivery", None, None),
    ("flood", "lost", "lost", None, None),
    ("half IRC", "deliveries/s", "deliveries_per_second", None, None),
    ("half IRC", "server CPU ns/deliv", "server_cpu_ns_per_delivery", None, None),
    ("half IRC", "bytes/delivery", "bytes_per_delivery", None, None),
    ("half IRC", "lost", "lost", None, None),
    ("IRC caps", "deliveries/s", "deliveries_per_second", None, None),
    ("IRC caps", "server CPU ns/deliv", "server_cpu_ns_per_delivery", None, None),
    ("IRC caps", "bytes/delivery", "bytes_per_delivery", None, None),
    ("IRC caps", "lost", "lost", None, None),
    ("busy room", "latency p50 ms", "latency_ms_p50", None, None),
    ("busy room", "latency p99 ms", "latency_ms_p99", ("<=", 2.0), ("<=", 2.0, 5.0)),
    ("busy room", "latency max ms", "latency_ms_max", None, None),
    ("busy room", "deliveries/s", "deliveries_per_second", None, None),
    ("busy room", "lost", "lost", None, None),
    ("crowd", "peak RSS/client KiB", "rss_kib_per_client", ("<=", 1.3), None),
    ("crowd", "login s", "login_seconds", None, None),
    ("crowd", "lost", "lost", None, None),
    ("login storm", "logged in", "logged_in", None, None),
    ("login storm", "login s", "login_seconds", None, None),
)


def verdict(comparison: str, value: float | None, bound: float) -> bool:
    return value is not None and (value >= bound if comparison == ">=" else value <= bound)


def run_irc_rounds(
    irc_scenarios: list[Scenario], first: dict[str, dict[str, Any]], quick: bool
) -> dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Each IRC flood beside an all-line flood run right before it, ``IRC_ROUNDS`` times (once with
    ``quick``); the first round is ``first`` (the main table's runs, by scenario name).  The
    (all-line, IRC) reports of each IRC scenario."""
    flood = next(each for each in SCENARIOS if each.name == "flood")
    rounds: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {each.name: [] for each in irc_scenarios}
    for number in range(1 if quick else IRC_ROUNDS):
        all_line = first["flood"] if number == 0 else run_scenario(flood, SERVERS["server"], quick)
        for scenario in irc_scenarios:
            if number == 0:
                report = first[scenario.name]
            else:
                report = run_scenario(scenario, SERVERS["server"], quick)
                print(f"ran {scenario.name} against server (round {number + 1})", file=sys.stderr, flush=True)
            rounds[scenario.name].append((all_line, report))
    return rounds


def compare_half_irc(rounds: list[tuple[dict[str, Any], dict[str, Any]]], name: str = "half IRC") -> list[str]:
    """Print the IRC flood ``name`` beside the all-line floods run with it (the medians of the
    rounds' ratios, and the range of the one judged); the failures, if any."""

    def ratio(key: str) -> list[float]:
        found = [(irc.get(key), line.get(key)) for line, irc in rounds]
        return [ours / theirs if ours and theirs else float("nan") for ours, theirs in found]

    per_delivery, per_bytes = ratio("server_cpu_ns_per_delivery"), ratio("bytes_per_delivery")
    per_byte = [cpu / size for cpu, size in zip(per_delivery, per_bytes, strict=True)]
    judged = statistics.median(per_byte)
    met = judged <= IRC_COST_TARGET
    spread = f" ({min(per_byte):.2f}-{max(per_byte):.2f} in {len(per_byte)} rounds)" if len(per_byte) > 1 else ""
    print(
        f"{name} beside the flood: deliveries/s {statistics.median(ratio('deliveries_per_second')):.2f} x, "
        f"bytes per delivery {statistics.median(per_bytes):.2f} x, server CPU per delivery "
        f"{statistics.median(per_delivery):.2f} x, per byte delivered {judged:.2f} x{spread} "
        f"(target <= {IRC_COST_TARGET} {'met' if met else 'MISSED'})"
    )
    return [] if met else [f"{name}: server CPU per byte delivered"]


# History on beside history off, same run: (scenario, metric, report key, how on may compare with off)
HISTORY_ROWS: tuple[tuple[str, str, str, Target | None], ...] = (
    ("flood", "deliveries/s", "deliveries_per_second", (">=", 1 - HISTORY_TOLERANCE)),
    ("flood", "server CPU ns/deliv", "server_cpu_ns_per_delivery", ("<=", 1 + HISTORY_TOLERANCE)),
    ("flood", "peak RSS KiB", "server_peak_rss_kib", None),
    ("busy room", "latency p50 ms", "latency_ms_p50", None),
    ("busy room", "latency p99 ms", "latency_ms_p99", ("<=", 1 + HISTORY_TOLERANCE)),
    ("busy room", "server CPU ns/deliv", "server_cpu_ns_per_delivery", ("<=", 1 + HISTORY_TOLERANCE)),
    ("crowd", "peak RSS/client KiB", "rss_kib_per_client", ("<=", 1 + HISTORY_TOLERANCE)),
)


def middle(values: list[Any]) -> Any:
    """The median of some figures of a report (a number, as the figures are), or None if one is missing."""
    figures = [value for value in values if isinstance(value, (int, float))]
    return statistics.median(figures) if figures and len(figures) == len(values) else None


def compare_history(pairs: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]], quick: bool) -> list[str]:
    """Print each history-on figure beside the history-off one of the same run; the failures.

    With several pairs of runs the on and off columns are the medians of each side's runs, the
    ratio judged is the median of the pairs' own ratios, and their range is printed beside it."""
    rows = [row for row in HISTORY_ROWS if row[0] in pairs]
    if not rows:
        return []
    failures = []
    counts = ", ".join(f"{name} {len(runs)}" for name, runs in pairs.items())
    print(f"\nhistory on (the defaults) beside off (--history-lines 0), same run; pairs of runs: {counts}")
    print(f"{'scenario':<12} {'metric':<20} {'on':>10} {'off':>10} {'on/off':>6}  {'pairs':<11}  target")
    for scenario_name, metric, key, target in rows:
        ons = [on.get(key) for on, _ in pairs[scenario_name]]
        offs = [off.get(key) for _, off in pairs[scenario_name]]
        ratios = [on / off for on, off in zip(ons, offs, strict=True) if isinstance(on, (int, float)) and off]
        ratio = statistics.median(ratios) if len(ratios) == len(ons) else None
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}" if len(ratios) > 1 and ratio is not None else ""
        judged = ""
        if target is not None and not quick:
            comparison, bound = target
            met = verdict(comparison, ratio, bound)
            judged = f"{comparison} {bound:g} {'met' if met else 'MISSED'}"
            if not met:
                failures.append(f"{scenario_name} {metric} with history on")
        on, off = (middle(values) for values in (ons, offs))
        shown = number(ratio) if ratio is not None else "-"
        print(f"{scenario_name:<12} {metric:<20} {number(on):>10} {number(off):>10} {shown:>6}  {spread:<11}  {judged}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small scenarios, seconds; checks zero loss only")
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--no-cluster", action="store_true", help="leave the cluster out")
    parser.add_argument("--against", type=Path, metavar="DIR", help="also run DIR/src/server.py, side by side")
    arguments = parser.parse_args()
    chosen = [s for s in SCENARIOS if not arguments.only or s.name in arguments.only.split(",")]
    servers = dict(SERVERS)
    against: Path | None = arguments.against
    if against is not None:
        servers["against"] = lambda: chat_server(*SERVER_FLAGS, quiet=True, tree=against)
    missing = "left out (--no-cluster)" if arguments.no_cluster else cluster_missing()
    if missing is not None:
        del servers["cluster"]
        print(f"cluster: {missing}", file=sys.stderr)
    results: dict[tuple[str, str], dict[str, Any]] = {}
    history_pairs: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    storms: dict[str, dict[str, Any]] = {}
    if not arguments.only or JOIN_STORM.name in arguments.only.split(","):
        for label, tree in (("server", ROOT), ("against", against)):
            if tree is not None:
                storms[label] = run_join_storm(arguments.quick, tree)
                print(f"ran {JOIN_STORM.name} against {label}", file=sys.stderr, flush=True)
    for scenario in chosen:
        if scenario.history_off:  # (history on beside off: the real server's figures, in pairs)
            on_name = scenario.name.removesuffix(" no history")
            on = next(each for each in SCENARIOS if each.name == on_name)
            history_pairs[on_name] = run_history_pairs(on, scenario, results.get((on_name, "server")), arguments.quick)
            continue
        for label, start in servers.items():
            if scenario.irc and not (label == "server" or (label == "against" and not scenario.irc_caps_every)):
                continue  # (IRC: the real server, and the tree --against in the plain IRC scenario)
            tree = against if label == "against" else None
            results[scenario.name, label] = run_scenario(scenario, start, arguments.quick, tree)
            print(f"ran {scenario.name} against {label}", file=sys.stderr, flush=True)
    failures = []
    print(
        f"{'scenario':<12} {'metric':<20} {'server':>10} {'null':>10} {'ratio':>6}  {'target':<12} "
        f"{'cluster':>10} {'c/s':>6}  target"
    )
    for scenario_name, metric, key, target, cluster_target in ROWS:
        if (scenario_name, "server") not in results:
            continue
        ours = results[scenario_name, "server"].get(key)
        theirs = results.get((scenario_name, "null"), {}).get(key)
        clustered = results.get((scenario_name, "cluster"), {}).get(key)
        ratio = ours / theirs if isinstance(ours, (int, float)) and theirs else None
        cluster_ratio = clustered / ours if isinstance(clustered, (int, float)) and ours else None
        judged = ""
        if target is not None and not arguments.quick:
            comparison, bound = target
            met = verdict(comparison, ratio, bound)
            judged = f"{comparison} {bound} {'met' if met else 'MISSED'}"
            if not met:
                failures.append(f"{scenario_name} {metric}")
        cluster_judged = ""
        if cluster_target is not None and not arguments.quick and (scenario_name, "cluster") in results:
            comparison, factor, plus = cluster_target
            bound = factor * ours + plus if isinstance(ours, (int, float)) else float("nan")
            met = verdict(comparison, clustered, bound)
            cluster_judged = f"{comparison} {factor:g} x server" + (f" + {plus:g}" if plus else "")
            cluster_judged += f" {'met' if met else 'MISSED'}"
            if not met:
                failures.append(f"cluster {scenario_name} {metric}")
        print(
            f"{scenario_name:<12} {metric:<20} {number(ours):>10} {number(theirs):>10} "
            f"{number(ratio) if ratio is not None else '-':>6}  {judged:<12} "
            f"{number(clustered):>10} {number(cluster_ratio) if cluster_ratio is not None else '-':>6}  {cluster_judged}"
        )
    if against is not None:
        print(f"\nthis tree's server beside {against}'s, same run:")
        print(f"{'scenario':<12} {'metric':<20} {'this tree':>10} {'against':>10} {'ratio':>6}")
        for scenario_name, metric, key, _, _ in ROWS:
            if (scenario_name, "against") in results:
                ours, theirs = results[scenario_name, "server"].get(key), results[scenario_name, "against"].get(key)
                ratio = ours / theirs if isinstance(ours, (int, float)) and theirs else None
                print(
                    f"{scenario_name:<12} {metric:<20} {number(ours):>10} {number(theirs):>10} "
                    f"{number(ratio) if ratio is not None else '-':>6}"
                )
    irc_scenarios = [each for each in chosen if each.irc and ("flood", "server") in results]
    irc_rounds: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    if irc_scenarios and not arguments.quick:
        first = {name: results[name, "server"] for name in ("flood", *(each.name for each in irc_scenarios))}
        irc_rounds = run_irc_rounds(irc_scenarios, first, arguments.quick)
    paired = [((f"{name} (pair {k + 1})", side), report) for name, runs in history_pairs.items()
              for k, pair in enumerate(runs) for side, report in zip(("history on", "history off"), pair, strict=True)
              if all(report is not other for other in results.values())]  # fmt: skip
    paired += [((f"{name} (round {k + 1})", side), report) for name, runs in irc_rounds.items()
               for k, pair in enumerate(runs) if k > 0 for side, report in zip(("flood", name), pair, strict=True)]  # fmt: skip
    for (scenario_name, label), report in [*results.items(), *paired]:
        if report["lost"] or report["logged_in"] < report["clients"]:
            failures.append(
                f"{scenario_name} against {label}: lost {report['lost']}, "
                f"logged in {report['logged_in']} of {report['clients']}"
            )
    for irc_name, rounds in irc_rounds.items():
        failures.extend(compare_half_irc(rounds, irc_name))
    failures.extend(compare_history(history_pairs, arguments.quick))
    if storms:
        failures.extend(compare_join_storm(storms["server"], storms.get("against"), arguments.quick))
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
