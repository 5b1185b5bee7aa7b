"""What the interactive client does with the room's history: the last messages shown on login,
the messages missed while the connection was down shown after it is back, ids kept track of.
Pure code: lines in, lines to show and lines to send out; no socket, clock or thread of its own.

What it owns: ``Catchup``, one per client run (it outlives the connections), with the login that
worked (name and password, in memory only), the id of the last room message seen, and the history
request in flight, if any.

Plan and guarantees:
- Every connection starts with ``IDS ON`` (``connected``; its ``OK`` hidden), before any
  ``LOGIN``, so every live line after the login has its id.  After a login's ``OK`` it sends
  ``HISTORY 20`` on the first connection, ``HISTORY AFTER <last id>`` after a reconnection
  (``HISTORY 500`` if no message was ever seen: everything kept was said since);
  ``HISTORY-END more`` asks again after the last id.  (A server that refuses ``IDS`` before a
  login gets it after the login's ``OK``.)
- History lines are shown as ``[history 11:36] MSG alice hi`` (first login) or ``[missed 11:36]
  MSG alice hi`` (after a reconnection), oldest first, times local; a direct message kept between
  two accounts (``HISTORY-DM``) as ``[missed 11:36] DM alice -> bob hi``, in its place among them.
  A live line's ``@<id> `` (``MSG``, and ``DM`` between accounts) is taken off.  While an answer
  is awaited, the lines that arrive are held (at most ``HELD_MOST``, beyond which they are shown
  at once) and shown after it, but for any already in the answer (their ids, at most
  ``HELD_MOST``): each message is shown once, in order.  The server stops ``HISTORY AFTER`` before
  the first message it sent this connection live, so held ones never repeat that answer.
- The line protocol never sends you your own ``MSG`` or ``DM``, so the last id seen can be older
  than what you said since: after a reconnection, the answer's first lines from your own name, as
  many as the ``MSG`` and ``DM`` lines you sent after the last id seen, are not shown as missed.
- ``partial`` says that messages sent while away are gone: older than the history the server keeps;
  ``N messages sent while away may be lost`` when the answer counts them, ``some messages`` when
  it cannot (``unknown``: the id is too old or from before a restart).
- ``INFO kicked by ...`` and ``INFO banned ...`` end the reconnecting: an operator meant it.
"""

from __future__ import annotations

import collections
import datetime

LOGIN_ERRORS = frozenset(
    {
        "username-taken",
        "invalid-username",
        "already-logged-in",
        "password-required",
        "bad-password",
        "no-such-account",
        "account-required",
        "too-many-attempts",
        "server-busy",
        "cluster-unavailable",
        "banned",
    }
)
# A login error that a later try may not get (the old connection's name not yet let go, the
# cluster or the server busy); any other after a reconnection ends the reconnecting.
RETRY_LOGIN_ERRORS = frozenset({"username-taken", "too-many-attempts", "server-busy", "cluster-unavailable"})
GREETING_COUNT = 20  # messages shown on the first login
RECOVERY_COUNT = 500  # HISTORY's most, asked for when no message was ever seen
HELD_MOST = 5000  # lines held while a history answer is awaited


def shown_time(stamp: str, now: datetime.datetime | None = None) -> str:
    """``2026-12-01T11:36:08.123Z`` as local ``11:36``, with the date when it is not today."""
    try:
        moment = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone()
    except ValueError:
        return stamp
    today = (now or datetime.datetime.now().astimezone()).date()
    return moment.strftime("%H:%M" if moment.date() == today else "%Y-%m-%d %H:%M")


def lost_words(end: str) -> str:
    """What a ``HISTORY-END partial <count> <lost>`` line says is lost: ``3 messages sent``,
    ``1 message sent``, or ``some messages sent`` (``unknown``, no count, or an error line)."""
    words = end.split(" ")
    lost = words[3] if len(words) > 3 and words[0] == "HISTORY-END" else ""
    if not (lost.isascii() and lost.isdigit()):
        return "some messages sent"
    return f"{int(lost)} message sent" if int(lost) == 1 else f"{int(lost)} messages sent"


