"""Build ``dist/algokart-chat.pyz``: the server and the terminal client in one file to copy.

    python tools/build_pyz.py                       # writes dist/algokart-chat.pyz
    python algokart-chat.pyz [flags]                # the server, as python src/server.py [flags]
    python algokart-chat.pyz client [flags]         # the terminal client
    python algokart-chat.pyz accounts list ...      # the accounts file, as python src/server.py accounts

The archive (the standard library's ``zipapp``) holds ``src/algokart_chat``, the package, exactly
as a wheel installs it, and a ``__main__.py`` that checks the Python version, picks the
server or the client, and exits with its status (0, 1 when it cannot start, 2 for a bad flag).
Cluster mode needs redis-py in the Python that runs the archive (a venv's); nothing else does.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import zipapp
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "algokart_chat"

MAIN = '''\
"""algokart-chat in one file: ``python algokart-chat.pyz [flags]`` runs the server (``accounts ...``
manages its accounts file), ``python algokart-chat.pyz client [flags]`` the terminal client."""
import sys

if sys.version_info < (3, 10):
    sys.exit(f"algokart-chat.pyz: error: Python 3.10 or newer is needed (this is {sys.version.split()[0]})")
if sys.argv[1:2] == ["client"]:
    sys.argv[0:2] = [sys.argv[0] + " client"]  # so its messages say "algokart-chat.pyz client: ..."
    from algokart_chat.client.main import main
else:
    from algokart_chat.command import main
sys.exit(main())
'''


def build(target: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="algokart-pyz-") as staging:
        package = Path(staging) / "algokart_chat"
        for source in sorted(SOURCE.rglob("*.py")):
            relative = source.relative_to(SOURCE)
            if "__pycache__" in relative.parts:
                continue
            (package / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, package / relative)
        (Path(staging) / "__main__.py").write_text(MAIN, encoding="utf-8")
        target.parent.mkdir(parents=True, exist_ok=True)
        zipapp.create_archive(staging, target, interpreter="/usr/bin/env python3", compressed=True)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description="Build the one-file algokart-chat.pyz.")
    parser.add_argument("--output", type=Path, default=ROOT / "dist" / "algokart-chat.pyz", help="where to write it")
    arguments = parser.parse_args()
    print(build(arguments.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
