"""Unit tests of how the room's history is kept (history_records.py): its bounds (lines, bytes,
age, any zero turning it off), a batch's texts let go one by one and counted exactly, and every
message's place.  The questions asked of it: test_history; end to end: test_history_end_to_end."""

from __future__ import annotations

import random
import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.events import MessageId, Said, Stamp, Told
from algokart_chat.history import History
from algokart_chat.history_records import Kept, Records, is_kept_direct, size_of
from test_history import entry, filled, ids


class BoundsTest(unittest.TestCase):
    def test_lines(self) -> None:
        history = filled(5, lines=3)
        self.assertEqual(ids(list(history.entries())), ["id-3", "id-4", "id-5"])
        self.assertEqual(history.dropped, 2)

    def test_bytes(self) -> None:
        one = size_of(entry(1))
        self.assertEqual(one, len("id-1") + len("alice") + len("hello"))
        history = filled(5, size=2 * one)
        self.assertEqual(ids(list(history.entries())), ["id-4", "id-5"])
        self.assertLessEqual(history.kept_bytes, 2 * one)
        history.add(Kept(MessageId("big"), 1000.0, "alice", "x" * 3 * one))  # bigger than the bound: not kept
        self.assertEqual(ids(list(history.entries())), ["id-4", "id-5"])

    def test_bytes_count_utf8_and_the_irc_form(self) -> None:
        self.assertEqual(size_of(Kept(MessageId("i"), 0.0, "Zoë", "é", "\x01ACTION é\x01", "PRIVMSG")), 1 + 4 + 2 + 11)

    def test_age(self) -> None:
        history = History(100, 1 << 20, 60)
        history.add(entry(1, at=1000.0))
        history.add(entry(2, at=1030.0))
        history.add(entry(3, at=1070.0))  # id-1 is 70 s old now
        self.assertEqual(ids(list(history.entries())), ["id-2", "id-3"])
        self.assertEqual(history.latest(10, now=1100.0).entries, [entry(3, at=1070.0)])  # trimmed when asked too

    def test_any_zero_turns_it_off(self) -> None:
        for bounds in ((0, 100, 60.0), (10, 0, 60.0), (10, 100, 0.0)):
            history = History(*bounds)
            history.add(entry(1))
            self.assertFalse(history.on)
            self.assertEqual(len(history), 0)

    def test_memory_stays_bounded(self) -> None:
        history = filled(10_000, lines=50)
        self.assertEqual(len(history), 50)
        self.assertEqual(len(history._index), 50)


class BatchTest(unittest.TestCase):
    """A stamped batch is one record: its texts are let go one by one, and counted exactly."""

    def said(self, stamp_id: str, texts: list[str | None], at: float = 1000.0, raws: list[str] | None = None) -> Said:
        said = Said("Zoë", texts, raws, "PRIVMSG" if raws is not None else None)
        said.stamp = Stamp(MessageId(stamp_id), at)
        return said

    def test_the_bytes_kept_are_the_sum_of_the_entries_at_every_step(self) -> None:
        for lines, size in ((7, 1 << 20), (1000, 300), (5, 200)):
            history = History(lines, size, 3600)
            for n in range(40):
                texts: list[str | None] = [f"t{n}.{k}" + "é" * (n % 3) for k in range(n % 13 + 1)]
                if n % 5 == 0:
                    texts[0] = None
                raws = [f"r{k}" for k in range(len(texts))] if n % 2 else None
                history.add_said(self.said(f"s-{n}", texts, raws=raws))
                kept = list(history.entries())
                self.assertEqual(history.kept_bytes, sum(map(size_of, kept)), (lines, size, n))
                self.assertLessEqual(len(kept), lines)
                self.assertLessEqual(history.kept_bytes, size)
                self.assertEqual(len(history), len(kept))

    def test_a_batch_cut_by_the_line_bound_answers_for_the_texts_it_keeps(self) -> None:
        history = History(4, 1 << 20, 3600)
        history.add_said(self.said("s-1", ["a", "b", "c"]))
        history.add_said(self.said("s-2", ["d", "e"]))
        self.assertEqual(ids(list(history.entries())), ["s-1.1", "s-1.2", "s-2", "s-2.1"])
        self.assertEqual(history.dropped, 1)
        self.assertIsNone(history.place("s-1"))
        self.assertIsNone(history.place("s-1.3"))  # (no such text)
        self.assertIsNone(history.place("s-1.01"))
        self.assertEqual(ids(history.after("s-1.1", 10, 1000.0).entries), ["s-1.2", "s-2", "s-2.1"])
        self.assertEqual(ids(history.before("s-2.1", 2, 1000.0).entries), ["s-1.2", "s-2"])
        self.assertEqual(history.newest(), Kept(MessageId("s-2.1"), 1000.0, "Zoë", "e"))

    def test_a_batch_over_the_byte_bound_keeps_the_texts_that_fit(self) -> None:
        history = History(100, 30, 3600)
        history.add_said(self.said("s-1", ["a", "x" * 40, "b"]))
        self.assertEqual([kept.text for kept in history.entries()], ["a", "b"])
        self.assertEqual(history.dropped, 1)


