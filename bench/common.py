"""What the bench scripts share: starting a server process and reading its figures from /proc."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parent.parent


class Spawned:
    """A server started on port 0 (``command`` must print "... started on port N" first)."""

    def __init__(self, command: Sequence[str]) -> None:
        self.process = subprocess.Popen(list(command), stdout=subprocess.PIPE, text=True)
        first = self.process.stdout.readline()  # type: ignore[union-attr]
        found = re.search(r"started on port (\d+)", first)
        if not found:
            self.process.kill()
            raise RuntimeError(f"server did not start: {first!r}")
        self.port = int(found.group(1))
        self.pid = self.process.pid
        # Keep reading its log so the pipe never fills and blocks it.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()  # type: ignore[union-attr]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


def chat_server(*args: str) -> Spawned:
    return Spawned([sys.executable, str(ROOT / "src" / "server.py"), "--port", "0", *args])


def rss_kib(pid: int | None, field: str = "VmRSS") -> int | None:
    """The process's resident memory (``VmHWM``: its peak) in KiB, where /proc tells."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def open_descriptors(pid: int | None) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
