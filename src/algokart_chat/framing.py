"""Line framing for every line-based protocol, with no I/O: bytes in, line events out.

Nothing here touches a socket, a clock, asyncio or global mutable state.  ``LineReader.feed``
takes whatever bytes arrived; ``LineReader.events`` hands out the events they complete, all or as
many as the caller can pay for: a ``str`` for each line (decoded; ``""`` for a blank line),
``LINE_TOO_LONG`` for a line over the limit, and ``TelnetReply`` for the refusals telnet
negotiation needs.  Two options fit it to a protocol: ``telnet`` (strip and refuse IAC sequences,
as the line protocol does; IRC has none) and ``strip`` (trim ASCII whitespace at both ends and
replace invalid UTF-8 with U+FFFD, as the line protocol does; otherwise only the CR of a CRLF goes
and invalid bytes stay as lone surrogates for the protocol to judge, as IRC needs).

Guarantees:
- Work is O(n) in bytes received however the input is split: each byte is scanned once by
  ``bytes.find``, never rescanned, so a slow drip of bytes cannot make us burn CPU.
- The reader keeps at most ``max_line_bytes`` of one unterminated line.  A longer line yields
  ``LINE_TOO_LONG`` once and its bytes are dropped up to the next LF.  Bytes not framed yet are
  kept as they arrived, so a caller that stops reading while it waits holds no more than that.
- Undecodable bytes become U+FFFD; no input makes this module raise.
- Telnet IAC sequences are removed (state survives across reads), so ``telnet host 4000`` works.
  Each option is refused at most once per connection, so a flood of requests gets no flood of
  answers, and a subnegotiation's contents are skipped, never stored.
- Work is paid for.  ``events(limit)`` stops after ``limit`` units: a line, a telnet sequence, or
  ``max_line_bytes`` of subnegotiation each cost one.  A caller that charges tokens for units (as
  the server does) does no more work per read than its budget allows, whatever the bytes are:
  131,072 ``IAC NOP`` in one read are parsed a budget at a time, and an endless subnegotiation is
  paced like a stream of long lines.  (The bytes of a line already over the limit cost nothing
  more: they are skipped by ``bytes.find`` at C speed up to the LF.)
"""

