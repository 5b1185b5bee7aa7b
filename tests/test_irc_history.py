"""The pure parts of IRC history (``sessions.irc_history``): a ``CHATHISTORY`` line read into a
query or the spec's ``FAIL``, the kept messages each subcommand chooses, by msgid and by time to
the millisecond, the direct messages between two accounts for a nick target, ``TARGETS`` (the
channel and the asker's partners), where a join replay stops (``Mark``, ``replayed``), the lines
of a join replay (without server-time; CTCP requests left out), and a labeled answer that is one
batch (``irc_replies.labeled``)."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.events import Arrived, MessageId, Said, Stamp, Together, Told
from algokart_chat.history import History, Kept
from algokart_chat.sessions import irc_replies
from algokart_chat.sessions.irc_history import (
    MOST,
    Mark,
    Query,
    Ref,
    Refusal,
    batched,
    choose,
    lines,
    milliseconds,
    peer,
    read,
    replayed,
    targets,
)

START = 1_700_000_000.0  # the first message's time; message k is k seconds later


def history(count: int = 10) -> History:
    kept = History(1000, 1 << 20, 1e9)
    for k in range(count):
        kept.add(Kept(MessageId(f"m{k}"), START + k, "alice", f"text {k}"))
    return kept


def ids(entries: list[Kept]) -> list[str]:
    return [entry.id for entry in entries]


def at(k: float) -> int:
    """Message ``k``'s time in milliseconds."""
    return round((START + k) * 1000)


def query(sub: str, first: Ref, limit: int = 100, second: Ref | None = None) -> Query:
    return Query(sub, "#chat", first, second, limit)


def msgid(k: int) -> Ref:
    return Ref("msgid", id=f"m{k}")


def timestamp(k: float) -> Ref:
    return Ref("timestamp", ms=at(k))


class ReadTest(unittest.TestCase):
    def test_each_subcommand_reads_its_references_and_limit(self) -> None:
        self.assertEqual(read(["latest", "#chat", "*", "5"]), Query("LATEST", "#chat", Ref("*"), None, 5))
        self.assertEqual(
            read(["BEFORE", "#chat", "msgid=a.b-1", "5"]), Query("BEFORE", "#chat", Ref("msgid", "a.b-1"), None, 5)
        )
        between = read(["BETWEEN", "#chat", "timestamp=2019-01-04T14:33:26.123Z", "MSGID=x", "2"])
        self.assertEqual(between, Query("BETWEEN", "#chat", Ref("timestamp", ms=1546612406123), Ref("msgid", "x"), 2))
        targets_query = read(["TARGETS", "timestamp=2019-01-04T14:33:26Z", "timestamp=2019-01-04T14:33:27.5Z", "9"])
        self.assertEqual(
            targets_query,
            Query("TARGETS", "", Ref("timestamp", ms=1546612406000), Ref("timestamp", ms=1546612407500), 9),
        )

    def test_a_limit_of_0_or_above_the_most_is_the_most(self) -> None:
        for limit in ("0", str(MOST + 1), "99999999999999"):
            result = read(["AFTER", "#chat", "msgid=x", limit])
            assert isinstance(result, Query)
            self.assertEqual(result.limit, MOST)

    def test_what_is_not_a_query_is_refused_as_the_spec_says(self) -> None:
        for params, refusal in (
            (["NOPE", "#chat", "*", "1"], Refusal("INVALID_PARAMS", ("NOPE",), "Unknown command")),
            (["NOPE :x"], Refusal("INVALID_PARAMS", ("*",), "Unknown command")),
            (["AROUND", "#chat", "msgid=x"], Refusal("INVALID_PARAMS", ("AROUND",), "Insufficient parameters")),
            (["BETWEEN", "#chat", "*", "*", "1", "2"], Refusal("INVALID_PARAMS", ("BETWEEN",), "Too many parameters")),
            (["BEFORE", "#chat", "*", "1"], Refusal("INVALID_PARAMS", ("BEFORE", "*"), "Invalid message reference")),
            (
                ["AFTER", "#chat", "id=x", "1"],
                Refusal("INVALID_PARAMS", ("AFTER", "id=x"), "Invalid message reference"),
            ),
            (
                ["AFTER", "#chat", "msgid=", "1"],
                Refusal("INVALID_PARAMS", ("AFTER", "msgid="), "Invalid message reference"),
            ),
            (
                ["AFTER", "#chat", "timestamp=2019-13-04T14:33:26.123Z", "1"],
                Refusal("INVALID_PARAMS", ("AFTER", "timestamp=2019-13-04T14:33:26.123Z"), "Invalid timestamp"),
            ),
            (["AFTER", "#chat", "msgid=x", "-1"], Refusal("INVALID_PARAMS", ("AFTER", "-1"), "Invalid limit")),
            (["AFTER", "#chat", "msgid=x", "a b"], Refusal("INVALID_PARAMS", ("AFTER", "*"), "Invalid limit")),
            (["TARGETS", "msgid=x", "*", "1"], Refusal("INVALID_PARAMS", ("TARGETS", "msgid=x"), "Invalid timestamp")),
        ):
            self.assertEqual(read(params), refusal, params)

    def test_a_timestamp_is_utc_to_the_millisecond(self) -> None:
        self.assertEqual(milliseconds("1970-01-01T00:00:01.5Z"), 1500)
        self.assertEqual(milliseconds("1970-01-01T00:00:01.123456Z"), 1123)
        wrongs = ("1970-01-01T00:00:01.5", "1970-01-01 00:00:01Z", "1970-01-32T00:00:00Z", "1970-01-01T24:00:00Z")
        for wrong in (*wrongs, "١٩٧٠-01-01T00:00:01Z", "1970-13-01T00:00:00Z", "9999999-01-01T00:00:00Z"):
            self.assertIsNone(milliseconds(wrong), wrong)

    def test_a_date_or_time_that_does_not_exist_is_no_timestamp(self) -> None:
        for wrong in (
            "2019-02-31T00:00:00Z",
            "2019-02-29T00:00:00Z",
            "2019-04-31T00:00:00Z",
            "2019-01-00T00:00:00Z",
            "2019-00-01T00:00:00Z",
            "2019-01-01T00:00:61Z",
            "2019-01-01T00:00:99Z",
            "2019-01-01T00:60:00Z",
            "2019-01-01T24:00:00Z",
        ):
            self.assertIsNone(milliseconds(wrong), wrong)
        self.assertEqual(milliseconds("2020-02-29T00:00:00Z"), 1582934400000)  # (a leap year)
        self.assertEqual(milliseconds("2016-12-31T23:59:59.999Z"), 1483228799999)
        # a leap second: the last millisecond of the second before it, whatever its fraction
        self.assertEqual(milliseconds("2016-12-31T23:59:60.500Z"), 1483228799999)
        self.assertEqual(milliseconds("2017-01-01T00:00:00Z"), 1483228800000)


