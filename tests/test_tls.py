"""TLS beside plaintext: one room on two ports, handshakes that delay nobody, clear failures, little
memory per idle user.

The certificates under tests/tls/ are self-signed for localhost and 127.0.0.1 (renewed.crt is the
"renewal" of localhost.crt); docs/OPERATIONS.md, *TLS*, says how they were made.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest
import warnings
from pathlib import Path

from support import ON_LINUX, ROOT, SRC, TIMEOUT, Client, ServerProcess, memory_kib, unique_name

CERT = ROOT / "tests" / "tls" / "localhost.crt"
KEY = ROOT / "tests" / "tls" / "localhost.key"
OTHER_KEY = ROOT / "tests" / "tls" / "other.key"
RENEWED_CERT = ROOT / "tests" / "tls" / "renewed.crt"  # made as localhost.crt was, later
RENEWED_KEY = ROOT / "tests" / "tls" / "renewed.key"
TLS_LISTENER = ("--tls-port", "0", "--tls-cert", str(CERT), "--tls-key", str(KEY))
TLS_ARGS = (*TLS_LISTENER, "--max-per-ip", "3")


def tls_port(server: ServerProcess) -> int:
    return int(server.started_line.rsplit(" ", 1)[1])


def tls_client(port: int, context: ssl.SSLContext | None = None) -> Client:
    if context is None:
        context = ssl.create_default_context(cafile=str(CERT))
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    return Client(port, sock=context.wrap_socket(raw, server_hostname="localhost"))


class TLSTest(unittest.TestCase):
    server: ServerProcess
    tls_port: int

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = ServerProcess(*TLS_ARGS, "--log-level", "debug")
        cls.tls_port = tls_port(cls.server)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def test_startup_line_names_both_ports(self) -> None:
        self.assertRegex(self.server.started_line, r"^Chat server started on port \d+, TLS on port \d+$")
        self.assertNotEqual(self.tls_port, self.server.port)

    def test_tls_and_plaintext_users_chat_in_one_room(self) -> None:
        with tls_client(self.tls_port) as secure, self.server.client() as plain:
            secure.login()
            plain.login()
            secure.send("MSG from tls")
            plain.expect(f"MSG {secure.name} from tls")
            plain.send(f"DM {secure.name} from plaintext")
            secure.expect(f"DM {plain.name} from plaintext")
            secure.send("WHO")
            self.assertTrue({f"USER {secure.name}", f"USER {plain.name}"} <= set(secure.sync()))
            assert isinstance(secure.sock, ssl.SSLSocket)
            self.assertIn(secure.sock.version(), ("TLSv1.2", "TLSv1.3"))

    def test_tls_connections_are_counted_and_logged_like_any(self) -> None:
        with tls_client(self.tls_port) as secure:
            secure.sync()
            port = secure.sock.getsockname()[1]
            self.server.wait_for_log(rf"^New connection from 127\.0\.0\.1:{port}$")
        self.server.wait_for_log(rf"^Connection closed: 127\.0\.0\.1:{port} \(closed\)$")

    def test_a_silent_connection_on_the_tls_port_delays_no_handshake(self) -> None:
        with socket.create_connection(("127.0.0.1", self.tls_port)) as silent:
            with tls_client(self.tls_port) as secure:
                secure.login()
                self.assertEqual(secure.sync(), [])
            # The silent one's handshake is still pending (the server closes it only at its 10 s
            # deadline), so this one was not queued behind it.
            silent.setblocking(False)
            with self.assertRaises(BlockingIOError):
                silent.recv(1)  # b"" would mean the server had given up on it already

    def test_plaintext_on_the_tls_port_hurts_nobody(self) -> None:
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=TIMEOUT) as confused:
            confused.sendall(b"LOGIN plain\nMSG hello?\n")
            try:
                while confused.recv(4096):
                    pass  # the server answers with a TLS alert at most, then closes
            except ConnectionResetError:
                pass
        with tls_client(self.tls_port) as secure, self.server.client() as plain:
            self.assertEqual(secure.sync(), [])
            self.assertEqual(plain.sync(), [])

    def test_tls_1_1_is_refused(self) -> None:
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.load_verify_locations(str(CERT))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        with contextlib.suppress(ssl.SSLError):
            old.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this side offer TLS 1.1 at all
        with self.assertRaises(ssl.SSLError) as refused:
            tls_client(self.tls_port, old).close()
        if refused.exception.reason in ("NO_CIPHERS_AVAILABLE", "NO_PROTOCOLS_AVAILABLE"):
            self.skipTest("this OpenSSL cannot even offer TLS 1.1")
        with tls_client(self.tls_port) as secure:  # and the server is fine
            self.assertEqual(secure.sync(), [])

    def test_the_client_in_scripted_mode_over_tls(self) -> None:
        watcher = self.server.client().login()
        self.addCleanup(watcher.close)
        name = unique_name("tlsbot")
        result = subprocess.run(
            [
                sys.executable,
                str(SRC / "test_client.py"),
                "--tls",
                "--cafile",
                str(CERT),
                "--host",
                "localhost",
                "--port",
                str(self.tls_port),
            ],
            input=f"LOGIN {name}\nMSG over tls\nPING\n".encode(),
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, b"OK\nPONG\nGoodbye!\n")
        watcher.expect(f"MSG {name} over tls", f"INFO {name} disconnected")

    def test_client_verification_failure_and_insecure(self) -> None:
        command = [sys.executable, str(SRC / "test_client.py"), "--tls", "--port", str(self.tls_port)]
        refused = subprocess.run(command, input=b"PING\n", capture_output=True, timeout=TIMEOUT, check=False)
        self.assertEqual(refused.returncode, 1)
        self.assertEqual(len(refused.stderr.splitlines()), 1, refused.stderr)
        self.assertIn(b"certificate", refused.stderr)
        insecure = subprocess.run(
            [*command, "--insecure"], input=b"PING\n", capture_output=True, timeout=TIMEOUT, check=False
        )
        self.assertEqual(insecure.returncode, 0)
        self.assertEqual(insecure.stdout, b"PONG\nGoodbye!\n")
        self.assertEqual(len(insecure.stderr.splitlines()), 1)
        self.assertIn(b"not verified", insecure.stderr)


def served_certificate(port: int) -> bytes:
    """The certificate a new connection to ``port`` is shown (DER), verified by nobody."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)) as sock:
        der = sock.getpeercert(binary_form=True)
    assert der is not None
    return der


