"""TCP keepalive on an accepted socket: how a peer that vanished without a word is found.

A chat is mostly read, so a user who only reads must never be closed for being quiet (the idle
timeout is off by default).  A peer that is gone without a FIN (cable pulled, laptop shut, a NAT
that forgot the flow) is found by the kernel instead, at no cost to the server's loop: the shape
is Redis's ``tcp-keepalive``.  After ``seconds`` of silence the kernel sends a probe, then one
every ``seconds / 3``; when ``PROBES`` in a row go unanswered it resets the connection, which the
server sees as a lost connection (``INFO <name> disconnected`` to the others).  A dead peer is so
found within about twice ``seconds``.  A peer that vanished while data to it was in flight is
never probed (the kernel retransmits instead, for a quarter of an hour by default): where there is
``TCP_USER_TIMEOUT`` (Linux), data unacknowledged for that same bound ends the connection too.

Where a platform lacks one of the knobs its own default stays: macOS names the first one
``TCP_KEEPALIVE``; a Windows older than 10 (1709) takes the times through ``SIO_KEEPALIVE_VALS``
and keeps its own probe count.
"""

from __future__ import annotations

import contextlib
import socket

PROBES = 3


def enable_keepalive(sock: socket.socket, seconds: int) -> None:
    """Probe ``sock``'s peer after ``seconds`` of silence (``seconds`` >= 1).  Never raises: a
    socket already reset, or a platform that refuses a knob, keeps what it has."""
    interval = max(1, seconds // 3)
    idle_option = getattr(socket, "TCP_KEEPIDLE", getattr(socket, "TCP_KEEPALIVE", None))
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        knobs = [
            (idle_option, seconds),
            (getattr(socket, "TCP_KEEPINTVL", None), interval),
            (getattr(socket, "TCP_KEEPCNT", None), PROBES),
            (getattr(socket, "TCP_USER_TIMEOUT", None), (seconds + interval * PROBES) * 1000),
        ]
        try:
            for option, value in knobs:
                if option is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, option, value)
        except OSError:
            if not hasattr(socket, "SIO_KEEPALIVE_VALS"):
                raise
            sock.ioctl(socket.SIO_KEEPALIVE_VALS, (1, seconds * 1000, interval * 1000))  # type: ignore[attr-defined]
