"""What the whole harness shares: where the clone is (importing this puts src/ and bench/ on
sys.path), the timeout that guards against hangs, fresh names, free ports, the server's ERR lines,
and the mark of the tests that CI runs on one Python only.
"""

from __future__ import annotations

import itertools
import os
import sys
import unittest
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

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


# Set by CI on all its Pythons but one: what a test marked ``once_per_ci`` proves is not a matter of
# the Python it runs on (another program does the same thing on each), so one run of it is enough.
ONCE_ELSEWHERE = "ALGOKART_ONCE_ELSEWHERE"
_Test = TypeVar("_Test", bound=Callable[..., Any])


def once_per_ci(why: str) -> Callable[[_Test], _Test]:
    """Skip the marked test class where ALGOKART_ONCE_ELSEWHERE is set (CI runs it on another
    Python); ``why`` one run is enough, for the skip's reason."""
    return unittest.skipIf(
        bool(os.environ.get(ONCE_ELSEWHERE)), f"{ONCE_ELSEWHERE} is set: run once, elsewhere ({why})"
    )
