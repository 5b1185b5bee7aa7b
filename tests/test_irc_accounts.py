"""Accounts on the IRC gateway end to end, over real sockets (docs/IRC.md, *Accounts*): SASL PLAIN
(success, failure, abort, chunks, the throttle), ``PASS <name>:<password>``, registered nicks,
--require-account, account-tag, extended-join and WHOIS's 330 seen by other IRC clients, line and
IRC users of the same accounts, no password (nor its base64) in any log line, and a cluster of two
nodes where an IRC login on one holds the name on both.

The throttle counts failures per address: each test that fails a password connects from source
addresses of its own (``new_source``).  Tests synchronise on replies, never on sleeps.
"""

from __future__ import annotations

import base64
import socket

from support import TIMEOUT, Cluster, ServerProcess, err, skip_without_cluster, unique_name

from algokart_chat.accounts import Account, Accounts, hash_password
from algokart_chat.accounts_file import load_accounts, save_accounts
from test_accounts_login import FAST, AccountServerTestCase, accounts_file, new_folder, new_source, password_of
from test_irc import IRC_ARGS, SERVER_NAME, IrcClient, mask

NAMES = ("alice", "bob", "carol", "dave", "erin", "fay", "gus", "hal", "ivy", "jo")
KIM_PASSWORD = "k" * 293  # ("\0kim\0" and it: 300 bytes, exactly 400 in base64)
ACCOUNT_CAPS = "account-notify account-tag extended-join sasl"


def plain(name: str, password: str, authzid: str = "") -> str:
    return base64.b64encode(f"{authzid}\0{name}\0{password}".encode()).decode()


def numeric(line: str) -> str:
    return line.split(" ")[1]


class IrcAccountsTestCase(AccountServerTestCase):
    """One server per class, with the accounts of NAMES and kim, IRC, and ``flags`` (None: no
    server for the class; ``accounts`` False: no --accounts)."""

    flags: tuple[str, ...] | None = ()
    accounts = True

    @classmethod
    def setUpClass(cls) -> None:
        if cls.flags is None:
            return
        if cls.accounts:
            path = accounts_file(new_folder(cls), *NAMES)
            save_accounts(path, Accounts([*load_accounts(path), Account("kim", hash_password(KIM_PASSWORD, FAST))]))
            cls.server = ServerProcess("--accounts", str(path), *cls.flags, *IRC_ARGS)
        else:
            cls.server = ServerProcess(*cls.flags, *IRC_ARGS)
        cls.addClassCleanup(cls.server.stop)

    def irc(self, source: str = "127.0.0.1", server: ServerProcess | None = None) -> IrcClient:
        sock = socket.socket()
        sock.settimeout(TIMEOUT)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", (server or self.server).ports["IRC"]))
        client = IrcClient(0, sock=sock)
        self.addCleanup(client.close)
        return client

    def sasl_start(self, client: IrcClient, nick: str, caps: str = "sasl") -> None:
        client.nick = nick
        client.send("CAP LS 302", f"NICK {nick}", f"USER {nick} 0 * :Real")
        client.read_until(r" CAP \* LS :")
        client.send(f"CAP REQ :{caps}")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} CAP {nick} ACK :{caps}")

    def logged_in(self, name: str, nick: str | None = None, caps: str = "sasl", source: str = "127.0.0.1") -> IrcClient:
        """A client logged in to ``name`` with SASL PLAIN, registered as ``nick`` and in the channel."""
        client = self.irc(source)
        self.sasl_start(client, nick or name, caps)
        # (CAP END waits for the check: the input is held meanwhile)
        client.send("AUTHENTICATE PLAIN", f"AUTHENTICATE {plain(name, password_of(name))}", "CAP END")
        welcome = client.read_until(r" 422 ")
        self.assertIn(f":{SERVER_NAME} 903 {client.nick} :SASL authentication successful", welcome)
        client.join()
        return client