class ChooseTest(unittest.TestCase):
    def test_latest_the_newest_or_those_after_a_reference(self) -> None:
        kept = history()
        self.assertEqual(ids(choose(kept, query("LATEST", Ref("*"), 3))), ["m7", "m8", "m9"])
        self.assertEqual(ids(choose(kept, query("LATEST", msgid(7), 5))), ["m8", "m9"])
        self.assertEqual(ids(choose(kept, query("LATEST", timestamp(7), 5))), ["m8", "m9"])
        self.assertEqual(ids(choose(kept, query("LATEST", msgid(2), 2))), ["m8", "m9"])

    def test_before_and_after_exclude_their_reference_by_msgid_and_by_time(self) -> None:
        kept = history()
        self.assertEqual(ids(choose(kept, query("BEFORE", msgid(5), 2))), ["m3", "m4"])
        self.assertEqual(ids(choose(kept, query("BEFORE", timestamp(5), 2))), ["m3", "m4"])
        self.assertEqual(ids(choose(kept, query("BEFORE", timestamp(4.5), 2))), ["m3", "m4"])
        self.assertEqual(ids(choose(kept, query("AFTER", msgid(5), 2))), ["m6", "m7"])
        self.assertEqual(ids(choose(kept, query("AFTER", timestamp(5), 2))), ["m6", "m7"])
        self.assertEqual(ids(choose(kept, query("BEFORE", msgid(0), 2))), [])
        self.assertEqual(ids(choose(kept, query("AFTER", msgid(9), 2))), [])

    def test_time_compares_to_the_millisecond_so_a_message_s_own_time_excludes_it(self) -> None:
        kept = History(10, 1 << 20, 1e9)
        kept.add(Kept(MessageId("a"), START + 0.0004, "alice", "a"))  # (shown as START's millisecond)
        kept.add(Kept(MessageId("b"), START + 0.0016, "alice", "b"))
        self.assertEqual(ids(choose(kept, query("AFTER", Ref("timestamp", ms=at(0)), 5))), ["b"])
        self.assertEqual(ids(choose(kept, query("BEFORE", Ref("timestamp", ms=at(0.002)), 5))), ["a"])

    def test_an_unknown_id_is_older_than_everything_kept(self) -> None:
        kept = history(4)
        unknown = Ref("msgid", id="gone")
        self.assertEqual(ids(choose(kept, query("AFTER", unknown, 2))), ["m0", "m1"])
        self.assertEqual(ids(choose(kept, query("LATEST", unknown, 2))), ["m2", "m3"])
        self.assertEqual(ids(choose(kept, query("BEFORE", unknown, 2))), [])
        self.assertEqual(ids(choose(kept, query("AROUND", unknown, 2))), [])

    def test_around_centres_on_its_reference_and_keeps_the_limit_at_either_end(self) -> None:
        kept = history()
        self.assertEqual(ids(choose(kept, query("AROUND", msgid(5), 3))), ["m4", "m5", "m6"])
        self.assertEqual(ids(choose(kept, query("AROUND", timestamp(5), 4))), ["m3", "m4", "m5", "m6"])
        self.assertEqual(ids(choose(kept, query("AROUND", msgid(9), 3))), ["m7", "m8", "m9"])
        self.assertEqual(ids(choose(kept, query("AROUND", msgid(0), 3))), ["m0", "m1", "m2"])

    def test_between_counts_from_the_first_reference_forwards_or_backwards(self) -> None:
        kept = history()
        self.assertEqual(ids(choose(kept, query("BETWEEN", msgid(2), 10, msgid(6)))), ["m3", "m4", "m5"])
        self.assertEqual(ids(choose(kept, query("BETWEEN", msgid(2), 2, msgid(6)))), ["m3", "m4"])
        self.assertEqual(ids(choose(kept, query("BETWEEN", msgid(6), 2, msgid(2)))), ["m4", "m5"])
        self.assertEqual(ids(choose(kept, query("BETWEEN", timestamp(6), 2, timestamp(2)))), ["m4", "m5"])
        self.assertEqual(ids(choose(kept, query("BETWEEN", timestamp(2), 9, msgid(5)))), ["m3", "m4"])
        self.assertEqual(ids(choose(kept, query("BETWEEN", msgid(4), 9, msgid(4)))), [])

    def test_targets_names_the_channel_if_its_newest_message_is_strictly_inside(self) -> None:
        kept = history(3)
        inside = Query("TARGETS", "", timestamp(10), timestamp(1), 5)
        self.assertEqual(targets(kept, inside, "#chat", None, START), [("#chat", at(2))])
        self.assertEqual(targets(kept, Query("TARGETS", "", timestamp(0), timestamp(2), 5), "#chat", None, START), [])
        self.assertEqual(targets(History(10, 100, 10), inside, "#chat", None, START), [])


