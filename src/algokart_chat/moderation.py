"""Moderation's lists: who is banned and who is muted, until when, by whom and why.  Pure code.

Plan: a ban or a mute is an ``Entry`` for a ``Target``: a name (by ``names.username_key``, so
``bob`` and ``B0b`` are one target, as they are one user online) or an address; an address is a
network, given as a CIDR (``203.0.113.0/24``) or a single address, IPv4 as itself (``/32``) and
IPv6 by its network of ``ipv6_prefix`` bits (``/64`` by default: whoever has one address of a /64
has all of them, as ``server.admission`` counts them).  ``Lists`` holds the bans and the mutes by
target; a lookup for an address checks each prefix length in use once, so it costs the number of
distinct prefixes, not the number of bans.

Durations are a whole number and a unit (``90s``, ``30m``, ``12h``, ``7d``, ``2w``), at most
MAX_DURATION; none is permanent.  An entry whose end has passed counts for nothing from that
moment (every lookup takes the time) and is dropped by ``expire`` and when the file is read.

The file (``bans_file``) holds one JSON object a line (``format_entries``/``parse_entries``).  A
``Change`` is one action to apply (set an entry, lift one, kick a name); in a cluster it travels
as JSON (``change_json``/``parse_change``, an entry as ``entry_json``/``parse_entry_json``), with an
address's target as its exact CIDR, so every node reads the same network.

Guarantees: no clock and no I/O (the caller passes the time); each list holds at most MAX_ENTRIES
(``add`` says False beyond), a reason at most MAX_REASON characters; a malformed file line is
refused with its number.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Literal

from algokart_chat.names import is_valid_username, username_key

MAX_ENTRIES: Final = 10_000  # per list (bans, mutes)
MAX_REASON: Final = 200  # characters
MAX_DURATION: Final = 3650 * 86400.0  # ten years: longer is "permanent" (give none)
DEFAULT_IPV6_PREFIX: Final = 64

Kind = Literal["ban", "mute"]
KINDS: Final[tuple[Kind, ...]] = ("ban", "mute")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION: Final = re.compile(r"([0-9]{1,7})([smhdw])")
_LOOKS_NUMERIC: Final = re.compile(r"[0-9]+(\.[0-9]+)+")


@dataclass(frozen=True)
class Target:
    """What an entry applies to: ``key`` identifies it (``username_key(name)``, or the network
    as ``ipaddress`` writes it), ``text`` is how it is shown (the name as typed, the network)."""

    key: str
    text: str
    network: Network | None = None  # None: a name


def parse_target(text: str, ipv6_prefix: int = DEFAULT_IPV6_PREFIX) -> Target | None:
    """A name, an address or a CIDR; None if ``text`` is none of them (digits and dots that are no
    address are no name either: whoever wrote them meant an address)."""
    network = address_network(text, ipv6_prefix)
    if network is not None:
        return Target(str(network), _shown(network), network)
    if is_valid_username(text) and not _LOOKS_NUMERIC.fullmatch(text):  # (300.1.1.1: a mistyped address)
        return Target(username_key(text), text)
    return None


def address_network(text: str, ipv6_prefix: int = DEFAULT_IPV6_PREFIX) -> Network | None:
    """``text`` as a network: a CIDR as written (host bits cleared), an IPv4 address as its /32,
    an IPv4-mapped IPv6 address as its IPv4 one, another IPv6 address as its /``ipv6_prefix``."""
    if not text or not (":" in text or "." in text) or any(c.isspace() for c in text):
        return None
    try:
        if "/" in text:
            return ipaddress.ip_network(text, strict=False)
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return ipaddress.IPv4Network(address.ipv4_mapped)
        return ipaddress.IPv6Network((address, ipv6_prefix), strict=False)
    return ipaddress.IPv4Network(address)


def _shown(network: Network) -> str:
    return str(network.network_address) if network.prefixlen == network.max_prefixlen else str(network)


def parse_duration(text: str) -> float | None:
    """``30m`` -> 1800.0; None if ``text`` is not a duration (or is 0 or over MAX_DURATION)."""
    match = _DURATION.fullmatch(text)
    if match is None:
        return None
    seconds = int(match[1]) * _UNITS[match[2]]
    return float(seconds) if 0 < seconds <= MAX_DURATION else None


def format_time(moment: float | None) -> str:
    """``2026-12-07T10:00:00Z`` (UTC); ``never`` for None (a permanent entry's end)."""
    return "never" if moment is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


@dataclass(frozen=True)
class Entry:
    """A ban or a mute: of ``target``, set by operator ``by`` at ``at``, for ``reason``, until
    ``until`` (seconds since the epoch; None: permanent)."""

    kind: Kind
    target: Target
    by: str
    at: float
    reason: str
    until: float | None

    def active(self, now: float) -> bool:
        return self.until is None or now < self.until

    def describe(self) -> str:
        """``until <time|never> by <operator>[: reason]``: what the user it stops is told."""
        return f"until {format_time(self.until)} by {self.by}" + (f": {self.reason}" if self.reason else "")


class Lists:
    """The bans and the mutes in use, by target (see the module's docstring)."""

    __slots__ = ("_entries", "_prefixes")

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._entries: dict[Kind, dict[str, Entry]] = {kind: {} for kind in KINDS}
        self._prefixes: dict[Kind, Counter[tuple[int, int]]] = {kind: Counter() for kind in KINDS}
        for entry in entries:
            self.add(entry)

    def __len__(self) -> int:
        return sum(map(len, self._entries.values()))

    def __iter__(self) -> Iterator[Entry]:
        """Every entry: the bans, then the mutes, each in the order set."""
        for kind in KINDS:
            yield from self._entries[kind].values()

    def has(self, kind: Kind) -> bool:
        """Whether the list holds anything (a fast test before any lookup)."""
        return bool(self._entries[kind])

    def add(self, entry: Entry) -> bool:
        """Set ``entry``, replacing the target's entry of that kind; False if the list is full."""
        entries = self._entries[entry.kind]
        old = entries.pop(entry.target.key, None)
        if old is None and len(entries) >= MAX_ENTRIES:
            return False
        if old is not None and old.target.network is not None:
            self._count(old, -1)
        entries[entry.target.key] = entry
        if entry.target.network is not None:
            self._count(entry, 1)
        return True

    def get(self, kind: Kind, target: Target) -> Entry | None:
        """The target's entry of that kind, active or not."""
        return self._entries[kind].get(target.key)

    def room_for(self, entry: Entry) -> bool:
        """Whether ``add(entry)`` would succeed (its target has one already, or the list has room)."""
        entries = self._entries[entry.kind]
        return entry.target.key in entries or len(entries) < MAX_ENTRIES

    def remove(self, kind: Kind, target: Target) -> Entry | None:
        """Take the target's entry of that kind away; it, or None if there was none."""
        entry = self._entries[kind].pop(target.key, None)
        if entry is not None and entry.target.network is not None:
            self._count(entry, -1)
        return entry

    def _count(self, entry: Entry, step: int) -> None:
        network = entry.target.network
        assert network is not None
        prefixes = self._prefixes[entry.kind]
        prefixes[network.version, network.prefixlen] += step
        if prefixes[network.version, network.prefixlen] <= 0:
            del prefixes[network.version, network.prefixlen]

    def expire(self, now: float) -> list[Entry]:
        """Drop the entries that have ended; those dropped."""
        ended = [entry for entry in self if not entry.active(now)]
        for entry in ended:
            self.remove(entry.kind, entry.target)
        return ended

    def for_name(self, kind: Kind, name: str, now: float) -> Entry | None:
        """The active entry of that kind for the name ``name``, if any."""
        return self.for_key(kind, username_key(name), now) if self._entries[kind] else None

    def for_key(self, kind: Kind, key: str, now: float) -> Entry | None:
        """The active entry of that kind for the name whose ``username_key`` is ``key``, if any
        (for a caller that keeps the key: computing it costs more than the lookup)."""
        entry = self._entries[kind].get(key)
        return entry if entry is not None and entry.active(now) else None

    def for_address(self, kind: Kind, host: str, now: float) -> Entry | None:
        """The active entry of that kind whose network holds the address ``host``, if any."""
        prefixes = self._prefixes[kind]
        if not prefixes:
            return None
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return None
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        entries = self._entries[kind]
        for version, length in prefixes:
            if version == address.version:
                entry = entries.get(str(ipaddress.ip_network((address, length), strict=False)))
                if entry is not None and entry.active(now):
                    return entry
        return None

    def matching(self, kind: Kind, name: str | None, host: str | None, now: float) -> Entry | None:
        """The active entry for the name or the address, if either has one."""
        entry = self.for_name(kind, name, now) if name is not None else None
        if entry is None and host:
            entry = self.for_address(kind, host, now)
        return entry


# --- changes, as a cluster shares them (cluster.entries) --------------------------------------
Action = Literal["set", "lift", "kick"]
ACTIONS: Final[tuple[Action, ...]] = ("set", "lift", "kick")


@dataclass(frozen=True)
class Change:
    """One moderation action, to apply on every node: ``set`` puts ``entry`` in the lists (and a
    ban disconnects whoever it matches), ``lift`` takes the ``kind`` entry of ``target`` away,
    ``kick`` disconnects the user named by ``target``; ``by`` is the operator."""

    action: Action
    kind: Kind
    target: Target
    by: str
    reason: str = ""
    entry: Entry | None = None  # (set)


def setting(entry: Entry) -> Change:
    return Change("set", entry.kind, entry.target, entry.by, entry.reason, entry)


def _exact(target: Target) -> str:
    """The target as text that parses back to the same target whatever the IPv6 prefix: as shown,
    but a single IPv6 address (``/128``) with its length, which would read back as its /64."""
    network = target.network
    return str(network) if network is not None and network.version == 6 and network.prefixlen == 128 else target.text


def entry_json(entry: Entry) -> str:
    """The entry as one JSON object (as in the file, but an address's target as its exact CIDR)."""
    document = {"kind": entry.kind, "target": _exact(entry.target), "by": entry.by, "at": entry.at}
    document |= {"reason": entry.reason, "until": entry.until}
    return json.dumps(document, ensure_ascii=False)


def parse_entry_json(text: str) -> Entry:
    """The entry of ``entry_json``; ModerationFormatError (a ValueError) if it is not one."""
    try:
        return _entry(json.loads(text), DEFAULT_IPV6_PREFIX)
    except (ValueError, TypeError, KeyError) as problem:
        raise ModerationFormatError(str(problem)) from None


def change_json(change: Change) -> str:
    """The change as one JSON object: the entry's for ``set``, else kind, target, by, reason."""
    if change.entry is not None:
        return entry_json(change.entry)
    document = {"kind": change.kind, "target": _exact(change.target), "by": change.by, "reason": change.reason}
    return json.dumps(document, ensure_ascii=False)


def parse_change(action: str, text: str) -> Change:
    """The change ``change_json`` wrote for ``action``; ModerationFormatError if it is not one."""
    if action not in ACTIONS:
        raise ModerationFormatError(f"action must be one of {', '.join(ACTIONS)}")
    if action == "set":
        return setting(parse_entry_json(text))
    try:
        document = json.loads(text)
        kind, target_text, by, reason = document["kind"], document["target"], document["by"], document["reason"]
    except (ValueError, TypeError, KeyError) as problem:
        raise ModerationFormatError(f"not a change's JSON object ({problem})") from None
    target = parse_target(target_text) if isinstance(target_text, str) else None
    if kind not in KINDS or target is None or not isinstance(by, str) or not isinstance(reason, str):
        raise ModerationFormatError("a change needs a kind, a target, by and a reason")
    if action == "kick" and target.network is not None:
        raise ModerationFormatError("a kick's target is a name")
    return Change("lift" if action == "lift" else "kick", kind, target, by, reason[:MAX_REASON])


# --- the file's lines (bans_file) ---------------------------------------------------------------
class ModerationFormatError(ValueError):
    """A line of the bans file cannot be used; the message names its number and why."""


def format_entries(entries: Iterable[Entry]) -> str:
    """One JSON object a line: kind, target, by, at, reason, until (null: permanent)."""
    lines = ["# algokart-chat bans and mutes: one JSON object a line (see docs/OPERATIONS.md, Moderation)"]
    for entry in entries:
        document = {
            "kind": entry.kind,
            "target": _exact(entry.target),
            "by": entry.by,
            "at": entry.at,
            "reason": entry.reason,
            "until": entry.until,
        }
        lines.append(json.dumps(document, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def parse_entries(text: str, ipv6_prefix: int = DEFAULT_IPV6_PREFIX) -> list[Entry]:
    """The entries of a file's text (blank lines and ``#`` lines skipped); ModerationFormatError."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            entries.append(_entry(json.loads(line), ipv6_prefix))
        except (ValueError, TypeError, KeyError) as problem:
            reason = problem.args[0] if isinstance(problem, ModerationFormatError) else "not an entry's JSON object"
            raise ModerationFormatError(f"line {number}: {reason}") from None
    return entries


def _entry(document: object, ipv6_prefix: int) -> Entry:
    if not isinstance(document, dict):
        raise ModerationFormatError("not a JSON object")
    kind, by, reason = document["kind"], document["by"], document["reason"]
    at, until = document["at"], document["until"]
    if kind not in KINDS:
        raise ModerationFormatError(f"kind must be one of {', '.join(KINDS)}")
    target = parse_target(str(document["target"]), ipv6_prefix)
    if target is None:
        raise ModerationFormatError("target is neither a name nor an address")
    if not isinstance(by, str) or not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise ModerationFormatError(f"by and reason must be text (a reason at most {MAX_REASON} characters)")
    if not isinstance(at, (int, float)) or not (until is None or isinstance(until, (int, float))):
        raise ModerationFormatError("at and until must be numbers (until may be null)")
    return Entry(kind, target, by, float(at), reason, None if until is None else float(until))