class SaslTest(IrcAccountsTestCase):
    def test_cap_ls_offers_sasl_plain_and_the_account_capabilities(self) -> None:
        client = self.irc()
        client.send("CAP LS 302")
        offered = client.read_line().partition(" :")[2].split()
        self.assertIn("sasl=PLAIN", offered)
        for cap in ACCOUNT_CAPS.split()[:3]:
            self.assertIn(cap, offered)
        client.send("CAP LS")
        self.assertIn("sasl", client.read_line().partition(" :")[2].split())  # (no value before 302)

    def test_sasl_plain_logs_in_and_registration_follows(self) -> None:
        client = self.irc()
        self.sasl_start(client, "alice")
        client.send("AUTHENTICATE PLAIN")
        self.assertEqual(client.read_line(), "AUTHENTICATE +")
        client.send(f"AUTHENTICATE {plain('alice', password_of('alice'), authzid='alice')}")
        self.assertEqual(
            client.read_line(),
            f":{SERVER_NAME} 900 alice alice!alice@{SERVER_NAME} alice :You are now logged in as alice",
        )
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 903 alice :SASL authentication successful")
        client.send("AUTHENTICATE PLAIN")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 907 alice :You have already authenticated using SASL")
        client.send("CAP END")
        self.assertEqual(numeric(client.read_until(r" 422 ")[0]), "001")
        self.server.wait_for_log(r"^Login: alice from 127\.0\.0\.1:\d+ \(IRC, account alice\)$")
        other = self.irc()
        other.register()
        other.send("WHOIS alice")
        whois = other.read_until(r" 318 ")
        self.assertIn(f":{SERVER_NAME} 330 {other.nick} alice alice :is logged in as", whois)

    def test_sasl_after_registration_is_462(self) -> None:
        client = self.irc()
        client.register()
        client.send("AUTHENTICATE PLAIN")  # (the error the spec asks for when there is no reauthentication)
        self.assertEqual(
            client.read_line(),
            f":{SERVER_NAME} 462 {client.nick} :You may not reregister: log in with SASL before registration completes",
        )

    def test_a_wrong_password_is_904_and_the_right_one_then_logs_in(self) -> None:
        client = self.irc(new_source())
        self.sasl_start(client, "bob")
        client.send("AUTHENTICATE PLAIN", f"AUTHENTICATE {plain('bob', 'not it')}")
        self.assertEqual(client.read_line(), "AUTHENTICATE +")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 904 bob :SASL authentication failed")
        client.send("AUTHENTICATE PLAIN", f"AUTHENTICATE {plain('nobody', 'pw')}")  # (no such account: the same)
        self.assertEqual(client.read_until(r" 90\d ")[-1], f":{SERVER_NAME} 904 bob :SASL authentication failed")
        client.send("AUTHENTICATE PLAIN", f"AUTHENTICATE {plain('bob', password_of('bob'))}")
        self.assertEqual(numeric(client.read_until(r" 90[3-7] ")[-1]), "903")
        self.server.wait_for_log(r"^Login failed: bob from 127\.0\.\d+\.\d+:\d+ \(bad-password, IRC\)$")

    def test_abort_unknown_mechanism_bad_payload_and_too_long(self) -> None:
        client = self.irc()
        self.sasl_start(client, unique_name("ab"))
        me = client.nick
        client.send("AUTHENTICATE PLAIN", "AUTHENTICATE *")
        self.assertEqual(client.read_line(), "AUTHENTICATE +")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 906 {me} :SASL authentication aborted")
        client.send("AUTHENTICATE EXTERNAL")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 908 {me} PLAIN :are available SASL mechanisms")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 904 {me} :SASL authentication failed")
        client.send("AUTHENTICATE PLAIN", "AUTHENTICATE not-base64!")
        self.assertEqual(client.read_until(r" 90\d ")[-1], f":{SERVER_NAME} 904 {me} :SASL authentication failed")
        client.send("AUTHENTICATE PLAIN", f"AUTHENTICATE {plain('carol', password_of('carol'), authzid='bob')}")
        self.assertEqual(numeric(client.read_until(r" 90\d ")[-1]), "904")  # (logging in as someone else)
        client.send("AUTHENTICATE PLAIN", "AUTHENTICATE " + "A" * 401)
        self.assertEqual(client.read_until(r" 90\d ")[-1], f":{SERVER_NAME} 905 {me} :SASL message too long")
        client.send("AUTHENTICATE PLAIN", *["AUTHENTICATE " + "A" * 400] * 5)  # (more than a payload can be)
        self.assertEqual(client.read_until(r" 90\d ")[-1], f":{SERVER_NAME} 904 {me} :SASL authentication failed")
        client.send("AUTHENTICATE PLAIN")  # (an exchange open at CAP END is aborted: 906, then registration)
        client.send("CAP END")
        lines = client.read_until(r" 422 ")
        self.assertEqual([numeric(line) for line in lines[1:3]], ["906", "001"])

    def test_a_payload_of_exactly_400_bytes_then_plus(self) -> None:
        encoded = plain("kim", KIM_PASSWORD)
        self.assertEqual(len(encoded), 400)
        client = self.irc()
        self.sasl_start(client, "kim")
        client.send("AUTHENTICATE PLAIN", f"AUTHENTICATE {encoded}", "PING more")
        self.assertEqual(client.read_line(), "AUTHENTICATE +")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} PONG {SERVER_NAME} :more")  # (it waits for more)
        client.send("AUTHENTICATE +")
        self.assertEqual(numeric(client.read_until(r" 90[3-7] ")[-1]), "903")

    def test_too_many_attempts_says_so(self) -> None:
        source = new_source()
        client = self.irc(source)
        self.sasl_start(client, "dave")
        for number in range(5):
            client.send("AUTHENTICATE PLAIN", f"AUTHENTICATE {plain('dave', f'guess {number}')}")
            self.assertEqual(client.read_until(r" 90\d ")[-1], f":{SERVER_NAME} 904 dave :SASL authentication failed")
        client.send("AUTHENTICATE PLAIN", f"AUTHENTICATE {plain('dave', password_of('dave'))}")
        self.assertEqual(
            client.read_until(r" 90\d ")[-1],
            f":{SERVER_NAME} 904 dave :SASL authentication failed: too many attempts, try again later",
        )


