"""The algokart-chat wire protocol, with no I/O: bytes in, lines out; replies in, bytes out.

Nothing here touches a socket, a clock, asyncio or global mutable state, so every rule of
docs/PROTOCOL.md can be tested directly, thousands of cases a second.

Framing plan.  ``LineReader.feed`` takes whatever bytes arrived; ``LineReader.events`` hands out
the events they complete, all or as many as the caller can take: a ``str`` for each line
(decoded, stripped; ``""`` for a blank line), ``LINE_TOO_LONG`` for a line over the limit, and
``TelnetReply`` for the refusals telnet negotiation needs.

Guarantees:
- Work is O(n) in bytes received however the input is split: each byte is scanned once by
  ``bytes.find``, never rescanned, so a slow drip of bytes cannot make us burn CPU.
- The reader keeps at most ``max_line_bytes`` of one unterminated line.  A longer line yields
  ``LINE_TOO_LONG`` once and its bytes are dropped up to the next LF.  Bytes not framed yet are
  kept as they arrived, so a caller that stops reading while it waits holds no more than that.
- Undecodable bytes become U+FFFD; no input makes this module raise.
- Telnet IAC sequences are removed (state survives across reads), so ``telnet host 4000`` works.
  ``telnet_sequences`` counts them, so the caller can charge them like lines (a stream of them
  costs more per byte than text), and each option is refused at most once per connection, so
  a flood of requests gets no flood of answers.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, NamedTuple, TypeAlias

# --- telnet (RFC 854): the few bytes we must recognise ------------------------------------------
_IAC: Final = 0xFF
_SE: Final = 0xF0
_SB: Final = 0xFA
_WILL, _WONT, _DO, _DONT = 0xFB, 0xFC, 0xFD, 0xFE

# Telnet parser states.
_DATA, _COMMAND, _OPTION_WILL, _OPTION_DO, _OPTION_OTHER, _SUBNEG, _SUBNEG_IAC = range(7)


class LineTooLong:
    """Event: a line exceeded the byte limit; it is being discarded up to its LF."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "LINE_TOO_LONG"


LINE_TOO_LONG: Final = LineTooLong()


class TelnetReply(NamedTuple):
    """Event: bytes to send back so a telnet client is not left waiting for an answer."""

    data: bytes


Event: TypeAlias = str | LineTooLong | TelnetReply


