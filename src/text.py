"""Message text, the same for every protocol: what may reach a reader's terminal.  Pure code.

C0 controls except tab, DEL and C1 controls are removed, so nothing can move a terminal's cursor or
paint over its screen; so are the bidirectional marks, embeddings, overrides and isolates, so a
message cannot reorder what the next line on a reader's terminal shows ("Trojan Source"); tabs
become spaces and spaces at either end go.  Combining marks and the zero-width joiner of emoji
sequences stay.  (docs/PROTOCOL.md, *Message text*.)
"""

from __future__ import annotations

import re
from typing import Final

# C0 controls except tab, DEL and C1 controls: nothing that could move a terminal's cursor.  And the
# bidirectional marks, embeddings, overrides and isolates, so a message cannot reorder what the next
# line on a reader's terminal shows ("Trojan Source").  ZWJ (U+200D), used by emoji sequences, stays.
_UNSAFE_CHARACTERS: Final = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """Remove control and bidi-control characters, turn tabs into spaces, trim the ends; inner
    spacing stays."""
    return _UNSAFE_CHARACTERS.sub("", text).replace("\t", " ").strip(" ")
