"""Lets a clone run with nothing installed: ``python src/server.py`` imports ``algokart_chat``.

Installed, ``src/`` *is* the package ``algokart_chat`` (pyproject.toml maps the one to the other),
and every module imports its siblings through that one name.  Run from a clone, Python puts
``src/`` first on ``sys.path`` and finds this module there under that name; giving it a
``__path__`` makes it the package, with ``src/`` as the folder its submodules are found in.  Then
``src/`` leaves ``sys.path`` again, so that our module names (``version``, ``utils``) never shadow
another package's.  Installed, this file is the unused ``algokart_chat.algokart_chat``.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "algokart_chat":
    __path__ = [_HERE]
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != _HERE]
