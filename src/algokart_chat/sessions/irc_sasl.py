"""SASL for the IRC gateway: the ``AUTHENTICATE`` exchange of IRCv3 SASL 3.2 with the ``PLAIN``
mechanism, and ``PASS``'s argument (docs/IRC.md, *Accounts*).  Pure: lines in, steps out; the
session (``irc_session``) checks the password (``password_checks.Logins``) and sends the numerics.

Plan (``SaslExchange.step``, one ``AUTHENTICATE`` parameter in, a ``SaslStep`` out):
- ``AUTHENTICATE PLAIN`` starts the exchange (the server answers ``AUTHENTICATE +``); another
  mechanism gets 908 (the list: ``PLAIN``) and 904; ``AUTHENTICATE *`` aborts it (906).
- The payload comes base64-encoded in chunks of 400 bytes: a chunk of exactly 400 says more
  follows, a shorter one (or ``+``, for nothing more) ends it.  A chunk over 400 bytes is 905 (the
  spec's meaning of ERR_SASLTOOLONG: a parameter over 400 bytes); a payload over ``MAX_PAYLOAD_BYTES``
  in all, a limit the spec leaves to the server, is a failed authentication (904).  Both end the
  exchange.
- The payload, decoded, is ``authzid NUL authcid NUL password``: the authzid is empty or the
  authcid (no one logs in as another), the authcid a valid name, the password not empty;
  anything else is 904 without a check.

Guarantees: the buffer of an exchange never holds more than ``MAX_PAYLOAD_BYTES``; the password
is only in the ``SaslStep`` handed to the session, never in a message or a repr (``SaslStep``'s
repr hides it).
"""

from __future__ import annotations

import base64
import binascii
import enum
from typing import Final, NamedTuple

from algokart_chat.accounts import MAX_PASSWORD_BYTES
from algokart_chat.names import MAX_USERNAME_CHARS, is_valid_username, username_key

MECHANISMS: Final = "PLAIN"  # 908's list and the capability's value
CHUNK_BYTES: Final = 400
# authzid, authcid (names: 4 bytes a character at most), the password and two NULs, base64-encoded.
MAX_PAYLOAD_BYTES: Final = (2 * 4 * MAX_USERNAME_CHARS + MAX_PASSWORD_BYTES + 2 + 2) // 3 * 4 + 4


class Action(enum.Enum):
    CONTINUE = "continue"  # send ``AUTHENTICATE +`` (PLAIN started: the client sends its payload)
    MORE = "more"  # a chunk of 400 bytes: wait for the next
    CHECK = "check"  # the payload is whole: check ``name`` and ``password``
    FAIL = "fail"  # 904 (with 908 first when ``mechanisms``)
    TOO_LONG = "too-long"  # 905
    ABORTED = "aborted"  # 906


class SaslStep(NamedTuple):
    action: Action
    name: str = ""
    password: str = ""
    mechanisms: bool = False  # an unknown mechanism: 908 before 904

    def __repr__(self) -> str:  # (never show the password)
        return f"SaslStep({self.action.value}, {self.name!r})"


class SaslExchange:
    """One client's exchange in progress (at most one at a time)."""

    __slots__ = ("_buffer", "_started")

    def __init__(self) -> None:
        self._started = False  # AUTHENTICATE PLAIN came: chunks come next
        self._buffer = bytearray()

    @property
    def in_progress(self) -> bool:
        return self._started

    def abort(self) -> None:
        self._started = False
        self._buffer.clear()

    def step(self, param: str) -> SaslStep:
        """What ``AUTHENTICATE <param>`` does."""
        if param == "*":
            self.abort()
            return SaslStep(Action.ABORTED)
        if not self._started:
            if param.upper() == MECHANISMS:
                self._started = True
                return SaslStep(Action.CONTINUE)
            return SaslStep(Action.FAIL, mechanisms=True)
        chunk = param.encode("utf-8", "surrogateescape")
        if len(chunk) > CHUNK_BYTES:
            self.abort()
            return SaslStep(Action.TOO_LONG)
        if len(self._buffer) + len(chunk) > MAX_PAYLOAD_BYTES:
            self.abort()
            return SaslStep(Action.FAIL)
        if param != "+":
            self._buffer += chunk
        if len(chunk) == CHUNK_BYTES:
            return SaslStep(Action.MORE)
        payload = bytes(self._buffer)
        self.abort()
        return plain(payload)


def plain(encoded: bytes) -> SaslStep:
    """The PLAIN payload ``encoded`` (base64): CHECK with its name and password, or FAIL."""
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # (UnicodeDecodeError is a ValueError)
        return SaslStep(Action.FAIL)
    parts = decoded.split("\0")
    if len(parts) != 3:
        return SaslStep(Action.FAIL)
    authzid, authcid, password = parts
    if not password or not is_valid_username(authcid):
        return SaslStep(Action.FAIL)
    if authzid and username_key(authzid) != username_key(authcid):
        return SaslStep(Action.FAIL)  # (logging in as someone else is for no one)
    return SaslStep(Action.CHECK, authcid, password)


def pass_login(argument: str, nick: str) -> tuple[str, str] | None:
    """``PASS <name>:<password>`` as ergo reads it (or ``PASS <password>`` for the account of the
    nick): the name and the password, or None if there is no valid name or no password."""
    name, colon, password = argument.partition(":")
    if not colon:
        name, password = nick, argument
    if not password or not is_valid_username(name):
        return None
    return name, password
