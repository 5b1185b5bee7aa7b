"""Run the whole test suite N times in a row with CPU-burning processes beside it.

    python bench/suite_under_load.py              # 20 runs, 2 burners (one per core here)
    python bench/suite_under_load.py --runs 5 --burners 4

A suite that waits on events, never on time, passes every run however busy the machine is.
Each run is the README's test command; the burners are stopped by PID however this ends.
Exit status: 0 when every run passed, 1 otherwise (the failing runs' output is printed).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_COMMAND = [sys.executable, "-m", "unittest", "discover", "-s", "tests"]
BURN = "while True: pass"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--burners", type=int, default=2, help="CPU-burning processes beside the suite")
    arguments = parser.parse_args()
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(arguments.burners)]
    failures = 0
    try:
        for run in range(1, arguments.runs + 1):
            started = time.monotonic()
            result = subprocess.run(TEST_COMMAND, cwd=ROOT, capture_output=True, text=True, check=False)
            summary = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
            print(f"run {run:2d}/{arguments.runs}: {summary} in {time.monotonic() - started:.0f} s", flush=True)
            if result.returncode != 0:
                failures += 1
                print(result.stderr, flush=True)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    print(f"{arguments.runs - failures} of {arguments.runs} runs passed with {arguments.burners} CPU burners")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
