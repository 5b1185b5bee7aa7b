"""What the room carries: events, never wire lines.  Pure code.

The room, the server and the cluster stream pass these along unchanged; each protocol's session
turns an event into its own wire lines.  An event is encoded at most once per protocol:
``encoded(encode)`` keeps the bytes of every protocol that asked, so all recipients of one protocol
share one bytes object (a broadcast to 10,000 people is encoded once, not 10,000 times).

Text in an event is what the sender said, cleaned by the sender's protocol; it never holds a line
break, so the cluster can put several texts in one record, separated by LF.  A departure's reason
and an away message are cleaned as message text is (``text.clean_text``) and at most
``NOTE_BYTES`` bytes of UTF-8 (``text.cut``); no protocol shows them to line users but the away
message of someone they write to.

What someone says (``Said``, ``Told``) is stamped by the room that accepts it (``Stamp``): an id
and a time, the same for every recipient and, in a cluster, on every node.  IRC shows them as the
``msgid`` and ``time`` tags; the line protocol shows neither.  A member that asked for it gets its
own message back, stamped, as ``Echoed`` (IRC's echo-message).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, NamedTuple, NewType

NOTE_BYTES: Final = 200  # the longest departure reason or away message, in bytes of UTF-8

Encoder = Callable[["RoomEvent"], bytes]

# What one accepted message is called, forever and everywhere: opaque, case-sensitive, ASCII
# letters, digits, "-" and "." only (so never a space, a ":" or a line break: IRC's msgid rules).
# One process's room (``room_memory``) makes ``<random prefix>-<counter>``, the prefix new at each
# start; a cluster's (``cluster.replica``) ``<stream entry id>-<record>``, as Redis numbered the
# batch (``<ms>-<seq>``) and the record's place in it, which every node reads alike.  A message of
# several texts (several MSG of one read) gives the k-th text after the first ``<id>.<k>``
# (``text_id``), on every protocol and in history; an IRC line that goes on with a text cut to fit
# 512 bytes has its text's id and ``.c<j>``.
MessageId = NewType("MessageId", str)


def text_id(stamp_id: MessageId, k: int) -> MessageId:
    """The id of the ``k``-th text (from 0) of a message stamped ``stamp_id``."""
    return stamp_id if k == 0 else MessageId(f"{stamp_id}.{k}")


class Stamp(NamedTuple):
    """When the room accepted a message, and the id it gave it."""

    id: MessageId
    accepted_at: float  # seconds since the epoch, UTC (a cluster's: Redis's clock, to the millisecond)


class RoomEvent:
    """Something the room tells its members; subclasses say what.  ``stamp`` is set by the room
    on the messages it accepts (``Said``, ``Told``); None on anything else."""

    __slots__ = ("_wire", "stamp")

    def __init__(self) -> None:
        self._wire: dict[Encoder, bytes] | None = None
        self.stamp: Stamp | None = None

    def encoded(self, encode: Encoder) -> bytes:
        """``encode(self)``, computed once per encoder (one per protocol) and then shared."""
        wire = self._wire
        if wire is None:
            wire = self._wire = {}
        data = wire.get(encode)
        if data is None:
            data = wire[encode] = encode(self)
        return data


class Said(RoomEvent):
    """``sender`` said ``texts`` to everyone (consecutive messages of one read travel together).

    ``texts`` is what a reader of plain text sees (None: nothing, for an IRC CTCP request that
    means nothing outside IRC); ``raws``, when the sender spoke IRC, is what it sent, formatting and
    CTCP included, for readers of IRC, text for text, and ``command`` how (PRIVMSG or NOTICE, or
    TAGMSG: no text at all, only ``tags``).  ``tags``: the IRC client-only tags the sender attached
    (``+typing=active;+draft/react=x``, escaped as on the wire), for readers that asked for tags.
    ``account``: the account the sender logged in to, if any (IRC's account-tag)."""

    __slots__ = ("account", "command", "raws", "sender", "tags", "texts")

    def __init__(
        self,
        sender: str,
        texts: Sequence[str | None],
        raws: Sequence[str] | None = None,
        command: str | None = None,
        tags: str | None = None,
        account: str | None = None,
    ) -> None:
        super().__init__()
        self.sender, self.texts, self.raws, self.command, self.tags = sender, texts, raws, command, tags
        self.account = account


class Told(RoomEvent):
    """``sender`` said ``text`` to one member (the room knows which); ``text``, ``raw``,
    ``command``, ``tags`` and ``account`` as ``Said``'s.  ``to_account``: the account the
    recipient was logged in to when the room accepted it, set by the room as it stamps it (None:
    none); a direct message between two accounts is kept in history (``history.is_kept_direct``)."""

    __slots__ = ("account", "command", "raw", "sender", "tags", "text", "to_account")

    def __init__(
        self,
        sender: str,
        text: str | None,
        raw: str | None = None,
        command: str | None = None,
        tags: str | None = None,
        account: str | None = None,
    ) -> None:
        super().__init__()
        self.sender, self.text, self.raw, self.command, self.tags = sender, text, raw, command, tags
        self.account = account
        self.to_account: str | None = None


class Departed(RoomEvent):
    """``names`` left, in the order they left (those noticed at one moment travel together);
    ``reasons``, if given, says why each of them left (None: no reason given, as for anyone
    whose connection just ended), in the same order."""

    __slots__ = ("names", "reasons")

    def __init__(self, names: list[str], reasons: Sequence[str | None] | None = None) -> None:
        super().__init__()
        self.names, self.reasons = names, reasons

    def reason(self, index: int) -> str | None:
        """Why ``names[index]`` left, if it said."""
        return self.reasons[index] if self.reasons is not None else None


class Arrived(RoomEvent):
    """``name`` came into the room (a login, an IRC JOIN), away with the message ``away`` if it
    set one before.  Only members that asked for arrivals get it: the line protocol has no notice
    of them, and 10,000 logins must not cost 10,000 x 10,000 deliveries.  ``account``: the account
    it logged in to, if any (IRC's extended-join)."""

    __slots__ = ("account", "away", "name")

    def __init__(self, name: str, account: str | None = None, away: str | None = None) -> None:
        super().__init__()
        self.name, self.account, self.away = name, account, away


class Parted(RoomEvent):
    """``name`` left the room but keeps the name (an IRC PART, with its ``reason`` if it gave
    one): a departure for everyone else."""

    __slots__ = ("name", "reason")

    def __init__(self, name: str, reason: str | None = None) -> None:
        super().__init__()
        self.name, self.reason = name, reason


class AwayChanged(RoomEvent):
    """``name`` is away now with the message ``away``, or back (None).  Like ``Arrived`` it goes
    only to members that asked for arrivals (the line protocol has no notice of it), never to
    ``name`` itself."""

    __slots__ = ("away", "name")

    def __init__(self, name: str, away: str | None) -> None:
        super().__init__()
        self.name, self.away = name, away


class Renamed(RoomEvent):
    """``old`` is now called ``new`` (an IRC NICK after registration)."""

    __slots__ = ("new", "old")

    def __init__(self, old: str, new: str) -> None:
        super().__init__()
        self.old, self.new = old, new


class Together(RoomEvent):
    """Several events delivered as one, in order (the broadcasts of one loop turn): encoded as
    its parts' encodings, which the parts keep, so another combination of them costs a join."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[RoomEvent]) -> None:
        super().__init__()
        self.parts = parts


class Echoed:
    """A member's own message back to it, once the room accepted it (stamped), for a member that
    asked for it (``ChatRoom.broadcast``'s ``echo``, ``direct``'s ``echo_to``): ``event`` as the
    others got it, and ``to``, the name a direct message went to (None for a broadcast).  Not a
    room event: it goes to its sender only, and is never encoded for anyone else."""

    __slots__ = ("event", "to")

    def __init__(self, event: Said | Told, to: str | None = None) -> None:
        self.event, self.to = event, to
