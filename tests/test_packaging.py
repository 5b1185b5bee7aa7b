"""The one-file build (tools/build_pyz.py) and the package's shape, from the source tree.

The wheel installed in a fresh venv is smoke-tested by ``.ci/run`` (tests/smoke.py), which builds it;
here the .pyz is built into a temporary folder and run through the same smoke checks, and the
package's layout is checked as setuptools will see it.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from support import ROOT, SRC, TIMEOUT

from smoke import SmokeChecks


class PyzSmokeTest(SmokeChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        folder = tempfile.TemporaryDirectory(prefix="algokart-pyz-test-")
        cls.addClassCleanup(folder.cleanup)
        pyz = Path(folder.name) / "algokart-chat.pyz"
        build = [sys.executable, str(ROOT / "tools" / "build_pyz.py"), "--output", str(pyz)]
        subprocess.run(build, check=True, capture_output=True, timeout=TIMEOUT)
        cls.server = (sys.executable, str(pyz))
        cls.client = (sys.executable, str(pyz), "client")
        cls.has_redis_py = importlib.util.find_spec("redis") is not None

    def test_the_archive_holds_one_package(self) -> None:
        import zipfile

        with zipfile.ZipFile(self.server[1]) as archive:
            tops = {name.split("/")[0] for name in archive.namelist()}
        self.assertEqual(tops, {"__main__.py", "algokart_chat"})


class LayoutTest(unittest.TestCase):
    def test_the_cluster_extra_is_requirements_cluster_txt(self) -> None:
        pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
        lines = (ROOT / "requirements-cluster.txt").read_text(encoding="utf-8").splitlines()
        requirements = [line for line in lines if line and not line.startswith("#")]
        self.assertIn(f"cluster = {json.dumps(requirements)}", pyproject.replace("'", '"'))

    def test_every_folder_of_the_package_is_a_package(self) -> None:
        package = SRC / "algokart_chat"
        for folder in sorted(path.parent for path in package.rglob("*.py") if "__pycache__" not in path.parts):
            self.assertTrue((folder / "__init__.py").exists(), f"{folder} has no __init__.py: not installed")

    def test_src_holds_the_package_and_the_two_entry_scripts_only(self) -> None:
        # (a folder left with only __pycache__ in it by an older checkout is no module)
        top = sorted(path.name for path in SRC.iterdir() if path.is_file() or any(path.rglob("*.py")))
        self.assertEqual(top, ["algokart_chat", "server.py", "test_client.py"])


if __name__ == "__main__":
    unittest.main()
