"""The room's history as a node's replica (``replica.Replica``) keeps it from the cluster's event
stream.  Pure code, no I/O: ``reader`` reads the stream back, this decides what is kept.

Plan: every broadcast message the replica applies goes to the ``History`` (``add``), stamped from
its batch's entry id and its place in it (``entries.stamp``), the same on every node; a batch
applied while this node has no member is kept without being delivered (``keep``); at a join the
reader hands the batches it read back, oldest first (``backfill``).

Guarantees:
- A message is kept once: ``backfill`` skips every batch no newer than the newest message kept
  already (a rejoin keeps what it had, and marks a gap: no count of lost messages across it), and
  stamps what it keeps as the stream applied it would.
- A direct message is kept only when its batch names the accounts of both its sides
  (``Batch.directs``, see ``entries.direct_accounts``), with those accounts, never the accounts
  this node would guess from the names now (a name may have changed hands since); syncs and IRC
  ``TAGMSG``s are never kept.
- Memory and work: the ``History``'s own bounds; O(bytes of a batch) per batch.
"""

from __future__ import annotations

from collections.abc import Iterable

from algokart_chat.cluster.entries import (
    BROADCAST,
    DIRECT,
    IRC_BROADCAST,
    IRC_DIRECT,
    Batch,
    Record,
    direct_accounts,
    records,
    stamp,
)
from algokart_chat.cluster.replica_profiles import Profiles
from algokart_chat.cluster.window import entry_number
from algokart_chat.events import Said, Told
from algokart_chat.history import History
from algokart_chat.names import is_valid_username


class ReplicaHistory:
    """One replica's history, fed from the stream."""

    __slots__ = ("_profiles", "history")

    def __init__(self, history: History | None, profiles: Profiles) -> None:
        self.history = history if history is not None else History(0, 0, 0)
        self._profiles = profiles  # (a kept message carries its sender's account)

    @property
    def on(self) -> bool:
        return self.history.on

    def bounds(self) -> tuple[int, int, int]:
        """The history's bounds: lines, bytes and age in milliseconds."""
        return self.history.lines, self.history.size, round(self.history.age * 1000)

    def add(self, event: Said) -> None:
        """A broadcast message applied (and stamped) by the replica."""
        self.history.add_said(event)

    def add_direct(self, target: Record, event: Said | Told, accounts: tuple[str, str]) -> None:
        """A direct message applied (and stamped) by the replica, between the two ``accounts``
        its batch names (sender's, recipient's): kept with them."""
        if isinstance(event, Told) and is_valid_username(accounts[0]) and is_valid_username(accounts[1]):
            event.account, event.to_account = accounts
            self.history.add_told(event, target.name)

    def keep(self, batch: Batch) -> None:
        """Keep the messages of ``batch`` in the history, stamped, delivering nothing."""
        directs = direct_accounts(batch.directs) if batch.directs else None
        for index, target in enumerate(records(batch.records)):
            if target.kind in (BROADCAST, IRC_BROADCAST):
                event = self._profiles.message(target).event
                if isinstance(event, Said):
                    event.stamp = stamp(batch.entry_id, index)
                    self.history.add_said(event)
            elif directs is not None and index in directs and target.kind in (DIRECT, IRC_DIRECT):
                event = self._profiles.message(target).event
                event.stamp = stamp(batch.entry_id, index)
                self.add_direct(target, event, directs[index])

    def backfill(self, batches: Iterable[Batch]) -> int:
        """Fill the history from the stream's batches read back at a join, oldest first: their
        broadcast messages, stamped as when applied; a batch no newer than the newest message
        kept already is skipped (a rejoin keeps what it had).  The messages added."""
        history = self.history
        newest = history.newest()
        floor = batch_number(newest.id) if newest is not None else (-1, -1)
        history.mark_gap()  # (what was sent while this node was out may be neither kept nor counted)
        before = len(history) + history.dropped
        for batch in batches:
            if batch_number(batch.entry_id) > floor:
                self.keep(batch)
        return len(history) + history.dropped - before


def batch_number(message_id: str) -> tuple[int, int]:
    """The stream entry a message id (``<ms>-<seq>-<index>[.<k>]``) or entry id comes from, as
    ``window.entry_number``; (-1, -1) for one that is neither."""
    parts = message_id.split("-")
    if len(parts) < 2 or not (parts[0].isascii() and parts[0].isdigit() and parts[1].isascii() and parts[1].isdigit()):
        return (-1, -1)
    return entry_number(f"{parts[0]}-{parts[1]}".encode())