def direct(k: int, sender: str, to: str, accounts: tuple[str, str]) -> Kept:
    return Kept(MessageId(f"m{k}"), START + k, sender, f"dm {k}", None, None, to, *accounts)


def mixed() -> History:
    """m0 room, m1 ann->bob, m2 room, m3 bob->ann, m4 ann->cy, m5 room (accounts A, B, C)."""
    kept = History(1000, 1 << 20, 1e9)
    for entry in (
        Kept(MessageId("m0"), START, "dan", "room 0"),
        direct(1, "ann", "bob", ("A", "B")),
        Kept(MessageId("m2"), START + 2, "dan", "room 2"),
        direct(3, "bob", "ann", ("B", "A")),
        direct(4, "ann", "cy", ("A", "C")),
        Kept(MessageId("m5"), START + 5, "dan", "room 5"),
    ):
        kept.add(entry)
    return kept


class Names:
    def __init__(self, held: dict[str, str | None]) -> None:
        self.held = held  # nick -> account

    def held_name(self, name: str) -> str | None:
        return next((nick for nick in self.held if nick.lower() == name.lower()), None)

    def account_of(self, name: str) -> str | None:
        return self.held.get(name)


class DirectTest(unittest.TestCase):
    def test_the_channel_s_answers_hold_room_messages_only(self) -> None:
        kept = mixed()
        self.assertEqual(ids(choose(kept, query("LATEST", Ref("*"), 2))), ["m2", "m5"])
        self.assertEqual(ids(choose(kept, query("BEFORE", msgid(5), 9))), ["m0", "m2"])
        self.assertEqual(ids(choose(kept, query("AROUND", msgid(2), 2))), ["m0", "m2"])
        self.assertEqual(ids(choose(kept, query("BETWEEN", msgid(0), 9, msgid(5)))), ["m2"])
        self.assertEqual(ids(choose(kept, query("AFTER", msgid(1), 9))), ["m0", "m2", "m5"])  # (a DM's id: unknown)

    def test_a_nick_target_holds_the_conversation_between_two_accounts_only(self) -> None:
        kept = mixed()
        for account, with_peer in (("A", "B"), ("B", "A")):
            self.assertEqual(ids(choose(kept, query("LATEST", Ref("*"), 9), account, with_peer)), ["m1", "m3"])
        self.assertEqual(ids(choose(kept, query("LATEST", Ref("*"), 1), "A", "B")), ["m3"])
        self.assertEqual(ids(choose(kept, query("AFTER", timestamp(1), 9), "A", "B")), ["m3"])
        self.assertEqual(ids(choose(kept, query("BEFORE", msgid(4), 9), "A", "B")), [])  # (not theirs: unknown)
        self.assertEqual(ids(choose(kept, query("AROUND", msgid(3), 9), "A", "B")), ["m1", "m3"])
        self.assertEqual(ids(choose(kept, query("LATEST", Ref("*"), 9), "A", "C")), ["m4"])
        self.assertEqual(ids(choose(kept, query("LATEST", Ref("*"), 9), "B", "C")), [])

    def test_targets_lists_the_channel_and_the_partners_by_latest_time_from_the_first_timestamp(self) -> None:
        kept = mixed()
        forwards = Query("TARGETS", "", timestamp(0), timestamp(10), 9)
        self.assertEqual(
            targets(kept, forwards, "#chat", "A", START), [("bob", at(3)), ("cy", at(4)), ("#chat", at(5))]
        )
        self.assertEqual(targets(kept, forwards._replace(limit=1), "#chat", "A", START), [("bob", at(3))])
        backwards = Query("TARGETS", "", timestamp(10), timestamp(0), 2)
        self.assertEqual(targets(kept, backwards, "#chat", "A", START), [("#chat", at(5)), ("cy", at(4))])
        self.assertEqual(targets(kept, forwards, "#chat", "B", START), [("ann", at(3)), ("#chat", at(5))])
        self.assertEqual(targets(kept, forwards, "#chat", None, START), [("#chat", at(5))])
        self.assertEqual(targets(kept, forwards, None, "A", START), [("bob", at(3)), ("cy", at(4))])  # (not joined)
        early = Query("TARGETS", "", timestamp(0), timestamp(3.5), 9)
        self.assertEqual(targets(kept, early, "#chat", "A", START), [("bob", at(3))])

    def test_a_nick_s_account_is_its_holder_s_or_the_one_last_seen_with_that_name(self) -> None:
        kept = mixed()
        self.assertEqual(peer(kept, Names({"Bob": "B"}), "bob", "A", START), ("Bob", "B"))
        self.assertEqual(peer(kept, Names({"bob": "X"}), "BOB", "A", START), ("bob", "X"))
        self.assertEqual(peer(kept, Names({}), "BOB", "A", START), ("bob", "B"))
        self.assertEqual(peer(kept, Names({}), "cy", "B", START), ("cy", None))
        self.assertEqual(peer(kept, Names({}), "bob", None, START), ("bob", None))
        self.assertEqual(peer(kept, Names({"guest": None}), "guest", "A", START), ("guest", None))