class Catchup:
    """The history side of one interactive client run; see the module docstring."""

    __slots__ = (
        "credentials",
        "held",
        "hidden_oks",
        "ids_asked",
        "ids_on",
        "last_id",
        "login_failed",
        "missed",
        "own_name",
        "own_sent",
        "pending_logins",
        "reconnecting",
        "requests",
        "shown_ids",
        "stay_away",
    )

    def __init__(self) -> None:
        self.credentials: str | None = None  # "name" or "name password" of the login that worked
        self.pending_logins: collections.deque[str] = collections.deque(maxlen=64)
        self.last_id: str | None = None
        self.ids_on = False
        self.ids_asked = False  # IDS ON sent before any login: its answer is the connection's first
        self.own_name = ""  # the name logged in as, before the drop
        self.own_sent = 0  # MSG and DM lines sent since the last id seen (never echoed back)
        self.hidden_oks = 0
        self.requests: collections.deque[str] = collections.deque(maxlen=64)  # "history" or "missed"
        self.held: list[bytes] = []
        self.shown_ids: set[str] = set()  # ids in the answer being shown (to drop held repeats; bounded)
        self.reconnecting = False  # logged in again after a drop: the answer is what was missed
        self.stay_away = False  # kicked or banned: do not reconnect
        self.missed = 0
        self.login_failed: str | None = None  # a login error after a reconnection (its code)

    @property
    def settled(self) -> bool:
        """No login and no history answer awaited: what the server sends now is live."""
        return not self.pending_logins and not self.requests

    def sent(self, line: bytes) -> None:
        """Note a line the user sends: a ``LOGIN`` is remembered until its answer, a ``MSG`` or
        ``DM`` counted."""
        words = line.decode("utf-8", "replace").strip().split(None, 1)
        verb = words[0].upper() if words else ""
        if verb == "LOGIN" and len(words) == 2 and self.credentials is None:
            self.pending_logins.append(words[1])
        elif verb in ("MSG", "DM") and self.credentials is not None:
            self.own_sent += 1

    def connected(self) -> list[bytes]:
        """A connection made: its first line (``IDS ON``)."""
        self.ids_on, self.ids_asked = False, True
        return [b"IDS ON\n"]

    def on_connection(self) -> list[bytes]:
        """A new connection after a drop: what to send (``IDS ON``, the same login)."""
        opening = self.connected()
        self.hidden_oks = 0
        self.requests.clear()
        self.held.clear()
        self.pending_logins.clear()
        self.login_failed = None
        if self.credentials is None:
            return opening
        self.reconnecting = True
        self.pending_logins.append(self.credentials)
        self.own_name = self.credentials.split(" ", 1)[0]
        self.credentials = None
        return [*opening, f"LOGIN {self.pending_logins[0]}\n".encode()]

    def received(self, raw: bytes) -> tuple[list[bytes], list[bytes]]:
        """One line from the server: the lines to show (raw, as ``Screen.show`` takes them) and
        the lines to send."""
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        word = line.split(" ", 1)[0]
        if self.ids_asked and (word == "OK" or line.startswith(("ERR not-logged-in", "ERR unknown-command"))):
            self.ids_asked, self.ids_on = False, word == "OK"  # (refused: asked again after the login)
            return [], []
        if word == "OK" and self.hidden_oks and self.credentials is not None:
            self.hidden_oks -= 1
            return [], []
        if self.pending_logins and word == "OK":
            return self._logged_in(raw)
        if self.pending_logins and word == "ERR" and (line.split(" ", 2) + [""])[1] in LOGIN_ERRORS:
            self.pending_logins.popleft()
            if self.reconnecting:
                self.login_failed = line.split(" ", 2)[1]
        if word == "INFO" and (line.startswith(("INFO kicked by ", "INFO banned until "))):
            self.stay_away = True
        if self.requests:
            return self._answering(raw, line, word)
        return [self._live(raw, line)], []

    def _logged_in(self, raw: bytes) -> tuple[list[bytes], list[bytes]]:
        self.credentials = self.pending_logins.popleft()
        self.pending_logins.clear()
        ids = [] if self.ids_on else [b"IDS ON\n"]
        self.hidden_oks, self.ids_on = len(ids), True
        if not self.reconnecting:
            self.requests.append("history")
            ask = f"HISTORY {GREETING_COUNT}"
        else:
            self.requests.append("missed")
            self.missed = 0
            ask = f"HISTORY AFTER {self.last_id}" if self.last_id else f"HISTORY {RECOVERY_COUNT}"
        shown = [] if self.reconnecting else [raw]
        return shown, [*ids, ask.encode() + b"\n"]

    def _answering(self, raw: bytes, line: str, word: str) -> tuple[list[bytes], list[bytes]]:
        mark = self.requests[0]
        if word in ("HISTORY", "HISTORY-DM"):
            direct = word == "HISTORY-DM"
            parts = line.split(" ", 5 if direct else 4)
            if len(parts) < (5 if direct else 4):
                return [raw], []
            entry_id, stamp, sender = parts[1], parts[2], parts[3]
            text = parts[-1] if len(parts) > (5 if direct else 4) else ""
            self.last_id = entry_id
            if len(self.shown_ids) < HELD_MOST:
                self.shown_ids.add(entry_id)
            if mark == "missed" and self.own_sent and sender.casefold() == self.own_name.casefold():
                self.own_sent -= 1  # (said before the drop, never echoed: not missed)
                return [], []
            if mark == "missed":
                self.missed += 1
            what = f"DM {sender} -> {parts[4]}" if direct else f"MSG {sender}"
            return [f"[{mark} {shown_time(stamp)}] {what} {text}".encode()], []
        if word == "HISTORY-END" or line.startswith("ERR history-off"):
            state = line.split(" ", 2)[1] if word == "HISTORY-END" and " " in line else ""
            self.requests.popleft()
            if state == "more" and mark == "missed" and self.last_id:  # (for HISTORY <n>: older kept)
                self.requests.appendleft(mark)
                return [], [f"HISTORY AFTER {self.last_id}\n".encode()]
            shown: list[bytes] = []
            if mark == "missed":
                self.reconnecting, self.own_sent = False, 0
                back = f"-- back: {self.missed} missed messages above"
                if state == "partial" or line.startswith("ERR"):
                    back += f"; {lost_words(line)} while away may be lost (the server keeps only its recent history)"
                shown.append(back.encode())
            held, self.held = self.held, []
            for kept in held:
                shown.extend(self._release(kept))
            self.shown_ids.clear()
            return shown, []
        if len(self.held) < HELD_MOST:
            self.held.append(raw)
            return [], []
        return [self._live(raw, line)], []

    def _release(self, raw: bytes) -> list[bytes]:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.startswith("@") and line.split(" ", 1)[0][1:] in self.shown_ids:
            return []  # in the answer already (HISTORY <count> returns the latest, seen or not)
        return [self._live(raw, line)]

    def _live(self, raw: bytes, line: str) -> bytes:
        if self.ids_on and line.startswith("@") and " " in line:
            entry_id, rest = line.split(" ", 1)
            self.last_id, self.own_sent = entry_id[1:], 0
            return rest.encode("utf-8", "replace") + (b"\n" if raw.endswith(b"\n") else b"")
        return raw
