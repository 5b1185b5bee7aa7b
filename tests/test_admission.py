"""Admission: what counts as one address, the limits on connections in all and per address, the
budget an address's connections share, and when an address is forgotten; first on its own (the
test passes the time), then in a server in this process.  Over real sockets:
test_admission_end_to_end."""

from __future__ import annotations

import unittest

from support import err

from algokart_chat.config import load_settings
from algokart_chat.server.admission import NEW_CONNECTIONS_WINDOW, Admission, admission_key
from algokart_chat.token_bucket import Rates
from in_process import InProcessServer, lines_of


def admission(*flags: str) -> Admission:
    return Admission(load_settings(list(flags), {}), None)


class AdmissionTest(unittest.TestCase):
    def test_max_clients_in_all(self) -> None:
        gate = admission("--max-clients", "2", "--max-per-ip", "0")
        self.assertEqual([gate.admit("192.0.2.1", 0.0, True) for _ in range(3)], [None, None, "server-full"])
        self.assertEqual(gate.admit("192.0.2.2", 0.0, True), "server-full")
        gate.forget("192.0.2.1")
        self.assertEqual(gate.admit("192.0.2.2", 0.0, True), None)
        self.assertEqual(gate.admitted, 2)

    def test_a_full_server_says_so_before_an_unavailable_room(self) -> None:
        gate = admission("--max-clients", "1")
        self.assertEqual(gate.admit("192.0.2.1", 0.0, False), "cluster-unavailable")
        self.assertEqual(gate.admit("192.0.2.1", 0.0, True), None)
        self.assertEqual(gate.admit("192.0.2.1", 0.0, False), "server-full")

    def test_nobody_after_close(self) -> None:
        gate = admission()
        gate.close()
        self.assertEqual(gate.admit("192.0.2.1", 0.0, True), "server-full")
        self.assertEqual(gate.admitted, 0)

    def test_max_per_ip_counts_each_address_apart(self) -> None:
        gate = admission("--max-per-ip", "2", "--max-new-per-ip", "0")
        self.assertEqual([gate.admit("192.0.2.1", 0.0, True) for _ in range(3)], [None, None, "too-many-connections"])
        self.assertIsNone(gate.admit("192.0.2.2", 0.0, True))
        self.assertFalse(gate.forget("192.0.2.1"))  # (one left)
        self.assertIsNone(gate.admit("192.0.2.1", 0.0, True))

    def test_max_new_per_ip_refills_over_its_window(self) -> None:
        gate = admission("--max-per-ip", "1", "--max-new-per-ip", "2")
        for _ in range(3):  # one at a time, --max-per-ip + --max-new-per-ip of them at once
            self.assertIsNone(gate.admit("192.0.2.1", 0.0, True))
            gate.forget("192.0.2.1")
        self.assertEqual(gate.admit("192.0.2.1", 0.0, True), "connecting-too-fast")
        self.assertEqual(gate.admitted, 0)
        self.assertIsNone(gate.admit("192.0.2.1", NEW_CONNECTIONS_WINDOW / 2, True))

    def test_an_address_shares_one_budget_only_with_rate_limits_and_max_per_ip(self) -> None:
        gate = Admission(load_settings(["--max-per-ip", "2"], {}), Rates(5, 10, 0, 0))
        gate.admit("192.0.2.1", 0.0, True)
        budget = gate.budget("192.0.2.1")
        assert budget is not None
        self.assertEqual(budget.available(0.0)[0], 20)  # what --max-per-ip connections may send
        gate.admit("192.0.2.1", 0.0, True)
        self.assertIs(gate.budget("192.0.2.1"), budget)
        for rates, flags in ((Rates(5, 10, 0, 0), ["--max-per-ip", "0"]), (None, ["--max-per-ip", "2"])):
            alone = Admission(load_settings(flags, {}), rates)
            alone.admit("192.0.2.1", 0.0, True)
            self.assertIsNone(alone.budget("192.0.2.1"))

    def test_an_address_gone_is_forgotten_once_it_owes_nothing(self) -> None:
        gate = admission("--max-per-ip", "1", "--max-new-per-ip", "1")
        gate.admit("192.0.2.1", 0.0, True)
        self.assertTrue(gate.forget("192.0.2.1"))
        self.assertTrue(gate.forget_idle(1.0))  # its new-connection bucket is not full yet
        gate.admit("192.0.2.1", 1.0, True)  # (back: not idle any more)
        self.assertFalse(gate.forget_idle(1.0))
        self.assertTrue(gate.forget("192.0.2.1"))
        self.assertFalse(gate.forget_idle(1.0 + 2 * NEW_CONNECTIONS_WINDOW))
        # Forgotten: a new arrival gets a full bucket again.
        self.assertIsNone(gate.admit("192.0.2.1", 2 * NEW_CONNECTIONS_WINDOW, True))
        gate.forget("192.0.2.1")
        self.assertIsNone(gate.admit("192.0.2.1", 2 * NEW_CONNECTIONS_WINDOW, True))

    def test_an_idle_address_refused_for_connecting_too_fast_is_still_forgotten(self) -> None:
        gate = admission("--max-per-ip", "1", "--max-new-per-ip", "1")
        for _ in range(2):
            gate.admit("192.0.2.1", 0.0, True)
            gate.forget("192.0.2.1")
        self.assertEqual(gate.admit("192.0.2.1", 0.0, True), "connecting-too-fast")
        self.assertTrue(gate.forget_idle(1.0))  # (still owed: remembered, and waited for)
        self.assertFalse(gate.forget_idle(2 * NEW_CONNECTIONS_WINDOW))  # forgotten, nothing left

    def test_key_of_a_peer(self) -> None:
        gate = admission("--ipv6-prefix", "48")
        self.assertEqual(gate.key_of(("2001:db8:1:2::3", 5000)), "2001:db8:1::/48")
        self.assertEqual(gate.key_of(("192.0.2.1", 5000)), "192.0.2.1")
        self.assertEqual(gate.key_of(None), "")