def written(said: Said) -> bytes:
    """A stand-in encoder: the command, the id and what IRC users would read."""
    assert said.stamp is not None
    text = said.raws[0] if said.raws is not None else said.texts[0]
    return f"{said.command or 'PRIVMSG'} {said.stamp.id} {text}\r\n".encode()


class WritingTest(unittest.TestCase):
    def test_replayed_without_server_time_each_text_starts_with_its_time_and_ctcp_requests_are_left_out(self) -> None:
        entries = [
            Kept(MessageId("a"), 3723.0, "bob", "hi"),
            Kept(MessageId("b"), 3724.0, "ann", "* waves", "\x01ACTION waves\x01", "PRIVMSG"),
            Kept(MessageId("c"), 3725.0, "ann", None, "\x01VERSION\x01", "PRIVMSG"),
            Kept(MessageId("d"), 3726.0, "ann", "ok", "\x02ok\x02", "NOTICE"),
        ]
        self.assertEqual(
            lines(written, entries, timed=True, replay=True),
            [
                b"PRIVMSG a [01:02:03] hi\r\n",
                b"PRIVMSG b \x01ACTION [01:02:04] waves\x01\r\n",
                b"NOTICE d [01:02:06] \x02ok\x02\r\n",
            ],
        )
        self.assertEqual(len(lines(written, entries)), 4)
        # with server-time a replay is not timed, and still leaves CTCP requests out; CHATHISTORY keeps them
        replayed = lines(written, entries, replay=True)
        self.assertEqual(
            replayed, [b"PRIVMSG a hi\r\n", b"PRIVMSG b \x01ACTION waves\x01\r\n", b"NOTICE d \x02ok\x02\r\n"]
        )

    def test_a_direct_message_is_written_as_it_was_live_to_its_recipient(self) -> None:
        def told(told: Told, recipient: str) -> bytes:
            assert told.stamp is not None
            return f":{told.sender} {told.command or 'PRIVMSG'} {recipient} {told.stamp.id} {told.text}\r\n".encode()

        entries = [direct(1, "ann", "bob", ("A", "B")), Kept(MessageId("m2"), START + 2, "dan", "room 2")]
        self.assertEqual(
            lines(written, entries, tell=told), [b":ann PRIVMSG bob m1 dm 1\r\n", b"PRIVMSG m2 room 2\r\n"]
        )
        self.assertEqual(lines(written, entries), [b"PRIVMSG m2 room 2\r\n"])

    def test_a_batch_tags_each_line_and_a_labeled_answer_that_is_one_batch_has_the_label_on_its_start(self) -> None:
        answer = batched(
            "irc.test", "H1", "chathistory #chat", b"@time=x :a PRIVMSG #chat :1\r\n:b PRIVMSG #chat :2\r\n"
        )
        self.assertEqual(
            answer,
            b":irc.test BATCH +H1 chathistory #chat\r\n@batch=H1;time=x :a PRIVMSG #chat :1\r\n"
            b"@batch=H1 :b PRIVMSG #chat :2\r\n:irc.test BATCH -H1\r\n",
        )
        self.assertEqual(batched("irc.test", None, "chathistory #chat", b"x\r\n"), b"x\r\n")
        labeled = irc_replies.labeled("irc.test", "q", answer, "L2")
        self.assertEqual(labeled, b"@label=q " + answer)
        empty = batched("irc.test", "H2", "chathistory #chat", b"")
        self.assertEqual(irc_replies.labeled("irc.test", "q", empty, "L3"), b"@label=q " + empty)
        two = empty + batched("irc.test", "H3", "chathistory #chat", b"")
        self.assertTrue(
            irc_replies.labeled("irc.test", "q", two, "L4").startswith(b"@label=q :irc.test BATCH +L4 labeled-response")
        )


