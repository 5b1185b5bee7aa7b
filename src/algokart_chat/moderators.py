"""Moderation in use on one server: the bans and mutes (``moderation.Lists``), their file, the
audit log, and the server's hook that disconnects whoever an action removes.

Plan: one ``Moderators`` per server, shared by every session (the commands: ``sessions.
line_moderation``) and the server (a banned address is refused at accept).  Each action is applied
to the lists, written to the file (``bans_file``, if ``--bans``), logged as one audit line (event
``moderation``: operator, action, target, reason, duration, until, node), then whoever it removes
is disconnected through ``disconnect`` (set by the server: it knows the connections).

In a cluster an action is not applied at once but shared (``share``, the room's ``moderate``): the
room writes it to Redis, and every node ``apply``s it as it reads it back, in the stream's order,
this one included; the audit line is logged once, by the node where the operator acted.  A node
that (re)joins the cluster ``load``s its lists from Redis, which replace its own and its file.

A mute, like a ban, of a name is also one of the account of that name: ``mute_for`` takes the
session's name and the account it logged in to (an IRC nick may be another name than its
account's), and ``MuteCheck`` keeps their keys for a session's every message.

Guarantees: a lookup with nothing listed costs one test (``Lists.has``), so users who never meet
an operator pay nothing; the lists are bounded (``moderation.MAX_ENTRIES``); a file that cannot be
written is one ERROR log line and the action stays in effect until the server stops.  The file is
written on the event loop: actions are rare and the file small.  In a cluster every node holds the same
lists, its file being its copy of Redis's (docs/CLUSTER.md, *Moderation*).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from algokart_chat.bans_file import BansFileError, load_entries, save_entries
from algokart_chat.logs import fields
from algokart_chat.moderation import Change, Entry, Kind, Lists, Target, format_time, setting
from algokart_chat.names import username_key

log = logging.getLogger(__name__)

# The server's hook: close every connection whose (name or None, address) matches, or (account,
# address) for a user logged in to an account under another name, for a reason (a line that says
# who and why); the names of the logged-in users closed.
Matcher = Callable[[str | None, str], bool]
Disconnect = Callable[[Matcher, str], list[str]]
# The room's ``moderate``: share a change with every server of a cluster (each applies it when it
# reads it back, this one included); False: there are none (this server applies it alone).
Share = Callable[[Change], bool]


class Moderators:
    """The bans and mutes in use (see the module's docstring)."""

    __slots__ = ("_clock", "_node", "_path", "disconnect", "ipv6_prefix", "lists", "share")

    def __init__(
        self, path: str | None, ipv6_prefix: int, node: str = "", clock: Callable[[], float] = time.time
    ) -> None:
        """Loads ``path`` (BansFileError if it cannot be used); no path: nothing is kept."""
        self._path = path
        self._clock = clock
        self._node = node
        self.ipv6_prefix = ipv6_prefix
        self.lists = Lists(load_entries(path, clock(), ipv6_prefix) if path is not None else ())
        self.disconnect: Disconnect | None = None
        self.share: Share | None = None

    # --- lookups --------------------------------------------------------------------------------
    def ban_for(self, name: str | None, host: str) -> Entry | None:
        """The ban that refuses the name or the address ``host``, if any."""
        return self.lists.matching("ban", name, host, self._clock()) if self.lists.has("ban") else None

    def mute_for(self, name: str, account: str | None = None) -> Entry | None:
        """The mute that silences the name, or the account logged in to (None: a guest), if any."""
        if not self.lists.has("mute"):
            return None
        return self.mute_of(username_key(name), None if account is None else username_key(account))

    def mute_of(self, name_key: str, account_key: str | None) -> Entry | None:
        """``mute_for`` by the names' keys (``names.username_key``), for a caller that keeps them."""
        lists = self.lists
        if not lists.has("mute"):
            return None
        now = self._clock()
        entry = lists.for_key("mute", name_key, now)
        if entry is None and account_key is not None and account_key != name_key:
            entry = lists.for_key("mute", account_key, now)
        return entry

    def entries(self) -> list[Entry]:
        """Every active entry (those that ended are dropped first)."""
        if self.lists.expire(self._clock()):
            self._save()
        return list(self.lists)

    # --- actions --------------------------------------------------------------------------------
    def kick(self, operator: str, name: str, reason: str) -> list[str]:
        """Disconnect the user ``name``; the names disconnected (in a cluster ``[name]``: the node
        that holds it disconnects it when it reads the kick)."""
        self._audit(operator, "kick", name, reason, None)
        change = Change("kick", "ban", Target(username_key(name), name), operator, reason)
        return [name] if self._share(change) else self._kick(change)

    def set(self, kind: Kind, target: Target, operator: str, duration: float | None, reason: str) -> Entry | None:
        """Ban or mute ``target``; the entry, or None if the list is full.  A ban disconnects
        whoever it matches now."""
        now = self._clock()
        entry = Entry(kind, target, operator, now, reason, None if duration is None else now + duration)
        self.lists.expire(now)
        if not self.lists.room_for(entry):
            return None
        self._audit(operator, kind, target.text, reason, entry)
        change = setting(entry)
        if not self._share(change):
            self.apply(change)
        return entry

    def lift(self, kind: Kind, target: Target, operator: str) -> Entry | None:
        """Unban or unmute ``target``; the entry lifted, or None if there was none."""
        entry = self.lists.get(kind, target)
        if entry is not None:
            self._audit(operator, "un" + kind, target.text, "", None)
            change = Change("lift", kind, target, operator)
            if not self._share(change):
                self.apply(change)
        return entry

    def _share(self, change: Change) -> bool:
        return self.share is not None and self.share(change)

    # --- changes, from this server or (in a cluster) from the stream, in its order -----------------
    def apply(self, change: Change) -> None:
        """Apply one change: the lists, the file, and whoever it removes from this server."""
        if change.action == "kick":
            self._kick(change)
            return
        if change.action == "lift":
            if self.lists.remove(change.kind, change.target) is not None:
                self._save()
            return
        entry = change.entry
        assert entry is not None
        now = self._clock()
        self.lists.expire(now)
        if not self.lists.add(entry):
            log.warning(
                "Moderation list full: %s of %s not applied",
                entry.kind,
                entry.target.text,
                extra=fields("moderation-full", kind=entry.kind, target=entry.target.text),
            )
            return
        self._save()
        if entry.kind == "ban" and entry.active(now):
            probe = Lists((entry,))
            operator = entry.by
            self._disconnect(
                lambda user, host: user != operator and probe.matching("ban", user, host, now) is not None,
                "banned",
                entry,
            )

    def load(self, entries: list[Entry], fresh: bool) -> None:
        """The cluster's lists, as this server (re)joins it: they replace this server's, and its
        file copy.  ``fresh``: this server started the cluster's data (its first start, or Redis
        lost it): it shares its own lists instead (``entries`` is empty then)."""
        now = self._clock()
        if fresh and not entries and self.share is not None:
            for entry in list(self.lists):
                if entry.active(now):
                    self.share(setting(entry))
            return
        self.lists = Lists(entry for entry in entries if entry.active(now))
        self._save()

    def _kick(self, change: Change) -> list[str]:
        key = change.target.key
        return self._disconnect(
            lambda user, _host: user is not None and username_key(user) == key, "kicked", change.reason, change.by
        )

    def _disconnect(self, match: Matcher, verb: str, why: str | Entry, operator: str = "") -> list[str]:
        if self.disconnect is None:
            return []
        words = (
            f"{verb} {why.describe()}"
            if isinstance(why, Entry)
            else f"{verb} by {operator}" + (f": {why}" if why else "")
        )
        return self.disconnect(match, words)

    def _save(self) -> None:
        if self._path is None:
            return
        try:
            save_entries(self._path, self.lists)
        except BansFileError as problem:
            log.error(
                "Bans not saved (they stay in effect until the server stops): %s",
                problem,
                extra=fields("bans-save-failed", reason=str(problem)),
            )

    def _audit(self, operator: str, action: str, target: str, reason: str, entry: Entry | None) -> None:
        until = None if entry is None or entry.until is None else format_time(entry.until)
        duration = None if entry is None or entry.until is None else entry.until - entry.at
        log.info(
            "Moderation: %s %s %s%s%s",
            operator,
            action,
            target,
            "" if entry is None else f" until {format_time(entry.until)}",
            f" ({reason})" if reason else "",
            extra=fields(
                "moderation",
                operator=operator,
                action=action,
                target=target,
                reason=reason,
                duration=duration,
                until=until,
                node=self._node,
            ),
        )


class MuteCheck:
    """One session's mute check: the keys of its name and of its account, each computed once per
    change of either (a name's key costs microseconds: not on every message), then looked up in
    the lists in use.  With nothing muted it costs one test, as ``Moderators.mute_for`` does."""

    # One per connection, so slots.
    __slots__ = ("_account", "_account_key", "_moderators", "_name", "_name_key")

    def __init__(self, moderators: Moderators) -> None:
        self._moderators = moderators
        self._name = self._name_key = ""  # (no name is empty: the first check computes the key)
        self._account: str | None = None
        self._account_key: str | None = None

    def anyone_muted(self) -> bool:
        """Whether any mute is in force (if not, ``mute`` is None for everyone)."""
        return self._moderators.lists.has("mute")

    def mute(self, name: str, account: str | None) -> Entry | None:
        """The mute that silences ``name`` (the session's) or ``account`` (its login's), if any."""
        moderators = self._moderators
        if not moderators.lists.has("mute"):
            return None
        if name != self._name:
            self._name, self._name_key = name, username_key(name)
        if account != self._account:
            self._account, self._account_key = account, None if account is None else username_key(account)
        return moderators.mute_of(self._name_key, self._account_key)
