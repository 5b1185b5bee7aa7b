"""End-to-end: history in cluster mode, two nodes of one cluster (docs/CLUSTER.md, *History*): a
message sent on one node is recovered on the other with the same id, and a node started later
reads the messages sent before from the stream."""

from __future__ import annotations

import unittest

from support import Cluster, skip_without_cluster

from test_history_end_to_end import kept, read_history, seen_then_gone


class ClusterHistoryTest(unittest.TestCase):
    def test_a_message_sent_on_one_node_is_recovered_on_the_other_with_the_same_id(self) -> None:
        skip_without_cluster()
        cluster = Cluster(2)
        self.addCleanup(cluster.stop)
        alice = cluster.nodes[0].client().login()
        watcher = cluster.nodes[1].client().login()
        for client in (alice, watcher):
            self.addCleanup(client.close)
        seen = seen_then_gone(alice, watcher, "MSG missed")
        self.assertRegex(seen, r"^\d+-\d+-0$")
        back = cluster.nodes[1].client().login()
        self.addCleanup(back.close)
        back.sync()
        back.send(f"HISTORY AFTER {seen}")
        lines, end = read_history(back)
        self.assertEqual(kept(lines), [(alice.name, "missed")])
        self.assertEqual(end, "HISTORY-END complete 1")
        alice.send("HISTORY 1")  # the same id on the node it was sent from
        mine, end = read_history(alice)
        self.assertEqual(([line for line in mine if line.startswith("HISTORY ")], end), (lines, "HISTORY-END more 1"))

    def test_a_gap_older_than_the_history_is_counted_on_every_node_that_read_it(self) -> None:
        skip_without_cluster()
        cluster = Cluster(2, "--history-lines", "3")
        self.addCleanup(cluster.stop)
        alice = cluster.nodes[0].client().login()
        watcher = cluster.nodes[1].client().login()
        for client in (alice, watcher):
            self.addCleanup(client.close)
        seen = seen_then_gone(alice, watcher, *(f"MSG away {n}" for n in range(5)))  # seen, away 0, 1 let go
        back = cluster.nodes[1].client().login()
        self.addCleanup(back.close)
        back.sync()
        back.send(f"HISTORY AFTER {seen}")
        lines, end = read_history(back)
        self.assertEqual(kept(lines), [(alice.name, f"away {n}") for n in range(2, 5)])
        self.assertEqual(end, "HISTORY-END partial 3 2")
        late = cluster.start_node()  # (it reads back the batch of the message seen too, and counts from it)
        late.wait_for_log("Read 6 messages of history back from the stream")
        newcomer = late.client().login()
        self.addCleanup(newcomer.close)
        newcomer.send(f"HISTORY AFTER {seen}")
        self.assertEqual(read_history(newcomer), (lines, "HISTORY-END partial 3 2"))
        newcomer.send("HISTORY AFTER 1-0-0")  # (before anything it read)
        self.assertEqual(read_history(newcomer), (lines, "HISTORY-END partial 3 unknown"))

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