class ReplayTest(unittest.TestCase):
    def test_the_replay_holds_only_what_came_before_the_first_message_delivered_live(self) -> None:
        kept = history()
        self.assertEqual(ids(replayed(kept, 3, None)), ["m7", "m8", "m9"])
        self.assertEqual(ids(replayed(kept, 3, MessageId("m8"))), ["m5", "m6", "m7"])
        self.assertEqual(ids(replayed(kept, 3, MessageId("m1"))), ["m0"])
        self.assertEqual(replayed(kept, 3, MessageId("gone")), [])  # (let go: all kept came live)

    def test_the_mark_is_the_first_kept_text_of_the_first_message_delivered(self) -> None:
        kept = history()
        mark = Mark(kept)
        mark.note(Arrived("bob"))
        self.assertIsNone(mark.first)
        unkept = Said("bob", ["too long"])
        unkept.stamp = Stamp(MessageId("x"), START)
        first, later = Said("alice", ["a", "b"]), Said("alice", ["c"])
        first.stamp, later.stamp = Stamp(MessageId("m4"), START), Stamp(MessageId("m6"), START)
        mark.note(Together([Arrived("cy"), unkept, first]))
        self.assertEqual(mark.first, "m4")
        mark.note(later)
        self.assertEqual(mark.first, "m4")
        texts = History(1000, 1 << 20, 1e9)
        texts.add(Kept(MessageId("y.1"), START, "alice", "second text"))
        two = Said("alice", ["first text, let go", "second text"])
        two.stamp = Stamp(MessageId("y"), START)
        other = Mark(texts)
        other.note(two)
        self.assertEqual(other.first, "y.1")


if __name__ == "__main__":
    unittest.main()
