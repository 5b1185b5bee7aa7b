"""Unit tests of the pure IRC module: parsing, formatting, splitting, CTCP and formatting codes,
stray CR and NUL, WHO masks."""

from __future__ import annotations

import fnmatch
import itertools
import random
import unittest
from collections.abc import Iterator

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat import irc
from algokart_chat.irc import Message
from algokart_chat.names import is_valid_username
from irc_fakes import hostile_lines


class ParseTest(unittest.TestCase):
    def test_command_params_and_trailing(self) -> None:
        self.assertEqual(irc.parse("PRIVMSG #chat :hi :there  "), Message("PRIVMSG", ["#chat", "hi :there  "]))
        self.assertEqual(irc.parse("privmsg bob :x"), Message("PRIVMSG", ["bob", "x"]))
        self.assertEqual(irc.parse("USER u 0 * :Real Name"), Message("USER", ["u", "0", "*", "Real Name"]))
        self.assertEqual(irc.parse("QUIT :"), Message("QUIT", [""]))
        self.assertEqual(irc.parse("PING  a  b"), Message("PING", ["a", "b"]))

    def test_tags_are_kept_as_sent_and_a_prefix_is_ignored(self) -> None:
        self.assertEqual(irc.parse("@time=x;a=b :me!u@h JOIN #chat"), Message("JOIN", ["#chat"], "time=x;a=b"))
        self.assertEqual(irc.parse(":me!u@h JOIN #chat"), Message("JOIN", ["#chat"]))

    def test_nothing_to_do(self) -> None:
        for line in ("", "   ", ":prefix", "@tags", ":a :b"):
            self.assertIsNone(irc.parse(line), line)


def general_read(line: str) -> Message | None:
    """What the session makes of a line without ``simple_privmsg``: None for one too long."""
    line = irc.without_cr_nul(line)
    if irc.oversized(line):
        return None
    replaced = irc.invalid_utf8(line)
    return irc.parse(line if replaced is None else replaced)


class SimplePrivmsgTest(unittest.TestCase):
    def test_the_commonest_lines(self) -> None:
        self.assertEqual(irc.simple_privmsg("PRIVMSG #chat :hello :) there "), ("#chat", "hello :) there "))
        self.assertEqual(irc.simple_privmsg("PRIVMSG bob :caf\u00e9 \x02bold"), ("bob", "caf\u00e9 \x02bold"))
        self.assertEqual(irc.simple_privmsg("PRIVMSG #chat :"), ("#chat", ""))
        limit = "PRIVMSG #chat :" + "x" * (510 - 15)
        self.assertEqual(irc.simple_privmsg(limit), ("#chat", "x" * 495))

    def test_any_other_line_is_left_to_parse(self) -> None:
        for line in (
            "privmsg #chat :hi",  # (lower case)
            "@+typing=active PRIVMSG #chat :hi",
            ":me PRIVMSG #chat :hi",
            "PRIVMSG  #chat :hi",
            "PRIVMSG #chat hi",
            "PRIVMSG #chat extra :hi",
            "PRIVMSG :#chat :hi",
            "PRIVMSG #chat :a\rb",
            "PRIVMSG #chat :a\0b",
            "PRIVMSG #chat :" + "x" * 496,  # (511 bytes: 417)
            "PRIVMSG #chat :" + "é" * 248,  # (511 bytes)
            "PRIVMSG #chat :caf\udce9",  # (not UTF-8)
        ):
            self.assertIsNone(irc.simple_privmsg(line), line)

    def test_agrees_with_the_general_reading_on_random_and_hostile_lines(self) -> None:
        answered = 0
        for line in hostile_lines(seed=7, count=20_000):
            quick = irc.simple_privmsg(line)
            if quick is not None:
                answered += 1
                self.assertEqual(Message("PRIVMSG", list(quick), ""), general_read(line), repr(line))
        self.assertGreater(answered, 1_000)  # (it answers for many of them: the test means something)


