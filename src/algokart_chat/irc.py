"""The IRC client protocol, the part of it the gateway speaks, with no I/O: lines in, messages
out; replies in, bytes out.  Nothing here touches a socket, a clock or global mutable state.

- ``parse`` reads a client's line (RFC 1459 / modern IRC, ircdocs): optional message tags (kept as
  sent, read only where a command needs them: ``parse_tags``) and prefix, which a client need not
  send and the gateway ignores, the command, and its parameters, the last one possibly trailing
  (``:`` and spaces kept).  ``oversized`` says whether a line breaks the message-tags size limits.
  ``simple_privmsg`` reads the commonest line, ``PRIVMSG <target> :<text>``, at a fraction of the
  cost, and agrees with those (and ``without_cr_nul``, ``invalid_utf8``) on every line it reads.
- Message tags (IRCv3 message-tags): ``parse_tags`` reads them, values unescaped; ``client_tags``
  writes the client-only ones (``+...``) back, escaped, for relaying; ``tag`` writes one and
  ``with_tag`` puts one in front of a line's others;
  ``server_time`` is the ``time`` tag's value (server-time).
- ``message`` writes one: every line the server sends ends in CRLF and has its last parameter in
  trailing form, as many clients expect.
- ``lines_for`` cuts a text that does not fit one line (a line-protocol message may be 8 KiB; an
  IRC line is 512 bytes with its CRLF) into several, at spaces where it can and never inside a
  UTF-8 sequence; ``fit`` cuts one to a single line.  ``text_head`` writes what comes before a
  user's text, and ``text_room`` says how much text a line has room for at worst, so that the
  settings can refuse a channel and server name that leave too little (``MIN_TEXT_BYTES``).
- ``without_cr_nul`` removes a bare CR or a NUL from a line: a CR ends no line inside one, and
  neither byte ever reaches anyone.
- ``invalid_utf8`` tells a line that was not all UTF-8 (read with ``surrogateescape``) and gives
  it with U+FFFD in place of the bad bytes, as the line protocol reads it.
- ``Wildcard`` matches a WHO mask (``*``, ``?``) against names in time linear in each name, with
  nothing cached between masks.
- ``username`` is the username field a user gets from its ``USER`` (no ident lookup: ``~``).
- ``ctcp`` and ``plain_text`` turn what an IRC user said into what a line user reads: ACTION as
  ``* text``, other CTCP not at all, formatting codes removed (``without_formatting``).

Work is O(bytes) per line, whatever the input.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Final, NamedTuple

from algokart_chat.names import MAX_USERNAME_CHARS

LINE_BYTES: Final = 512  # the longest line either way, CRLF included, not counting its message tags
# message-tags: a client's tags are at most 4094 bytes between the "@" and the space after them.
MAX_TAG_DATA_BYTES: Final = 4094
# The most a client's line holds before its LF: "@", tags, space, and 510 bytes with the CR.
MAX_INPUT_BYTES: Final = 1 + MAX_TAG_DATA_BYTES + 1 + LINE_BYTES - 1
CRLF: Final = b"\r\n"
# The least text a line must have room for, whoever sends it to whom: 8 characters of 4 bytes, so
# that a message split over lines is not mostly prefixes.  The settings refuse a channel and server
# name that leave less (a direct message to the longest nick leaves 49 with any server name).
MIN_TEXT_BYTES: Final = 32
# The valid name of the most bytes: 32 letters of 4 bytes each (U+10400 DESERET CAPITAL LETTER LONG I).
LONGEST_NICK: Final = "\U00010400" * MAX_USERNAME_CHARS


_ESCAPED_BYTE: Final = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of a bad byte
_CR_NUL: Final = {ord("\r"): None, ord("\0"): None}


def without_cr_nul(line: str) -> str:
    """``line`` without its CR and NUL characters.  The framer took the CR of the CRLF; a CR left
    inside a line ends nothing and is dropped, as InspIRCd does, so no client that splits lines
    at a CR sees a line nobody sent; a NUL, which no IRC line may hold, is dropped too."""
    if "\r" in line or "\0" in line:
        return line.translate(_CR_NUL)
    return line


def invalid_utf8(line: str) -> str | None:
    """None if ``line`` (decoded with ``surrogateescape``) was valid UTF-8; else the line with
    U+FFFD for each invalid sequence."""
    if line.isascii() or _ESCAPED_BYTE.search(line) is None:  # (isascii is O(1) on a str)
        return None
    return line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class Message(NamedTuple):
    command: str  # upper-cased (ASCII), or a numeric
    params: list[str]
    tags: str = ""  # the message tags as sent, without the "@" (``parse_tags`` reads them)


def oversized(line: str) -> bool:
    """Whether ``line`` (as the framer gave it, without its CRLF) breaks the size limits: more
    than MAX_TAG_DATA_BYTES of tags, or more than LINE_BYTES with its CRLF after them."""
    rest = line
    if line.startswith("@"):
        tags, _, rest = line.partition(" ")
        if len(tags) > MAX_TAG_DATA_BYTES // 4 + 1 and _utf8_length(tags) - 1 > MAX_TAG_DATA_BYTES:
            return True
    limit = LINE_BYTES - len(CRLF)
    return len(rest) > limit // 4 and _utf8_length(rest) > limit


def _utf8_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogateescape"))


def parse(line: str) -> Message | None:
    """A client's line as a ``Message``; None if it holds no command (only tags, a prefix ...)."""
    rest = line
    tags = ""
    if rest[:1] in ("@", ":", " "):
        if rest.startswith("@"):
            tags, _, rest = rest.partition(" ")
            tags = tags[1:]
        rest = rest.lstrip(" ")
        if rest.startswith(":"):  # a prefix: a client's own, which says nothing the server trusts
            rest = rest.partition(" ")[2]
    head, colon, trailing = rest.partition(" :")
    words = head.split(" ")
    if "" in words:  # (several spaces in a row, or at either end)
        words = [word for word in words if word]
    if not words or head.startswith(":"):
        return None
    params = words[1:]
    if colon:
        params.append(trailing)
    command = words[0]
    return Message(command.upper() if command.isascii() else command, params, tags)


