"""The IRC gateway's fixed replies: the welcome burst of a registration (001-005 with the ISUPPORT
tokens, and 422), the reason a nick is refused (432), the ``ERROR`` line that says why the
server closes a connection, the reason others see for it, and the form of a labeled response
(docs/IRC.md, *Registration*, *Names*, *Closing* and *Capabilities*).

Plan: what the server advertises is what the other parts do: ``NICKLEN`` is the line protocol's
name limit, ``TARGMAX`` is ``irc_messages.MAX_TARGETS``, ``CHANLIMIT`` and ``CHANTYPES`` say there
is one channel, ``PREFIX`` is ``(o)@`` (operators: ``irc_moderation``), ``CHANMODES`` has the
ban and quiet lists (``b``, ``q``), the only modes, and ``AWAYLEN`` is what the room keeps of an
away message (``events.NOTE_BYTES``).

Guarantees: pure; every reply is whole lines, and the same arguments give the same bytes.
"""

from __future__ import annotations

from typing import Final

from algokart_chat import irc
from algokart_chat.events import NOTE_BYTES
from algokart_chat.names import MAX_USERNAME_CHARS, NameProblem, username_problem
from algokart_chat.sessions.irc_channel import IrcChannel
from algokart_chat.sessions.irc_messages import MAX_TARGETS
from algokart_chat.text import clean_text, cut
from algokart_chat.version import __version__

NETWORK: Final = "algokart"
ISUPPORT: Final = (
    "CHANTYPES=#",
    "CASEMAPPING=ascii",
    f"NICKLEN={MAX_USERNAME_CHARS}",
    "PREFIX=(o)@",
    "CHANMODES=bq,,,",
    "CHANLIMIT=#:1",
    "UTF8ONLY",
    f"TARGMAX=PRIVMSG:{MAX_TARGETS},NOTICE:{MAX_TARGETS}",
    f"NETWORK={NETWORK}",
    f"AWAYLEN={NOTE_BYTES}",
)


def welcome(channel: IrcChannel, nick: str) -> bytes:
    """What a user registered as ``nick`` is told first: 001-004, 005 (ISUPPORT) and 422."""
    server = channel.server
    burst = [
        channel.numeric("001", nick, f"Welcome to the {NETWORK} IRC Network {channel.mask(nick)}"),
        channel.numeric("002", nick, f"Your host is {server}, running version algokart-chat-{__version__}"),
        channel.numeric("003", nick, f"This server was created {channel.created}"),
        channel.numeric("004", nick, server, f"algokart-chat-{__version__}", "i", "n"),
        *(
            channel.numeric("005", nick, *group, "are supported by this server")
            for group in irc.isupport_lines(list(ISUPPORT))
        ),
        channel.numeric("422", nick, "MOTD File is missing"),
    ]
    return b"".join(burst)


def nick_problem(nick: str) -> str:
    """432's reason: which of the name rules ``nick`` breaks (docs/PROTOCOL.md, *Names*)."""
    problem = username_problem(nick)
    reason = _NICK_PROBLEMS[problem] if problem is not None else "not a valid name"
    return f"Erroneous nickname: {reason}"


_NICK_PROBLEMS: Final[dict[NameProblem, str]] = {
    "length": f"more than {MAX_USERNAME_CHARS} characters",
    "characters": "only letters, digits, _ - and . are allowed",
    "invisible": "invisible characters",
    "scripts": "letters or digits of scripts that are not written together",
    "digits": "digits of more than one number system",
    "lookalike": "looks like a nickname in ASCII letters",
}


def farewell(server: str, reason: str, quit_text: str | None) -> bytes | None:
    """The ``ERROR`` line for a connection the server closes for ``reason`` (``quit``: the client's
    ``QUIT``, with its text if any); none when the client ended it or is not an IRC client."""
    if reason in ("closed", "http-request"):
        return None
    why = f"Quit: {quit_text or 'Client Quit'}" if reason == "quit" else _CLOSE_REASONS.get(reason, reason)
    return _closing_link(server, why)


def departure_reason(reason: str, quit_text: str | None) -> str | None:
    """What others see of why a user whose connection ended for ``reason`` left (after ``QUIT``,
    as in ``QUIT :Quit: gone home``): its ``QUIT``'s text, or what ended it; None for a ``QUIT``
    without one (``irc_channel.DEFAULT_QUIT``) and for what no one else hears of."""
    if reason == "quit":
        return cut(f"Quit: {quit_text}", NOTE_BYTES) if quit_text else None
    if reason.startswith(("kicked ", "banned ")):  # (an operator's: moderators)
        return cut(reason, NOTE_BYTES)
    return _DEPARTURE_REASONS.get(reason)


def note(text: str) -> str:
    """A reason, an away message or a real name as the gateway keeps it: cleaned as an IRC
    user's message text is for line users (IRC formatting, controls and bidi marks removed), at
    most ``events.NOTE_BYTES`` bytes."""
    return cut(clean_text(irc.without_formatting(text)), NOTE_BYTES)


def refusal(server: str, code: str) -> bytes:
    """The ``ERROR`` line for a connection refused at admission (``server-full`` ...)."""
    return _closing_link(server, code.replace("-", " "))


def _closing_link(server: str, why: str) -> bytes:
    return irc.message(None, "ERROR", f"Closing Link: {server} ({why})")


_CLOSE_REASONS: Final = {  # the words of the ERROR line for each reason the server closes a connection
    "ping-timeout": "Ping timeout",
    "idle": "Ping timeout",
    "login-timeout": "Registration timeout",
    "server-shutdown": "Server shutting down",
    "cluster-unavailable": "Cluster unavailable",
    "cluster-reset": "Cluster reset",
    "bad-password": "Password incorrect",
    "account-required": "An account is required",
}

_DEPARTURE_REASONS: Final = {  # why others see a user leave, for each way its connection ends
    "closed": "Connection closed",
    "reset": "Connection reset by peer",
    "fell-behind": "Max SendQ exceeded",
    "ping-timeout": "Ping timeout",
    "idle": "Ping timeout",
}


def labeled(server: str, label: str, response: bytes, batch: str | None) -> bytes:
    """The ``response`` (whole lines) to a command labeled ``label`` (IRCv3 labeled-response): one
    line carries the label; none is an ``ACK`` that does; several go in a ``labeled-response``
    batch called ``batch`` whose start does (without ``batch``, the client did not enable batch:
    they go as they are, unlabeled)."""
    label_tag = irc.tag("label", label)
    count = response.count(irc.CRLF)
    if count == 0:
        return irc.with_tag(irc.message(server, "ACK"), label_tag)
    if count == 1:
        return irc.with_tag(response, label_tag)
    if batch is None:
        return response
    lines = response.split(irc.CRLF)
    lines.pop()  # (after the last CRLF)
    batch_tag = irc.tag("batch", batch)
    start = f":{server} BATCH +{batch} labeled-response".encode() + irc.CRLF
    return b"".join(
        [
            irc.with_tag(start, label_tag),
            *(irc.with_tag(line + irc.CRLF, batch_tag) for line in lines),
            f":{server} BATCH -{batch}".encode() + irc.CRLF,
        ]
    )