class PassAndNicksTest(IrcAccountsTestCase):
    def test_pass_name_colon_password_logs_in_at_registration(self) -> None:
        client = self.irc()
        client.send(f"PASS :erin:{password_of('erin')}", "NICK erin", "USER erin 0 * :Real")
        lines = client.read_until(r" 422 ")
        self.assertEqual(
            lines[0], f":{SERVER_NAME} 900 erin erin!erin@{SERVER_NAME} erin :You are now logged in as erin"
        )
        self.assertEqual(numeric(lines[1]), "001")
        other = self.irc()
        other.send(f"PASS :{password_of('fay')}", "NICK fay", "USER fay 0 * :Real")  # (the nick's account)
        self.assertEqual(numeric(other.read_until(r" 422 ")[1]), "001")

    def test_a_wrong_pass_is_464_and_the_connection_closes(self) -> None:
        client = self.irc(new_source())
        client.send("PASS gus:wrong", "NICK gus", "USER gus 0 * :Real")
        self.assertEqual(
            client.read_until_closed(),
            [f":{SERVER_NAME} 464 gus :Password incorrect", f"ERROR :Closing Link: {SERVER_NAME} (Password incorrect)"],
        )

    def test_a_registered_nick_without_logging_in_is_433_with_a_reason(self) -> None:
        client = self.irc()
        guest = unique_name("guest")
        client.send("NICK hal", f"USER {guest} 0 * :Real")
        reason = "Nickname is registered to an account: log in to it with SASL or PASS"
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 433 * hal :{reason}")
        client.send("NICK HAL")  # (any spelling)
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 433 * HAL :{reason}")
        client.send(f"NICK {guest}")
        self.assertEqual(numeric(client.read_until(r" 422 ")[0]), "001")
        client.send("NICK hal")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 433 {guest} hal :{reason}")
        client.sync()
        # Logged in to one account, another's name is refused too; its own is not.
        ivy = self.logged_in("ivy", nick=unique_name("nick"))
        ivy.send("NICK hal", "NICK ivy")
        self.assertEqual(ivy.read_line(), f":{SERVER_NAME} 433 {ivy.nick} hal :{reason}")
        self.assertEqual(ivy.read_line(), f":{mask(ivy.nick)} NICK :ivy")

    def test_a_line_user_and_an_irc_user_of_the_same_account(self) -> None:
        irc_jo = self.logged_in("jo")
        line = self.connect()
        line.send("LOGIN jo", f"LOGIN jo {password_of('jo')}")  # (the IRC user holds it)
        line.expect(err("password-required"), err("username-taken"))
        irc_jo.send("QUIT")
        irc_jo.read_until_closed()
        line.send(f"LOGIN jo {password_of('jo')}")
        line.expect("OK")
        other = self.irc()
        other.send("NICK jo", "USER x 0 * :Real")
        self.assertEqual(other.read_line(), f":{SERVER_NAME} 433 * jo :Nickname is already in use")


