"""Unit tests of what counts as an HTTP request on a chat port (pure)."""

from __future__ import annotations

import unittest

import support  # noqa: F401  (puts src/ on sys.path)

from algokart_chat.cross_protocol import is_http


class HttpTest(unittest.TestCase):
    def test_request_lines_of_every_method_and_version(self) -> None:
        lines = [
            "GET / HTTP/1.1",
            "POST /chat?x=1 HTTP/1.0",
            "PUT /a HTTP/1.1",
            "HEAD / HTTP/1.1",
            "OPTIONS * HTTP/1.1",
            "CONNECT chat.example:4000 HTTP/1.1",
            "DELETE /x HTTP/1.1",
            "PATCH /x HTTP/1.1",
            "PRI * HTTP/2.0",
            "PROPFIND /dav HTTP/1.1",
            "get / HTTP/1.1",
        ]
        self.judged(lines, True)

    def test_the_host_header_in_any_case(self) -> None:
        self.judged(["Host: chat.example:4000", "host:10.0.0.1", "HOST: x"], True)

    def test_chat_lines_are_not_http(self) -> None:
        lines = [
            "LOGIN alice",
            "MSG GET / HTTP/1.1",
            "MSG Host: me",
            "DM bob see HTTP/1.1",
            "GET /",  # (HTTP/0.9: no headers, no body)
            "GET / HTTP/1.1 more",
            "GET  / HTTP/1.1",
            "Hostname: x",
            "PRIVMSG #chat :GET / HTTP/1.1",
            "NICK host:",
            "",
        ]
        self.judged(lines, False)

    def judged(self, lines: list[str], http: bool) -> None:
        for line in lines:
            with self.subTest(line=line):
                self.assertIs(is_http(line), http)


if __name__ == "__main__":
    unittest.main()
