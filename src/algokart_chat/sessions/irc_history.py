"""The IRC gateway's history: IRCv3 ``draft/chathistory`` (the ``CHATHISTORY`` command) and the
last lines replayed after a ``JOIN`` (``--irc-join-replay``), both read from the room's
``history.History`` (docs/IRC.md, *History*).

What it owns: reading a ``CHATHISTORY`` line into a ``Query`` (or the ``FAIL`` that refuses it),
choosing the kept messages it asks for (``choose``, ``targets``), writing them as IRC lines for
one client, and the two session-facing steps, ``chathistory`` and ``replay_on_join``, which see
the session through ``Historian``.

Plan:
- ``CHATHISTORY LATEST|BEFORE|AFTER|AROUND <target> <ref> <limit>``, ``BETWEEN <target> <ref>
  <ref> <limit>`` and ``TARGETS <timestamp> <timestamp> <limit>``, as the IRCv3 chathistory spec
  says; a reference is ``msgid=<id>``, ``timestamp=YYYY-MM-DDThh:mm:ss.sssZ`` or, for
  ``LATEST``, ``*``.  Times compare to the millisecond, as the ``time`` tag shows them, so a
  message's own time excludes it.  A limit above ``MOST`` (``CHATHISTORY`` in ISUPPORT), or 0,
  is ``MOST``.
- An id history does not know (let go, or from before a restart: ids are never reused) is older
  than everything kept: ``LATEST`` and ``AFTER`` from it return the newest or oldest kept,
  ``BEFORE`` nothing; ``AROUND`` it returns nothing.
- Targets: the channel, whose answers hold its messages only, never a direct message, and only
  for a client in it (``joined``): to others, who are not in the room, an empty batch, as the
  spec's security section says of a target without permission (``TARGETS`` leaves it out); a nick,
  whose answers hold the direct messages kept between the asker's account and the account of
  that nick (``peer``: its holder's, or if no one holds it, the account that had that name in the
  latest of them), each as it was live (``PRIVMSG <recipient> :<text>`` from its sender), and
  nothing (an empty batch) for an asker without an account or a nick without one.  ``TARGETS``
  lists the channel (to a client in it) and the accounts the asker exchanged direct messages with (by the name and
  time of the latest), those whose latest is strictly between the two timestamps, ordered from
  the first timestamp towards the second.  Another channel is ``INVALID_TARGET``.
- The answer waits for the room's sync point (so it holds everything the client was delivered
  before it asked, on every node of a cluster), then goes as a ``chathistory`` batch (with the
  ``batch`` capability; an empty one for nothing), each message as the client's form shows live
  ones: ``time`` with server-time, ``msgid`` with message-tags.  A labeled request gets the label
  on the batch's start (``irc_replies.labeled``).  It is paid from the asker's input budget by
  its size (``send_long``: a token per KiB), as the line protocol's ``HISTORY`` is.
- Join replay: after the names of a ``JOIN``, the last ``join_replay`` messages (CTCP requests
  left out), never to a client that enabled ``draft/chathistory`` (it asks for what it wants).
  Only those older than the first message the joiner got live since its ``JOIN`` (``Mark``, shown
  what the room delivers until the replay), as ``HISTORY AFTER`` stops there: in a cluster, what
  streams between the joiner's arrival and the room's sync point comes live and is in history too.
  With server-time each has its ``time``; without, a ``NOTICE`` from the server says what follows
  and each text starts with its time, ``[HH:MM:SS]`` (UTC), so no one takes them for live.

Guarantees: no answer holds more than ``MOST`` messages; bad input gets a ``FAIL`` (or 461) and
changes nothing; nothing here keeps any state.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable
from functools import partial
from typing import Final, Literal, NamedTuple, Protocol

from algokart_chat import irc
from algokart_chat.events import MessageId, RoomEvent, Said, Stamp, Together, Told, text_id
from algokart_chat.history import History, Kept
from algokart_chat.names import username_key, username_problem
from algokart_chat.sessions import irc_caps
from algokart_chat.sessions.irc_queries import Asker

CAPABILITY: Final = "draft/chathistory"
MOST: Final = 100  # messages one answer holds at most (ISUPPORT CHATHISTORY)
ISUPPORT: Final = (f"CHATHISTORY={MOST}", "MSGREFTYPES=timestamp,msgid")
_TIMESTAMP: Final = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z", re.ASCII)
_COUNTS: Final = {"LATEST": 4, "BEFORE": 4, "AFTER": 4, "AROUND": 4, "BETWEEN": 5, "TARGETS": 4}


class Ref(NamedTuple):
    """A message reference: ``msgid=`` (``id``), ``timestamp=`` (``ms``, since the epoch) or ``*``."""

    kind: Literal["msgid", "timestamp", "*"]
    id: str = ""
    ms: int = 0


class Query(NamedTuple):
    sub: str  # LATEST, BEFORE, AFTER, AROUND, BETWEEN or TARGETS
    target: str  # "" for TARGETS
    first: Ref
    second: Ref | None  # BETWEEN's and TARGETS' other end
    limit: int


class Refusal(NamedTuple):
    """``FAIL CHATHISTORY <code> <context...> :<text>``."""

    code: str
    context: tuple[str, ...]
    text: str


def read(params: list[str], most: int = MOST) -> Query | Refusal:
    """``CHATHISTORY <params>`` (at least one) as a query, or why not, as the spec's ``FAIL``."""
    sub = params[0].upper()
    count = _COUNTS.get(sub)
    if count is None:
        return Refusal("INVALID_PARAMS", (_word(params[0]),), "Unknown command")
    if len(params) != count:
        return Refusal(
            "INVALID_PARAMS", (sub,), "Insufficient parameters" if len(params) < count else "Too many parameters"
        )
    target, refs = ("", params[1:3]) if sub == "TARGETS" else (params[1], params[2 : count - 1])
    read_refs: list[Ref] = []
    for text in refs:
        ref = reference(text, star=sub == "LATEST")
        if ref is None or (sub == "TARGETS" and ref.kind != "timestamp"):
            wrong = "timestamp" if text.lower().startswith("timestamp=") or sub == "TARGETS" else "message reference"
            return Refusal("INVALID_PARAMS", (sub, _word(text)), f"Invalid {wrong}")
        read_refs.append(ref)
    limit = params[-1]
    if not (limit.isascii() and limit.isdigit()):
        return Refusal("INVALID_PARAMS", (sub, _word(limit)), "Invalid limit")
    wanted = int(limit) if len(limit) <= 9 else most
    second = read_refs[1] if len(read_refs) > 1 else None
    return Query(sub, target, read_refs[0], second, most if wanted == 0 or wanted > most else wanted)


