"""Message text, the same for every protocol: what may reach a reader's terminal.  Pure code.

C0 controls except tab, DEL and C1 controls are removed, so nothing can move a terminal's cursor or
paint over its screen; so are the bidirectional marks, embeddings, overrides and isolates, so a
message cannot reorder what the next line on a reader's terminal shows ("Trojan Source"); tabs and
the line and paragraph separators (U+2028, U+2029) become spaces, so a message is one line on every
reader's screen, and spaces at either end go.  Combining marks and the zero-width joiner of emoji
sequences stay.  (docs/PROTOCOL.md, *Message text*.)

``one_line`` applies the line-break part of those rules alone, to what an IRC user said as IRC
users get it (its formatting codes kept).  ``cut`` shortens a text to a number of bytes of UTF-8
without splitting a character.
"""

from __future__ import annotations

import re
from typing import Final

# C0 controls except tab, DEL and C1 controls: nothing that could move a terminal's cursor.  And the
# bidirectional marks, embeddings, overrides and isolates, so a message cannot reorder what the next
# line on a reader's terminal shows ("Trojan Source").  ZWJ (U+200D), used by emoji sequences, stays.
_UNSAFE_CHARACTERS: Final = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

# Where a client, a terminal or Python's str.splitlines may start a new line, besides LF and CR
# (which end lines on the wire): the controls VT, FF, FS and NEL ...
_LINE_BREAKING_CONTROLS: Final = re.compile("[\x0b\x0c\x1c\x85]")
# ... and the line and paragraph separators (U+2028, U+2029), which are text: each becomes a space
# (``_spaced``; str.replace, which costs nothing on text without them).


def clean_text(text: str) -> str:
    """Remove control and bidi-control characters, turn tabs and line and paragraph separators
    into spaces, trim the ends; inner spacing stays."""
    return _spaced(_UNSAFE_CHARACTERS.sub("", text).replace("\t", " ")).strip(" ")


def one_line(text: str) -> str:
    """``text`` with nothing that could start a new line on a reader's screen: VT, FF, FS and NEL
    removed (as ``clean_text`` removes every control), line and paragraph separators turned into
    spaces.  Other controls stay (IRC's formatting codes, GS and RS among them, are the text's own)."""
    return _spaced(_LINE_BREAKING_CONTROLS.sub("", text))


def _spaced(text: str) -> str:
    return text.replace("\u2028", " ").replace("\u2029", " ")


def cut(text: str, limit: int) -> str:
    """``text`` if its UTF-8 is at most ``limit`` bytes, else its longest start that is (whole
    characters only)."""
    if len(text) <= limit // 4:  # (no character is more than 4 bytes)
        return text
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")
