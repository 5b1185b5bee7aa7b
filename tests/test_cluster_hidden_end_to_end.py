"""Who is hidden (an IRC user out of the channel) in a cluster, end to end over real sockets on two
nodes: the scripts read it from the words after a user's name, so a user named ``h`` is no
different from any other (docs/CLUSTER.md, *Keys and scripts*).  Synchronised on replies."""

from __future__ import annotations

import unittest

from support import Cluster, skip_without_cluster

from test_irc import IRC_ARGS, mask, on_two_nodes


class NamedHTest(unittest.TestCase):
    def test_a_user_named_h_joins_parts_and_joins_again_on_every_node(self) -> None:
        skip_without_cluster()
        with Cluster(2, *IRC_ARGS) as cluster:
            h, watcher, line = on_two_nodes(self, cluster)
            watcher.register()
            watcher.join()
            watcher.sync()
            line.login()
            h.register("h")
            h.join()
            h.send("PART #chat :brb")
            h.sync()
            h.join()
            h.send("AWAY :lunch")
            h.sync()
            # (a PART the scripts took for a second one, of someone hidden already, would be lost)
            about_h = [item for item in watcher.sync() if item.startswith(f":{mask('h')} ")]
            self.assertEqual(
                about_h,
                [f":{mask('h')} JOIN :#chat", f":{mask('h')} PART #chat :brb", f":{mask('h')} JOIN :#chat"],
            )
            self.assertEqual(line.sync(), ["INFO h disconnected"])
            watcher.send("WHO h")
            self.assertEqual(watcher.sync()[0].split(" ")[8], "G")


if __name__ == "__main__":
    unittest.main()