def _word(text: str) -> str:
    """``text`` if it can be a middle parameter of a reply (echoed in a ``FAIL``), else ``*``."""
    return text if text and " " not in text and not text.startswith(":") else "*"


def reference(text: str, star: bool = False) -> Ref | None:
    """``msgid=<id>``, ``timestamp=<server-time>`` (or ``*`` if ``star``) as a ``Ref``; None if
    it is none of them."""
    if star and text == "*":
        return Ref("*")
    kind, equals, value = text.partition("=")
    kind = kind.lower()
    if not equals or not value:
        return None
    if kind == "msgid":
        return Ref("msgid", id=value)
    if kind == "timestamp":
        ms = milliseconds(value)
        return None if ms is None else Ref("timestamp", ms=ms)
    return None


def milliseconds(server_time: str) -> int | None:
    """A server-time value (``2019-01-04T14:33:26.123Z``) in milliseconds since the epoch; None
    for a date or time that does not exist.  A leap second (``:60``) is read as the last
    millisecond of the second before it: after everything in that second, before the next minute
    (the server's own times, POSIX ones, never show it)."""
    match = _TIMESTAMP.fullmatch(server_time)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    days = calendar.monthrange(year, month)[1] if 1 <= month <= 12 else 0
    if not (1 <= day <= days and hour < 24 and minute < 60 and second <= 60):
        return None
    fraction = int(((match.group(7) or "") + "000")[:3])
    second, fraction = (59, 999) if second == 60 else (second, fraction)
    try:
        whole = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (OverflowError, ValueError):
        return None
    return whole * 1000 + fraction


