"""contrib/algokart-chat.service: systemd accepts it, and it sets only settings the server has."""

from __future__ import annotations

import re
import shutil
import subprocess
import unittest

from support import ENV_SETTINGS, ROOT, TIMEOUT

from algokart_chat.utils.config import OPTIONS

UNIT = ROOT / "contrib" / "algokart-chat.service"


class ServiceUnitTest(unittest.TestCase):
    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze is not installed")
    def test_systemd_analyze_verify_accepts_it(self) -> None:
        result = subprocess.run(
            ["systemd-analyze", "verify", str(UNIT)], capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn(UNIT.name, result.stderr)  # no warning about our unit

    def test_it_sets_real_settings_and_enough_descriptors(self) -> None:
        text = UNIT.read_text()
        names = re.findall(r"^Environment=([A-Z_]+)=", text, re.MULTILINE)
        server_settings = [name for name in names if not name.startswith("PYTHON")]
        self.assertTrue(server_settings)
        self.assertLessEqual(set(server_settings), set(ENV_SETTINGS) & {option.env for option in OPTIONS})
        self.assertGreater(number(text, "LimitNOFILE="), number(text, "Environment=MAX_CLIENTS=") + 64)
        for hardening in ("DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "Restart=on-failure"):
            self.assertIn(hardening, text)


def number(unit: str, key: str) -> int:
    """The whole number after ``key`` at the start of a line of ``unit``."""
    found = re.search(rf"^{re.escape(key)}(\d+)$", unit, re.MULTILINE)
    if found is None:
        raise AssertionError(f"no {key} line")
    return int(found.group(1))


if __name__ == "__main__":
    unittest.main()
