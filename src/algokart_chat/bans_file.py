"""The bans file on disk (``--bans FILE``): the bans and mutes, read at start, written after
every change.

Plan: the text is ``moderation``'s format (one JSON object a line); this module moves it to and
from the disk.

Guarantees:

- ``load_entries`` reads the whole file or raises ``BansFileError`` (one line naming the file and,
  for a bad line, its number); no file is no entries (the first change creates it); entries that
  have ended are dropped;
- ``save_entries`` never leaves a half-written file: a temporary file in the same folder, flushed
  to the disk, renamed over the old one (``os.replace``, atomic on POSIX and Windows), then the
  folder synced (``accounts_file.write_atomically``).  A file it creates is its owner's only (mode
  0600); one it replaces keeps its mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from algokart_chat.accounts_file import write_atomically
from algokart_chat.moderation import Entry, ModerationFormatError, format_entries, parse_entries


class BansFileError(Exception):
    """The bans file cannot be read, used or written; the message is one line naming it."""


def load_entries(path: str | os.PathLike[str], now: float, ipv6_prefix: int) -> list[Entry]:
    """The active entries in the file (none if there is no file); BansFileError (one line)."""
    target = Path(path)
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as problem:
        why = problem.strerror if isinstance(problem, OSError) and problem.strerror else "not UTF-8 text"
        raise BansFileError(f"cannot read {target}: {why}") from None
    try:
        entries = parse_entries(text, ipv6_prefix)
    except ModerationFormatError as problem:
        raise BansFileError(f"{target}, {problem}") from None
    return [entry for entry in entries if entry.active(now)]


def save_entries(path: str | os.PathLike[str], entries: Iterable[Entry]) -> None:
    """Write ``entries`` to the file atomically; BansFileError (one line) if it cannot be."""
    target = Path(path)
    try:
        write_atomically(target, format_entries(entries).encode("utf-8"))
    except OSError as problem:
        raise BansFileError(f"cannot write {target}: {problem.strerror or problem}") from None
