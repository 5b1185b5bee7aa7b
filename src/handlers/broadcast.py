"""The room: who is logged in, in what order, and who receives what.

The room knows nothing about sockets or the wire format: a member is anything with a
``deliver(payload)`` method, and a payload is whatever the caller hands in (the server passes
encoded lines, the unit tests pass plain strings).  So the same payload object reaches every
recipient: a broadcast is encoded once, however many people are online.

Guarantees:
- Names are unique ignoring case and Unicode width forms (``protocol.username_key``), and a
  name is free again the moment its owner leaves.
- ``names()`` and every broadcast follow login order, so every recipient sees broadcasts in
  the same order.
- ``broadcast`` is O(recipients) and never calls back into the room.
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar

from protocol import username_key


class Member(Protocol):
    def deliver(self, payload: Any) -> None: ...


MemberT = TypeVar("MemberT", bound=Member)


class Room(Generic[MemberT]):
    __slots__ = ("_members", "_names", "changes")

    def __init__(self) -> None:
        # Both keyed by username_key(name); dicts keep insertion order, which is login order.
        self._members: dict[str, MemberT] = {}
        self._names: dict[str, str] = {}
        self.changes = 0  # counts joins and leaves: whatever is built from names() is stale when it moves

    def __len__(self) -> int:
        return len(self._members)

    def join(self, member: MemberT, name: str) -> bool:
        """Add ``member`` as ``name``; False if someone online already has that name."""
        key = username_key(name)
        if key in self._members:
            return False
        self._members[key] = member
        self._names[key] = name
        self.changes += 1
        return True

    def leave(self, name: str) -> None:
        key = username_key(name)
        del self._members[key]
        del self._names[key]
        self.changes += 1

    def find(self, name: str) -> MemberT | None:
        return self._members.get(username_key(name))

    def names(self) -> list[str]:
        """The names online, as their owners typed them, in login order."""
        return list(self._names.values())

    def broadcast(self, payload: Any, exclude: MemberT | None = None) -> None:
        """Deliver ``payload`` to every member except ``exclude``."""
        for member in self._members.values():
            if member is not exclude:
                member.deliver(payload)