class LineReader:
    """Turns a byte stream into line events; see the module docstring for the guarantees.

    ``feed`` stores what arrived (telnet sequences already split out); ``events`` frames it on
    demand, as many events as the caller can take, so a caller that must wait (a throttled
    connection) holds raw bytes, not thousands of decoded lines.
    """

    __slots__ = (
        "_discarding",
        "_ended",
        "_offset",
        "_partial",
        "_refused",
        "_telnet_state",
        "_unframed",
        "max_line_bytes",
        "telnet_sequences",
    )

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self.telnet_sequences = 0  # IAC sequences seen so far
        # Usually one piece at most: a list (an empty deque would cost ~600 bytes a connection).
        self._unframed: list[bytes | TelnetReply] = []
        self._offset = 0  # how much of _unframed[0] has been framed already
        self._partial = bytearray()  # start of a line whose LF has not arrived yet
        self._discarding = False  # inside an over-long line, dropping bytes up to its LF
        self._ended = False  # finish() was called: no more bytes will come
        self._telnet_state = _DATA
        self._refused: set[bytes] | None = None  # telnet refusals already sent

    def feed(self, data: bytes) -> None:
        """Take the bytes that arrived; ``events`` hands out what they complete."""
        if self._telnet_state == _DATA and b"\xff" not in data:
            if data:
                self._unframed.append(data)
        else:
            self._unframed.extend(piece for piece in self._strip_telnet(data) if piece)

    def finish(self) -> None:
        """End of stream: an unterminated last line will still count as a line."""
        self._ended = True

    @property
    def pending(self) -> bool:
        """Whether ``events`` has anything to hand out (bytes not framed, or an ended last line)."""
        return bool(self._unframed) or (self._ended and bool(self._partial) and not self._discarding)

    def events(self, limit: int | None = None) -> list[Event]:
        """The next events (all, or at most ``limit``) in stream order; [] when nothing is complete."""
        events: list[Event] = []
        budget = limit if limit is not None else -1  # -1: no limit
        unframed = self._unframed
        while unframed and budget:
            piece = unframed[0]
            if isinstance(piece, TelnetReply):
                events.append(piece)
                budget -= 1
                del unframed[0]
                continue
            budget, self._offset = self._frame(piece, self._offset, events, budget)
            if self._offset < len(piece):
                break  # the budget ran out mid-piece
            del unframed[0]
            self._offset = 0
        if self._ended and not unframed and budget:
            if self._partial and not self._discarding:
                events.append(_decode(bytes(self._partial)))
            self._partial.clear()
        return events

    def _frame(self, data: bytes, start: int, events: list[Event], budget: int) -> tuple[int, int]:
        """Frame ``data[start:]`` into at most ``budget`` events; return (budget left, offset reached)."""
        limit = self.max_line_bytes
        partial = self._partial
        while budget:
            end = data.find(b"\n", start)
            if end < 0:
                break
            if self._discarding:
                self._discarding = False
            elif partial:
                if len(partial) + end - start > limit:
                    events.append(LINE_TOO_LONG)
                else:
                    partial += data[start:end]
                    events.append(_decode(bytes(partial)))
                partial.clear()
                budget -= 1
            elif end - start > limit:
                events.append(LINE_TOO_LONG)
                budget -= 1
            else:
                events.append(_decode(data[start:end]))
                budget -= 1
            start = end + 1
        else:
            return budget, start  # out of budget: the rest waits for the next call
        if start < len(data) and not self._discarding:
            if len(partial) + len(data) - start > limit:
                events.append(LINE_TOO_LONG)
                budget -= 1
                partial.clear()
                self._discarding = True
            else:
                partial += data[start:]
        return budget, len(data)

    def _strip_telnet(self, data: bytes) -> list[bytes | TelnetReply]:
        """Split out IAC sequences; answer WILL with DONT and DO with WONT (we support no options).

        Returns the data bytes and the replies in stream order.
        """
        pieces: list[bytes | TelnetReply] = []
        kept = bytearray()
        state = self._telnet_state
        position, size = 0, len(data)
        while position < size:
            if state in (_DATA, _SUBNEG):
                found = data.find(b"\xff", position)
                if state == _DATA:
                    kept += data[position : found if found >= 0 else size]
                if found < 0:
                    break
                position = found + 1
                if state == _DATA:
                    self.telnet_sequences += 1
                    state = _COMMAND
                else:
                    state = _SUBNEG_IAC
                continue
            byte = data[position]
            position += 1
            if state == _COMMAND:
                if byte == _IAC:  # IAC IAC is a literal 0xFF; never valid UTF-8, so it decodes to U+FFFD
                    kept.append(_IAC)
                    state = _DATA
                elif byte == _WILL:
                    state = _OPTION_WILL
                elif byte == _DO:
                    state = _OPTION_DO
                elif byte in (_WONT, _DONT):
                    state = _OPTION_OTHER
                elif byte == _SB:
                    state = _SUBNEG
                else:  # a two-byte command: IP (Ctrl+C), AYT, NOP, ...
                    state = _DATA
            elif state == _SUBNEG_IAC:
                state = _DATA if byte == _SE else _SUBNEG
            else:  # the option byte of WILL / WONT / DO / DONT
                if state != _OPTION_OTHER:
                    refusal = bytes((_IAC, _DONT if state == _OPTION_WILL else _WONT, byte))
                    if self._refused is None:
                        self._refused = set()
                    if refusal not in self._refused:  # at most 2 x 256 of them
                        self._refused.add(refusal)
                        pieces.append(bytes(kept))
                        kept.clear()
                        pieces.append(TelnetReply(refusal))
                state = _DATA
        self._telnet_state = state
        pieces.append(bytes(kept))
        return pieces


def _decode(raw: bytes) -> str:
    # bytes.strip() removes exactly the ASCII whitespace: space, \t, \n, \r, \v, \f.
    return raw.strip().decode("utf-8", "replace")


# --- commands -----------------------------------------------------------------------------------
class Command(NamedTuple):
    """A parsed line: ``verb`` upper-cased (ASCII only), ``argument`` the rest, inner spacing kept."""

    verb: str
    argument: str


_WORD_SEPARATOR: Final = re.compile(r"[ \t]+")


def parse_command(line: str) -> Command:
    """Split a non-blank stripped line into its command word and the rest of the line."""
    verb, argument = split_word(line)
    # Only ASCII case-folding: "logın".upper() would otherwise become "LOGIN".
    return Command(verb.upper() if verb.isascii() else verb, argument)


def split_word(text: str) -> tuple[str, str]:
    """``"bob  hi  there"`` -> ``("bob", "hi  there")``: the first word and the rest."""
    parts = _WORD_SEPARATOR.split(text, 1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "")


# --- usernames ----------------------------------------------------------------------------------
MAX_USERNAME_CHARS: Final = 32
_ASCII_USERNAME: Final = re.compile(r"[A-Za-z0-9_.-]{1,32}")