from __future__ import annotations

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

    ``feed`` only stores what arrived; ``events`` parses it on demand (telnet included), as many
    units of work as the caller can pay for, so a caller that must wait (a throttled connection)
    holds raw bytes, not thousands of decoded lines, and no read costs more work than was paid.
    """

    __slots__ = (
        "_bytes_left",
        "_discarding",
        "_ended",
        "_iac_at",
        "_offset",
        "_partial",
        "_refused",
        "_skipped",
        "_telnet_state",
        "_unframed",
        "decode",
        "framed_bytes",
        "max_line_bytes",
        "telnet",
    )

    def __init__(self, max_line_bytes: int, telnet: bool = True, strip: bool = True) -> None:
        self.max_line_bytes = max_line_bytes
        self.telnet = telnet
        self.decode = decode_stripped if strip else decode_exact
        # Usually one piece at most: a list (an empty deque would cost ~600 bytes a connection).
        self._unframed: list[bytes] = []
        self._offset = 0  # how much of _unframed[0] has been parsed already
        self._iac_at: int | None = None  # next IAC in _unframed[0] at or after _offset (-1: none)
        self._partial = bytearray()  # start of a line whose LF has not arrived yet
        self._discarding = False  # inside an over-long line, dropping bytes up to its LF
        self._ended = False  # finish() was called: no more bytes will come
        self._telnet_state = _DATA
        self._skipped = 0  # subnegotiation bytes not paid for yet
        self._refused: set[bytes] | None = None  # telnet refusals already sent
        self._bytes_left = 0  # what this events() call may still frame, in bytes of lines
        self.framed_bytes = 0  # bytes of lines (LF included) handed out so far

    def feed(self, data: bytes) -> None:
        """Take the bytes that arrived (O(1): ``events`` parses them)."""
        if data:
            self._unframed.append(data)

    def finish(self) -> None:
        """End of stream: an unterminated last line will still count as a line."""
        self._ended = True

    @property
    def ended(self) -> bool:
        """``finish`` was called: the stream has ended."""
        return self._ended

    @property
    def pending(self) -> bool:
        """Whether ``events`` has anything to hand out (bytes not parsed, or an ended last line)."""
        return bool(self._unframed) or (self._ended and bool(self._partial) and not self._discarding)

    def events(self, limit: int | None = None, byte_limit: int | None = None) -> tuple[list[Event], int]:
        """The next events in stream order, and the units of work they cost (at most ``limit``).

        A unit is a line (blank or too long included), a telnet sequence, or ``max_line_bytes``
        of a telnet subnegotiation.  Returns ([], 0) when nothing is complete.  With
        ``byte_limit``, no line starts once that many bytes of lines (LF included) were handed
        out in this call (the one that crosses it still does: a caller charging bytes goes into
        debt by less than a line); ``framed_bytes`` counts them.
        """
        events: list[Event] = []
        self._bytes_left = byte_limit if byte_limit is not None else _UNLIMITED
        budget = limit if limit is not None else -1  # counts down; from -1 it never reaches 0
        unframed = self._unframed
        while unframed and budget:
            piece = unframed[0]
            budget, self._offset = self._parse(piece, self._offset, events, budget)
            if self._offset < len(piece):
                break  # the budget ran out mid-piece
            del unframed[0]
            self._offset, self._iac_at = 0, None
        if self._ended and not unframed and budget and self._bytes_left > 0:
            if self._partial and not self._discarding:
                events.append(self.decode(bytes(self._partial)))
                self.framed_bytes += len(self._partial)
                budget -= 1
            self._partial.clear()
        return events, (limit if limit is not None else -1) - budget

    def _parse(self, piece: bytes, offset: int, events: list[Event], budget: int) -> tuple[int, int]:
        """Parse ``piece[offset:]`` for at most ``budget`` units; return (budget left, offset reached)."""
        size = len(piece)
        if not self.telnet:
            return self._frame(piece, offset, size, events, budget)
        while offset < size and budget:
            state = self._telnet_state
            if state in (_DATA, _SUBNEG):
                iac = self._iac_at
                if iac is None or 0 <= iac < offset:  # each IAC is searched for once, not per call
                    iac = self._iac_at = piece.find(b"\xff", offset)
                stop = iac if iac >= 0 else size
                if state == _DATA:
                    budget, offset = self._frame(piece, offset, stop, events, budget)
                    if offset < stop or stop == size or not budget:
                        break
                    self._telnet_state = _COMMAND  # the IAC starts a telnet sequence: one unit
                    budget -= 1
                elif stop - offset >= self.max_line_bytes - self._skipped:
                    offset += self.max_line_bytes - self._skipped  # a line's worth of subnegotiation
                    self._skipped = 0
                    budget -= 1
                    continue
                else:
                    self._skipped += stop - offset
                    if stop == size:
                        offset = size
                        break
                    self._telnet_state = _SUBNEG_IAC
                offset = stop + 1
                continue
            self._telnet_state = self._telnet_byte(state, piece[offset], events)
            offset += 1
        return budget, offset

    def _telnet_byte(self, state: int, byte: int, events: list[Event]) -> int:
        """The parser state after ``byte`` of a telnet sequence (the IAC itself already read).

        WILL is answered with DONT and DO with WONT (we support no options), each at most once.
        """
        if state == _COMMAND:
            if byte == _IAC:  # IAC IAC is a literal 0xFF; never valid UTF-8, so it decodes to U+FFFD
                self._keep_byte(_IAC, events)
                return _DATA
            if byte == _SB:
                return _SUBNEG
            if byte == _WILL:
                return _OPTION_WILL
            if byte == _DO:
                return _OPTION_DO
            if byte in (_WONT, _DONT):
                return _OPTION_OTHER
            return _DATA  # a two-byte command: IP (Ctrl+C), AYT, NOP, ...
        if state == _SUBNEG_IAC:
            return _DATA if byte == _SE else _SUBNEG
        if state != _OPTION_OTHER:  # the option byte of WILL or DO
            refusal = bytes((_IAC, _DONT if state == _OPTION_WILL else _WONT, byte))
            if self._refused is None:
                self._refused = set()
            if refusal not in self._refused:  # at most 2 x 256 of them
                self._refused.add(refusal)
                events.append(TelnetReply(refusal))
        return _DATA

    def _keep_byte(self, byte: int, events: list[Event]) -> None:
        """Add one data byte to the current line (its telnet sequence paid for it)."""
        if self._discarding:
            return
        if len(self._partial) >= self.max_line_bytes:
            events.append(LINE_TOO_LONG)
            self._partial.clear()
            self._discarding = True
        else:
            self._partial.append(byte)

    def _frame(self, data: bytes, start: int, end: int, events: list[Event], budget: int) -> tuple[int, int]:
        """Frame ``data[start:end]`` into at most ``budget`` events; return (budget left, offset reached)."""
        limit = self.max_line_bytes
        partial = self._partial
        while budget and self._bytes_left > 0:
            newline = data.find(b"\n", start, end)
            if newline < 0:
                break
            if self._discarding:
                self._discarding = False
            elif partial:
                if len(partial) + newline - start > limit:
                    events.append(LINE_TOO_LONG)
                else:
                    partial += data[start:newline]
                    events.append(self.decode(bytes(partial)))
                    self._count_line(len(partial) + 1)
                partial.clear()
                budget -= 1
            elif newline - start > limit:
                events.append(LINE_TOO_LONG)
                budget -= 1
            else:
                events.append(self.decode(data[start:newline]))
                self._count_line(newline - start + 1)
                budget -= 1
            start = newline + 1
        else:
            return budget, start  # out of budget: the rest waits for the next call
        if start < end and not self._discarding:
            if len(partial) + end - start > limit:
                events.append(LINE_TOO_LONG)
                budget -= 1
                partial.clear()
                self._discarding = True
            else:
                partial += data[start:end]
        return budget, end

    def _count_line(self, size: int) -> None:
        self._bytes_left -= size
        self.framed_bytes += size


_UNLIMITED: Final = 1 << 62


def decode_stripped(raw: bytes) -> str:
    """A line without ASCII whitespace at either end (``bytes.strip``: space, \\t, \\n, \\r, \\v, \\f)."""
    return raw.strip().decode("utf-8", "replace")


def decode_exact(raw: bytes) -> str:
    """A line without the CR of its CRLF; everything else as sent, even bytes that are not UTF-8:
    those become lone surrogates (``surrogateescape``), so the protocol decides whether to refuse
    the line or replace them (``irc.invalid_utf8``)."""
    return (raw[:-1] if raw.endswith(b"\r") else raw).decode("utf-8", "surrogateescape")
