"""The cluster's Redis keys and the entries of its event stream: pure code, no I/O.

Every key of one cluster starts with ``{<cluster name>}:``; the hash tag keeps them all in one
slot, so the scripts also run on Redis Cluster.

    {c}:epoch        string  a random id set by the first node; gone or changed = Redis lost its data
    {c}:events       stream  every event the room can see, in the one order every node applies
    {c}:users        hash    name key -> "<join entry id> <node> <token> <name>[ a=<account>][ h]"
                             (h: hidden; a: the account the holder logged in to)
    {c}:nodes        zset    node -> lease deadline (ms, Redis clock)
    {c}:node:<node>  set     the name keys that node's users hold (so a dead node's users are found)
    {c}:bans         hash    target key -> the ban as JSON (``moderation.entry_json``)
    {c}:mutes        hash    target key -> the mute as JSON

Stream entries (field -> value, all bytes):

    join      t=j n=<name> o=<node> c=<token> [h=1] [r=<old name> rc=<old token>] [a=<account>]
    leave     t=l n=<name> c=<token> [q=<reason>]
    presence  t=p n=<name> c=<token> s=<1 shown | 0 hidden> [q=<reason>]
    away      t=p n=<name> c=<token> s=<1 | 0, as it is> a=<away message | empty: back>
    batch     t=m v=<format> o=<node> s=<sequence> d=<records> [a=<direct accounts>]
    moderate  t=x a=<set | lift | kick> o=<node> d=<change as JSON (moderation.change_json)>

A join with ``h=1`` holds the name for someone not in the room (an IRC nick before its JOIN); a
presence entry moves them in or out (JOIN, PART).  A join with ``r`` renames: the login ``rc``
gives up ``<old name>`` in the same step (an IRC NICK change).  A join with ``a`` is by a login
whose password was checked for that account (as the accounts file names it): every node shows it
on that user's arrival and messages (IRC's account-tag, extended-join, WHOIS 330).  A node older
than ``a`` reads such a join as one without an account (it ignores fields it does not know), and
its REGISTER snapshot skips a user record with `` a=`` as malformed (it logs it): that user is
missing from its list until they log in again (docs/CLUSTER.md, *Accounts*).  ``q`` is why
someone left (an IRC QUIT's or PART's reason).  An away entry is a presence entry with ``a``, whose ``s`` says where its
user is already (the script that writes it reads it, atomically): so a node of an earlier version,
which knows neither ``q`` nor ``a``, reads every entry as it did, an away entry as a presence
change to where the user already is, which changes nothing.  Optional fields are read leniently:
a reason or away message that is not UTF-8 or too long is repaired (U+FFFD, cut to
``events.NOTE_BYTES``), never a reason to skip the departure it comes with.

A moderate entry is an operator's action, written with the hash it changes by one script, so
every node applies it in stream order (``moderation.Change``).  It is an entry of its own, not a
batch record: a node older than it skips it as an unknown entry type (one warning), applying
neither it nor the bans it carries, and loses nothing else (a batch with an unknown record would
be skipped whole).

A batch is what one node's users said during one event-loop iteration, in order: records of
``<target> <length>\n<payload>``, where the target is ``*<sender>`` (a broadcast to everyone but the
sender; the payload is its texts, separated by LF, an empty one standing for a text with nothing
for a plain reader), ``^<sender>`` (the same from an IRC user: its head, then its N texts, then the
N texts as it sent them), ``@<name>`` (a direct message to ``name``; the payload is the sender's
name, LF, the text), ``&<name>`` (the same from an IRC user: sender, head, text, text as sent,
separated by LF) or ``!<token>`` (a sync: the node that wrote it answers a waiting PING when it
reads it; no payload).  An IRC record's head is its command (PRIVMSG, NOTICE, or TAGMSG with no
text), then `` e`` if the sender asked for its echo (its node gives it back: ``events.Echoed``),
then `` @<tags>`` with its client-only tags, escaped as on the wire.  Payloads are room events
(``events``), UTF-8 text, never wire lines: each node encodes them for the protocols of its own
users.  ``<format>`` is BATCH_FORMAT (3; format 2, still read, had no head but the command, and
format 1 carried the line protocol's wire lines): a node skips a batch of any other format as a bad
entry.  ``<sequence>`` counts a node's batches from 1, so a batch sent twice (its reply was lost to
a broken link) is applied once.

A batch's ``a`` names the accounts of its direct messages between two accounts, those history
keeps: a line ``<n> <sender's account> <recipient's account>`` for the record at place ``<n>``
(from 0), lines separated by LF, as the sender's node knew them when it wrote the batch (its
user's login, and the account of the recipient name's holder then), so every node keeps the same
direct messages with the same accounts, however late it reads them.  A node older than ``a``
ignores it (it keeps no direct message); a batch without it has none to keep; a line that is not
as above is skipped (that direct message is not kept), never a reason to skip the batch.

A message is stamped (``events.Stamp``) from where it is in the stream: its id is the batch's
entry id (``<ms>-<seq>``, given by Redis) and the record's place in the batch, ``<ms>-<seq>-<n>``,
and its time the entry id's milliseconds (Redis's clock): every node reads the same.

Decoding trusts nothing it reads: a malformed entry raises ``BadEntry``, which the room logs and
skips.  Work is O(bytes) per entry.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from algokart_chat.events import NOTE_BYTES, MessageId, RoomEvent, Said, Stamp, Told
from algokart_chat.moderation import Change, parse_change
from algokart_chat.text import clean_text, cut

_CLUSTER_NAME: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def is_valid_cluster_name(name: str) -> bool:
    return _CLUSTER_NAME.fullmatch(name) is not None


class Keys:
    """The key names of one cluster."""

    __slots__ = ("bans", "epoch", "events", "mutes", "node_users_prefix", "nodes", "users")

    def __init__(self, cluster: str) -> None:
        prefix = "{" + cluster + "}:"
        self.epoch = prefix + "epoch"
        self.events = prefix + "events"
        self.users = prefix + "users"
        self.nodes = prefix + "nodes"
        self.node_users_prefix = prefix + "node:"
        self.bans = prefix + "bans"
        self.mutes = prefix + "mutes"

    def node_users(self, node: str) -> str:
        return self.node_users_prefix + node


class BadEntry(ValueError):
    """An entry of the stream that no node could have written; the message says what is wrong."""


class Join(NamedTuple):
    name: str
    node: str
    token: str
    hidden: bool = False
    renamed: tuple[str, str] | None = None  # (old name, old token) of a rename
    account: str | None = None  # the account the login's password was checked for


class User(NamedTuple):
    """A user of the cluster, as REGISTER's snapshot has it (``{c}:users``)."""

    name: str
    token: str  # its login's
    hidden: bool
    account: str | None = None  # the account its password was checked for


