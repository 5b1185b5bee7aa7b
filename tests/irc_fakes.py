"""Fakes for the unit tests of the IRC session and its parts: the server around the room
(``RoomHost``) over an in-memory room, members that keep what the room delivers to them, and IRC
users registered on an ``InProcessServer``, and hostile lines shaped like a PRIVMSG."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

from support import FakeTransport

from algokart_chat.room_memory import MemoryRoom
from algokart_chat.sessions.irc_channel import IrcChannel
from in_process import InProcessServer


class Listener:
    """A room member that keeps what it is delivered."""

    def __init__(self) -> None:
        self.delivered: list[Any] = []

    def deliver(self, payload: Any) -> None:
        self.delivered.append(payload)


class FakeHost:
    """``room.RoomHost`` over a ``MemoryRoom``, with no loop: it records what sessions ask of it."""

    def __init__(self) -> None:
        self.room: MemoryRoom[Any] = MemoryRoom()
        self.shutting_down = False
        self.behind = False  # fan_out_allowed() is False while this is True
        self.fan_out: list[int] = []
        self.departures_announced = 0
        self.waiting: list[Callable[[], None]] = []
        self.members: list[Listener] = []  # those of log_in, in order
        self.channel = IrcChannel(self, "irc.test", "#chat")  # (one per server, as the sessions share it)

    def announce_departures(self) -> None:
        self.departures_announced += 1

    def when_room_ready(self, resume: Callable[[], None]) -> None:
        self.waiting.append(resume)

    def fan_out_allowed(self) -> bool:
        return not self.behind

    def when_fan_out_allowed(self, resume: Callable[[], None]) -> None:
        self.waiting.append(resume)

    def note_fan_out(self, size: int) -> None:
        self.fan_out.append(size)

    def log_in(self, *names: str) -> list[Listener]:
        """Members in the room with ``names``, in that order."""
        members = []
        for name in names:
            member = Listener()
            self.room.join(member, name, lambda result: None)
            members.append(member)
        self.members += members
        return members


def registered(chat: InProcessServer, nick: str, *lines: str) -> FakeTransport:
    """An IRC user registered as ``nick`` on ``chat``, in the channel, that sent ``lines``."""
    transport = chat.connect_irc(f"NICK {nick}", f"USER {nick} 0 * :{nick}", "JOIN #chat", *lines)
    chat.settle()
    return transport


def hostile_lines(seed: int, count: int) -> Iterator[str]:
    """Lines shaped like a PRIVMSG that go wrong anywhere: tags, prefixes, spaces, colons, commas,
    CR, NUL, bytes that are not UTF-8, characters of 2 and 4 bytes, near the size limits."""
    heads = ("PRIVMSG ", "PRIVMSG ", "PRIVMSG ", "privmsg ", "PRIVMSG  ", "NOTICE ", "@a=b PRIVMSG ", ":p PRIVMSG ")
    targets = ("#chat", "#Chat", "bob", "#a,#b", "", ":x", "a:b", "#c h")
    separators = (" :", " :", " :", " ", "  :", " : ", ":")
    pieces = [
        *("x", "hello there", " ", ":", " :", ",", "\r", "\0", "\udcff", "\udc80", "\x01", "\x02", "\t", "é"),
        *("\U0001f600", "\u2028", "\u200e", "@", "x" * 100, "é" * 60, "\U0001f600" * 40),
    ]
    chooser = random.Random(seed)
    for _ in range(count):
        text = "".join(chooser.choice(pieces) for _ in range(chooser.randrange(0, 6)))
        line = chooser.choice(heads) + chooser.choice(targets) + chooser.choice(separators) + text
        if chooser.random() < 0.3:  # (something anywhere)
            at = chooser.randrange(len(line) + 1)
            line = line[:at] + chooser.choice(pieces) + line[at:]
        if chooser.random() < 0.1:  # (around the 510 bytes a line may hold, either side)
            line += "y" * max(0, 510 - len(line.encode("utf-8", "surrogateescape")) + chooser.randrange(-3, 4))
        yield line
