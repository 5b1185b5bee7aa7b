"""Run the terminal client from a clone: ``python src/test_client.py [--host H] [--port P] ...``.

The client is ``algokart_chat.client.main``, in the package beside this file (found with nothing
installed, as for ``src/server.py``).  Installed, the same client is ``algokart-chat-client``.
"""

import sys

if sys.version_info < (3, 10):  # checked before importing the package, which needs 3.10
    sys.exit(f"test_client.py: error: Python 3.10 or newer is needed (this is {sys.version.split()[0]})")

from algokart_chat.client.main import main

if __name__ == "__main__":
    sys.exit(main())