class Leave(NamedTuple):
    name: str
    token: str
    reason: str | None = None


class Presence(NamedTuple):
    name: str
    token: str
    shown: bool
    reason: str | None = None  # (of a PART)


class Away(NamedTuple):
    name: str
    token: str
    away: str | None  # the message; None: back


class Moderate(NamedTuple):
    """An operator's action, from ``node`` (``moderation.Change``)."""

    node: str
    change: Change


BROADCAST: Final = ord("*")
IRC_BROADCAST: Final = ord("^")
DIRECT: Final = ord("@")
IRC_DIRECT: Final = ord("&")
SYNC: Final = ord("!")
_KINDS: Final = (BROADCAST, IRC_BROADCAST, DIRECT, IRC_DIRECT, SYNC)
_IRC_COMMANDS: Final = ("PRIVMSG", "NOTICE", "TAGMSG")
BATCH_FORMAT: Final = 3
_FORMATS_READ: Final = (b"2", b"3")  # format 2 is format 3 without echoes or tags


class Message(NamedTuple):
    """A message record's event, and whether its sender asked for its echo."""

    event: Said | Told
    echo: bool


class Record(NamedTuple):
    """One part of a batch: a BROADCAST from ``name``, a DIRECT message to ``name``, or a SYNC
    whose ``name`` is the token of the waiting PING.  ``payload`` as in the module docstring."""

    kind: int
    name: str
    payload: bytes

    def event(self) -> RoomEvent:
        """The room event of a message record (not SYNC); BadEntry if its payload is not one."""
        return self.message().event

    def message(self) -> Message:
        """The event of a message record (not SYNC) and its echo flag; BadEntry if its payload is
        not one."""
        try:
            text = self.payload.decode("utf-8")
        except UnicodeDecodeError:
            raise BadEntry(f"a record for {self.name!r} that is not UTF-8") from None
        parts = text.split("\n")
        if self.kind == BROADCAST:
            return Message(Said(self.name, [part or None for part in parts]), False)
        if self.kind == IRC_BROADCAST:
            command, echo, tags = _head(parts[0])
            texts = parts[1:]
            half = len(texts) // 2
            if len(texts) % 2 or command not in _IRC_COMMANDS or (command == "TAGMSG") != (not texts):
                raise BadEntry(f"an IRC broadcast from {self.name!r} of {len(parts)} parts")
            said = Said(self.name, [text or None for text in texts[:half]], texts[half:], command, tags)
            return Message(said, echo)
        if self.kind == DIRECT and len(parts) >= 2 and parts[0]:
            return Message(Told(parts[0], "\n".join(parts[1:]) or None), False)
        if self.kind == IRC_DIRECT and len(parts) == 4 and parts[0]:
            command, echo, tags = _head(parts[1])
            if command in _IRC_COMMANDS:
                return Message(Told(parts[0], parts[2] or None, parts[3], command, tags), echo)
        raise BadEntry(f"a direct message to {self.name!r} without its sender")


