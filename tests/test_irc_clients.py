"""A real IRC client on the gateway: WeeChat (Debian's weechat-headless, no terminal needed).

WeeChat registers, negotiates capabilities (server-time, and echo-message, which it is told to ask
for), joins the channel, sees a line user's message and answers it with the tags WeeChat read on it
(the server's time among them), then sees its own answer echoed by the server (with its msgid)
and says so: WeeChat triggers send each answer when a line is printed in its channel buffer, so
the test synchronises on replies (the line user's WHO, then the answers), never on time.  Skipped, with the reason, where
weechat-headless is missing; CI installs it and sets ALGOKART_REQUIRE_IRC_CLIENT, which turns the
skip into a failure.
"""

from __future__ import annotations

import calendar
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from support import TIMEOUT, ServerProcess, once_per_ci, unique_name

REQUIRE_IRC_CLIENT = "ALGOKART_REQUIRE_IRC_CLIENT"


def weechat_missing() -> str | None:
    if shutil.which("weechat-headless") is None:
        return "weechat-headless is not installed (apt-get install weechat-headless)"
    return None


@once_per_ci("WeeChat speaks to the server the same way whatever runs the server")
class WeeChatTest(unittest.TestCase):
    def setUp(self) -> None:
        missing = weechat_missing()
        if missing is not None:
            if os.environ.get(REQUIRE_IRC_CLIENT):
                raise AssertionError(f"{REQUIRE_IRC_CLIENT} is set but {missing}")
            self.skipTest(missing)

    def test_weechat_joins_sees_a_line_user_with_the_server_time_and_its_own_echo(self) -> None:
        server = ServerProcess("--irc-port", "0", "--irc-server-name", "irc.test")
        self.addCleanup(server.stop)
        home = tempfile.mkdtemp(prefix="weechat-")
        self.addCleanup(shutil.rmtree, home, True)
        nick = unique_name("wee")
        commands = [
            "/set irc.server_default.tls off",
            "/set irc.server_default.autojoin_dynamic off",
            f"/server add test 127.0.0.1/{server.ports['IRC']}",
            f"/set irc.server.test.nicks {nick}",
            "/set irc.server.test.autojoin #chat",
            # WeeChat 3.8 asks for server-time by default, and for echo-message when told to.
            '/set irc.server.test.capabilities "*,echo-message"',
            # Answer the line user's message when it shows in the channel, with the tags WeeChat
            # read on it (a trigger on print; --run evaluates ${...} itself, so the variables are
            # passed raw); then, when its own answer comes back from the server (echo-message:
            # only the echo has a msgid, WeeChat's own display of it has none), say so.
            (
                '/trigger add answer print "irc.test.#chat" "${raw:${tg_message}} =~ ^hello weechat" ""'
                ' "/msg #chat I saw it: ${raw:${tg_tags}}"'
            ),
            (
                '/trigger add echoed print "irc.test.#chat"'
                ' "${raw:${tg_message}} =~ ^I saw it && ${raw:${tg_tags}} =~ irc_tag_msgid_" "" "/msg #chat echoed"'
            ),
            "/connect test",
        ]
        weechat = subprocess.Popen(
            ["weechat-headless", "--dir", home, "--run", "; ".join(commands)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def stop_weechat() -> None:
            weechat.terminate()
            try:
                weechat.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                weechat.kill()
                weechat.wait()

        self.addCleanup(stop_weechat)
        with server.client() as line:
            line.login()
            deadline = time.monotonic() + TIMEOUT
            while True:  # until WeeChat is in the room: each WHO is a reply to wait on
                line.send("WHO")
                if f"USER {nick}" in line.sync():
                    break
                self.assertLess(time.monotonic(), deadline, "WeeChat never joined the channel")
                self.assertIsNone(weechat.poll(), "WeeChat exited")
            sent = time.time()
            line.send("MSG hello weechat, can you hear me?")
            answer = line.read_line()
            self.assertTrue(answer.startswith(f"MSG {nick} I saw it: "), answer)
            found = re.search(r"irc_tag_time_(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d{3}Z,", answer)
            self.assertIsNotNone(found, f"WeeChat saw no server time: {answer}")
            assert found is not None
            seen = calendar.timegm(time.strptime(found.group(1), "%Y-%m-%dT%H:%M:%S"))
            self.assertLess(abs(seen - sent), 5)  # (the server's clock: the time the room took the message)
            self.assertEqual(line.read_line(), f"MSG {nick} echoed")
        server.wait_for_log(rf"^Login: {nick} from 127\.0\.0\.1:\d+ \(IRC\)$")


if __name__ == "__main__":
    unittest.main()
