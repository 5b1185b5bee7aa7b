"""The IRC gateway's fixed replies (``sessions.irc_replies``): the welcome burst and what it
advertises, the reasons of 432, the ERROR line of every close, and labeled responses."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.events import NOTE_BYTES
from algokart_chat.names import MAX_USERNAME_CHARS
from algokart_chat.sessions import irc_replies
from algokart_chat.sessions.irc_channel import IrcChannel
from algokart_chat.sessions.irc_messages import MAX_TARGETS
from algokart_chat.version import __version__
from irc_fakes import FakeHost


class WelcomeTest(unittest.TestCase):
    def test_the_burst(self) -> None:
        channel = IrcChannel(FakeHost(), "irc.test", "#chat")
        lines = irc_replies.welcome(channel, "ann").decode().split("\r\n")
        self.assertEqual(lines.pop(), "")
        version = f"algokart-chat-{__version__}"
        self.assertEqual(
            lines,
            [
                ":irc.test 001 ann :Welcome to the algokart IRC Network ann!ann@irc.test",
                f":irc.test 002 ann :Your host is irc.test, running version {version}",
                f":irc.test 003 ann :This server was created {channel.created}",
                f":irc.test 004 ann irc.test {version} i :n",
                f":irc.test 005 ann {' '.join(irc_replies.ISUPPORT)} :are supported by this server",
                ":irc.test 422 ann :MOTD File is missing",
            ],
        )

    def test_isupport_advertises_what_the_gateway_does(self) -> None:
        tokens = dict(token.partition("=")[::2] for token in irc_replies.ISUPPORT)
        self.assertEqual(tokens["NICKLEN"], str(MAX_USERNAME_CHARS))
        self.assertEqual(tokens["TARGMAX"], f"PRIVMSG:{MAX_TARGETS},NOTICE:{MAX_TARGETS}")
        self.assertEqual((tokens["CHANTYPES"], tokens["CHANLIMIT"], tokens["PREFIX"]), ("#", "#:1", "(o)@"))
        self.assertIn("UTF8ONLY", tokens)
        self.assertEqual(tokens["AWAYLEN"], str(NOTE_BYTES))


class NickProblemTest(unittest.TestCase):
    def test_each_rule_a_nick_breaks_is_named(self) -> None:
        reasons = {
            "x" * (MAX_USERNAME_CHARS + 1): f"more than {MAX_USERNAME_CHARS} characters",
            "bad!nick": "only letters, digits, _ - and . are allowed",
            "\u3164": "invisible characters",
            "\u0410lice": "letters or digits of scripts that are not written together",
            "\u0661\u06f1": "digits of more than one number system",
            "\u0430\u04cf\u0456\u0441\u0435": "looks like a nickname in ASCII letters",
        }
        for nick, reason in reasons.items():
            self.assertEqual(irc_replies.nick_problem(nick), f"Erroneous nickname: {reason}", nick)


class ClosingTest(unittest.TestCase):
    def test_every_close_but_the_clients_own_says_why(self) -> None:
        said = [("quit", "Quit: gone"), ("idle", "Ping timeout"), ("ping-timeout", "Ping timeout")]
        said += [("login-timeout", "Registration timeout"), ("server-shutdown", "Server shutting down")]
        said += [("cluster-unavailable", "Cluster unavailable"), ("cluster-reset", "Cluster reset")]
        for reason, why in said:
            self.assertEqual(
                irc_replies.farewell("irc.test", reason, "gone"), f"ERROR :Closing Link: irc.test ({why})\r\n".encode()
            )
        self.assertIsNone(irc_replies.farewell("irc.test", "closed", "gone"))
        self.assertIsNone(irc_replies.farewell("irc.test", "http-request", "gone"))
        self.assertEqual(
            irc_replies.farewell("irc.test", "quit", None), b"ERROR :Closing Link: irc.test (Quit: Client Quit)\r\n"
        )

    def test_what_others_see_of_why_someone_left(self) -> None:
        reasons = {
            ("quit", "gone home"): "Quit: gone home",
            ("quit", None): None,  # (Quit)
            ("closed", None): "Connection closed",
            ("reset", None): "Connection reset by peer",
            ("ping-timeout", None): "Ping timeout",
            ("fell-behind", None): "Max SendQ exceeded",
            ("kicked by op: spam", None): "kicked by op: spam",  # (an operator's, as its ERROR says)
            ("server-shutdown", None): None,  # (no one hears of it)
        }
        for (reason, text), seen in reasons.items():
            self.assertEqual(irc_replies.departure_reason(reason, text), seen, reason)
        self.assertEqual(len(irc_replies.departure_reason("quit", "x" * NOTE_BYTES) or ""), NOTE_BYTES)

    def test_a_refusal_says_its_code_in_words(self) -> None:
        self.assertEqual(
            irc_replies.refusal("irc.test", "too-many-connections"),
            b"ERROR :Closing Link: irc.test (too many connections)\r\n",
        )


class LabeledTest(unittest.TestCase):
    def test_one_line_carries_the_label_none_is_an_ack_several_are_a_batch(self) -> None:
        self.assertEqual(irc_replies.labeled("s", "a b", b"", "L1"), b"@label=a\\sb :s ACK\r\n")
        self.assertEqual(
            irc_replies.labeled("s", "7", b"@time=t :s PONG s :x\r\n", None), b"@label=7;time=t :s PONG s :x\r\n"
        )
        self.assertEqual(
            irc_replies.labeled("s", "7", b":s 311 me bob\r\n:s 318 me bob :End\r\n", "L2").split(b"\r\n"),
            [
                b"@label=7 :s BATCH +L2 labeled-response",
                b"@batch=L2 :s 311 me bob",
                b"@batch=L2 :s 318 me bob :End",
                b":s BATCH -L2",
                b"",
            ],
        )

    def test_a_nested_batch_s_lines_belong_to_it_only_its_start_and_end_carry_the_outer_tag(self) -> None:
        response = (
            b":n!n@s JOIN #chat\r\n:s BATCH +H1 chathistory #chat\r\n@batch=H1;time=t :a!a@s PRIVMSG #chat :hi\r\n"
            b"@batch=H1 :a!a@s PRIVMSG #chat :BATCH +x\r\n:s BATCH -H1\r\n:s 366 n #chat :End\r\n"
        )
        self.assertEqual(
            irc_replies.labeled("s", "j1", response, "L2").split(b"\r\n"),
            [
                b"@label=j1 :s BATCH +L2 labeled-response",
                b"@batch=L2 :n!n@s JOIN #chat",
                b"@batch=L2 :s BATCH +H1 chathistory #chat",
                b"@batch=H1;time=t :a!a@s PRIVMSG #chat :hi",
                b"@batch=H1 :a!a@s PRIVMSG #chat :BATCH +x",
                b"@batch=L2 :s BATCH -H1",
                b"@batch=L2 :s 366 n #chat :End",
                b":s BATCH -L2",
                b"",
            ],
        )

    def test_several_lines_without_batch_go_unlabeled(self) -> None:
        response = b":s 311 me bob\r\n:s 318 me bob :End\r\n"
        self.assertIs(irc_replies.labeled("s", "7", response, None), response)


if __name__ == "__main__":
    unittest.main()