def is_valid_username(name: str) -> bool:
    """1-32 characters, each a letter, a decimal digit, ``_``, ``-`` or ``.`` (Unicode letters too),
    with all letters from one script (see ``letter_scripts``), so ``Аlice`` with a Cyrillic ``А``
    cannot pose as ``Alice``."""
    if name.isascii():
        return _ASCII_USERNAME.fullmatch(name) is not None
    return (
        0 < len(name) <= MAX_USERNAME_CHARS
        and all(char.isalpha() or char.isdecimal() or char in "_-." for char in name)
        and _one_script(letter_scripts(name))
    )


# Scripts that are written together: Japanese mixes kanji (CJK) with both kana, Korean mixes
# hanja with hangul, Chinese may add bopomofo; each may also carry Latin (as in UTS #39's
# "highly restrictive" level).  Any other mix, such as Latin with Cyrillic or Greek, is refused.
_WRITTEN_TOGETHER: Final = (
    frozenset({"LATIN", "CJK", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "CJK", "HANGUL"}),
    frozenset({"LATIN", "CJK", "BOPOMOFO"}),
)
_SCRIPT_ALIASES: Final = {"KATAKANA-HIRAGANA": "KATAKANA", "IDEOGRAPHIC": "CJK"}


def letter_scripts(name: str) -> set[str]:
    """The scripts of the letters of ``name``: the first word of each letter's Unicode name, after
    NFKC (so fullwidth ``Ａ`` is LATIN).  Digits, ``_``, ``-`` and ``.`` belong to every script.

    A practical rule, not Unicode's Script property (which the standard library lacks): a few
    letters are named after something else (``MODIFIER LETTER ...``) and count as a script of
    their own, so a name that mixes them with others is refused.
    """
    scripts = set()
    for char in unicodedata.normalize("NFKC", name):
        if char.isalpha():
            word = unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]
            scripts.add(_SCRIPT_ALIASES.get(word, word))
    return scripts


def _one_script(scripts: set[str]) -> bool:
    return len(scripts) <= 1 or any(scripts <= together for together in _WRITTEN_TOGETHER)


def username_key(name: str) -> str:
    """The identity of a name: equal keys mean the same user (case and width forms ignored)."""
    return unicodedata.normalize("NFKC", name).casefold()


# --- message text -------------------------------------------------------------------------------
# C0 controls except tab, DEL and C1 controls: nothing that could move a terminal's cursor.  And the
# bidirectional marks, embeddings, overrides and isolates, so a message cannot reorder what the next
# line on a reader's terminal shows ("Trojan Source").  ZWJ (U+200D), used by emoji sequences, stays.
_UNSAFE_CHARACTERS: Final = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """Remove control and bidi-control characters, turn tabs into spaces, trim the ends; inner
    spacing stays."""
    return _UNSAFE_CHARACTERS.sub("", text).replace("\t", " ").strip(" ")


# --- replies and events the server sends --------------------------------------------------------
OK: Final = b"OK\n"
PONG: Final = b"PONG\n"
GOODBYE: Final = b"Goodbye!\n"
INFO_IDLE_TIMEOUT: Final = b"INFO idle-timeout\n"
INFO_LOGIN_TIMEOUT: Final = b"INFO login-timeout\n"
INFO_SERVER_SHUTDOWN: Final = b"INFO server-shutdown\n"

# Every error code the server sends, in the words of docs/PROTOCOL.md.
ERROR_CODES: Final = (
    "username-taken",
    "invalid-username",
    "already-logged-in",
    "not-logged-in",
    "empty-message",
    "no-such-user",
    "unknown-command",
    "line-too-long",
    "server-full",
    "too-many-connections",
)


def error(code: str) -> bytes:
    """``ERR <code>`` as a wire line; only the codes of ERROR_CODES exist."""
    if code not in ERROR_CODES:
        raise ValueError(f"no such error code: {code!r}")
    return b"ERR " + code.encode("ascii") + b"\n"


HELP: Final = b"".join(
    b"INFO " + text.encode("ascii") + b"\n"
    for text in (
        "Commands:",
        "LOGIN <username> - log in (1-32 letters, digits, _ - .)",
        "MSG <text> - send a message to everyone else",
        "DM <username> <text> - send a private message",
        "WHO - list the users online",
        "PING - check the connection (answer: PONG)",
        "HELP - show this help",
        "QUIT or EXIT - disconnect",
    )
)


def message_prefix(sender: str) -> bytes:
    """Everything before the text of a broadcast from ``sender``: computed once per login."""
    return b"MSG " + sender.encode("utf-8") + b" "


def direct_prefix(sender: str) -> bytes:
    return b"DM " + sender.encode("utf-8") + b" "


def with_text(prefix: bytes, text: str) -> bytes:
    return prefix + text.encode("utf-8") + b"\n"


def user_line(name: str) -> bytes:
    return b"USER " + name.encode("utf-8") + b"\n"


def disconnected(name: str) -> bytes:
    return b"INFO " + name.encode("utf-8") + b" disconnected\n"
