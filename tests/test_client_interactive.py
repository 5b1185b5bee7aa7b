"""The interactive client's keep-alive (``client.interactive``): a silent user's connection gets a
hidden PING, a busy one none.  (The prompt, Ctrl+C and the rest run in a real pty in
test_terminal_client.)"""

from __future__ import annotations

import threading
import time
import unittest

from support import TIMEOUT

from algokart_chat.client import interactive, terminal


class KeepAliveTest(unittest.TestCase):
    def test_within_any_idle_timeout(self) -> None:
        self.assertLess(interactive.KEEPALIVE_SECONDS, 60)

    def test_a_silent_user_gets_one_hidden_ping_a_busy_one_none(self) -> None:
        class FakeConnection:
            """``wait`` (the link's ``finished``) counts ticks (three, then done) instead of sleeping."""

            def __init__(self, silent_for: float) -> None:
                self.last_sent = time.monotonic() - silent_for
                self.quit_sent = False
                self.sent: list[bytes] = []
                self.closed = self
                self.ticks = 0

            def wait(self, _timeout: float) -> bool:
                self.ticks += 1
                return self.ticks > 3

            def is_set(self) -> bool:  # (as ``closed``: never)
                return False

            def send(self, data: bytes) -> bool:
                self.sent.append(data)
                self.last_sent = time.monotonic()
                return True

        for silent_for, expected in ((interactive.KEEPALIVE_SECONDS + 1, [b"PING\n"]), (0.0, [])):
            with self.subTest(silent_for=silent_for):
                connection = FakeConnection(silent_for)
                screen = terminal.Screen(colour=False, current_input=lambda: "")
                link = interactive.Link(connection)  # type: ignore[arg-type]
                link.finished = connection  # type: ignore[assignment]
                # On a thread of its own, as in the client: keep_alive blocks SIGINT in its thread.
                thread = threading.Thread(target=interactive.keep_alive, args=(link, screen))
                thread.start()
                thread.join(TIMEOUT)
                self.assertFalse(thread.is_alive())
                self.assertEqual(connection.sent, expected)
                self.assertEqual(list(screen.hidden_pongs), [True] * len(expected))


if __name__ == "__main__":
    unittest.main()
