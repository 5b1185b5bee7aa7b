"""TLSTransport without sockets: a client SSLObject on memory BIOs talks to it through a fake socket."""

from __future__ import annotations

import asyncio
import ssl
import unittest
from unittest import mock

from support import TIMEOUT, FakeTransport

from algokart_chat.transport import tls_transport
from algokart_chat.transport.tls import server_context
from algokart_chat.transport.tls_transport import TLSTransport
from test_tls import CERT, KEY

SERVER_CONTEXT = server_context(str(CERT), str(KEY))
CLIENT_CONTEXT = ssl.create_default_context(cafile=str(CERT))


class ChatSide(asyncio.Protocol):
    """Stands in for the chat protocol: records what its transport hands it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.transport: asyncio.Transport | None = None
        self.received = b""
        self.eof = False
        self.lost: asyncio.Future[Exception | None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received += data

    def eof_received(self) -> bool:
        self.eof = True
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set_result(exc)


class TLSTransportTest(unittest.TestCase):
    def setUp(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.addCleanup(self.loop.close)
        self.chat = ChatSide(self.loop)
        self.tls = TLSTransport(self.chat, SERVER_CONTEXT, self.loop)
        self.socket = FakeTransport(self.loop, self.tls, ("127.0.0.1", 5000))
        self.tls.connection_made(self.socket)
        self.to_client, self.from_client = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.client = CLIENT_CONTEXT.wrap_bio(self.to_client, self.from_client, server_hostname="localhost")

    def pump(self) -> None:
        """Move ciphertext both ways until neither side has any more to say."""
        while True:
            to_server = self.from_client.read()
            if to_server:
                self.tls.data_received(to_server)
            to_client = bytes(self.socket.written)
            self.socket.written.clear()
            if to_client:
                self.to_client.write(to_client)
            if not to_server and not to_client:
                return

    def handshake(self) -> None:
        for _ in range(10):
            try:
                self.client.do_handshake()
                self.pump()  # the server's last words (TLS 1.3 session tickets)
                return
            except ssl.SSLWantReadError:
                self.pump()
        self.fail("no handshake")

    def client_reads(self) -> bytes:
        self.pump()
        data = b""
        while True:
            try:
                chunk = self.client.read(65536)
            except ssl.SSLWantReadError:
                return data
            if not chunk:  # close_notify
                return data + b"<close_notify>"
            data += chunk

    def wait_until_lost(self) -> Exception | None:
        return self.loop.run_until_complete(asyncio.wait_for(self.chat.lost, TIMEOUT))

    def test_the_chat_side_sees_the_connection_at_accept(self) -> None:
        self.assertIs(self.chat.transport, self.tls)
        self.assertEqual(self.chat.received, b"")

    def test_plaintext_both_ways(self) -> None:
        self.handshake()
        self.client.write(b"LOGIN alice\nPING\n")
        self.pump()
        self.assertEqual(self.chat.received, b"LOGIN alice\nPING\n")
        self.tls.write(b"OK\nPONG\n")
        self.assertEqual(self.client_reads(), b"OK\nPONG\n")
        self.assertIn(self.client.version(), ("TLSv1.2", "TLSv1.3"))
        self.assertIsInstance(self.tls.get_extra_info("ssl_object"), ssl.SSLObject)
        self.assertEqual(self.tls.get_extra_info("peername"), ("127.0.0.1", 5000))

    def test_a_refusal_written_at_accept_arrives_after_the_handshake_then_close_notify(self) -> None:
        self.tls.write(b"ERR server-full\n")
        self.tls.close()
        self.assertGreater(self.tls.get_write_buffer_size(), 0)
        self.assertFalse(self.socket.closing)  # the client may still finish its handshake
        self.handshake()
        self.assertEqual(self.client_reads(), b"ERR server-full\n<close_notify>")
        self.assertTrue(self.socket.closing)
        self.assertIsNone(self.wait_until_lost())

    def test_the_peers_close_notify_is_an_eof(self) -> None:
        self.handshake()
        self.client.write(b"QUIT\n")
        with self.assertRaises(ssl.SSLWantReadError):
            self.client.unwrap()
        self.pump()
        self.assertEqual((self.chat.received, self.chat.eof), (b"QUIT\n", True))
        self.assertTrue(self.socket.closing)  # the chat side did not keep it open
        self.chat.eof = False
        self.assertFalse(self.tls.eof_received())  # the socket's EOF after it: nothing new to tell
        self.assertFalse(self.chat.eof)

    def test_plaintext_on_the_tls_port_is_a_failed_handshake(self) -> None:
        self.tls.data_received(b"LOGIN plain\nMSG hello?\n")
        self.assertIsInstance(self.wait_until_lost(), ConnectionResetError)
        self.assertEqual(self.chat.received, b"")

    def test_a_silent_connection_is_closed_at_the_handshake_deadline(self) -> None:
        with mock.patch.object(tls_transport, "HANDSHAKE_SECONDS", 0.01):
            tls = TLSTransport(self.chat, SERVER_CONTEXT, self.loop)
            tls.connection_made(FakeTransport(self.loop, tls, ("127.0.0.1", 5001)))
        self.assertIsInstance(self.wait_until_lost(), ConnectionResetError)

    def test_closing_before_the_handshake_shortens_its_deadline(self) -> None:
        with mock.patch.object(tls_transport, "CLOSE_BEFORE_HANDSHAKE_SECONDS", 0.01):
            self.tls.close()
        self.assertIsInstance(self.wait_until_lost(), ConnectionResetError)

    def test_flow_control_passes_through(self) -> None:
        self.tls.pause_reading()
        self.assertFalse(self.socket.reading)
        self.tls.resume_reading()
        self.assertTrue(self.socket.reading)
        with (
            mock.patch.object(self.chat, "pause_writing") as paused,
            mock.patch.object(self.chat, "resume_writing") as resumed,
        ):
            self.tls.pause_writing()
            self.tls.resume_writing()
        paused.assert_called_once_with()
        resumed.assert_called_once_with()

    def test_abort_drops_everything_at_once(self) -> None:
        self.handshake()
        self.tls.write(b"unsent\n")
        self.tls.abort()
        self.assertTrue(self.tls.is_closing())
        self.assertIsNone(self.wait_until_lost())


if __name__ == "__main__":
    unittest.main()