# --- choosing -------------------------------------------------------------------------------------
def choose(history: History, query: Query, account: str | None = None, with_peer: str | None = None) -> list[Kept]:
    """The kept messages ``query`` (not ``TARGETS``) asks for, oldest first: the room's, or with
    ``account`` and ``with_peer`` the direct messages between those two accounts."""
    first, end = history.span
    limit, ref = query.limit, query.first
    pick = partial(history.between_places, account=account, with_peer=with_peer)
    where = partial(history.visible_place, account=account, with_peer=with_peer)
    if query.sub == "LATEST":
        return pick(first if ref.kind == "*" else _after(history, ref, where), end, limit, newest=True)
    if query.sub == "BEFORE":
        return pick(first, _before(history, ref, where), limit, newest=True)
    if query.sub == "AFTER":
        return pick(_after(history, ref, where), end, limit)
    if query.sub == "AROUND":
        middle = where(ref.id) if ref.kind == "msgid" else history.place_at(ref.ms, after=False)
        if middle is None:
            return []
        later = pick(middle, end, limit - limit // 2)
        earlier = pick(first, middle, limit - len(later), newest=True)
        if len(earlier) + len(later) < limit:  # (near the oldest kept: more of the later ones)
            later = pick(middle, end, limit - len(earlier))
        return earlier + later
    assert query.second is not None  # (BETWEEN)
    other = query.second
    if _forward(history, ref, other, where):
        return pick(_after(history, ref, where), _before(history, other, where), limit)
    return pick(_after(history, other, where), _before(history, ref, where), limit, newest=True)


def targets(
    history: History, query: Query, channel: str | None, account: str | None, now: float
) -> list[tuple[str, int]]:
    """``TARGETS``: the ``channel`` (None: left out), at the time (ms) of its newest message, and
    for an asker with an ``account`` each account it exchanged direct messages with, by the name
    and time of the latest of them; those strictly between the query's two timestamps, from the
    first one's end, at most its limit."""
    first, end = history.span
    found: list[tuple[str, int]] = []
    if channel is not None:
        found += [(channel, _ms(newest.at)) for newest in history.between_places(first, end, 1, newest=True)]
    if account is not None:
        found += [(partner.name, _ms(partner.at)) for partner in history.partners(account, now)]
    assert query.second is not None
    low, high = sorted((query.first.ms, query.second.ms))
    inside = [(name, at) for name, at in found if low < at < high]
    inside.sort(key=lambda target: target[1], reverse=query.first.ms > query.second.ms)
    return inside[: query.limit]


class Names(Protocol):
    """What ``peer`` asks of the room (``room.ChatRoom``)."""

    def held_name(self, name: str) -> str | None: ...

    def account_of(self, name: str) -> str | None: ...


def peer(history: History, room: Names, nick: str, account: str | None, now: float) -> tuple[str, str | None]:
    """A nick target's name (as held, or as last seen) and the account of that name (None: no
    conversation): its holder's, or if no one holds it, the account that had it in the latest
    direct message kept between it and ``account``."""
    held = room.held_name(nick)
    if held is not None:
        return held, room.account_of(held)
    if account is not None:
        key = username_key(nick)
        for partner in history.partners(account, now):
            if username_key(partner.name) == key:
                return partner.name, partner.account
    return nick, None


def _ms(at: float) -> int:
    return round(at * 1000)


def _after(history: History, ref: Ref, where: Callable[[str], int | None]) -> int:
    """The place of the first message after ``ref``."""
    if ref.kind == "timestamp":
        return history.place_at(ref.ms, after=True)
    place = where(ref.id)
    return history.span[0] if place is None else place + 1  # (unknown: older than all kept)


def _before(history: History, ref: Ref, where: Callable[[str], int | None]) -> int:
    """The place just after the last message before ``ref``."""
    if ref.kind == "timestamp":
        return history.place_at(ref.ms, after=False)
    place = where(ref.id)
    return history.span[0] if place is None else place


def _forward(history: History, ref: Ref, other: Ref, where: Callable[[str], int | None]) -> bool:
    """Whether ``ref`` comes before ``other`` (BETWEEN goes forwards in time)."""
    if ref.kind == other.kind == "timestamp":
        return ref.ms <= other.ms
    return _before(history, ref, where) <= _before(history, other, where)


# --- writing --------------------------------------------------------------------------------------
def lines(
    encode: Callable[[Said], bytes],
    entries: list[Kept],
    timed: bool = False,
    tell: Callable[[Told, str], bytes] | None = None,
    replay: bool = False,
) -> list[bytes]:
    """``entries`` as IRC lines (a message's lines each), as ``encode`` writes live messages and
    ``tell`` live direct messages to a recipient (None: direct messages left out); ``timed``:
    each text starts with its time (``[HH:MM:SS]``, UTC: join replay to a client without
    server-time); ``replay``: CTCP requests but ``ACTION`` are left out (join replay: replayed,
    one would ask again; ``CHATHISTORY`` keeps them, as the spec lets it)."""
    written: list[bytes] = []
    for entry in entries:
        if entry.to is not None:
            data = tell(_told(entry), entry.to) if tell is not None and not replay else b""
        else:
            said = _said(entry, timed, replay)
            data = encode(said) if said is not None else b""
        if data:
            written.append(data)
    return written


def _told(entry: Kept) -> Told:
    """A kept direct message as it was live: ``PRIVMSG <recipient> :<text>`` from its sender."""
    told = Told(entry.sender, entry.text, entry.raw, entry.command, account=entry.from_account)
    told.stamp = Stamp(entry.id, entry.at)
    return told


def _said(entry: Kept, timed: bool, replay: bool) -> Said | None:
    if replay and entry.text is None:
        return None  # (a CTCP request: replayed, it would ask again)
    at = "[" + time.strftime("%H:%M:%S", time.gmtime(entry.at)) + "] " if timed else ""
    if entry.raw is not None:
        raw = entry.raw
        if at:
            raw = f"\x01ACTION {at}{raw[8:]}" if raw.startswith("\x01ACTION ") else at + raw
        said = Said(entry.sender, [entry.text], [raw], entry.command)
    elif entry.text is not None:
        said = Said(entry.sender, [at + entry.text], None, entry.command)
    else:
        return None
    said.stamp = Stamp(entry.id, entry.at)
    return said


def batched(server: str, reference: str | None, kind: str, data: bytes) -> bytes:
    """``data`` (whole lines) in a batch of ``kind`` (``chathistory #chat``) called ``reference``;
    None: as it is (the client did not enable batch)."""
    if reference is None:
        return data
    tag = f"batch={reference}"
    inner = [irc.with_tag(line + irc.CRLF, tag) for line in data.split(irc.CRLF)[:-1]]
    start = f":{server} BATCH +{reference} {kind}".encode() + irc.CRLF
    return b"".join([start, *inner, f":{server} BATCH -{reference}".encode() + irc.CRLF])


def fail(server: str, refusal: Refusal) -> bytes:
    return irc.message(server, "FAIL", "CHATHISTORY", refusal.code, *refusal.context, refusal.text)


# --- the session's side ---------------------------------------------------------------------------
class Historian(Asker, Protocol):
    """What history needs of the session."""

    @property
    def caps(self) -> frozenset[str]: ...

    @property
    def account(self) -> str | None:
        """The account the client logged in to, if any."""

    joined: bool  # in the room (the channel): who is not reads none of its history
    replay_mark: Mark | None  # from a JOIN to its replay: where the replay stops

    @property
    def join_replay(self) -> int:
        """Messages to replay after a JOIN (0: none)."""

    def batch_reference(self) -> str:
        """A batch reference no other batch of this connection has."""


def chathistory(session: Historian, params: list[str]) -> None:
    """``CHATHISTORY <params>``: the messages asked for, once the room has caught up."""
    channel = session.channel
    if not params:
        session.reply("461", "CHATHISTORY", "Not enough parameters")
        return
    query = read(params)
    if isinstance(query, Refusal):
        session.send(fail(channel.server, query))
        return
    target = query.target
    if query.sub != "TARGETS" and not channel.is_ours(target) and not _nick(target):
        refusal = Refusal("INVALID_TARGET", (query.sub, _word(target)), "Messages could not be retrieved")
        session.send(fail(channel.server, refusal))
        return
    history = channel.host.room.history
    if not history.on:
        refusal = Refusal("MESSAGE_ERROR", (query.sub, _word(target)), "History is off on this server")
        session.send(fail(channel.server, refusal))
        return
    session.wait_for_room(lambda: _answer(session, query, history))


def _nick(target: str) -> bool:
    return not target.startswith(("#", "&")) and username_problem(target) is None


def _answer(session: Historian, query: Query, history: History) -> None:
    channel, account, now = session.channel, session.account, time.time()
    history.trim(now)
    reference = session.batch_reference() if session.has("batch") else None
    if query.sub == "TARGETS":
        listed = b"".join(
            irc.message(channel.server, "CHATHISTORY", "TARGETS", name, irc.server_time(ms / 1000))
            for name, ms in targets(history, query, channel.name if session.joined else None, account, now)
        )
        session.send_long(batched(channel.server, reference, "draft/chathistory-targets", listed))
        return
    form = irc_caps.form(session.caps)
    if channel.is_ours(query.target):
        name, entries = channel.name, choose(history, query) if session.joined else []
    else:  # (a nick: the direct messages between the asker's account and that nick's)
        name, with_peer = peer(history, channel.host.room, query.target, account, now)
        entries = choose(history, query, account, with_peer) if account and with_peer else []
    told = partial(channel.told_lines, form=form)
    data = b"".join(lines(channel.encoder(form), entries, tell=told))
    session.send_long(batched(channel.server, reference, f"chathistory {name}", data))


class Mark:
    """Where a join replay stops: the first message the joiner got live since it joined that
    history has (its first text kept), noted as the room delivers (``note``)."""

    # One per joining connection, until its replay: slots.
    __slots__ = ("first", "history")

    def __init__(self, history: History) -> None:
        self.history = history
        self.first: MessageId | None = None

    def note(self, event: RoomEvent) -> None:
        if self.first is not None:
            return
        for part in event.parts if isinstance(event, Together) else (event,):
            if isinstance(part, Said) and part.stamp is not None:
                for k in range(len(part.texts)):
                    if self.history.place(found := text_id(part.stamp.id, k)) is not None:
                        self.first = found
                        return


def replayed(history: History, count: int, first_live: MessageId | None) -> list[Kept]:
    """The last ``count`` channel messages older than ``first_live`` (the first the joiner got
    live; None: none yet); none if it is no longer kept (everything kept came after it)."""
    first, end = history.span
    stop = end if first_live is None else history.place(first_live)
    return [] if stop is None else history.between_places(first, stop, count, newest=True)


def replay_on_join(session: Historian) -> None:
    """After a JOIN's names: the channel's last ``join_replay`` messages not delivered live since,
    unless the client asks for history itself (``draft/chathistory``: no ``Mark``)."""
    mark, session.replay_mark = session.replay_mark, None
    if mark is None:
        return
    channel, history = session.channel, mark.history
    history.trim(time.time())
    entries = replayed(history, session.join_replay, mark.first)
    timed = not session.has("server-time")
    written = lines(channel.encoder(irc_caps.form(session.caps)), entries, timed, replay=True)
    if not written:
        return
    reference = session.batch_reference() if session.has("batch") else None
    reply = batched(channel.server, reference, f"chathistory {channel.name}", b"".join(written))
    if timed:
        notice = f"Replaying the last {len(written)} messages (times in UTC)"
        reply = irc.message(channel.server, "NOTICE", channel.name, notice) + reply
    session.send_long(reply)