class AccountTagsTest(IrcAccountsTestCase):
    def test_account_tag_and_extended_join_seen_by_another_irc_client(self) -> None:
        watcher = self.logged_in("bob", nick=unique_name("w"), caps="sasl account-tag extended-join")
        plain_watcher = self.irc()
        plain_watcher.register()
        plain_watcher.join()
        self.assertEqual(watcher.sync(), [f":{mask(plain_watcher.nick)} JOIN #chat * :Test User"])
        alice = self.logged_in("alice", caps="sasl extended-join")
        self.assertEqual(alice.sync(), [])
        alice.send("PRIVMSG #chat :hello")
        alice.sync()
        lines = watcher.sync()
        self.assertEqual(
            lines,
            [
                f"@account=alice :{mask('alice')} JOIN #chat alice :Real",  # (the real name of USER)
                f"@account=alice :{mask('alice')} PRIVMSG #chat :hello",
            ],
        )
        self.assertEqual(
            plain_watcher.sync(), [f":{mask('alice')} JOIN :#chat", f":{mask('alice')} PRIVMSG #chat :hello"]
        )
        guest = self.irc()
        guest.register()
        guest.join()
        guest.send("PRIVMSG #chat :hi")
        guest.sync()
        self.assertEqual(
            watcher.sync(),
            [f":{mask(guest.nick)} JOIN #chat * :Test User", f":{mask(guest.nick)} PRIVMSG #chat :hi"],
        )
        # A line user logged in to an account: its messages carry it too; a guest's do not.
        line = self.connect()
        line.send(f"LOGIN CAROL {password_of('carol')}", "MSG hi from the line")  # (the account as the file names it)
        line.expect("OK")
        line.sync()
        self.assertEqual(
            watcher.sync(),
            [
                f"@account=carol :{mask('CAROL')} JOIN #chat carol :CAROL",
                f"@account=carol :{mask('CAROL')} PRIVMSG #chat :hi from the line",
            ],
        )
        line.send(f"DM {watcher.nick} psst")
        line.sync()
        self.assertEqual(watcher.sync(), [f"@account=carol :{mask('CAROL')} PRIVMSG {watcher.nick} :psst"])


class RequireAccountTest(IrcAccountsTestCase):
    flags = ("--require-account",)

    def test_only_logged_in_clients_register(self) -> None:
        guest = self.irc()
        guest.send("NICK zed", "USER zed 0 * :Real")
        self.assertEqual(
            guest.read_until_closed(),
            [
                (
                    f":{SERVER_NAME} FAIL * ACCOUNT_REQUIRED :An account is required on this server: "
                    "log in with SASL or PASS <account>:<password>"
                ),
                f"ERROR :Closing Link: {SERVER_NAME} (An account is required)",
            ],
        )
        member = self.logged_in("alice")
        member.send("PRIVMSG #chat :members only")
        member.sync()
        by_pass = self.irc()
        by_pass.send(f"PASS :bob:{password_of('bob')}", "NICK bob", "USER bob 0 * :Real")
        self.assertEqual(numeric(by_pass.read_until(r" 422 ")[-1]), "422")
        line = self.connect()
        line.send("LOGIN zed")
        line.expect(err("account-required"))