class TagsTest(unittest.TestCase):
    def test_values_are_unescaped_as_the_message_tags_spec_says(self) -> None:
        self.assertEqual(
            irc.parse_tags("a=b\\:c\\sd\\\\e\\r\\n;flag;+x/y=;k=1;k=2;=lost;bad=\\b\\"),
            {"a": "b;c d\\e\r\n", "flag": "", "+x/y": "", "k": "2", "bad": "b"},
        )

    def test_a_value_escaped_and_read_again_is_itself(self) -> None:
        for value in ("plain", "semi;colon and space", "back\\slash\\", "cr\rlf\n", "l😃l", "raw+:=,"):
            written = irc.tag("+k", value)
            self.assertNotIn(" ", written)
            self.assertNotIn(";", written.partition("=")[2])
            self.assertEqual(irc.parse_tags(written), {"+k": value})
        self.assertEqual(irc.tag("+typing"), "+typing")
        self.assertEqual(irc.tag("label", "a b"), r"label=a\sb")

    def test_only_client_only_tags_are_relayed(self) -> None:
        self.assertEqual(
            irc.client_tags({"+typing": "active", "label": "x", "msgid": "y", "+": "", "+draft/react": "a;b"}),
            r"+typing=active;+draft/react=a\:b",
        )
        self.assertIsNone(irc.client_tags({"time": "x"}))

    def test_with_tag_goes_first(self) -> None:
        self.assertEqual(irc.with_tag(b":s ACK\r\n", "label=1"), b"@label=1 :s ACK\r\n")
        self.assertEqual(irc.with_tag(b"@time=t :s X\r\n", "label=1"), b"@label=1;time=t :s X\r\n")

    def test_server_time_is_utc_to_the_millisecond(self) -> None:
        self.assertEqual(irc.server_time(1319042451.62), "2011-10-19T16:40:51.620Z")
        self.assertEqual(irc.server_time(0), "1970-01-01T00:00:00.000Z")
        self.assertEqual(irc.server_time(1700000000.9996), "2023-11-14T22:13:21.000Z")
        for milliseconds in range(1700000000000, 1700000002000, 7):  # (a cluster's stamp: ms / 1000)
            self.assertTrue(irc.server_time(milliseconds / 1000).endswith(f".{milliseconds % 1000:03d}Z"))

    def test_size_limits_of_tags_and_of_the_rest(self) -> None:
        rest = "PRIVMSG #c :" + "b" * (510 - 12)
        self.assertFalse(irc.oversized(rest))
        self.assertTrue(irc.oversized(rest + "b"))
        self.assertTrue(irc.oversized("PRIVMSG #c :" + "é" * 250))  # (500 characters, 512 bytes)
        tags = "@+baz=" + "a" * (4094 - 5)  # 4094 bytes of tag data
        self.assertFalse(irc.oversized(f"{tags} {rest}"))
        self.assertTrue(irc.oversized(f"{tags}a TAGMSG #c"))
        self.assertTrue(irc.oversized("@+baz=" + "é" * 2045 + " TAGMSG #c"))  # (4095 bytes)
        self.assertEqual(irc.MAX_INPUT_BYTES, len(f"{tags} {rest}\r"))


class MessageTest(unittest.TestCase):
    def test_the_last_parameter_is_always_trailing_and_lines_end_in_crlf(self) -> None:
        self.assertEqual(irc.message("srv", "001", "alice", "Welcome"), b":srv 001 alice :Welcome\r\n")
        self.assertEqual(irc.message("a!a@srv", "JOIN", "#chat"), b":a!a@srv JOIN :#chat\r\n")
        self.assertEqual(irc.message(None, "PING", "srv"), b"PING :srv\r\n")
        self.assertEqual(irc.message("srv", "CAP", "*", "LS", ""), b":srv CAP * LS :\r\n")


