"""What the program calls itself: its version (``--version``; pyproject.toml reads it from here)
and the name it was started by, for its messages."""

from __future__ import annotations

import os
import sys

__version__ = "1.1.0"


def command_name(file_name: str) -> str:
    """``algokart-chat`` or ``algokart-chat.pyz`` (installed, or the one-file build) when started
    by that name, ``python -m algokart_chat`` when started so; else ``file_name``, the entry
    script's: ``server.py`` or ``test_client.py``."""
    started_as = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if started_as == "__main__.py" and os.path.basename(os.path.dirname(sys.argv[0])) == "algokart_chat":
        return "python -m algokart_chat"
    if started_as.lower().endswith(".exe"):  # the installed command on Windows
        started_as = started_as[: -len(".exe")]
    return started_as if started_as.startswith("algokart-chat") else file_name