class NoPasswordInTheLogsTest(IrcAccountsTestCase):
    flags = None

    def test_no_log_line_at_debug_holds_a_password_or_its_base64(self) -> None:
        path = accounts_file(new_folder(self), "alice", "bob")
        secret, wrong = password_of("alice"), "Wr0ng-Secret-f00"
        server = ServerProcess("--accounts", str(path), "--log-level", "debug", *IRC_ARGS)
        try:
            source = new_source()
            client = self.irc(source, server)
            client.send("CAP REQ :sasl", "NICK alice", "USER alice 0 * :Real")
            client.read_until(" ACK ")
            for password in (wrong, *[f"{wrong}{number}" for number in range(6)], secret):
                client.send("AUTHENTICATE PLAIN", f"AUTHENTICATE {plain('alice', password)}")
                client.read_until(r" 90[45] ")
            by_pass = self.irc(new_source(), server)
            by_pass.send(f"PASS bob:{wrong}", "NICK bob", "USER bob 0 * :Real")
            by_pass.read_until_closed()
            by_pass = self.irc(server=server)
            by_pass.send(f"PASS :bob:{password_of('bob')}", "NICK bob", "USER bob 0 * :Real")
            by_pass.read_until(r" 422 ")
            by_pass.send("QUIT")
            by_pass.read_until_closed()
        finally:
            server.stop()
        lines = [*server.raw_log, *server.errors.splitlines()]
        self.assertTrue(any("Login failed: alice" in line for line in lines), lines)
        self.assertTrue(any("too-many-attempts" in line for line in lines), lines)
        for password in (secret, wrong, password_of("bob"), plain("alice", secret), plain("bob", wrong)):
            self.assertEqual([line for line in lines if password in line], [])


class WithoutAccountsTest(IrcAccountsTestCase):
    accounts = False

    def test_no_sasl_offered_authenticate_unknown_and_pass_ignored(self) -> None:
        client = self.irc()
        client.send("CAP LS 302")
        ls = client.read_line()
        for cap in ACCOUNT_CAPS.split():
            self.assertNotIn(cap, ls)
        client.send("AUTHENTICATE PLAIN", "PASS alice:pw", "NICK alice", "USER alice 0 * :Real", "CAP END")
        self.assertEqual(client.read_line(), f":{SERVER_NAME} 421 * AUTHENTICATE :Unknown command")
        self.assertEqual(numeric(client.read_line()), "001")


class ClusterTest(IrcAccountsTestCase):
    flags = None

    def test_an_irc_login_on_one_node_holds_the_name_on_every_node(self) -> None:
        skip_without_cluster()
        path = accounts_file(new_folder(self), *NAMES)
        with Cluster(2, "--accounts", str(path), *IRC_ARGS) as cluster:
            a, b = cluster.nodes
            alice = self.irc(server=a)
            self.sasl_start(alice, "alice")
            alice.send("AUTHENTICATE PLAIN", f"AUTHENTICATE {plain('alice', password_of('alice'))}", "CAP END")
            self.assertIn(f":{SERVER_NAME} 903 alice :SASL authentication successful", alice.read_until(r" 422 "))
            line = self.connect(server=b)
            line.send("LOGIN alice", f"LOGIN alice {password_of('alice')}")
            line.expect(err("password-required"), err("username-taken"))
            squatter = self.irc(server=b)
            squatter.send("NICK alice", "USER x 0 * :Real")
            self.assertEqual(squatter.read_line().split(" ", 3)[1:3], ["433", "*"])
            by_pass = self.irc(server=b)
            by_pass.send(f"PASS :bob:{password_of('bob')}", "NICK bob", "USER bob 0 * :Real")
            self.assertEqual(numeric(by_pass.read_until(r" 422 ")[-1]), "422")