class SplitTest(unittest.TestCase):
    HEAD = b":alice!alice@srv PRIVMSG #chat :"

    def test_a_long_text_is_cut_at_spaces_into_lines_of_512_bytes_at_most(self) -> None:
        text = " ".join(f"word{number}" for number in range(1500))
        lines = list(irc.lines_for(self.HEAD, text))
        self.assertGreater(len(lines), 10)
        for line in lines:
            self.assertLessEqual(len(line), 512)
            self.assertTrue(line.startswith(self.HEAD) and line.endswith(b"\r\n"))
        rebuilt = b"".join(line[len(self.HEAD) : -2] for line in lines).decode()
        self.assertEqual(rebuilt, text)
        self.assertTrue(all(line[-3:-2] == b" " for line in lines[:-1]))  # each ends on a space it kept

    def test_every_line_fits_whatever_the_prefix_and_wherever_the_spaces_fall(self) -> None:
        text = " ".join(f"w{'x' * (number % 7)}" for number in range(2000))
        for extra in range(40):  # prefixes of every length around the usual ones
            head = b":" + b"n" * (10 + extra) + b" PRIVMSG #chat :"
            lines = list(irc.lines_for(head, text))
            self.assertTrue(all(len(line) <= 512 for line in lines), extra)
            self.assertEqual(b"".join(line[len(head) : -2] for line in lines).decode(), text)

    def test_without_spaces_it_never_cuts_inside_a_character(self) -> None:
        text = "名" * 3000  # three bytes each
        lines = list(irc.lines_for(self.HEAD, text))
        for line in lines:
            self.assertLessEqual(len(line), 512)
            line[len(self.HEAD) : -2].decode("utf-8")  # every piece is whole UTF-8
        self.assertEqual("".join(line[len(self.HEAD) : -2].decode() for line in lines), text)

    def test_every_line_carries_a_whole_character_whatever_the_prefix(self) -> None:
        text = "😀" * 40 + " a 😀"
        for head_bytes in (500, 505, 506, 507, 510, 511, 600):  # from room for one 4-byte character to none
            with self.subTest(head_bytes=head_bytes):
                head = b":" + b"n" * (head_bytes - 1)
                lines = list(itertools.islice(irc.lines_for(head, text), len(text) + 1))  # (bounded, should it loop)
                pieces = [line[len(head) : -2].decode() for line in lines]
                self.assertTrue(all(pieces), pieces[:3])
                self.assertEqual("".join(pieces), text)
                if head_bytes <= 506:
                    self.assertTrue(all(len(line) <= 512 for line in lines))
        self.assertEqual(irc.fit(b":" + b"n" * 600, "😀"), b":" + b"n" * 600 + b"\r\n")

    def test_the_longest_head_leaves_the_room_text_room_says(self) -> None:
        self.assertTrue(is_valid_username(irc.LONGEST_NICK))
        server, channel = "s" * 63, "#" + "😀" * 36
        room = irc.text_room(server, channel)
        for target in (channel, irc.LONGEST_NICK):
            head = irc.text_head(irc.LONGEST_NICK, server, "PRIVMSG", target)
            self.assertLessEqual(len(head) + room + 2, 512)
        self.assertEqual(len(irc.text_head(irc.LONGEST_NICK, server, "PRIVMSG", channel)) + room + 2, 512)
        self.assertEqual(irc.text_room(server, "#chat"), 49)  # a direct message to the longest nick

    def test_fit_cuts_to_one_line_at_a_whole_character(self) -> None:
        line = irc.fit(self.HEAD, "é" * 400)
        self.assertLessEqual(len(line), 512)
        self.assertEqual(line[len(self.HEAD) : -2].decode(), "é" * ((512 - len(self.HEAD) - 2) // 2))
        self.assertEqual(irc.fit(self.HEAD, "short"), self.HEAD + b"short\r\n")


class TextTest(unittest.TestCase):
    def test_invalid_utf8_is_told_and_replaced(self) -> None:
        self.assertIsNone(irc.invalid_utf8("PRIVMSG #c :h\u00e9 \U0001f600"))
        line = b"PRIVMSG #c :hi\xaa\xe2\x82".decode("utf-8", "surrogateescape")
        self.assertEqual(irc.invalid_utf8(line), "PRIVMSG #c :hi\ufffd\ufffd")

    def test_ctcp(self) -> None:
        self.assertEqual(irc.ctcp("\x01ACTION waves\x01"), ("ACTION", "waves"))
        self.assertEqual(irc.ctcp("\x01version"), ("VERSION", ""))
        self.assertIsNone(irc.ctcp("plain"))

    def test_what_a_line_user_reads(self) -> None:
        self.assertEqual(irc.plain_text("\x02bold\x02 \x0304,12red\x03 \x1ditalic\x0f end"), "bold red italic end")
        self.assertEqual(irc.plain_text("\x01ACTION waves \x02hard\x02\x01"), "* waves hard")
        self.assertIsNone(irc.plain_text("\x01VERSION\x01"))
        self.assertEqual(irc.plain_text("\x04ff00ffhex"), "hex")

    def test_a_bare_cr_and_a_nul_are_dropped(self) -> None:
        spoof = "PRIVMSG #chat :hello\r:alice!alice@irc.test PRIVMSG #chat :spoofed"
        self.assertEqual(irc.without_cr_nul(spoof), "PRIVMSG #chat :hello:alice!alice@irc.test PRIVMSG #chat :spoofed")
        self.assertEqual(irc.without_cr_nul("PRIV\x00MSG bob :a\x00b\r\r"), "PRIVMSG bob :ab")
        self.assertEqual(irc.without_cr_nul("\r\x00"), "")
        line = "PRIVMSG #chat :caf\u00e9"
        self.assertIs(irc.without_cr_nul(line), line)

    def test_channels_compare_in_ascii(self) -> None:
        self.assertEqual(irc.channel_key("#Chat"), irc.channel_key("#chat"))
        self.assertNotEqual(irc.channel_key("#Ç"), irc.channel_key("#ç"))

    def test_isupport_lines_hold_13_tokens_at_most(self) -> None:
        groups = list(irc.isupport_lines([f"T{number}" for number in range(30)]))
        self.assertEqual([len(group) for group in groups], [13, 13, 4])


class CountedReads(str):
    """A name that counts how many of its characters were read."""

    reads = 0

    def __iter__(self) -> Iterator[str]:
        for char in str.__iter__(self):
            self.reads += 1
            yield char


class WildcardTest(unittest.TestCase):
    def test_star_and_question_mark(self) -> None:
        cases = {
            "alice": ("alice",),
            "a*": ("a", "alice", "ab"),
            "*e": ("e", "alice"),
            "a?c*": ("abc", "abcd"),
            "*l*c*": ("alice", "lc"),
            "???": ("abc", "123"),
            "*": ("x", "anything"),
            "**a**": ("a", "bab"),
            "[a]": ("[a]",),  # (no character classes: only * and ? are special)
        }
        refused = {"alice": ("alic", "alicee", "Alice"), "a?c*": ("ac", "abd"), "???": ("ab", "abcd"), "[a]": ("a",)}
        for mask, names in cases.items():
            wildcard = irc.Wildcard(mask)
            for name in names:
                self.assertTrue(wildcard.matches(name), (mask, name))
            for name in refused.get(mask, ()):
                self.assertFalse(wildcard.matches(name), (mask, name))

    def test_agrees_with_fnmatch_on_random_masks(self) -> None:
        rng = random.Random(7)
        for _ in range(20000):
            mask = "".join(rng.choice("ab*?") for _ in range(rng.randint(0, 8)))
            name = "".join(rng.choice("abc") for _ in range(rng.randint(1, 9)))
            self.assertEqual(irc.Wildcard(mask).matches(name), fnmatch.fnmatchcase(name, mask), (mask, name))

    def test_each_character_of_a_name_is_read_at_most_once(self) -> None:
        """The masks that make a backtracking matcher retry every star read the name once."""
        for mask in ("*a" * 100 + "*b", "*a?" * 50 + "*", "?" * 300 + "*b"):
            name = CountedReads("a" * 576)
            irc.Wildcard(mask).matches(name)
            self.assertLessEqual(name.reads, len(name), mask)

    def test_a_name_too_short_for_the_mask_is_not_read(self) -> None:
        name = CountedReads("a" * 31)
        self.assertFalse(irc.Wildcard("*" + "a" * 32 + "*").matches(name))
        self.assertEqual(name.reads, 0)


class LongRepliesTest(unittest.TestCase):
    def test_a_reply_that_echoes_a_long_mask_is_cut_to_a_line(self) -> None:
        for echoed in ("*" * 600, "\U00010400" * 200, "a" * 300 + "\u00e9" * 200):
            with self.subTest(echoed=echoed[:3]):
                line = irc.message("irc.test", "315", "alice", echoed, "End of WHO list")
                self.assertLessEqual(len(line), irc.LINE_BYTES)
                text = line.decode("utf-8")  # (cut at whole characters)
                self.assertTrue(text.endswith(" :End of WHO list\r\n"), text[-30:])
                self.assertTrue(text.startswith(":irc.test 315 alice " + echoed[:10]))

    def test_a_reply_that_fits_is_as_it_was(self) -> None:
        self.assertEqual(irc.message("irc.test", "001", "alice", "Welcome"), b":irc.test 001 alice :Welcome\r\n")


if __name__ == "__main__":
    unittest.main()
