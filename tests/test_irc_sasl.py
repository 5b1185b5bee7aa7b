"""Unit tests of the IRC gateway's accounts: the SASL PLAIN exchange and PASS's argument
(``sessions.irc_sasl``, pure), the capabilities a server with accounts offers (``irc_caps``),
account-tag and extended-join in ``irc_channel``'s encodings, and the room's accounts
(``room_memory``)."""

from __future__ import annotations

import base64
import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.events import Arrived, Said
from algokart_chat.room_memory import MemoryRoom
from algokart_chat.sessions import irc_caps
from algokart_chat.sessions.irc_channel import Identity, IrcChannel
from algokart_chat.sessions.irc_sasl import (
    CHUNK_BYTES,
    MAX_PAYLOAD_BYTES,
    Action,
    SaslExchange,
    SaslStep,
    pass_login,
    plain,
)
from irc_fakes import FakeHost


def encoded(authzid: str, authcid: str, password: str) -> str:
    return base64.b64encode(f"{authzid}\0{authcid}\0{password}".encode()).decode()


class ExchangeTest(unittest.TestCase):
    def test_plain_then_one_chunk(self) -> None:
        exchange = SaslExchange()
        self.assertEqual(exchange.step("plain"), SaslStep(Action.CONTINUE))  # (mechanism names: any case)
        self.assertTrue(exchange.in_progress)
        step = exchange.step(encoded("", "alice", "pass word"))
        self.assertEqual((step.action, step.name, step.password), (Action.CHECK, "alice", "pass word"))
        self.assertFalse(exchange.in_progress)

    def test_chunks_of_400_then_plus(self) -> None:
        payload = encoded("", "kim", "k" * 293)
        self.assertEqual(len(payload), CHUNK_BYTES)
        exchange = SaslExchange()
        exchange.step("PLAIN")
        self.assertEqual(exchange.step(payload).action, Action.MORE)
        step = exchange.step("+")
        self.assertEqual((step.action, step.name, step.password), (Action.CHECK, "kim", "k" * 293))
        longer = encoded("", "kim", "k" * 400)
        exchange.step("PLAIN")
        self.assertEqual(exchange.step(longer[:400]).action, Action.MORE)
        self.assertEqual(exchange.step(longer[400:]).password, "k" * 400)

    def test_abort_unknown_mechanism_too_long(self) -> None:
        exchange = SaslExchange()
        self.assertEqual(exchange.step("*").action, Action.ABORTED)
        self.assertEqual(exchange.step("EXTERNAL"), SaslStep(Action.FAIL, mechanisms=True))
        exchange.step("PLAIN")
        self.assertEqual(exchange.step("*").action, Action.ABORTED)
        self.assertFalse(exchange.in_progress)
        exchange.step("PLAIN")
        self.assertEqual(exchange.step("A" * 401).action, Action.TOO_LONG)
        self.assertFalse(exchange.in_progress)
        exchange.step("PLAIN")
        steps = [exchange.step("A" * 400).action for _ in range(MAX_PAYLOAD_BYTES // 400 + 1)]
        self.assertEqual(steps[-1], Action.FAIL)  # (the buffer is bounded: over it, 904, as 905 is a chunk's)
        self.assertEqual(set(steps[:-1]), {Action.MORE})
        self.assertFalse(exchange.in_progress)

    def test_payloads_refused_without_a_check(self) -> None:
        for payload in (
            b"not base64!",
            base64.b64encode(b"alice\0pw"),  # (two parts)
            base64.b64encode(b"\0alice\0"),  # (no password)
            base64.b64encode(b"\0a:b\0pw"),  # (not a name)
            base64.b64encode(b"bob\0alice\0pw"),  # (as someone else)
            base64.b64encode(b"\0alice\0\xff"),  # (not UTF-8)
        ):
            with self.subTest(payload=payload):
                self.assertEqual(plain(payload).action, Action.FAIL)
        self.assertEqual(plain(base64.b64encode(b"ALICE\0alice\0pw")).action, Action.CHECK)  # (the same name)

    def test_the_repr_never_shows_the_password(self) -> None:
        step = plain(base64.b64encode(b"\0alice\0secret-pw"))
        self.assertNotIn("secret-pw", repr(step))
        self.assertNotIn("secret-pw", str(step))


class PassTest(unittest.TestCase):
    def test_name_colon_password_or_the_nicks_account(self) -> None:
        self.assertEqual(pass_login("alice:pass:word", "x"), ("alice", "pass:word"))
        self.assertEqual(pass_login("secret", "alice"), ("alice", "secret"))
        self.assertIsNone(pass_login("alice:", "x"))
        self.assertIsNone(pass_login("a b:pw", "x"))


class CapsTest(unittest.TestCase):
    def test_a_server_with_accounts_offers_sasl_plain_and_the_account_capabilities(self) -> None:
        with_accounts = {capability.name for capability in irc_caps.offered(accounts=True, history=True)}
        without = {capability.name for capability in irc_caps.offered(accounts=False, history=True)}
        self.assertEqual(with_accounts - without, {"account-notify", "account-tag", "extended-join", "sasl"})
        answer = irc_caps.negotiate("irc.test", "*", ["LS", "302"], irc_caps.NONE, 0)
        self.assertIn("sasl=PLAIN", answer.reply.decode().partition(" :")[2].split())
        self.assertEqual(irc_caps.form(frozenset({"account-tag", "sasl"})), {"account-tag"})


class EncodingTest(unittest.TestCase):
    def setUp(self) -> None:
        self.channel = IrcChannel(FakeHost(), "irc.test", "#chat", clock=lambda: 0.0)

    def test_account_tag_on_messages_and_joins_of_logged_in_users_only(self) -> None:
        tagged = self.channel.encoder(frozenset({"account-tag"}))
        said = Said("alice", ["hi"], account="alice")
        self.assertEqual(said.encoded(tagged), b"@account=alice :alice!alice@irc.test PRIVMSG #chat :hi\r\n")
        self.assertEqual(said.encoded(self.channel.wire), b":alice!alice@irc.test PRIVMSG #chat :hi\r\n")
        self.assertEqual(Said("bob", ["hi"]).encoded(tagged), b":bob!bob@irc.test PRIVMSG #chat :hi\r\n")
        self.assertEqual(
            Arrived("alice", "alice").encoded(tagged), b"@account=alice :alice!alice@irc.test JOIN :#chat\r\n"
        )

    def test_extended_join_carries_the_account_or_a_star(self) -> None:
        extended = self.channel.encoder(frozenset({"extended-join"}))
        self.assertEqual(
            Arrived("alice", "alice").encoded(extended), b":alice!alice@irc.test JOIN #chat alice :alice\r\n"
        )
        self.assertEqual(Arrived("bob").encoded(extended), b":bob!bob@irc.test JOIN #chat * :bob\r\n")
        self.channel.introduce("carol", Identity("~carol", "Carol Ann"))  # (an IRC user of this server)
        self.assertEqual(Arrived("carol").encoded(extended), b":carol!carol@irc.test JOIN #chat * :Carol Ann\r\n")


class RoomAccountsTest(unittest.TestCase):
    def test_the_room_knows_who_logged_in_to_an_account_until_they_leave(self) -> None:
        room: MemoryRoom[Inbox] = MemoryRoom()
        alice, bob, listener = Inbox(), Inbox(), Inbox()
        room.join(listener, "listener", lambda result: None, hears_arrivals=True)
        room.join(alice, "Alice", lambda result: None, account="alice")
        room.join(bob, "bob", lambda result: None)
        self.assertEqual((room.account_of("ALICE"), room.account_of("bob")), ("alice", None))
        arrivals = [event for event in listener.got if isinstance(event, Arrived)]
        self.assertEqual([(event.name, event.account) for event in arrivals], [("Alice", "alice"), ("bob", None)])
        room.join(alice, "al", lambda result: None, renaming="Alice", account="alice")
        self.assertEqual((room.account_of("al"), room.account_of("Alice")), ("alice", None))
        room.leave(alice, "al")
        self.assertIsNone(room.account_of("al"))


class Inbox:
    def __init__(self) -> None:
        self.got: list[object] = []

    def deliver(self, payload: object) -> None:
        self.got.append(payload)