class AddressTest(unittest.TestCase):
    """An address's connections share one budget, and may open only so many new ones."""

    def test_a_new_connection_does_not_refill_its_address_budget(self) -> None:
        chat = InProcessServer("--rate-limit", "0.01", "--rate-burst", "4", "--max-per-ip", "2")
        self.addCleanup(chat.close)
        # The address may send 2 x 4 lines at once; each connection 4 of them.
        for number in range(2):
            spender = chat.connect("PING", "PING", "PING", "PING", "PING")
            chat.settle()
            self.assertEqual(lines_of(spender), ["PONG"] * 4, number)
            spender.close()
            chat.settle()
        latecomer = chat.connect("PING")  # its own burst is full, its address's is spent
        chat.settle()
        self.assertEqual(lines_of(latecomer), [])
        self.assertFalse(latecomer.reading)
        elsewhere = chat.connect("PING", "PING", "PING", "PING", source="127.0.0.2")
        chat.settle()
        self.assertEqual(lines_of(elsewhere), ["PONG"] * 4)

    def test_an_address_that_reconnects_too_fast_is_refused(self) -> None:
        chat = InProcessServer("--max-per-ip", "1", "--max-new-per-ip", "2")
        self.addCleanup(chat.close)
        for _ in range(3):  # --max-per-ip 1 + --max-new-per-ip 2 new connections at once
            transport = chat.connect("PING")
            chat.settle()
            self.assertEqual(lines_of(transport), ["PONG"])
            transport.close()
            chat.settle()
        refused = chat.connect("PING")
        self.assertEqual(lines_of(refused), [err("connecting-too-fast")])
        self.assertTrue(refused.closing)
        other = chat.connect("PING", source="127.0.0.2")
        chat.settle()
        self.assertEqual(lines_of(other), ["PONG"])


