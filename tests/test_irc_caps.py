"""Unit tests of CAP negotiation (``sessions.irc_caps``, pure): every rule of IRCv3 Capability
Negotiation the gateway follows, on the registry of the capabilities it offers."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat import irc
from algokart_chat.sessions import irc_caps
from algokart_chat.sessions.irc_caps import NONE, Answer, Capability, negotiate, offered

SERVER = "irc.test"
CAPABILITIES = offered(accounts=False, history=True)  # (the default server's; with accounts: test_irc_sasl)
EVERY = frozenset(capability.name for capability in CAPABILITIES)


def lines(answer: Answer) -> list[str]:
    return answer.reply.decode().split("\r\n")[:-1]


def cap(
    *params: str,
    enabled: frozenset[str] = NONE,
    version: int = 0,
    me: str = "*",
    offered: tuple[Capability, ...] = CAPABILITIES,
) -> Answer:
    return negotiate(SERVER, me, list(params), enabled, version, offered)


class RegistryTest(unittest.TestCase):
    def test_what_is_offered(self) -> None:
        self.assertEqual(
            EVERY,
            {
                "away-notify",
                "batch",
                "cap-notify",
                "draft/chathistory",
                "echo-message",
                "labeled-response",
                "message-tags",
                "multi-prefix",
                "server-time",
                "userhost-in-names",
            },
        )
        self.assertEqual(irc_caps.WIRE, {"account-tag", "away-notify", "extended-join", "message-tags", "server-time"})
        self.assertEqual(irc_caps.form(EVERY), {"away-notify", "message-tags", "server-time"})
        self.assertEqual(irc_caps.form(frozenset({"echo-message"})), NONE)

    def test_a_server_without_history_offers_no_chathistory_and_one_without_accounts_no_sasl(self) -> None:
        names = {capability.name for capability in irc_caps.offered(accounts=True, history=True)}
        self.assertEqual(names, {capability.name for capability in irc_caps.CAPABILITIES})
        self.assertEqual(
            names - {c.name for c in irc_caps.offered(accounts=True, history=False)}, {"draft/chathistory"}
        )
        self.assertNotIn("sasl", {capability.name for capability in irc_caps.offered(accounts=False, history=True)})


class LsTest(unittest.TestCase):
    def test_ls_lists_every_capability_and_holds_registration(self) -> None:
        for version in ((), ("301",), ("302",), ("999",)):
            answer = cap("LS", *version)
            self.assertTrue(answer.suspends)
            (line,) = lines(answer)
            self.assertTrue(line.startswith(f":{SERVER} CAP * LS :"), line)
            self.assertEqual(set(line.split(" :", 1)[1].split()), EVERY)

    def test_302_is_kept_for_good_and_turns_cap_notify_on(self) -> None:
        answer = cap("LS", "302")
        self.assertEqual((answer.version, answer.enabled), (302, {"cap-notify"}))
        self.assertEqual(cap("LS", version=302).version, 302)  # (a lower one does not lower it)
        self.assertEqual(cap("LS", "x").version, 0)
        self.assertEqual(cap("LS", "\u00b3").version, 0)  # a digit to str.isdigit, not to int()
        self.assertEqual(cap("LS").enabled, NONE)

    def test_values_only_for_302_and_long_lists_over_lines_only_for_302(self) -> None:
        many = (
            *CAPABILITIES,
            Capability("example.org/valued", "a,b"),
            *(Capability(f"x{n:02}" * 9) for n in range(30)),
        )
        modern, old = lines(cap("LS", "302", me="nick", offered=many)), lines(cap("LS", me="nick", offered=many))
        self.assertGreater(len(modern), 1)
        for line in modern[:-1]:
            self.assertTrue(line.startswith(f":{SERVER} CAP nick LS * :"), line)
            self.assertLessEqual(len(line.encode()) + 2, irc.LINE_BYTES)
        self.assertTrue(modern[-1].startswith(f":{SERVER} CAP nick LS :"))
        listed = " ".join(line.split(" :", 1)[1] for line in modern).split()
        self.assertEqual(len(listed), len(many))
        self.assertIn("example.org/valued=a,b", listed)
        self.assertEqual(len(old), 1)  # (a 301 client gets one line, and names without values)
        self.assertIn(" example.org/valued ", old[0])


class ReqTest(unittest.TestCase):
    def test_req_is_acknowledged_and_applied_whole(self) -> None:
        answer = cap("REQ", "server-time  echo-message ", me="nick")
        self.assertEqual(lines(answer), [f":{SERVER} CAP nick ACK :server-time echo-message"])
        self.assertEqual(answer.enabled, {"server-time", "echo-message"})
        self.assertTrue(answer.suspends)

    def test_one_unknown_name_refuses_the_whole_list_as_sent(self) -> None:
        answer = cap("REQ", "foo qux bar baz qux quux", enabled=frozenset({"batch"}))
        self.assertEqual(lines(answer), [f":{SERVER} CAP * NAK :foo qux bar baz qux quux"])
        self.assertEqual(answer.enabled, {"batch"})
        answer = cap("REQ", "multi-prefix SERVER-TIME")  # (names are case-sensitive)
        self.assertEqual((lines(answer)[0].split(" ")[3], answer.enabled), ("NAK", NONE))

    def test_a_dash_turns_one_off_and_asking_for_what_is_so_succeeds(self) -> None:
        enabled = frozenset({"server-time", "echo-message"})
        answer = cap("REQ", "-server-time -multi-prefix echo-message", enabled=enabled)
        self.assertEqual(lines(answer)[0].split(" ")[3], "ACK")
        self.assertEqual(answer.enabled, {"echo-message"})
        self.assertIsNone(irc_caps.request(enabled, 0, ["-nope"]))

    def test_cap_notify_cannot_be_turned_off_by_a_302_client(self) -> None:
        enabled = frozenset({"cap-notify"})
        self.assertEqual(cap("REQ", "-cap-notify", enabled=enabled, version=302).enabled, enabled)
        self.assertIn(" NAK ", lines(cap("REQ", "-cap-notify", enabled=enabled, version=302))[0])
        self.assertEqual(cap("REQ", "-cap-notify", enabled=enabled).enabled, NONE)
        self.assertEqual(cap("REQ", "cap-notify", enabled=enabled, version=302).enabled, enabled)


class ListEndOtherTest(unittest.TestCase):
    def test_list_says_what_is_on_and_an_empty_parameter_for_nothing(self) -> None:
        self.assertEqual(lines(cap("LIST")), [f":{SERVER} CAP * LIST :"])
        answer = cap("LIST", enabled=frozenset({"multi-prefix", "batch"}), me="nick")
        self.assertEqual(lines(answer), [f":{SERVER} CAP nick LIST :batch multi-prefix"])
        self.assertFalse(answer.suspends)

    def test_end_ends_and_anything_else_is_410(self) -> None:
        answer = cap("END", enabled=frozenset({"batch"}))
        self.assertEqual((answer.reply, answer.ends, answer.enabled), (b"", True, {"batch"}))
        self.assertEqual(lines(cap("NOTACOMMAND")), [f":{SERVER} 410 * NOTACOMMAND :Invalid CAP command"])
        self.assertEqual(lines(cap("ACK", "batch")), [f":{SERVER} 410 * ACK :Invalid CAP command"])
        self.assertEqual(lines(cap()), [f":{SERVER} 410 * * :Invalid CAP command"])
        self.assertEqual(cap("ls").suspends, True)  # (the subcommand in any case)


if __name__ == "__main__":
    unittest.main()
