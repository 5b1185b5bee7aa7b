"""The IRC gateway's fixed replies: the welcome burst of a registration (001-005 with the ISUPPORT
tokens, and 422), the reason a nick is refused (432), the ``ERROR`` line that says why the
server closes a connection, the reason others see for it, and labeled responses: their form, and
``Labels``, what one session's labeled command answered so far (docs/IRC.md, *Registration*,
*Names*, *Closing* and *Capabilities*).

Plan: what the server advertises is what the other parts do: ``NICKLEN`` is the line protocol's
name limit, ``TARGMAX`` is ``irc_messages.MAX_TARGETS``, ``CHANLIMIT`` and ``CHANTYPES`` say there
is one channel, ``PREFIX`` is ``(o)@`` (operators: ``irc_moderation``), ``CHANMODES`` has the
ban and quiet lists (``b``, ``q``), the only modes, and ``AWAYLEN`` is what the room keeps of an
away message (``events.NOTE_BYTES``).

Guarantees: pure (``Labels`` aside, which holds one session's state and touches nothing else);
every reply is whole lines, and the same arguments give the same bytes.
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


def welcome(channel: IrcChannel, nick: str, history: tuple[str, ...] = ()) -> bytes:
    """What a user registered as ``nick`` is told first: 001-004, 005 (ISUPPORT, with
    ``history``'s tokens: ``irc_history.ISUPPORT`` when history is kept) and 422."""
    server = channel.server
    burst = [
        channel.numeric("001", nick, f"Welcome to the {NETWORK} IRC Network {channel.mask(nick)}"),
        channel.numeric("002", nick, f"Your host is {server}, running version algokart-chat-{__version__}"),
        channel.numeric("003", nick, f"This server was created {channel.created}"),
        channel.numeric("004", nick, server, f"algokart-chat-{__version__}", "i", "n"),
        *(
            channel.numeric("005", nick, *group, "are supported by this server")
            for group in irc.isupport_lines([*ISUPPORT, *history])
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


MAX_LABEL_BYTES: Final = 64  # labeled-response: a longer label is no label


def label_of(tags: str) -> str | None:
    """The ``label`` tag's value, if the line's ``tags`` have one that fits (at most 64 bytes)."""
    if "label" not in tags:
        return None
    label = irc.parse_tags(tags).get("label")
    return label if label and len(label.encode()) <= MAX_LABEL_BYTES else None


def labeled(server: str, label: str, response: bytes, batch: str | None) -> bytes:
    """The ``response`` (whole lines) to a command labeled ``label`` (IRCv3 labeled-response): one
    line carries the label; none is an ``ACK`` that does; several go in a ``labeled-response``
    batch called ``batch`` whose start does (without ``batch``, the client did not enable batch:
    they go as they are, unlabeled).  A response that is one batch already (``CHATHISTORY``'s)
    has the label on its start, as the spec allows for a batch type that covers it all.  A batch
    nested in the response (a ``JOIN``'s replay) keeps its lines: only its ``BATCH +``/``-`` lines
    carry the outer tag, since a message belongs to one batch."""
    label_tag = irc.tag("label", label)
    count = response.count(irc.CRLF)
    if count == 0:
        return irc.with_tag(irc.message(server, "ACK"), label_tag)
    if count == 1 or _one_batch(server, response):
        return irc.with_tag(response, label_tag)
    if batch is None:
        return response
    lines = response.split(irc.CRLF)
    lines.pop()  # (after the last CRLF)
    batch_tag = irc.tag("batch", batch)
    inside = [irc.with_tag(f":{server} BATCH +{batch} labeled-response".encode() + irc.CRLF, label_tag)]
    depth = 0  # (of the batches nested in the response)
    for line in lines:
        edge = _batch_edge(line)
        depth = max(depth + min(edge, 0), 0)
        inside.append(irc.with_tag(line + irc.CRLF, batch_tag) if depth == 0 else line + irc.CRLF)
        depth += max(edge, 0)
    inside.append(f":{server} BATCH -{batch}".encode() + irc.CRLF)
    return b"".join(inside)


def _batch_edge(line: bytes) -> int:
    """1 if ``line`` starts a batch (``BATCH +<ref>``), -1 if it ends one, else 0."""
    words = line.split(b" ", 3)
    while words and words[0][:1] in (b"@", b":"):  # (its tags, its source)
        words.pop(0)
    if len(words) < 2 or words[0] != b"BATCH":
        return 0
    return {b"+": 1, b"-": -1}.get(words[1][:1], 0)


def _one_batch(server: str, response: bytes) -> bool:
    """Whether ``response`` is one batch: its first line starts it, its last ends it."""
    start = f":{server} BATCH +".encode()
    if not response.startswith(start):
        return False
    reference = response[len(start) :].split(b" ", 1)[0].split(b"\r", 1)[0]
    return response.endswith(f":{server} BATCH -".encode() + reference + irc.CRLF)


class Labels:
    """One session's labeled-response state: the label of the command being handled, what it
    answered so far, and the count of its echoes (echo-message).  Echoes come back in the order
    they were asked for, so counting them (``asked``, ``back``) tells an earlier message's echo
    still on its way from this command's; at a sync point every echo asked for before it is back
    or never comes, so the count catches up there (``synced``)."""

    # One per connection, so slots.
    __slots__ = ("_batches", "_echo_waited", "_from", "_gathered", "asked", "back", "label")

    def __init__(self) -> None:
        self.label: str | None = None  # the label of the command being handled
        self._gathered: list[bytes] = []  # what that command answered so far
        self.asked = 0  # echoes asked for, ever
        self.back = 0  # of those, how many came back (or never will)
        self._from = 0  # the echoes asked for before the label opened (not its response)
        self._echo_waited = False  # the label waited for the room once for its echoes
        self._batches = 0  # batches started (each one's reference)

    def open(self, label: str) -> None:
        self.label, self._from, self._echo_waited = label, self.asked, False

    def gather(self, reply: bytes) -> bool:
        """Keep ``reply`` for the open label's response; False if no label is open."""
        if self.label is None:
            return False
        self._gathered.append(reply)
        return True

    def echo_back(self, data: bytes) -> bool:
        """An echo came back: kept if it was asked for under the open label (then True)."""
        self.back += 1
        return self.back > self._from and self.gather(data)

    def synced(self, asked: int) -> None:
        """The room caught up with everything sent when ``asked`` echoes had been asked for."""
        self.back = max(self.back, asked)

    def wait_for_echoes(self) -> bool:
        """Whether the command must wait for the room once more for its echoes (once at most:
        whatever is not back after that never comes)."""
        if self.asked > max(self.back, self._from) and not self._echo_waited:
            self._echo_waited = True
            return True
        return False

    def close(self, server: str, batch: bool) -> bytes:
        """The labeled response of the command that ends (in a batch if several lines and ``batch``)."""
        assert self.label is not None
        label, self.label = self.label, None
        response, self._gathered = b"".join(self._gathered), []
        return labeled(server, label, response, self.reference("L") if batch else None)

    def reference(self, kind: str) -> str:
        """A batch reference this connection has not used: ``kind`` and a count."""
        self._batches += 1
        return f"{kind}{self._batches}"