class MixedTest(unittest.TestCase):
    """Room batches and direct messages together under every bound: the bytes counted are the
    entries', a direct message goes whole, and what is said lost is what the asker would see."""

    def test_a_direct_message_oldest_under_the_byte_bound_goes_whole(self) -> None:
        history = History(1000, 200, float("inf"))
        for n in range(4):
            history.add(Kept(MessageId(f"d-{n}"), 1000.0, "alice", "x" * 45, None, None, "bob", "A", f"B{n}"))
        kept = list(history.entries())
        self.assertEqual(size_of(kept[0]), 59)
        self.assertEqual((history.kept_bytes, len(history._records), history._skip), (177, 3, 0))
        self.assertEqual([partner.account for partner in history.partners("A", 1000.0)], ["B3", "B2", "B1"])

    def test_random_sequences(self) -> None:
        for seed in range(40):
            rng = random.Random(seed)
            history = History(rng.choice((5, 20, 1000)), rng.choice((150, 400, 1 << 20)), 3600)
            ever: list[tuple[str, tuple[str, str] | None]] = []  # (id, a direct one's accounts) of every text kept
            for n in range(120):
                if rng.random() < 0.4:
                    accounts = (rng.choice("AB"), rng.choice("CD"))
                    entry = Kept(
                        MessageId(f"d-{n}"), 1000.0, "ann", "y" * rng.randrange(1, 60), None, None, "bo", *accounts
                    )
                    history.add(entry)
                    texts = [entry.id] if history.newest() == entry else []
                    ever.extend((text, accounts) for text in texts)
                else:
                    said = Said("Zoë", [f"t{k}" * rng.randrange(1, 9) for k in range(rng.randrange(1, 6))])
                    said.stamp = Stamp(MessageId(f"s-{n}"), 1000.0)
                    history.add_said(said)
                    ever.extend((kept.id, None) for kept in history.entries() if kept.id.split(".")[0] == f"s-{n}")
                kept = list(history.entries())
                where = f"seed {seed}, step {n}"
                self.assertEqual(history.kept_bytes, sum(map(size_of, kept)), where)
                self.assertEqual(len(history), len(kept), where)
                self.assertEqual(len(history._records), len({entry.id.split(".")[0] for entry in kept}), where)
                places = {text: place for place, (text, _) in enumerate(ever)}
                first = len(ever) - len(kept)
                for account in (None, "A", "C"):
                    for text, pair in ever[max(0, first - 5) : first + 2]:
                        lost = history.lost_after(text, account=account)
                        if lost is None:
                            continue
                        seen = [a is None or account in a for _, a in ever[places[text] + 1 : first]]
                        self.assertEqual(lost, sum(seen), (where, text, account))
                        self.assertTrue(pair is None or account in pair, (where, text, account))
                for account in ("A", "B", "C", "D"):
                    partners = {p.account for p in history.partners(account, 1000.0)}
                    expected = {
                        e.to_account if e.from_account == account else e.from_account
                        for e in kept
                        if e.to and account in (e.from_account, e.to_account)
                    }
                    self.assertEqual(partners, expected, where)


