"""Lines of another protocol that must never be served: an HTTP request sent to a chat port.  Pure.

A web page can make any browser that visits it send a request to any host and port, this server's
or one on the visitor's intranet, and a form can put lines of its choosing in the body
(``LOGIN victim``, ``MSG ...``): "cross-protocol scripting".  Everything before the body is HTTP,
though, and the first line always its request line, so a server that ends the connection there
runs none of it.  Redis does the same with ``POST`` and ``Host:``.
"""

from __future__ import annotations

import re
from typing import Final

# RFC 9112's request line: method (a token), request target, HTTP version (HTTP/2's preface,
# ``PRI * HTTP/2.0``, too).
_REQUEST_LINE: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+ [^ ]+ HTTP/[0-9](\.[0-9])?", re.ASCII)


def is_http(line: str) -> bool:
    """Whether ``line`` is an HTTP request line (``POST / HTTP/1.1``) or a ``Host:`` header."""
    return _REQUEST_LINE.fullmatch(line) is not None or line[:5].lower() == "host:"
