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
  folder synced, as ``accounts_file`` does.  A file it creates is its owner's only (mode 0600).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from algokart_chat.accounts_file import _sync_folder
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
    data = format_entries(entries).encode("utf-8")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as problem:
        raise BansFileError(f"cannot write {target}: {problem.strerror or problem}") from None
    try:
        with os.fdopen(handle, "wb") as output:
            output.write(data)
            output.flush()
            os.fsync(output.fileno())
        os.replace(temporary, target)
    except OSError as problem:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise BansFileError(f"cannot write {target}: {problem.strerror or problem}") from None
    _sync_folder(target.parent)
