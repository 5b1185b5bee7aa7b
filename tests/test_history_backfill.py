"""End-to-end: a cluster node that starts after messages were sent fills its history from the
Redis stream (docs/CLUSTER.md, *History*): the same messages, with the same ids, as on the node
they were sent on."""

from __future__ import annotations

import unittest

from support import Cluster, skip_without_cluster

from test_history_end_to_end import kept, read_history


class BackfillTest(unittest.TestCase):
    def test_a_node_started_later_has_the_messages_sent_before(self) -> None:
        skip_without_cluster()
        cluster = Cluster(1)
        self.addCleanup(cluster.stop)
        alice = cluster.nodes[0].client().login()
        self.addCleanup(alice.close)
        alice.send("MSG one", "MSG two")
        alice.send("MSG three")
        alice.sync()
        alice.send("HISTORY 10")
        on_a, end_a = read_history(alice)
        late = cluster.start_node()
        late.wait_for_log("Read 3 messages of history back from the stream")
        bob = late.client().login()
        self.addCleanup(bob.close)
        bob.send("HISTORY 10")
        on_b, end_b = read_history(bob)
        self.assertEqual(kept(on_b), [(alice.name, "one"), (alice.name, "two"), (alice.name, "three")])
        self.assertEqual((on_b, end_b), (on_a, end_a))  # same ids, same times
        alice.send("MSG four")
        bob.expect(f"MSG {alice.name} four")
        bob.send("HISTORY 10")
        self.assertEqual(kept(read_history(bob)[0])[-2:], [(alice.name, "three"), (alice.name, "four")])


if __name__ == "__main__":
    unittest.main()