def simple_privmsg(line: str) -> tuple[str, str] | None:
    """``(target, text)`` of the commonest line, ``PRIVMSG <target> :<text>`` (upper case, no tags,
    no prefix, one word of target, no CR or NUL, within the size limits, UTF-8), read with a few
    string tests; None for any other line, which ``parse`` reads.  Where it answers, it agrees with
    ``without_cr_nul``, ``oversized``, ``invalid_utf8`` and ``parse`` together: the line is
    ``Message("PRIVMSG", [target, text])``."""
    if not line.startswith("PRIVMSG ") or "\r" in line or "\0" in line:
        return None
    if line.isascii():  # (O(1) on a str; then its length is its bytes, and it is UTF-8)
        if len(line) > LINE_BYTES - len(CRLF):
            return None
    elif oversized(line) or invalid_utf8(line) is not None:
        return None
    head, colon, text = line.partition(" :")
    target = head[8:]
    if not colon or not target or " " in target:  # (several words, or spaces: parse reads them)
        return None
    return target, text


# --- message tags (IRCv3 message-tags, server-time) -----------------------------------------
_UNESCAPES: Final = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_ESCAPES: Final = str.maketrans({";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"})
_ESCAPED: Final = re.compile(r"\\(.?)", re.DOTALL)


def parse_tags(tags: str) -> dict[str, str]:
    """The tags of ``Message.tags`` by key, values unescaped (a missing value is ``""``; of a key
    given twice, the last counts).  Keys are opaque: none is refused, and an empty one is skipped."""
    found: dict[str, str] = {}
    for item in tags.split(";"):
        key, _, value = item.partition("=")
        if key:
            found[key] = _ESCAPED.sub(_unescape_one, value) if "\\" in value else value
    return found


def _unescape_one(match: re.Match[str]) -> str:
    char = match.group(1)
    return _UNESCAPES.get(char, char)  # (an unknown escape is the character; a lone \ at the end, nothing)


def tag(key: str, value: str = "") -> str:
    """``key=value`` with the value escaped (``key`` alone for an empty one)."""
    return f"{key}={value.translate(_ESCAPES)}" if value else key


def client_tags(tags: dict[str, str]) -> str | None:
    """The client-only tags (``+...``) of ``tags``, escaped and joined with ``;`` as they are
    relayed; None if there are none.  Others (unprefixed: they would carry a meaning the server
    vouches for) are never relayed."""
    relayed = [tag(key, value) for key, value in tags.items() if key.startswith("+") and len(key) > 1]
    return ";".join(relayed) if relayed else None


def with_tag(line: bytes, tag_text: str) -> bytes:
    """``line`` (one whole line) with the tag ``tag_text`` (escaped) first among its tags."""
    if line.startswith(b"@"):
        return b"@" + tag_text.encode() + b";" + line[1:]
    return b"@" + tag_text.encode() + b" " + line