class PlacesTest(unittest.TestCase):
    """Every message kept has a place, the n-th ever kept; one let go has none."""

    def test_places_count_every_text_ever_kept(self) -> None:
        records = Records(3, 1 << 20, 3600)
        records.add(entry(1))
        said = Said("bob", ["a", "b", "c"])
        said.stamp = Stamp(MessageId("s-2"), 1000.0)
        records.add_said(said)  # places 1, 2, 3: id-1 let go
        self.assertEqual(len(records), 3)
        self.assertIsNone(records.place("id-1"))
        self.assertEqual([records.place(i) for i in ("s-2", "s-2.1", "s-2.2")], [1, 2, 3])
        self.assertIsNone(records.place("s-2.3"))  # (no such text)
        self.assertIsNone(records.place("never"))
        self.assertEqual(records.newest(), Kept(MessageId("s-2.2"), 1000.0, "bob", "c"))
        records.add(entry(4))  # s-2 let go
        self.assertEqual((records.place("s-2"), records.place("s-2.1"), records.place("id-4")), (None, 2, 4))

    def test_a_suffix_of_thousands_of_digits_names_no_text(self) -> None:
        records = Records(3, 1 << 20, 3600)
        said = Said("bob", ["a", "b"])
        said.stamp = Stamp(MessageId("s-1"), 1000.0)
        records.add_said(said)
        for n in range(2, 5):
            records.add(entry(n))  # s-1 let go
        digits = "1" * 5000  # (int() refuses more than 4,300)
        for entry_id in (f"s-1.{digits}", f"id-4.{digits}", f"s-1.{digits[:10]}", "id-4.1", "s-1.2"):
            with self.subTest(entry_id=entry_id[:12]):
                self.assertIsNone(records.place(entry_id))
                self.assertIsNone(records.lost_after(entry_id))
                self.assertIsNone(records.lost_after("id-2", until=entry_id))
        self.assertEqual((records.place("id-4"), records.lost_after("s-1.1"), records.lost_after("s-1")), (4, 0, 1))

    def test_the_ids_let_go_that_it_remembers_are_bounded(self) -> None:
        records = Records(2, 1 << 20, 3600)
        for n in range(1, 1001):
            records.add(entry(n))
        self.assertEqual((len(records), records.dropped, records.room_dropped), (2, 998, 998))
        self.assertLessEqual(len(records._let_go), 16)
        self.assertLessEqual(len(records._index), 2)


class DirectTest(unittest.TestCase):
    """A direct message is kept only between two accounts, within the same bounds."""

    def told(self, account: str | None, to_account: str | None, stamped: bool = True) -> Told:
        told = Told("ann", "psst", account=account)
        told.to_account = to_account
        told.stamp = Stamp(MessageId("d-1"), 1000.0) if stamped else None
        return told

    def test_only_between_two_accounts(self) -> None:
        self.assertTrue(is_kept_direct(self.told("A", "B")))
        for told in (self.told(None, "B"), self.told("A", None), self.told("A", "B", stamped=False)):
            records = Records(10, 1 << 20, 3600)
            self.assertFalse(records.add_told(told, "bob"))
            self.assertEqual(len(records), 0)

    def test_kept_with_its_recipient_and_accounts_and_counted_in_bytes(self) -> None:
        records = Records(10, 1 << 20, 3600)
        self.assertTrue(records.add_told(self.told("A", "B"), "bob"))
        kept = Kept(MessageId("d-1"), 1000.0, "ann", "psst", None, None, "bob", "A", "B")
        self.assertEqual(records.newest(), kept)
        self.assertEqual(records.kept_bytes, size_of(kept))
        self.assertEqual(size_of(kept), len("d-1ann" + "psst" + "bob" + "AB"))


if __name__ == "__main__":
    unittest.main()
