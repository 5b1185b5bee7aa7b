"""The accounts file on disk (``--accounts FILE``): read it, write it atomically, reload it.

Plan: the file's text is ``accounts``' format; this module only moves it to and from the disk.

Guarantees:

- ``load_accounts`` reads the whole file or raises ``AccountsFileError``, whose message is one line
  naming the file and, for a bad line, its number and what is wrong;
- ``save_accounts`` never leaves a half-written file: it writes a temporary file in the same folder,
  flushes it to the disk (fsync), and renames it over the old one with ``os.replace`` (atomic on
  POSIX and on Windows), then syncs the folder (POSIX).  A file it creates is readable by its owner
  only (mode 0600; ``tempfile.mkstemp`` makes it so); a file it replaces keeps its mode and, where
  the process may set them (root), its owner and group.  Only hashes are written, never a password;
- given what the caller read (``expected``), ``save_accounts`` refuses to replace a file that
  has changed since (another ``accounts`` command at the same moment), rather than lose that change;
- ``AccountsFile.reload`` (SIGHUP) swaps in the new accounts only when the whole file is good; a file
  that cannot be used is one ERROR log line and the accounts in use stay.  No line it logs holds
  anything of a hash.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from algokart_chat.accounts import Accounts, AccountsFormatError, format_accounts, parse_accounts
from algokart_chat.logs import counted, fields

log = logging.getLogger(__name__)


class AccountsFileError(Exception):
    """The accounts file cannot be read, used or written; the message is one line naming it."""


@dataclass(frozen=True)
class Snapshot:
    """The file's bytes as read (None: there was no file), to tell whether it changed since."""

    data: bytes | None = field(repr=False)


def _read_bytes(path: Path, missing_ok: bool) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return None
        raise AccountsFileError(f"cannot read {path}: no such file") from None
    except OSError as problem:
        raise AccountsFileError(f"cannot read {path}: {problem.strerror or problem}") from None


def read_accounts(path: str | os.PathLike[str], missing_ok: bool = False) -> tuple[Accounts, Snapshot]:
    """The accounts in the file and a ``Snapshot`` of it, for ``save_accounts``; AccountsFileError
    (one line) if it cannot be read or used.  ``missing_ok``: no file is no accounts."""
    target = Path(path)
    data = _read_bytes(target, missing_ok)
    if data is None:
        return Accounts(), Snapshot(None)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as problem:
        line = data[: problem.start].count(b"\n") + 1
        raise AccountsFileError(f"{target}, line {line}: not UTF-8 text") from None
    try:
        return parse_accounts(text), Snapshot(data)
    except AccountsFormatError as problem:
        raise AccountsFileError(f"{target}, {problem}") from None


def load_accounts(path: str | os.PathLike[str]) -> Accounts:
    """The accounts in the file; AccountsFileError (one line) if it cannot be read or used."""
    return read_accounts(path)[0]


def save_accounts(path: str | os.PathLike[str], accounts: Accounts, since: Snapshot | None = None) -> None:
    """Write ``accounts`` to the file atomically (see the module's docstring).

    ``since``: what the caller read; if the file holds something else now, AccountsFileError and
    nothing is written.  AccountsFileError (one line) too if the file or its folder cannot be written.
    """
    target = Path(path)

    def unchanged() -> None:
        if since is not None and _read_bytes(target, missing_ok=True) != since.data:
            raise AccountsFileError(f"{target} was changed by someone else meanwhile: nothing written, try again")

    try:
        write_atomically(target, format_accounts(accounts).encode("utf-8"), unchanged)
    except OSError as problem:
        raise AccountsFileError(f"cannot write {target}: {problem.strerror or problem}") from None


def write_atomically(target: Path, data: bytes, before_replace: Callable[[], None] | None = None) -> None:
    """Replace ``target`` with ``data`` as the module's docstring says (a temporary file flushed to
    the disk, renamed over the old one, which keeps its mode and owner; the folder synced); OSError
    if it cannot be.  ``before_replace`` runs once the temporary file is complete, and may raise to
    leave the old file as it was.  The bans file (``bans_file``) is written the same way."""
    try:
        old: os.stat_result | None = target.stat()
    except FileNotFoundError:
        old = None
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as output:
            output.write(data)
            output.flush()
            os.fsync(output.fileno())
        if old is not None:
            _keep_mode_and_owner(old, temporary)
        if before_replace is not None:
            before_replace()
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(target.parent)


def _keep_mode_and_owner(old: os.stat_result, temporary: str) -> None:
    """The new file as the old one was: its permission bits and, where allowed, owner and group."""
    os.chmod(temporary, stat.S_IMODE(old.st_mode))
    if hasattr(os, "chown") and (old.st_uid, old.st_gid) != _owner(temporary):
        with contextlib.suppress(OSError):  # only root may give a file away; others keep theirs
            os.chown(temporary, old.st_uid, old.st_gid)


def _owner(path: str) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_uid, status.st_gid


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows cannot open a folder, and needs no such step)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


class AccountsFile:
    """The accounts the server uses: loaded from ``path`` at start (AccountsFileError if it cannot
    be), and again by ``reload`` (SIGHUP).  ``accounts`` is always a whole, valid file's accounts."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.accounts = load_accounts(path)

    def reload(self) -> bool:
        """Read the file again; True if its accounts are now in use.  A file that cannot be used is
        one ERROR log line, and the accounts in use stay."""
        try:
            accounts = load_accounts(self.path)
        except AccountsFileError as problem:
            log.error(
                "Accounts not reloaded, the old ones stay: %s",
                problem,
                extra=fields("accounts-reload-failed", reason=str(problem)),
            )
            return False
        self.accounts = accounts
        log.info(
            "Accounts reloaded from %s: %s",
            self.path,
            counted(len(accounts), "account"),
            extra=fields("accounts-reloaded", file=self.path, accounts=len(accounts)),
        )
        return True
