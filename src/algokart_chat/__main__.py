"""``python -m algokart_chat [--port N] ...``: the chat server, as the command ``algokart-chat``."""

import sys

if sys.version_info < (3, 10):  # checked before importing the rest of the package, which needs 3.10
    sys.exit(f"algokart_chat: error: Python 3.10 or newer is needed (this is {sys.version.split()[0]})")

from algokart_chat.command import main

sys.exit(main())