def _head(head: str) -> tuple[str, bool, str | None]:
    """An IRC record's head: its command, its echo flag and its client-only tags."""
    command, *flags = head.split(" ")
    tags = [flag[1:] for flag in flags if flag.startswith("@") and len(flag) > 1]
    return command, "e" in flags, tags[-1] if tags else None


def _irc_head(command: str | None, echo: bool, tags: str | None) -> str:
    return (command or "PRIVMSG") + (" e" if echo else "") + (f" @{tags}" if tags else "")


def stamp(entry_id: str, index: int) -> Stamp:
    """The stamp of the ``index``-th record of the batch that Redis numbered ``entry_id``."""
    milliseconds, _, _ = entry_id.partition("-")
    return Stamp(
        MessageId(f"{entry_id}-{index}"),
        int(milliseconds) / 1000 if milliseconds.isascii() and milliseconds.isdigit() else 0.0,
    )


class Batch(NamedTuple):
    node: str
    sequence: int
    records: bytes  # decoded lazily, by ``records``: only nodes with members there need them
    entry_id: str = "0-0"  # as Redis numbered it (``<ms>-<seq>``): the stamps of its messages
    directs: bytes = b""  # its ``a`` field, decoded lazily by ``direct_accounts``


def direct_accounts(data: bytes) -> dict[int, tuple[str, str]]:
    """A batch's ``a`` field: record place -> (sender's account, recipient's account); lines
    that are not ``<n> <account> <account>`` are left out."""
    found: dict[int, tuple[str, str]] = {}
    for line in data.split(b"\n"):
        parts = line.split(b" ")
        if len(parts) == 3 and parts[0].isdigit() and parts[1] and parts[2]:
            try:
                found[int(parts[0])] = (parts[1].decode("utf-8"), parts[2].decode("utf-8"))
            except UnicodeDecodeError:
                continue
    return found


def direct_line(place: int, sender_account: str, recipient_account: str) -> bytes:
    """One line of a batch's ``a`` field."""
    return f"{place} {sender_account} {recipient_account}".encode()


Entry = Join | Leave | Presence | Away | Batch | Moderate


def batch_fields(node: str, sequence: int, records: bytes, directs: bytes = b"") -> dict[str, bytes | str | int]:
    fields: dict[str, bytes | str | int] = {"t": "m", "v": BATCH_FORMAT, "o": node, "s": sequence, "d": records}
    if directs:
        fields["a"] = directs
    return fields


def broadcast_record(said: Said, echo: bool = False) -> bytes:
    """``*alice 5\nhi\nho``: what ``said.sender`` said to everyone (``^`` with its IRC texts)."""
    texts = [text or "" for text in said.texts]
    if said.raws is None:
        return record(BROADCAST, said.sender, "\n".join(texts).encode("utf-8"))
    parts = [_irc_head(said.command, echo, said.tags), *texts, *said.raws]
    return record(IRC_BROADCAST, said.sender, "\n".join(parts).encode("utf-8"))


def direct_record(recipient: str, told: Told, echo: bool = False) -> bytes:
    """``@bob 8\nalice\nhi``: what ``told.sender`` said to ``recipient`` (``&`` from IRC)."""
    if told.raw is None:
        return record(DIRECT, recipient, f"{told.sender}\n{told.text or ''}".encode())
    parts = [told.sender, _irc_head(told.command, echo, told.tags), told.text or "", told.raw]
    return record(IRC_DIRECT, recipient, "\n".join(parts).encode())


