"""The in-memory room's plan end to end (the unit tests are test_room's): many IRC users joining in
one burst, over real sockets, each getting its ``JOIN``, names that are exactly right and then the
``JOIN`` of everyone after it, once and in order, however the room gathered them per loop turn;
line users see nothing of it, and every departure as before.
"""

from __future__ import annotations

import socket

from support import TIMEOUT, ServerProcess, unique_name

from test_irc import IRC_ARGS, SERVER_NAME, IrcClient, IrcTestCase, mask

BURST = 40
NICK_BYTES = 30  # (long nicks: the names take several 353 lines)


def burst_nicks(count: int) -> list[str]:
    stem = unique_name("b")
    return [f"{stem}{number}".ljust(NICK_BYTES, "x")[: NICK_BYTES - 3] + f"{number:03d}" for number in range(count)]


class JoinBurstTest(IrcTestCase):
    server_args = (*IRC_ARGS, "--max-per-ip", "0", "--max-new-per-ip", "0")  # (all from 127.0.0.1)

    def burst(self, nicks: list[str], userhost: frozenset[str] = frozenset()) -> list[IrcClient]:
        """Every one of ``nicks`` connects, registers and joins before any of them reads."""
        assert isinstance(self.server, ServerProcess)
        clients = []
        for nick in nicks:
            client = IrcClient(0, socket.create_connection(("127.0.0.1", self.server.ports["IRC"]), timeout=TIMEOUT))
            self.addCleanup(client.close)
            client.nick = nick
            caps = "CAP LS 302\r\nCAP REQ :userhost-in-names\r\nCAP END\r\n" if nick in userhost else ""
            client.send_bytes(f"{caps}NICK {nick}\r\nUSER {nick} 0 * :Burst\r\nJOIN #chat\r\n".encode())
            clients.append(client)
        return clients

    def welcome(self, client: IrcClient) -> tuple[list[str], list[str]]:
        """A joiner's ``JOIN``, names and ``366`` (checked), then the JOINs that came after: (names, joins)."""
        lines = client.read_until(r" 366 ")
        start = lines.index(f":{mask(client.nick)} JOIN :#chat")
        names_lines, end = lines[start + 1 : -1], lines[-1]
        self.assertEqual(end, f":{SERVER_NAME} 366 {client.nick} #chat :End of /NAMES list")
        names = []
        for line in names_lines:
            self.assertLessEqual(len(line.encode()) + 2, 512)
            head = f":{SERVER_NAME} 353 {client.nick} = #chat :"
            self.assertTrue(line.startswith(head), line)
            names.extend(line[len(head) :].split())
        self.assertEqual(sum(" JOIN " in line for line in lines[:start]), 0)  # (nothing of the room before it)
        return names, self.joins(client)

    def joins(self, client: IrcClient) -> list[str]:
        joins = []
        for line in client.sync():
            self.assertRegex(line, r"^:\S+ JOIN :#chat$")
            joins.append(line[1:].split("!", 1)[0])
        return joins

    def test_a_burst_of_joins_gives_each_joiner_exact_names_and_every_later_join_once_in_order(self) -> None:
        watcher = self.joined()
        line_user = self.logged_in()
        nicks = burst_nicks(BURST)
        userhost = frozenset(nicks[::3])
        clients = self.burst(nicks, userhost)
        seen = {client.nick: self.welcome(client) for client in clients}
        for client in clients:  # (a second sync: every JOIN of the burst is in by now)
            seen[client.nick][1].extend(self.joins(client))
        watched = self.joins(watcher)
        final = self.names_of(watcher)
        self.assertEqual(final[0], watcher.nick)
        self.assertEqual(sorted(final), sorted([watcher.nick, line_user.name, *nicks]))
        self.assertEqual(watched, final[1:])  # (a line user's login is a JOIN too)
        for nick, (names, joins) in seen.items():
            with self.subTest(nick=nick):
                if nick in userhost:
                    self.assertEqual(names, [mask(name) for name in final[: len(names)]])
                    names = [name.split("!", 1)[0] for name in names]
                self.assertIn(nick, names)
                self.assertEqual(names + joins, final)  # each once: listed, or announced after
        self.assertEqual(line_user.sync(), [])  # (line users hear of no arrival)
        clients[0].send("QUIT :bye")
        clients[0].read_until_closed()
        self.assertEqual(line_user.sync(), [f"INFO {nicks[0]} disconnected"])

    def names_of(self, client: IrcClient) -> list[str]:
        client.send("NAMES #chat")
        names = []
        for line in client.read_until(r" 366 ")[:-1]:
            names.extend(line.split(" :", 1)[1].split())
        return names
