"""The command ``algokart-chat`` (``python src/server.py``, ``python -m algokart_chat``, the
``.pyz``): the chat server (``main``), or with ``accounts`` first, the accounts file's command
(``accounts_cli``).

Plan: look at the first argument, then import only the one of the two that runs.  Managing an
account never loads the server (asyncio, TLS, the sessions, the room: over half of the command's
start-up), and the server never loads the accounts command's argument parser.

Guarantees: the arguments after ``accounts`` reach ``accounts_cli.main`` unchanged, all others
``main.main``; the exit status is theirs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    # Imported here, the one that runs: importing both would cost every command the other's start-up.
    if arguments[:1] == ["accounts"]:
        from algokart_chat import accounts_cli

        return accounts_cli.main(arguments[1:])
    from algokart_chat import main as server

    return server.main(arguments)
