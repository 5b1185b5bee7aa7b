"""An IRC user's place in the channel (``sessions.irc_presence``), in this process on fake
transports: JOIN, PART and JOIN 0 as the others see them, AWAY acknowledged, kept by the room
cleaned and cut, and told to those who asked (away-notify).  End to end: test_irc."""

from __future__ import annotations

import unittest

from in_process import lines_of
from irc_fakes import registered
from test_irc_session import InProcessTest


class JoinPartTest(InProcessTest):
    def test_part_hides_the_user_until_it_joins_again_and_join_0_parts(self) -> None:
        ann, bob = registered(self.chat, "ann"), registered(self.chat, "bob")
        line = self.chat.connect("LOGIN lin")
        self.chat.settle()
        for client in (ann, bob, line):
            client.written.clear()
        self.chat.send(ann, "PART #chat,#other :see you", "JOIN #chat", "JOIN 0", "JOIN #chat")
        seen = [
            ":ann!ann@irc.test PART #chat :see you",
            ":ann!ann@irc.test JOIN :#chat",
            ":ann!ann@irc.test PART :#chat",
            ":ann!ann@irc.test JOIN :#chat",
        ]
        names = (" 353 ", " 366 ")
        mine = [reply for reply in self.read(ann) if not any(code in reply for code in names)]
        self.assertEqual(mine, [":irc.test 403 ann #other :No such channel", *seen])
        self.assertEqual(lines_of(bob), seen)
        self.assertEqual(lines_of(line), ["INFO ann disconnected"] * 2)  # (line users see no arrivals)


class AwayTest(InProcessTest):
    def test_away_is_acknowledged_and_kept_by_the_room_cleaned(self) -> None:
        ann = registered(self.chat, "ann")
        ann.written.clear()
        self.chat.send(ann, "AWAY :\x02out\x02 to lunch\x07", "AWAY", "AWAY :x", "AWAY :", "AWAY :\x03\x02")
        self.assertEqual(
            self.read(ann),
            [":irc.test 306 ann :You have been marked as being away"]
            + [":irc.test 305 ann :You are no longer marked as being away"]
            + [":irc.test 306 ann :You have been marked as being away"]
            + [":irc.test 305 ann :You are no longer marked as being away"] * 2,
        )
        self.chat.send(ann, "AWAY :" + "é" * 150)
        self.chat.settle()
        self.assertEqual(self.chat.room.away("ANN"), "é" * 100)  # (AWAYLEN: 200 bytes)
        self.chat.send(ann, "AWAY :out to lunch")
        self.chat.settle()
        self.assertEqual(self.chat.room.away("ann"), "out to lunch")

    def test_away_notify_tells_those_who_asked_but_the_one_away_and_after_a_join(self) -> None:
        ann, other = registered(self.chat, "ann"), registered(self.chat, "other")
        asked = self.chat.connect_irc("CAP REQ :away-notify", "NICK asked", "USER a 0 * :A", "CAP END", "JOIN #chat")
        self.chat.settle()
        for client in (ann, asked, other):
            client.written.clear()
        self.chat.send(ann, "AWAY :lunch", "PART #chat", "AWAY :still lunch", "JOIN #chat", "AWAY")
        self.chat.settle()
        self.assertEqual(
            lines_of(asked),
            [
                ":ann!ann@irc.test AWAY :lunch",
                ":ann!ann@irc.test PART :#chat",
                ":ann!ann@irc.test JOIN :#chat",
                ":ann!ann@irc.test AWAY :still lunch",
                ":ann!ann@irc.test AWAY",
            ],
        )
        self.assertEqual(lines_of(other), [":ann!ann@irc.test PART :#chat", ":ann!ann@irc.test JOIN :#chat"])
        self.assertNotIn("AWAY", " ".join(line.split(" ")[1] for line in lines_of(ann)))


if __name__ == "__main__":
    unittest.main()