def join_fields(
    name: str, node: str, token: str, hidden: bool, renamed: tuple[str, str] | None, account: str | None = None
) -> list[str]:
    """The join entry's fields beyond ``t``, ``n``, ``o``, ``c`` (what CLAIM adds), flattened."""
    extra = ["h", "1"] if hidden else []
    if renamed is not None:
        extra += ["r", renamed[0], "rc", renamed[1]]
    if account is not None:
        extra += ["a", account]
    return extra


def sync_record(token: str) -> bytes:
    return record(SYNC, token)


def record(kind: int, name: str, payload: bytes = b"") -> bytes:
    """One record of a batch, such as ``*alice 2\nhi``."""
    return b"%c%s %d\n%s" % (kind, name.encode("utf-8"), len(payload), payload)


def decode_entry(fields: dict[bytes, bytes], entry_id: bytes = b"0-0") -> Entry:
    """The entry Redis numbered ``entry_id``, from its fields."""
    kind = fields.get(b"t")
    try:
        if kind == b"m":
            if fields.get(b"v") not in _FORMATS_READ:
                raise BadEntry(f"a batch of format {fields.get(b'v')!r}, not {BATCH_FORMAT}")
            sequence = int(fields[b"s"])
            if sequence < 1:
                raise BadEntry(f"batch sequence {sequence}")
            directs = fields.get(b"a", b"")
            return Batch(_text(fields[b"o"]), sequence, fields[b"d"], entry_id.decode("ascii"), directs)
        if kind == b"j":
            renamed = (_text(fields[b"r"]), _text(fields[b"rc"])) if b"r" in fields else None
            hidden = fields.get(b"h") == b"1"
            account = _text(fields[b"a"]) if b"a" in fields else None
            return Join(_text(fields[b"n"]), _text(fields[b"o"]), _text(fields[b"c"]), hidden, renamed, account)
        if kind == b"l":
            return Leave(_text(fields[b"n"]), _text(fields[b"c"]), _note(fields.get(b"q")))
        if kind == b"p":
            if b"a" in fields:
                return Away(_text(fields[b"n"]), _text(fields[b"c"]), _note(fields[b"a"]))
            shown = fields[b"s"] == b"1"
            return Presence(_text(fields[b"n"]), _text(fields[b"c"]), shown, _note(fields.get(b"q")))
        if kind == b"x":
            return Moderate(_text(fields[b"o"]), parse_change(fields[b"a"].decode(), fields[b"d"].decode("utf-8")))
    except KeyError as missing:
        raise BadEntry(f"no field {missing.args[0]!r} in a {kind!r} entry") from None
    except (ValueError, UnicodeDecodeError) as problem:  # (ModerationFormatError is a ValueError)
        if isinstance(problem, BadEntry):
            raise
        raise BadEntry(f"a {kind!r} entry: {problem}") from None
    raise BadEntry(f"unknown entry type {kind!r}")


def records(data: bytes) -> list[Record]:
    """The records of a batch, in order; BadEntry if ``data`` is not a sequence of them."""
    found = []
    offset, size = 0, len(data)
    while offset < size:
        header_end = data.find(b"\n", offset)
        if header_end < 0:
            raise BadEntry("a record without its header line")
        target, _, length_text = data[offset:header_end].partition(b" ")
        if len(target) < 2 or target[0] not in _KINDS or not (length_text.isascii() and length_text.isdigit()):
            raise BadEntry(f"a record header {data[offset:header_end][:80]!r}")
        end = header_end + 1 + int(length_text)
        if end > size:
            raise BadEntry("a record longer than its batch")
        try:
            name = target[1:].decode("utf-8")
        except UnicodeDecodeError:
            raise BadEntry("a record name that is not UTF-8") from None
        found.append(Record(target[0], name, data[header_end + 1 : end]))
        offset = end
    return found


def _note(value: bytes | None) -> str | None:
    """An optional reason or away message, repaired rather than refused; None if empty."""
    if not value:
        return None
    return cut(clean_text(value[: NOTE_BYTES * 2].decode("utf-8", "replace")), NOTE_BYTES) or None


def _text(value: bytes) -> str:
    text = value.decode("utf-8")
    if not text or any(char.isspace() for char in text):
        raise BadEntry(f"a field {value[:80]!r} that is empty or has spaces")
    return text