class AddressKeyTest(unittest.TestCase):
    """What counts as one address: IPv4 as it is, IPv6 by its network of --ipv6-prefix bits."""

    def test_ipv4_as_it_is_ipv4_mapped_as_ipv4(self) -> None:
        self.assertEqual(admission_key("203.0.113.5", 64), "203.0.113.5")
        self.assertEqual(admission_key("::ffff:203.0.113.5", 64), "203.0.113.5")
        self.assertEqual(admission_key("", 64), "")  # (a peer already gone)

    def test_ipv6_by_its_prefix(self) -> None:
        one_prefix = [admission_key(f"2001:db8:0:7::{number}", 64) for number in ("1", "2", "ffff")]
        one_prefix.append(admission_key("2001:db8:0:7:ffff:ffff:ffff:ffff", 64))
        self.assertEqual(set(one_prefix), {"2001:db8:0:7::/64"})
        self.assertEqual(admission_key("2001:DB8:0:8::1", 64), "2001:db8:0:8::/64")  # the next /64
        self.assertEqual(admission_key("2001:db8:0:ff::1", 56), "2001:db8::/56")
        self.assertEqual(admission_key("2001:db8:1::1", 48), "2001:db8:1::/48")
        self.assertEqual(admission_key("2001:db8::1", 128), "2001:db8::1")
        self.assertEqual(admission_key("fe80::1%eth0", 64), "fe80::/64")


class IPv6AddressTest(unittest.TestCase):
    """--max-per-ip, --max-new-per-ip and the shared budget count an IPv6 /64 as one address."""

    def test_the_addresses_of_one_prefix_share_the_connection_limit(self) -> None:
        chat = InProcessServer("--max-per-ip", "2")
        self.addCleanup(chat.close)
        first, second = chat.connect("PING", source="2001:db8::1"), chat.connect("PING", source="2001:db8::2")
        third, fourth = chat.connect("PING", source="2001:db8::3"), chat.connect("PING", source="2001:db8::4")
        chat.settle()
        self.assertEqual((lines_of(first), lines_of(second)), (["PONG"], ["PONG"]))
        for refused in (third, fourth):
            self.assertEqual(lines_of(refused), [err("too-many-connections")])
        elsewhere = chat.connect("PING", source="2001:db8:0:1::1")  # another /64
        chat.settle()
        self.assertEqual(lines_of(elsewhere), ["PONG"])
        first.close()
        chat.settle()
        again = chat.connect("PING", source="2001:db8::ffff")  # the /64 has a slot again
        chat.settle()
        self.assertEqual(lines_of(again), ["PONG"])

    def test_a_longer_prefix_counts_addresses_apart(self) -> None:
        chat = InProcessServer("--max-per-ip", "1", "--ipv6-prefix", "128")
        self.addCleanup(chat.close)
        transports = [chat.connect("PING", source=f"2001:db8::{number}") for number in range(1, 4)]
        chat.settle()
        self.assertEqual([lines_of(transport) for transport in transports], [["PONG"]] * 3)
        refused = chat.connect("PING", source="2001:db8::1")
        self.assertEqual(lines_of(refused), [err("too-many-connections")])

    def test_the_addresses_of_one_prefix_share_new_connections_and_the_input_budget(self) -> None:
        chat = InProcessServer(
            "--max-per-ip", "1", "--max-new-per-ip", "1", "--rate-limit", "0.01", "--rate-burst", "2"
        )
        self.addCleanup(chat.close)
        spender = chat.connect("PING", "PING", "PING", source="2001:db8::1")  # the /64's budget: 1 x 2 lines
        chat.settle()
        self.assertEqual(lines_of(spender), ["PONG"] * 2)
        spender.close()
        chat.settle()
        latecomer = chat.connect("PING", source="2001:db8::2")  # its own burst is full, its /64's spent
        chat.settle()
        self.assertEqual(lines_of(latecomer), [])
        latecomer.close()
        chat.settle()
        refused = chat.connect("PING", source="2001:db8::3")  # the third new connection of the /64
        self.assertEqual(lines_of(refused), [err("connecting-too-fast")])


if __name__ == "__main__":
    unittest.main()
