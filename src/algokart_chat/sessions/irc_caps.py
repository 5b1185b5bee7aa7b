"""The IRCv3 capabilities the gateway offers, and ``CAP`` negotiation over them, exactly as IRCv3
Capability Negotiation says (docs/IRC.md, *Capabilities*).  Pure: values in, replies out.

``CAPABILITIES`` is the registry: one ``Capability`` per capability offered, and nothing else
lists them.  Offering one more is one entry there, and the code that honours it asks the session
whether the client enabled it (``name in enabled``).  A capability that changes how room events
look to the client (a tag on every message, a line some clients get and others not) is marked
``wire``: the clients that enabled the same such capabilities share one encoding of each event
(``form``; ``irc_channel.IrcChannel.encoder``), and the encoder reads the form to know what to
write.

Plan (``negotiate``, one ``CAP`` line in, the reply and the new state out):
- ``CAP LS [<version>]``: every capability; with a version of 302 or more, with its value
  (``name=value``) and, should the list not fit a line, over several (``CAP * LS * :...`` but the
  last).  302 is then remembered for good (a later ``CAP LS`` without it gets a 301 reply, the
  version stays), and ``cap-notify`` is on from then on: it cannot be turned off.
- ``CAP LIST``: what is enabled, over several lines for a 302 client should it not fit one.
- ``CAP REQ :<caps>``: the whole list is acknowledged (``ACK``) and applied at once, or refused
  (``NAK``) and nothing changes; ``-name`` turns one off; asking for what is already so succeeds.
  Unknown names, and turning ``cap-notify`` off for a 302 client, refuse the list.
- ``CAP END`` ends negotiation (registration goes on; ignored once registered); anything else is
  ``410``.
- ``LS`` and ``REQ`` before registration hold it until ``END`` (the session does that:
  ``Answer.suspends``).

What a server offers is ``offered``'s choice: without accounts, no ``sasl``, ``account-tag``,
``account-notify`` or ``extended-join``; keeping no history, no ``draft/chathistory``.

Since the set of capabilities never changes while the server runs, ``CAP NEW`` and ``CAP DEL``
are never sent; ``cap-notify`` is offered so that clients know they would be.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, NamedTuple

from algokart_chat import irc


class Capability(NamedTuple):
    name: str  # case-sensitive, as the spec names it
    value: str = ""  # shown as name=value to clients of CAP 302 (LS, NEW)
    wire: bool = False  # changes how room events are encoded for the client: part of its form
    accounts: bool = False  # offered only by a server with accounts (--accounts)
    history: bool = False  # offered only by a server that keeps history (--history-lines ...)


# The capabilities offered, one entry each (docs/IRC.md, *Capabilities*, says what each does here).
CAPABILITIES: Final = (
    Capability("account-notify", accounts=True),
    Capability("account-tag", wire=True, accounts=True),
    Capability("away-notify", wire=True),
    Capability("batch"),
    Capability("cap-notify"),
    Capability("draft/chathistory", history=True),  # (irc_history)
    Capability("echo-message"),
    Capability("extended-join", wire=True, accounts=True),
    Capability("labeled-response"),
    Capability("message-tags", wire=True),
    Capability("multi-prefix"),
    Capability("sasl", value="PLAIN", accounts=True),
    Capability("server-time", wire=True),
    Capability("userhost-in-names"),
)
WIRE: Final = frozenset(capability.name for capability in CAPABILITIES if capability.wire)

CAP_NOTIFY: Final = "cap-notify"
VERSION_302: Final = 302  # the CAP version of values, multiline replies and implicit cap-notify
NONE: Final[frozenset[str]] = frozenset()


class Answer(NamedTuple):
    """What one ``CAP`` line does: ``reply`` to send, the capabilities ``enabled`` after it, the
    CAP ``version`` to remember, whether it holds registration (``suspends``: LS, REQ) or ends
    negotiation (``ends``: END)."""

    reply: bytes
    enabled: frozenset[str]
    version: int
    suspends: bool = False
    ends: bool = False


def negotiate(
    server: str,
    me: str,
    params: list[str],
    enabled: frozenset[str],
    version: int,
    offered: tuple[Capability, ...] = CAPABILITIES,
) -> Answer:
    """The answer to ``CAP <params>`` from a client called ``me`` (``*`` before it has a nick)
    that has ``enabled`` on and last said CAP ``version`` (0: none), where ``offered`` is offered."""
    sub = params[0].upper() if params else ""
    if sub == "LS":
        asked = _version(params[1]) if len(params) > 1 else 0
        kept = max(version, asked)
        if asked >= VERSION_302:
            enabled = enabled | {CAP_NOTIFY}
        words = [_advertised(capability, asked) for capability in offered]
        return Answer(_lines(server, me, "LS", words, asked >= VERSION_302), enabled, kept, suspends=True)
    if sub == "LIST":
        ordered = [capability.name for capability in offered if capability.name in enabled]
        return Answer(_lines(server, me, "LIST", ordered, version >= VERSION_302), enabled, version)
    if sub == "REQ":
        requested = params[1].split() if len(params) > 1 else []
        changed = request(enabled, version, requested, offered)
        verdict = "NAK" if changed is None else "ACK"
        reply = irc.message(server, "CAP", me, verdict, " ".join(requested))
        return Answer(reply, enabled if changed is None else changed, version, suspends=True)
    if sub == "END":
        return Answer(b"", enabled, version, ends=True)
    return Answer(irc.message(server, "410", me, sub or "*", "Invalid CAP command"), enabled, version)


def request(
    enabled: frozenset[str], version: int, requested: Iterable[str], offered: tuple[Capability, ...] = CAPABILITIES
) -> frozenset[str] | None:
    """``enabled`` with the changes of a ``CAP REQ`` list applied in order, or None if the list is
    refused as a whole (a name not ``offered``, or cap-notify off for a client of CAP 302)."""
    names = {capability.name for capability in offered}
    result = set(enabled)
    for word in requested:
        name = word.removeprefix("-")
        if name not in names:
            return None
        if word.startswith("-"):
            if name == CAP_NOTIFY and version >= VERSION_302:
                return None  # (302 enables it for good)
            result.discard(name)
        else:
            result.add(name)
    return frozenset(result)


def offered(accounts: bool, history: bool) -> tuple[Capability, ...]:
    """What a server offers: with ``accounts`` or not, keeping ``history`` or not."""
    return tuple(
        capability
        for capability in CAPABILITIES
        if (accounts or not capability.accounts) and (history or not capability.history)
    )


def form(enabled: frozenset[str]) -> frozenset[str]:
    """The capabilities of ``enabled`` that shape how room events are encoded (``wire``)."""
    return enabled & WIRE


def _version(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else 0


def _advertised(capability: Capability, version: int) -> str:
    if capability.value and version >= VERSION_302:
        return f"{capability.name}={capability.value}"
    return capability.name


def _lines(server: str, me: str, sub: str, words: list[str], multiline: bool) -> bytes:
    """``CAP <me> <sub> :<words>``, over as many lines as it takes for a client of CAP 302 (each
    but the last with ``*`` before the list); in one line for others."""
    if not multiline:
        return irc.message(server, "CAP", me, sub, " ".join(words))
    room = irc.LINE_BYTES - len(irc.CRLF) - len(irc.message(server, "CAP", me, sub, "*", "")) + len(irc.CRLF)
    groups: list[list[str]] = [[]]
    used = 0
    for word in words:
        size = len(word.encode()) + (1 if groups[-1] else 0)
        if groups[-1] and used + size > room:
            groups.append([])
            size, used = len(word.encode()), 0
        groups[-1].append(word)
        used += size
    lines = [irc.message(server, "CAP", me, sub, "*", " ".join(group)) for group in groups[:-1]]
    lines.append(irc.message(server, "CAP", me, sub, " ".join(groups[-1])))
    return b"".join(lines)
