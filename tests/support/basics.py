"""What the whole harness shares: where the clone is (importing this puts src/ and bench/ on
sys.path), the timeout that guards against hangs, fresh names, free ports, the server's ERR lines.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
SERVER = SRC / "server.py"
# The package is src/algokart_chat (the src layout): the tests import it from the clone; bench/
# shares its helpers with them.
sys.path.insert(0, str(SRC))
sys.path.insert(1, str(ROOT / "bench"))
import common

unused_port = common.unused_port  # a free loopback port, as the benchmarks pick theirs

TIMEOUT = 15.0  # a guard against hangs, never a way to wait for something
_names = itertools.count(1)


def unique_name(prefix: str = "user") -> str:
    return f"{prefix}{next(_names)}"


def err(code: str) -> str:
    """The server's ``ERR`` line for ``code``, its hint included, as a received line."""
    from algokart_chat import protocol

    return protocol.error(code).decode("ascii").rstrip("\n")
