"""Run the chat server from a clone: ``python src/server.py [--port N] ...`` (``--help`` lists all).

The server is the package beside this file, ``algokart_chat`` (``algokart_chat.command``): Python puts
the folder of the script it runs first on ``sys.path``, so it is found with nothing installed.
Installed, the same server is the command ``algokart-chat``.
"""

import sys

if sys.version_info < (3, 10):  # checked before importing the package, which needs 3.10
    sys.exit(f"server.py: error: Python 3.10 or newer is needed (this is {sys.version.split()[0]})")

from algokart_chat.command import main

if __name__ == "__main__":
    sys.exit(main())
