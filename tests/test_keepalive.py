"""A user who only reads stays; a peer that vanishes without a word is found (transport.keepalive).

The vanished peer is real: inside a private network namespace of its own (``unshare -n``, as
root), the test drops every packet from the peer's address with nft, so the peer's kernel can no
longer answer the server's keepalive probes, as when a cable is pulled (a stopped process would
not do: its kernel still answers).  The test re-runs itself inside that namespace; where it cannot
(not root, no ``unshare`` or ``nft``) it is skipped, unless ALGOKART_REQUIRE_NETNS is set, as CI
sets it, which makes that a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import unittest

from support import ROOT, TIMEOUT, Client, ServerProcess, once_per_ci, unique_name

from algokart_chat.config import load_settings
from algokart_chat.transport.keepalive import PROBES, enable_keepalive

REQUIRE_NETNS = "ALGOKART_REQUIRE_NETNS"
INSIDE = "ALGOKART_IN_PRIVATE_NETNS"  # set for the copy of the test that runs inside the namespace
VANISHING = "127.0.0.2"  # the peer's source address, whose packets are dropped


def namespace_missing() -> str | None:
    if not sys.platform.startswith("linux"):
        return "network namespaces are Linux's"
    if os.geteuid() != 0:
        return "a private network namespace with nft rules needs root"
    for tool in ("unshare", "nft", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install util-linux nftables iproute2)"
    if subprocess.run(["unshare", "-n", "true"], check=False, capture_output=True).returncode != 0:
        return "unshare -n is refused here"
    return None


class DefaultsTest(unittest.TestCase):
    def test_idle_timeout_off_and_keepalive_on_by_default(self) -> None:
        settings = load_settings([], {})
        self.assertEqual((settings.idle_timeout, settings.tcp_keepalive), (0.0, 120))

    def test_enable_keepalive_sets_the_knobs(self) -> None:
        listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(listener.close)
        sock = socket.create_connection(listener.getsockname())
        self.addCleanup(sock.close)
        enable_keepalive(sock, 30)
        self.assertTrue(sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
        if hasattr(socket, "TCP_KEEPIDLE") and hasattr(socket, "TCP_KEEPCNT"):
            knobs = (socket.TCP_KEEPIDLE, socket.TCP_KEEPINTVL, socket.TCP_KEEPCNT)
            self.assertEqual([sock.getsockopt(socket.IPPROTO_TCP, knob) for knob in knobs], [30, 10, PROBES])

    def test_a_closed_socket_is_no_failure(self) -> None:
        sock = socket.socket()
        sock.close()
        enable_keepalive(sock, 30)


@once_per_ci("the kernel finds the vanished peer; the options that ask it to are DefaultsTest's, on every Python")
class VanishedPeerTest(unittest.TestCase):
    def test_a_peer_whose_packets_vanish_is_found_and_a_reader_stays(self) -> None:
        if os.environ.get(INSIDE):
            self.vanish_inside_the_namespace()
            return
        missing = namespace_missing()
        if missing is not None:
            if os.environ.get(REQUIRE_NETNS):
                raise AssertionError(f"{REQUIRE_NETNS} is set but {missing}")
            self.skipTest(missing)
        test = f"{__name__}.{type(self).__name__}.{self._testMethodName}"
        run = subprocess.run(
            [
                "unshare",
                "-n",
                "sh",
                "-c",
                'ip link set lo up && exec "$@"',
                "-",
                sys.executable,
                "-m",
                "unittest",
                test,
            ],
            check=False,
            cwd=str(ROOT / "tests"),
            env={**os.environ, INSIDE: "1"},
            capture_output=True,
            text=True,
            timeout=4 * TIMEOUT,
        )
        self.assertEqual(run.returncode, 0, run.stderr)

    def vanish_inside_the_namespace(self) -> None:
        # Probes after 1 s of silence, then every second: a dead peer is found after about 4 s.
        server = ServerProcess("--host", "127.0.0.1", "--tcp-keepalive", "1", "--max-per-ip", "0")
        self.addCleanup(server.stop)
        reader = server.client().login()
        self.addCleanup(reader.sock.close)
        # A peer that vanishes while all is quiet: only the keepalive probes find it.  Its last
        # words are a MSG, which carries its acknowledgement of everything the server sent it, so
        # once the reader has that MSG no data to it is in flight.
        quiet = self.peer(server.port, "127.0.0.2")
        quiet.send("MSG bye")
        reader.expect(f"MSG {quiet.name} bye")
        self.drop_packets_from("127.0.0.2")
        reader.expect(f"INFO {quiet.name} disconnected")  # the reader, silent too, answers the probes
        server.wait_for_log(rf"^Leave: {quiet.name} \(reset\)$")
        # A peer that vanishes while the server sends to it: its data is never acknowledged.
        busy = self.peer(server.port, "127.0.0.3")
        self.assertEqual(reader.sync(), [])
        self.drop_packets_from("127.0.0.3")
        reader.send("MSG are you there?")
        reader.expect(f"INFO {busy.name} disconnected")
        server.wait_for_log(rf"^Leave: {busy.name} \(reset\)$")
        self.assertEqual(reader.sync(), [])

    def peer(self, port: int, address: str) -> Client:
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT, source_address=(address, 0))
        self.addCleanup(sock.close)
        client = Client(port, sock=sock).login(unique_name("gone"))
        self.assertEqual(client.sync(), [])
        return client

    def drop_packets_from(self, address: str) -> None:
        """Every packet from ``address`` vanishes from now on (no FIN, no RST, no answer)."""
        table, chain = "algokart_keepalive_test", "{ type filter hook input priority 0; }"
        subprocess.run(["nft", "add", "table", "inet", table], check=True)
        subprocess.run(["nft", "add", "chain", "inet", table, "input", chain], check=True)
        subprocess.run(["nft", "add", "rule", "inet", table, "input", "ip", "saddr", address, "drop"], check=True)


if __name__ == "__main__":
    unittest.main()
