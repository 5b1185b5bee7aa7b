"""The benchmarks still run: ``bench/run.py --quick`` against both servers, zero loss, and
``bench/history_figures.py --quick``.

It asserts no speed (speed is measured by ``python bench/run.py``, not by tests).
"""

from __future__ import annotations

import subprocess
import sys
import unittest

from support import ROOT, once_per_ci


def quick(script: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``bench/<script> --quick``, run from the repository's root."""
    command = [sys.executable, str(ROOT / "bench" / script), "--quick"]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=str(ROOT), check=False)


@once_per_ci("the benchmarks are tools; the guarantees they show are the end-to-end tests', on every Python")
class QuickBenchmarkTest(unittest.TestCase):
    def test_every_scenario_runs_without_loss(self) -> None:
        result = quick("run.py", 240)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for scenario in ("flood", "half IRC", "IRC caps", "busy room", "crowd", "login storm"):
            self.assertIn(scenario, result.stdout)
        self.assertIn("history on (the defaults) beside off", result.stdout)
        self.assertIn("join storm: 300 IRC users registered and joined", result.stdout)  # (all of them: else FAILED)
        loss_rows = [line.split() for line in result.stdout.splitlines() if " lost " in line]
        self.assertEqual(len(loss_rows), 5)  # flood, half IRC, IRC caps, busy room, crowd
        for row in loss_rows:
            server_lost, null_lost = row[row.index("lost") + 1 : row.index("lost") + 3]
            irc = "IRC" in row[:2]  # (the null server speaks no IRC)
            expected = ("0", "-") if irc else ("0", "0")
            self.assertEqual((server_lost, null_lost), expected, row)

    def test_history_figures_run(self) -> None:
        """bench/history_figures.py --quick: history's memory within its bounds, and users
        reconnecting for their gap get all of it (a few seconds)."""
        result = quick("history_figures.py", 120)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("answers with the whole gap", result.stdout)


if __name__ == "__main__":
    unittest.main()