def der_of(pem_file: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem_file.read_text(encoding="ascii"))


@unittest.skipUnless(hasattr(signal, "SIGHUP"), "SIGHUP is POSIX's")
class CertificateReloadTest(unittest.TestCase):
    def test_sighup_gives_new_connections_the_renewed_certificate_and_drops_nobody(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="algokart-tls-"))
        self.addCleanup(shutil.rmtree, folder, True)
        cert, key = folder / "server.crt", folder / "server.key"
        shutil.copyfile(CERT, cert)
        shutil.copyfile(KEY, key)
        server = ServerProcess("--tls-port", "0", "--tls-cert", str(cert), "--tls-key", str(key))
        self.addCleanup(server.stop)
        port = tls_port(server)
        with tls_client(port) as before:
            before.login()
            self.assertEqual(served_certificate(port), der_of(CERT))
            shutil.copyfile(RENEWED_CERT, cert)  # the renewal (certbot, say) writes new files
            shutil.copyfile(RENEWED_KEY, key)
            server.process.send_signal(signal.SIGHUP)
            server.wait_for_log(rf"^TLS certificate reloaded from {re.escape(str(cert))} and ")
            with tls_client(port, ssl.create_default_context(cafile=str(RENEWED_CERT))) as after:
                after.login()
                before.send("MSG still here")  # the user of the old certificate stays
                after.expect(f"MSG {before.name} still here")
                # A renewal gone wrong (the key of another certificate): the renewed pair stays.
                shutil.copyfile(OTHER_KEY, key)
                server.process.send_signal(signal.SIGHUP)
                server.wait_for_log(r"^TLS certificate not reloaded, the old one stays: .* does not match ")
                self.assertEqual(served_certificate(port), der_of(RENEWED_CERT))
                self.assertEqual(before.sync(), [])
                self.assertEqual(after.sync(), [])
        self.assertEqual(server.process.poll(), None)

    def test_sighup_without_tls_is_a_log_line_not_an_exit(self) -> None:
        with ServerProcess() as server, server.client() as user:
            user.login()
            server.process.send_signal(signal.SIGHUP)
            server.wait_for_log(r"^SIGHUP: no TLS certificate to reload$")
            self.assertEqual(user.sync(), [])


class TLSStartupTest(unittest.TestCase):
    def run_server(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(SRC / "server.py"), "--port", "0", *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )

    def test_unusable_certificate_or_key_exits_1_with_one_line(self) -> None:
        cases = [
            (("--tls-cert", str(ROOT / "tests" / "tls" / "missing.crt"), "--tls-key", str(KEY)), "missing.crt"),
            (("--tls-cert", str(CERT), "--tls-key", str(OTHER_KEY)), "does not match"),
            (("--tls-cert", str(ROOT / "README.md"), "--tls-key", str(ROOT / "README.md")), "PEM"),
        ]
        for args, words in cases:
            with self.subTest(args=args):
                result = self.run_server("--tls-port", "0", *args)
                self.assertEqual(result.returncode, 1)
                self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
                self.assertIn(words, result.stderr)

    def test_tls_settings_go_together(self) -> None:
        for args in (("--tls-port", "0"), ("--tls-cert", str(CERT), "--tls-key", str(KEY))):
            with self.subTest(args=args):
                result = self.run_server(*args)
                self.assertEqual(result.returncode, 2)
                self.assertEqual(len(result.stderr.splitlines()), 1)
                self.assertIn("--tls-", result.stderr)


@unittest.skipUnless(ON_LINUX, "reads the server's memory from /proc")
class IdleTLSMemoryTest(unittest.TestCase):
    USERS = 200

    def test_an_idle_tls_user_costs_at_most_64_kib(self) -> None:
        with ServerProcess(*TLS_LISTENER, "--max-per-ip", "0") as server:
            port = tls_port(server)
            clients = [tls_client(port).login()]  # the first handshake loads what every later one shares
            try:
                clients[0].sync()
                before = memory_kib(server.process.pid, "VmRSS")
                clients += [tls_client(port).login() for _ in range(self.USERS)]
                clients[0].sync()
                per_user = (memory_kib(server.process.pid, "VmRSS") - before) / self.USERS
                self.assertLessEqual(per_user, 64)  # asyncio's own TLS: about 280 KiB on 3.11+
            finally:
                for client in clients:
                    client.close()


if __name__ == "__main__":
    unittest.main()
