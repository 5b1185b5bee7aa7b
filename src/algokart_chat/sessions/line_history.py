"""The line protocol's history commands, as values: ``HISTORY [<count>]`` and ``HISTORY AFTER <id>``
read into a question, the room's answer written as lines, and ``IDS ON|OFF``.  Pure: the session
(``line_session``) holds the input while the room syncs, then sends what ``answer`` writes.

Guarantees:
- An asker logged in to an account gets the direct messages kept between it and another account
  (``HISTORY-DM`` lines) among the room messages, in order; any other asker gets exactly the room
  messages (``History``'s ``account``).
- ``HISTORY AFTER <id>`` stops before the first message this connection was delivered live that
  history kept (``first_kept``, a kept direct message included), so recovering after a
  reconnection never repeats a message it already got.
- A ``partial`` answer to ``HISTORY AFTER`` says how many messages the asker would have got after
  the id are gone (``History.lost_after``), or ``unknown``; one that lost nothing is ``complete``.
- An answer costs what a ``WHO`` reply does (``protocol.reply_cost``).
"""

from __future__ import annotations

from typing import Final, NamedTuple

from algokart_chat import protocol
from algokart_chat.events import MessageId, RoomEvent, Said, Together, Told, text_id
from algokart_chat.history import History, is_kept_direct

DEFAULT_COUNT: Final = 20  # messages HISTORY returns without a count
MOST: Final = 500  # messages an answer holds at most
COUNT_DIGITS: Final = 9  # a longer count is read as MOST


class Question(NamedTuple):
    anchor: MessageId | None  # HISTORY AFTER's id; None: the latest
    most: int  # messages at most


def question(argument: str) -> Question | None:
    """``HISTORY``'s argument as a question; None when it is none (``ERR invalid-argument``)."""
    word, rest = protocol.split_word(argument)
    if word.upper() == "AFTER" and rest and " " not in rest and "\t" not in rest:
        return Question(MessageId(rest), MOST)
    if not word:
        return Question(None, DEFAULT_COUNT)
    digits = word.lstrip("0")  # (read only if short: int() of thousands of digits is refused, or slow)
    if digits and digits.isascii() and digits.isdigit() and not rest:
        return Question(None, min(int(digits), MOST) if len(digits) <= COUNT_DIGITS else MOST)
    return None


def answer(
    history: History, asked: Question, now: float, first_live: MessageId | None, account: str | None = None
) -> bytes:
    """The reply to ``asked`` from ``history`` at ``now`` for the asker logged in to ``account``
    (None: none): the messages, then ``HISTORY-END``."""
    lost: int | str | None = None
    if asked.anchor is None:
        found = history.latest(asked.most, now, account=account)
    else:
        found = history.after(asked.anchor, asked.most, now, until=first_live, account=account)
        if found.state == "partial":
            lost = history.lost_after(asked.anchor, until=first_live, account=account)
            if lost == 0:  # (the id was let go, but nothing after it: the whole gap is there)
                found, lost = found._replace(state="complete"), None
            elif lost is None:
                lost = "unknown"
    lines = [protocol.history_line(entry) for entry in found.entries]
    return b"".join(lines) + protocol.history_end(found.state, sum(1 for line in lines if line), lost)


def ids_wanted(argument: str) -> bool | None:
    """``IDS``'s argument: True for ON, False for OFF (any case); None for anything else."""
    wanted = argument.upper() if argument.isascii() else ""
    return {"ON": True, "OFF": False}.get(wanted)


def first_kept(event: RoomEvent, history: History) -> MessageId | None:
    """The id of the first message in ``event`` (parts of ``Together`` included) that ``history``
    kept (``History.add_said``: a stamped ``Said`` that is not a ``TAGMSG``; ``add_told``: a
    direct message between two accounts; not one over its byte bound, never kept), if any."""
    if isinstance(event, Told):
        stamp = event.stamp
        return stamp.id if stamp is not None and is_kept_direct(event) and history.had(stamp.id) else None
    parts = event.parts if isinstance(event, Together) else [event]
    for part in parts:
        if isinstance(part, Said) and part.stamp is not None and part.command != "TAGMSG":
            for k in range(len(part.texts)):  # (a batch over the byte bound is kept text by text)
                if history.had(found := text_id(part.stamp.id, k)):
                    return found
    return None
