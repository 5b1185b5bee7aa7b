"""What the room carries: events, never wire lines.  Pure code.

The room, the server and the cluster stream pass these along unchanged; each protocol's session
turns an event into its own wire lines.  An event is encoded at most once per protocol:
``encoded(encode)`` keeps the bytes of every protocol that asked, so all recipients of one protocol
share one bytes object (a broadcast to 10,000 people is encoded once, not 10,000 times).

Text in an event is what the sender said, cleaned by the sender's protocol; it never holds a line
break, so the cluster can put several texts in one record, separated by LF.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Encoder = Callable[["RoomEvent"], bytes]


class RoomEvent:
    """Something the room tells its members; subclasses say what."""

    __slots__ = ("_wire",)

    def __init__(self) -> None:
        self._wire: dict[Encoder, bytes] | None = None

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
    CTCP included, for readers of IRC, text for text, and ``command`` how (PRIVMSG or NOTICE)."""

    __slots__ = ("command", "raws", "sender", "texts")

    def __init__(
        self,
        sender: str,
        texts: Sequence[str | None],
        raws: Sequence[str] | None = None,
        command: str | None = None,
    ) -> None:
        super().__init__()
        self.sender, self.texts, self.raws, self.command = sender, texts, raws, command


class Told(RoomEvent):
    """``sender`` said ``text`` to one member (the room knows which); ``text`` and ``raw`` as
    ``Said``'s."""

    __slots__ = ("command", "raw", "sender", "text")

    def __init__(self, sender: str, text: str | None, raw: str | None = None, command: str | None = None) -> None:
        super().__init__()
        self.sender, self.text, self.raw, self.command = sender, text, raw, command


class Departed(RoomEvent):
    """``names`` left, in the order they left (those noticed at one moment travel together)."""

    __slots__ = ("names",)

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names


class Arrived(RoomEvent):
    """``name`` came into the room (a login, an IRC JOIN).  Only members that asked for arrivals
    get it: the line protocol has no notice of them, and 10,000 logins must not cost 10,000 x
    10,000 deliveries."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class Parted(RoomEvent):
    """``name`` left the room but keeps the name (an IRC PART): a departure for everyone else."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


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
