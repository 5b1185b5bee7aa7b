"""contrib/algokart-chat.service: systemd accepts it (and the cluster override), rates its
sandbox at most 2.0, it sets only settings the server has, and its memory and threads are capped.
Where systemd-analyze is missing (not Linux, no systemd) the systemd checks are skipped; CI's Debian
has it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from support import ENV_SETTINGS, ROOT, TIMEOUT

from algokart_chat.options import OPTIONS

UNIT = ROOT / "contrib" / "algokart-chat.service"
CLUSTER_OVERRIDE = ROOT / "contrib" / "cluster-venv.conf"
VENV_COMMAND = "/opt/algokart-chat/venv/bin/algokart-chat"
MOST_EXPOSURE = 2.0  # systemd-analyze security: "OK" is below 3.0; the plain unit without sandbox is 9.6
KiB = 1024
MiB = 1024 * KiB
SIZE_SUFFIXES = {"": 1, "K": KiB, "M": MiB, "G": 1024 * MiB, "T": 1024 * 1024 * MiB}  # systemd's, powers of 1024
needs_systemd_analyze = unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze is not installed")


def analyze(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = ["systemd-analyze", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False, env=env)


class ServiceUnitTest(unittest.TestCase):
    @needs_systemd_analyze
    def test_systemd_analyze_verify_accepts_it(self) -> None:
        result = analyze("verify", str(UNIT))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn(UNIT.name, result.stderr)  # no warning about our unit

    @needs_systemd_analyze
    def test_the_cluster_override_applies_and_verifies(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="algokart-unit-"))
        self.addCleanup(shutil.rmtree, folder, True)
        shutil.copyfile(UNIT, folder / UNIT.name)
        (folder / f"{UNIT.name}.d").mkdir()
        override = CLUSTER_OVERRIDE.read_text(encoding="utf-8")
        self.assertIn(f"ExecStart=\nExecStart={VENV_COMMAND}\n", override)
        self.assertIn("Environment=REDIS_URL=", override)
        # The venv's command does not exist here: any executable shows the override is read.
        (folder / f"{UNIT.name}.d" / CLUSTER_OVERRIDE.name).write_text(override.replace(VENV_COMMAND, sys.executable))
        result = analyze("verify", str(folder / UNIT.name), env={**os.environ, "SYSTEMD_UNIT_PATH": f"{folder}:"})
        self.assertEqual(result.returncode, 0, result.stderr)
        (folder / f"{UNIT.name}.d" / CLUSTER_OVERRIDE.name).write_text(override)
        result = analyze("verify", str(folder / UNIT.name), env={**os.environ, "SYSTEMD_UNIT_PATH": f"{folder}:"})
        self.assertIn(f"{VENV_COMMAND} is not executable", result.stderr)  # (so the first run read it)

    @needs_systemd_analyze
    def test_the_tls_credentials_lines_verify_once_uncommented(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="algokart-unit-"))
        self.addCleanup(shutil.rmtree, folder, True)
        text = UNIT.read_text(encoding="utf-8")
        text = re.sub(r"^#(LoadCredential=|Environment=TLS_PORT=)", r"\1", text, flags=re.MULTILINE)
        self.assertEqual(len(re.findall(r"^LoadCredential=", text, re.MULTILINE)), 2)
        (folder / UNIT.name).write_text(text, encoding="utf-8")
        result = analyze("verify", str(folder / UNIT.name))
        self.assertEqual(result.returncode, 0, result.stderr)

    @needs_systemd_analyze
    def test_systemd_analyze_security_rates_it_at_most_2(self) -> None:
        result = analyze("security", "--offline=true", str(UNIT))
        if "--offline" in result.stderr and "unrecognized" in result.stderr:
            self.skipTest("this systemd-analyze has no --offline (systemd 250 or newer has)")
        found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
        self.assertIsNotNone(found, result.stdout[-2000:] + result.stderr)
        assert found is not None
        self.assertLessEqual(float(found.group(1)), MOST_EXPOSURE, result.stdout)

    def test_it_sets_real_settings_and_enough_descriptors(self) -> None:
        text = UNIT.read_text()
        names = re.findall(r"^Environment=([A-Z_]+)=", text, re.MULTILINE)
        server_settings = [name for name in names if not name.startswith("PYTHON")]
        self.assertTrue(server_settings)
        self.assertLessEqual(set(server_settings), set(ENV_SETTINGS) & {option.env for option in OPTIONS})
        self.assertGreater(number(text, "LimitNOFILE="), number(text, "Environment=MAX_CLIENTS=") + 64)
        for hardening in ("DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "Restart=on-failure"):
            self.assertIn(hardening, text)
        self.assertIn("ExecReload=/bin/kill -HUP $MAINPID", text)
        self.assertIn("#LoadCredential=tls.key:", text)
        self.assertIn("TLS_KEY=%d/tls.key", text)

    def test_memory_and_threads_have_a_ceiling_that_fits_max_clients(self) -> None:
        text = UNIT.read_text()
        users = number(text, "Environment=MAX_CLIENTS=")
        memory = number(text, "MemoryMax=")
        # The sizing the unit's comment gives: the server's own 64 MiB and its 2 password checks'
        # 16 MiB each, and for each user 20 KiB (the most a connection was measured to cost) plus
        # room for the kernel's socket buffers.
        needed = 64 * MiB + 2 * 16 * MiB + users * 96 * KiB
        self.assertGreaterEqual(memory, needed)
        self.assertLessEqual(memory, 2 * needed)  # a ceiling, not a formality
        self.assertEqual(number(text, "MemorySwapMax="), 0)
        # The event loop, the log writer, asyncio's lookup pool (at most 32 threads) and the password checks.
        self.assertGreaterEqual(number(text, "TasksMax="), 1 + 1 + 32 + 2)
        self.assertLessEqual(number(text, "TasksMax="), 128)


def number(unit: str, key: str) -> int:
    """The whole number after ``key`` at the start of a line of ``unit``, times its size suffix if
    it has one (``1G``: bytes)."""
    found = re.search(rf"^{re.escape(key)}(\d+)([KMGT]?)$", unit, re.MULTILINE)
    if found is None:
        raise AssertionError(f"no {key} line")
    return int(found.group(1)) * SIZE_SUFFIXES[found.group(2)]


if __name__ == "__main__":
    unittest.main()