def server_time(seconds: float) -> str:
    """The ``time`` tag's value for ``seconds`` since the epoch: ``2011-10-19T16:40:51.620Z`` (UTC,
    milliseconds)."""
    milliseconds = round(seconds * 1000)
    whole, fraction = divmod(milliseconds, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{fraction:03d}Z"


def message(prefix: str | None, command: str, *params: str) -> bytes:
    """``:prefix COMMAND p1 p2 :last`` and CRLF; the last parameter is always trailing.  A line
    that would be longer than LINE_BYTES (a reply that echoes a long mask or target) has its
    longest parameters cut, at whole characters, until it fits."""
    head = f":{prefix} {command}" if prefix else command
    line = " ".join([head, *params[:-1], ":" + params[-1]] if params else [head]).encode("utf-8") + CRLF
    if len(line) <= LINE_BYTES or not params:
        return line
    fitted = [param.encode("utf-8") for param in params]
    excess = len(line) - LINE_BYTES
    for index in sorted(range(len(fitted)), key=lambda index: -len(fitted[index])):  # longest first
        data = fitted[index]
        keep = max(len(data) - excess, 1)
        if excess <= 0 or keep >= len(data):
            continue
        cut = _utf8_boundary(data, keep) or _first_character_end(data)
        excess -= len(data) - cut
        fitted[index] = data[:cut]
    return b" ".join([head.encode("utf-8"), *fitted[:-1], b":" + fitted[-1]]) + CRLF


def user_mask(nick: str, server: str) -> str:
    """``nick!nick@server``: how every user appears (no address is shown, nor is any)."""
    return f"{nick}!{nick}@{server}"


USERNAME_CHARS: Final = 9  # of USER's username kept (``~`` in front makes 10, as servers show it)
_IDENT: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_.\[\]\\^{}|`]*")


def username(requested: str) -> str:
    """The username field of a user whose ``USER`` asked for ``requested``: ``~`` (no ident
    server vouches for it) and its first USERNAME_CHARS characters if they make an ident (an
    ASCII letter or digit, then those or any of ``- _ . [ ] { } | ^``, backquote and backslash,
    as Charybdis and InspIRCd allow), else ``~user``."""
    wanted = requested[:USERNAME_CHARS]
    return "~" + (wanted if _IDENT.fullmatch(wanted) else "user")


def text_head(sender: str, server: str, command: str, target: str) -> bytes:
    """What comes before a user's text: ``:alice!alice@server PRIVMSG #chat :``."""
    return f":{user_mask(sender, server)} {command} {target} :".encode()


def text_room(server: str, channel: str) -> int:
    """The bytes of text a line carries at worst: after the longest ``text_head`` the gateway can
    write, a ``PRIVMSG`` from the name of the most bytes to the channel or to such a name."""
    target = max(channel, LONGEST_NICK, key=lambda name: len(name.encode()))
    return LINE_BYTES - len(CRLF) - len(text_head(LONGEST_NICK, server, "PRIVMSG", target))


def lines_for(head: bytes, text: str) -> Iterator[bytes]:
    """``head`` (such as ``:alice!alice@host PRIVMSG #chat :``) with ``text`` as many times as it
    takes to send all of it in lines of at most LINE_BYTES: cut at the last space that fits (the
    space stays at the end of the earlier line), else at the last whole character.  Every line
    carries at least one whole character: should ``head`` leave no room for one (the settings see
    that it does: ``text_room``), the line is longer than LINE_BYTES rather than empty."""
    room = max(LINE_BYTES - len(head) - len(CRLF), 0)
    data = text.encode("utf-8")
    while len(data) > room:
        cut = data.rfind(b" ", 0, room)  # (a space at room - 1 at the latest: it stays with this line)
        if cut > 0:
            cut += 1  # keep the space with the first part
        else:
            cut = _utf8_boundary(data, room) or _first_character_end(data)
        yield head + data[:cut] + CRLF
        data = data[cut:]
    if data or not text:
        yield head + data + CRLF


def fit(head: bytes, text: str) -> bytes:
    """``head`` and as much of ``text`` as fits one line (cut at a whole character)."""
    room = max(LINE_BYTES - len(head) - len(CRLF), 0)
    data = text.encode("utf-8")
    if len(data) > room:
        data = data[: _utf8_boundary(data, room)]
    return head + data + CRLF


def _utf8_boundary(data: bytes, limit: int) -> int:
    """The largest cut at or below ``limit`` (< len(data)) that does not split a UTF-8 sequence."""
    cut = limit
    while cut > 0 and (data[cut] & 0xC0) == 0x80:  # a continuation byte: step back
        cut -= 1
    return cut


def _first_character_end(data: bytes) -> int:
    """The cut after the first whole character of ``data`` (not empty)."""
    cut = 1
    while cut < len(data) and (data[cut] & 0xC0) == 0x80:
        cut += 1
    return cut


# --- what an IRC user said, for a line user -------------------------------------------------
_FORMATTING: Final = re.compile(
    r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]"
)


def ctcp(text: str) -> tuple[str, str] | None:
    """``("ACTION", "waves")`` for ``\\x01ACTION waves\\x01``; None for a plain message."""
    if not text.startswith("\x01"):
        return None
    body = text[1:-1] if text.endswith("\x01") and len(text) > 1 else text[1:]
    command, _, argument = body.partition(" ")
    return command.upper(), argument


def plain_text(text: str) -> str | None:
    """What a line user reads of ``text``: formatting codes removed, ACTION as ``* text``; None
    for other CTCP (a VERSION request means nothing to them).  (Controls and bidi marks are the
    line protocol's to remove, with the rest of its text rules.)"""
    request = ctcp(text)
    if request is not None:
        command, argument = request
        if command != "ACTION":
            return None
        text = "* " + argument
    return without_formatting(text)


def without_formatting(text: str) -> str:
    """``text`` without IRC's formatting codes (bold, colours and their numbers, italics ...)."""
    return text if text.isprintable() else _FORMATTING.sub("", text)  # (printable: no codes to find)


# --- names and channels ---------------------------------------------------------------------
def channel_key(name: str) -> str:
    """Channels compare as CASEMAPPING=ascii says: ASCII letters folded, nothing else."""
    return name.translate(_ASCII_LOWER)


_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


_STAR_RUN: Final = re.compile(r"\*\*+")


class Wildcard:
    """A mask compiled once to be matched against many names, as ``WHO`` does: ``*`` stands for any
    run of characters (none included), ``?`` for one character, anything else for itself.  The
    caller folds the mask and the names alike first.

    ``matches`` reads a name once, left to right, keeping every mask position the name so far can
    have reached as a bit of one integer (a bit-parallel automaton, as in Shift-And).  Each
    character costs a few integer operations on len(mask) + 1 bits, done in C: O(len(name)) Python
    steps and O(len(name) * len(mask) / 30) operations on 30-bit digits, whatever the mask.  So no mask makes it
    backtrack (a regex can, and the two-pointer matcher retries every star: ``*a*a*a*b`` against
    ``aaa...``), and nothing outlives the mask (``fnmatch`` keeps every pattern it compiles, up to
    32,768).  A name shorter than the mask's characters other than ``*`` is refused unread.
    """

    __slots__ = ("_any", "_exact", "_final", "_least", "_open", "_stars", "_start", "_steps")

    def __init__(self, mask: str) -> None:
        mask = _STAR_RUN.sub("*", mask)  # (a run of stars matches what one does)
        self._exact = None if "*" in mask or "?" in mask else mask
        self._least = len(mask) - mask.count("*")  # the fewest characters a name it matches has
        self._open = "*" in mask  # (without a star, exactly that many)
        stars = any_char = 0
        steps: dict[str, int] = {}
        for position, char in enumerate(mask):
            if char == "*":
                stars |= 1 << position
            elif char == "?":
                any_char |= 1 << position
            else:
                steps[char] = steps.get(char, 0) | 1 << position
        # Bit i set: the name so far matches mask[:i].  A character moves i to i + 1 where mask[i]
        # is that character or ``?``, and stays at a star; a star also reaches past itself at once.
        self._steps = {char: bits | any_char for char, bits in steps.items()}
        self._any, self._stars = any_char, stars
        self._start = 1 | (stars & 1) << 1
        self._final = 1 << len(mask)

    def matches(self, name: str) -> bool:
        if self._exact is not None:
            return name == self._exact
        if len(name) < self._least or (not self._open and len(name) != self._least):
            return False
        steps, any_char, stars = self._steps, self._any, self._stars
        reached = self._start
        for char in name:
            reached = ((reached & steps.get(char, any_char)) << 1) | (reached & stars)
            if not reached:
                return False
            reached |= (reached & stars) << 1
        return bool(reached & self._final)


def isupport_lines(tokens: list[str], per_line: int = 13) -> Iterator[list[str]]:
    """ISUPPORT tokens in groups, at most ``per_line`` to a 005 line (as clients expect)."""
    for start in range(0, len(tokens), per_line):
        yield tokens[start : start + per_line]
